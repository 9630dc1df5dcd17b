package gradingtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

func (e *Engine) room(lab string) *room {
	r := e.rooms[lab]
	if r == nil {
		r = &room{clients: map[string]io.Writer{}}
		e.rooms[lab] = r
	}
	return r
}

// reset is one reset of a host, through the agent or an exec: 0 when it
// worked.
func (e *Engine) reset(lab, host string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failReset[host] > 0 {
		e.failReset[host]--
		return 1
	}
	e.resets = append(e.resets, lab+" "+host)
	return 0
}

// ip is a host's IPv4 address in lab, from its container.
func (e *Engine) ip(lab, host string) string {
	spec, _ := e.Spec(lab + "-" + host)
	return spec.IPv4.String()
}

func (e *Engine) exec(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	switch {
	case cmd[0] == "dig":
		return runtime.ExecResult{Stdout: []byte("ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800\n")}, nil
	case cmd[0] == "mkdir":
		spec, _ := e.Spec(lab + "-" + host)
		confined := spec.Sandbox != nil && e.Internal(lab+"_net")
		e.mu.Lock()
		if prev, seen := e.sandboxed[lab]; !seen || prev {
			e.sandboxed[lab] = confined
		}
		e.mu.Unlock()
		return runtime.ExecResult{}, nil
	case cmd[0] == "sh" && len(cmd) > 3 && cmd[3] == "reset":
		if e.reset(lab, host) != 0 {
			return runtime.ExecResult{ExitCode: 126, Stderr: []byte("sh: fork: Resource temporarily unavailable")}, nil
		}
		return runtime.ExecResult{}, nil
	case cmd[0] == "sh" && len(cmd) == 3 && strings.Contains(cmd[2], "tcpdump -i "):
		return e.startCapture(lab, host), nil
	case cmd[0] == "sh" && len(cmd) == 3 && strings.Contains(cmd[2], "kill -INT $p"):
		return e.stopCapture(lab, host, strings.Contains(cmd[2], ".log >&2")), nil
	case cmd[0] == "getent":
		return runtime.ExecResult{Stdout: []byte(e.ip(lab, "webserver") + " STREAM " + cmd[len(cmd)-1] + "\n")}, nil
	case cmd[0] == dnscheck.DefaultBinaryPath:
		return e.dnscheck(lab, host, stdin)
	}
	return runtime.ExecResult{ExitCode: 127, Stderr: []byte(cmd[0] + ": not found")}, nil
}

// The exit codes of package traffic's capture scripts that the fake's
// tcpdump gives.
const (
	captureNoFile  = 6 // no capture to stop
	captureRunning = 7 // a capture already runs on the host
)

// startCapture answers package traffic's start script: tcpdump listens at
// once, unless one already runs there.
func (e *Engine) startCapture(lab, host string) runtime.ExecResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.captures[lab+" "+host] {
		return runtime.ExecResult{ExitCode: captureRunning}
	}
	e.captures[lab+" "+host] = true
	return runtime.ExecResult{}
}

// stopCapture answers package traffic's stop script: tcpdump stops and,
// with copy, its capture (a pcap file holding no packet) comes out on
// stdout and its counters on stderr.
func (e *Engine) stopCapture(lab, host string, copy bool) runtime.ExecResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.captures[lab+" "+host] {
		return runtime.ExecResult{ExitCode: captureNoFile}
	}
	delete(e.captures, lab+" "+host)
	if !copy {
		return runtime.ExecResult{}
	}
	return runtime.ExecResult{Stdout: emptyPcap(),
		Stderr: []byte("0 packets captured\n0 packets received by filter\n0 packets dropped by kernel\n")}
}

// emptyPcap is a pcap file's global header (Ethernet, microseconds) with
// no packet after it.
func emptyPcap() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 262144)
	binary.LittleEndian.PutUint32(b[20:], 1)
	return b
}

// dnscheck answers as the dnscheck binary does: a JSON report on the
// host, every expectation passing through both paths unless FailDNS or
// SilenceDNS named the host, whose resolv.conf path then gets a wrong
// answer or none.
func (e *Engine) dnscheck(lab, host string, stdin io.Reader) (runtime.ExecResult, error) {
	exps, err := dnscheck.DecodeExpectations(stdin)
	if err != nil {
		return runtime.ExecResult{ExitCode: 2, Stderr: []byte(err.Error())}, nil
	}
	e.mu.Lock()
	wrong, silent := e.dnsFails[host], e.dnsSilent[host]
	e.mu.Unlock()
	server := e.ip(lab, "dnsserver") + ":53"
	h := dnscheck.HostReport{Host: host, Direct: server}
	for _, exp := range exps {
		for _, path := range []dnscheck.Path{dnscheck.PathResolv, dnscheck.PathDirect} {
			res := dnscheck.Result{Expectation: exp, Path: path, Server: server, Pass: true, Reason: dnscheck.ReasonOK, Rcode: "NOERROR", Got: exp.Want}
			switch {
			case wrong && path == dnscheck.PathResolv:
				res.Pass, res.Reason, res.Got = false, dnscheck.ReasonWrongAnswer, []string{"192.0.2.66"}
				res.Detail = "want " + strings.Join(exp.Want, ", ") + ", got 192.0.2.66"
			case silent && path == dnscheck.PathResolv:
				res.Pass, res.Reason, res.Got, res.Rcode = false, dnscheck.ReasonTimeout, nil, ""
				res.Detail = "no answer in 3 tries of 3s"
			}
			h.Results = append(h.Results, res)
		}
	}
	out, err := json.Marshal(dnscheck.Report{Hosts: []dnscheck.HostReport{h}})
	code := 0
	if wrong || silent {
		code = 1
	}
	return runtime.ExecResult{ExitCode: code, Stdout: out}, err
}

// Program is the submission's command inside what the engine spawns: the
// grader's sandbox wraps it in setpriv ... --.
func Program(cmd []string) []string {
	if cmd[0] == "setpriv" {
		if i := slices.Index(cmd, "--"); i >= 0 {
			return cmd[i+1:]
		}
	}
	return cmd
}

func (e *Engine) spawn(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (int, error) {
	if cmd[0] == "bash" && len(cmd) > 3 && cmd[3] == "lab3-agent" {
		return e.agent(lab, host, stdin, out), nil
	}
	prog := Program(cmd)
	if e.OnSpawn != nil {
		e.OnSpawn(lab, host, prog[0])
	}
	name := prog[0]
	if name == "silent-server" || name == "late-server" {
		e.mu.Lock()
		r := e.room(lab)
		r.starts++
		first := r.starts == 1
		e.mu.Unlock()
		if name == "silent-server" || first {
			_, _ = io.Copy(io.Discard, stdin) // until it is killed
			return 137, nil
		}
		name = "chat-server"
	}
	switch name {
	case "chat-server":
		return e.chatServer(ctx, lab, prog, stdin, out), nil
	case "crash-server":
		fmt.Fprintln(out, "Traceback (most recent call last): NameError: name 'sokcet' is not defined")
		return 1, nil
	case "chat-client":
		return e.chatClient(ctx, lab, host, stdin, out), nil
	}
	fmt.Fprintf(out, "%s: not found\n", prog[0])
	return 127, nil
}

// chatServer listens on the port its last argument names until its input
// ends or it is killed.
func (e *Engine) chatServer(ctx context.Context, lab string, prog []string, stdin io.Reader, out io.Writer) int {
	e.mu.Lock()
	e.room(lab).server = true
	e.mu.Unlock()
	fmt.Fprintln(out, "listening on port", prog[len(prog)-1])
	_, _ = io.Copy(io.Discard, stdin)
	e.mu.Lock()
	e.room(lab).server = false
	e.mu.Unlock()
	if ctx.Err() != nil {
		return 137
	}
	return 0
}

// chatClient joins lab's chat, refused while no server runs, and relays
// each line it reads to the other clients.
func (e *Engine) chatClient(ctx context.Context, lab, host string, stdin io.Reader, out io.Writer) int {
	e.mu.Lock()
	r := e.room(lab)
	if !r.server {
		e.mu.Unlock()
		fmt.Fprintln(out, "ConnectionRefusedError: [Errno 111] Connection refused")
		return 1
	}
	r.clients[host] = out
	e.mu.Unlock()
	fmt.Fprintln(out, "connected")
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		e.mu.Lock()
		var to []io.Writer
		for h, w := range r.clients {
			if h != host {
				to = append(to, w)
			}
		}
		e.mu.Unlock()
		for _, w := range to {
			fmt.Fprintf(w, "%s says: %s\n", host, sc.Text())
		}
	}
	e.mu.Lock()
	delete(r.clients, host)
	e.mu.Unlock()
	if ctx.Err() != nil {
		return 137
	}
	return 0
}

// agent answers the grader's agent's requests until its input ends: a
// reading finds nothing running (an idle host, so the lab is settled at
// once), K signals the processes by PID, R resets the host.
func (e *Engine) agent(lab, host string, stdin io.Reader, out io.Writer) int {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 2 {
			continue
		}
		switch w[0] {
		case "K":
			code := 0
			sig, _ := strconv.Atoi(strings.TrimPrefix(w[2], "-"))
			for _, p := range w[3:] {
				pid, _ := strconv.Atoi(p)
				if e.SignalProcess(lab, host, pid, syscall.Signal(sig)) != nil {
					code = 1
				}
			}
			fmt.Fprintf(out, "X %d\n", code)
		case "R":
			fmt.Fprintf(out, "X %d\n", e.reset(lab, host))
		}
		fmt.Fprintf(out, "E %s\n", w[1])
	}
	return 0
}
