// Package labtest gives the hosts of a fake engine (runtime/fake) the
// commands lab runs there to find and save a lab's work before removing
// it (lab.FindWork, lab.SaveWork): find and sha256sum over the fake's
// files, the capture lab capture start leaves running and the script lab
// capture stop ends it with, and a tcpdump that runs until it is stopped.
package labtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// Hosts answers the commands of lab's work on a fake engine's hosts.
type Hosts struct {
	e *fake.Engine

	mu       sync.Mutex
	captures map[string]capture // by lab and host, while it runs
}

// capture is a running capture of lab capture start: its file's name and
// what stop copies out.
type capture struct {
	file string
	data []byte
}

// New makes e's hosts answer lab's work commands, replacing its ExecFunc
// and ProcessesFunc. Every other command is not found (127), as on a
// host without it.
func New(e *fake.Engine) *Hosts {
	h := &Hosts{e: e, captures: map[string]capture{}}
	e.ExecFunc = h.exec
	e.ProcessesFunc = h.processes
	return h
}

// StartCapture makes lab capture start's tcpdump run on a host of lab,
// writing file (chatserver.pcap, client1.pcap, …); stopping it, as lab
// capture stop does, copies out data.
func (h *Hosts) StartCapture(lab, host, file string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.captures[lab+"/"+host] = capture{file: file, data: data}
}

// Capturing reports whether lab capture start's tcpdump runs on a host.
func (h *Hosts) Capturing(lab, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.captures[lab+"/"+host]
	return ok
}

// CaptureCommand is the command line of the tcpdump lab capture start
// runs to write file.
func CaptureCommand(file string) string {
	return "tcpdump -i eth0 -U --immediate-mode -s 9216 -B 16384 -Z root -w " + traffic.CaptureDir + "/" + file
}

func (h *Hosts) processes(lab, host string) []string {
	out := []string{"/sbin/docker-init -- /usr/local/sbin/lab-host-entrypoint", "sleep infinity"}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.captures[lab+"/"+host]; ok {
		out = append(out, CaptureCommand(c.file))
	}
	return out
}

func (h *Hosts) exec(ctx context.Context, lab, host string, cmd []string, _ io.Reader) (runtime.ExecResult, error) {
	switch cmd[0] {
	case "find":
		return h.find(lab, host, cmd[1]), nil
	case "sha256sum":
		return h.sha256sum(lab, host, cmd[1:]), nil
	case "tcpdump":
		// Runs until stopped (lab stop, StopPrograms) or its host ends.
		<-ctx.Done()
		return runtime.ExecResult{}, nil
	case "sh":
		if len(cmd) == 3 && strings.Contains(cmd[2], "kill -INT") {
			return h.stopCapture(lab, host, cmd[2]), nil
		}
	}
	return runtime.ExecResult{ExitCode: 127, Stderr: []byte(cmd[0] + ": not found")}, nil
}

// find lists the regular files below dir as lab.FindWork's find does:
// modification time, size, octal permissions, path below dir, NUL.
func (h *Hosts) find(lab, host, dir string) runtime.ExecResult {
	var b strings.Builder
	for _, p := range h.e.Files(lab, host) {
		rel, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		f, _ := h.e.File(lab, host, p)
		fmt.Fprintf(&b, "%d.%09d0 %d %o %s\x00", f.ModTime.Unix(), f.ModTime.Nanosecond(), len(f.Data), f.Mode.Perm(), rel)
	}
	return runtime.ExecResult{Stdout: []byte(b.String())}
}

// sha256sum -z -- PATH... hashes the files there are; for the others it
// says so on stderr and exits 1.
func (h *Hosts) sha256sum(lab, host string, args []string) runtime.ExecResult {
	var res runtime.ExecResult
	var out, errOut strings.Builder
	for _, p := range args {
		if strings.HasPrefix(p, "-") {
			continue
		}
		f, ok := h.e.File(lab, host, p)
		if !ok {
			fmt.Fprintf(&errOut, "sha256sum: %s: No such file or directory\n", p)
			res.ExitCode = 1
			continue
		}
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&out, "%s  %s\x00", hex.EncodeToString(sum[:]), p)
	}
	res.Stdout, res.Stderr = []byte(out.String()), []byte(errOut.String())
	return res
}

// stopCapture answers lab capture stop's script: tcpdump's counters on
// stderr and the capture on stdout, or exit 6 when none runs.
func (h *Hosts) stopCapture(lab, host, script string) runtime.ExecResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.captures[lab+"/"+host]
	if !ok || !strings.Contains(script, path.Join(traffic.CaptureDir, c.file)) {
		return runtime.ExecResult{ExitCode: 6}
	}
	delete(h.captures, lab+"/"+host)
	return runtime.ExecResult{Stdout: c.data, Stderr: []byte("3 packets captured\n3 packets received by filter\n0 packets dropped by kernel\n")}
}
