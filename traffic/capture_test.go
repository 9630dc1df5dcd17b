package traffic

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// fakeHost is what the fake engine knows of one container's tcpdump.
type fakeHost struct {
	started  bool
	stopping bool
	killed   bool
	removed  bool
	script   string // the start script, run or refused
	stop     string // the stop script
	path     string // the capture file, from the start script
}

// fakeEngine plays the lab's containers: runtime/fake's engine with the
// default lab up, whose hosts answer the shell scripts that capture.go
// sends with the exit codes and output the scripts produce in a real
// container (capture_e2e_test.go runs them there).
type fakeEngine struct {
	*fake.Engine
	mu         sync.Mutex
	hosts      map[string]*fakeHost
	neverReady bool            // tcpdump never prints "listening on"
	dies       bool            // tcpdump exits at once (no such interface)
	missing    bool            // tcpdump is not installed
	neverStops bool            // tcpdump ignores SIGINT
	running    map[string]bool // containers where an earlier capture still runs
	execs      []string
}

func newFakeEngine() *fakeEngine {
	e := &fakeEngine{Engine: fake.New("fake"), hosts: map[string]*fakeHost{}}
	if err := e.AddLab(context.Background(), topology.Default()); err != nil {
		panic(err)
	}
	e.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		return e.exec(host, cmd)
	}
	return e
}

func (e *fakeEngine) host(c string) *fakeHost {
	h, ok := e.hosts[c]
	if !ok {
		h = &fakeHost{}
		e.hosts[c] = h
	}
	return h
}

const fakeLog = "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n7 packets captured\n9 packets received by filter\n2 packets dropped by kernel\n"

func (e *fakeEngine) exec(host string, cmd []string) (runtime.ExecResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(cmd) != 3 || cmd[0] != "sh" || cmd[1] != "-c" {
		return runtime.ExecResult{}, errors.New("fake: not a shell script")
	}
	script := cmd[2]
	e.execs = append(e.execs, host+": "+strings.SplitN(strings.TrimSpace(script), "\n", 2)[0])
	fh := e.host(host)
	switch {
	case strings.Contains(script, "tcpdump -i"):
		if e.missing {
			return runtime.ExecResult{ExitCode: exitMissing, Stderr: []byte("tcpdump: not installed\n")}, nil
		}
		fh.script = script
		if e.running[host] {
			return runtime.ExecResult{ExitCode: exitRunning}, nil
		}
		fh.started = true
		if i := strings.Index(script, " -w "); i >= 0 {
			fh.path = strings.Fields(script[i+4:])[0]
		}
		switch {
		case e.dies:
			return runtime.ExecResult{ExitCode: exitExited, Stdout: []byte("tcpdump: eth9: No such device exists\n(SIOCGIFHWADDR: No such device)\n")}, nil
		case e.neverReady:
			return runtime.ExecResult{ExitCode: exitNotReady}, nil
		}
		return runtime.ExecResult{}, nil
	case strings.Contains(script, "kill -INT"):
		fh.stopping, fh.stop = true, script
		fh.removed = strings.Contains(script, "rm -f $f $f.log $f.pid")
		if e.neverStops {
			fh.killed = true
			return runtime.ExecResult{ExitCode: exitKilled}, nil
		}
		if strings.Contains(script, ".log >&2") {
			return runtime.ExecResult{Stdout: []byte(host + ":pcap bytes"), Stderr: []byte(fakeLog)}, nil
		}
		return runtime.ExecResult{}, nil
	}
	return runtime.ExecResult{}, errors.New("fake: unknown script " + script)
}

func TestStartCaptureScript(t *testing.T) {
	e := newFakeEngine()
	topo := topology.Default()
	c, err := StartCapture(context.Background(), e, topo, []string{"webserver"},
		WithPollInterval(50*time.Millisecond), WithReadyTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h := e.hosts["webserver"]
	for _, want := range []string{
		"tcpdump -i eth0 -U --immediate-mode -s 9216 -B 16384 -Z root -w /var/tmp/lab-capture/chatserver.pcap",
		">/var/tmp/lab-capture/chatserver.pcap.log 2>&1 </dev/null &",
		"echo $pid >/var/tmp/lab-capture/chatserver.pcap.pid",
		// Waits for the event, polling every 50ms for at most 3s.
		"grep -q 'listening on' /var/tmp/lab-capture/chatserver.pcap.log && exit 0",
		"while [ $i -lt 60 ]; do",
		"sleep 0.050",
	} {
		if !strings.Contains(h.script, want) {
			t.Errorf("start script lacks %q:\n%s", want, h.script)
		}
	}
	if got := c.Files(); !reflect.DeepEqual(got, []string{"chatserver.pcap"}) {
		t.Errorf("Files() = %q", got)
	}
	if len(e.execs) != 1 {
		t.Errorf("start took %d execs, want 1: %q", len(e.execs), e.execs)
	}
	if _, err := c.Stop(context.Background(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if len(e.execs) != 2 {
		t.Errorf("stop took %d execs, want 1: %q", len(e.execs)-1, e.execs)
	}
}

func TestStartCaptureAllHosts(t *testing.T) {
	e := newFakeEngine()
	topo := topology.Default()
	c, err := StartCapture(context.Background(), e, topo, nil, WithInterface("any"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dnsserver.pcap", "chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap"}
	if got := c.Files(); !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %q, want the handout's names %q", got, want)
	}
	for _, h := range topo.Hosts {
		fh := e.hosts[h.Name]
		if fh == nil || !fh.started || !strings.Contains(fh.script, "tcpdump -i any ") {
			t.Errorf("no tcpdump -i any started on %s", h.Name)
		}
	}
}

func TestStartCaptureFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*fakeEngine)
		hosts  []string
		opts   []CaptureOption
		target error
		hint   string
		noExec bool
	}{
		{name: "never listening", setup: func(e *fakeEngine) { e.neverReady = true }, hosts: []string{"client1"},
			opts:   []CaptureOption{WithReadyTimeout(2 * time.Second)},
			target: ErrCapture, hint: "not listening after 2s: is interface eth0 up?"},
		{name: "tcpdump exits", setup: func(e *fakeEngine) { e.dies = true }, hosts: []string{"client1", "client2"},
			target: ErrCapture, hint: "eth9: No such device exists"},
		{name: "tcpdump missing", setup: func(e *fakeEngine) { e.missing = true }, hosts: []string{"client1", "client2"},
			target: ErrCapture, hint: "is tcpdump in the image?"},
		{name: "unknown host", hosts: []string{"client9"}, target: ErrUnknownHost, hint: "want one of dnsserver, webserver", noExec: true},
		{name: "bad interface", hosts: []string{"client1"}, opts: []CaptureOption{WithInterface("eth0; reboot")},
			target: ErrCapture, hint: "use a name such as eth0", noExec: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newFakeEngine()
			if tc.setup != nil {
				tc.setup(e)
			}
			_, err := StartCapture(context.Background(), e, topology.Default(), tc.hosts, tc.opts...)
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("got %v, want %v with %q", err, tc.target, tc.hint)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if tc.noExec && len(e.execs) > 0 {
				t.Errorf("bad input ran commands: %q", e.execs)
			}
			// Whatever was started is stopped and removed.
			for name, h := range e.hosts {
				if h.started && (!h.stopping || !h.removed) {
					t.Errorf("%s: tcpdump left behind (stopping %v, removed %v)", name, h.stopping, h.removed)
				}
			}
		})
	}
}

func TestStartCaptureLeavesARunningCaptureAlone(t *testing.T) {
	e := newFakeEngine()
	topo := topology.Default()
	busy := "client1"
	e.running = map[string]bool{busy: true}
	_, err := StartCapture(context.Background(), e, topo, []string{"client1", "client2"})
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "start capture on client1: capture failed: a capture is already running there: stop it first") {
		t.Fatalf("got %v, want the running capture reported", err)
	}
	if h := e.hosts[busy]; h.started || h.stopping {
		t.Errorf("client1's running capture was replaced (%v) or stopped (%v)", h.started, h.stopping)
	}
	if h := e.hosts["client2"]; h.started && (!h.stopping || !h.removed) {
		t.Errorf("client2's new capture was left behind")
	}
	// client1's script is the one that found the running capture; client2's
	// start may be cancelled before it is sent.
	if !strings.Contains(e.hosts[busy].script, "grep -q tcpdump /proc/$old/cmdline") {
		t.Errorf("the start script does not check for a running capture")
	}
}

func TestStopCaptureCopiesCompleteFiles(t *testing.T) {
	e := newFakeEngine()
	topo := topology.Default()
	c, err := StartCapture(context.Background(), e, topo, []string{"webserver", "client1"},
		WithStopTimeout(4*time.Second), WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// A cancelled context (Ctrl-C) still stops, copies and cleans up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "results", "lab3", "captures")
	files, err := c.Stop(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []CaptureFile{
		{Host: "webserver", Path: filepath.Join(dir, "chatserver.pcap"), Bytes: len("webserver:pcap bytes"), Captured: 7, Dropped: 2},
		{Host: "client1", Path: filepath.Join(dir, "client1.pcap"), Bytes: len("client1:pcap bytes"), Captured: 7, Dropped: 2},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got %+v\nwant %+v", files, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, "chatserver.pcap"))
	if err != nil || string(data) != "webserver:pcap bytes" {
		t.Errorf("chatserver.pcap = %q, %v", data, err)
	}
	for _, name := range []string{"webserver", "client1"} {
		h := e.hosts[name]
		if !h.removed || h.killed {
			t.Errorf("%s: removed %v, killed %v", name, h.removed, h.killed)
		}
		for _, want := range []string{
			"kill -INT $p",
			"until gone; do",
			"if [ $i -ge 200 ]; then kill -KILL $p;",
			"sleep 0.020",
			"grep -q '^State:.*Z' /proc/$p/status", // a zombie has exited
			// The file is copied only after the wait loop: it is complete.
			"done\ncat /var/tmp/lab-capture/" + filepath.Base(h.path) + ".log >&2",
		} {
			if !strings.Contains(h.stop, want) {
				t.Errorf("%s: stop script lacks %q:\n%s", name, want, h.stop)
			}
		}
	}
}

func TestStopCaptureKillsStuckTcpdump(t *testing.T) {
	e := newFakeEngine()
	e.neverStops = true
	c, err := StartCapture(context.Background(), e, topology.Default(), []string{"client2"}, WithStopTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Stop(context.Background(), t.TempDir())
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("got %v, want ErrCapture saying it was killed", err)
	}
	h := e.hosts["client2"]
	if !h.killed || !h.removed {
		t.Errorf("killed %v, removed %v; want both", h.killed, h.removed)
	}
}

func TestFileName(t *testing.T) {
	topo := topology.Default()
	want := map[string]string{"webserver": "chatserver.pcap", "client1": "client1.pcap", "client2": "client2.pcap", "client3": "client3.pcap", "dnsserver": "dnsserver.pcap"}
	for host, file := range want {
		h, _ := topo.Host(host)
		if got := FileName(h); got != file {
			t.Errorf("FileName(%s) = %s, want %s", host, got, file)
		}
	}
}

// TestRunningCaptureStopsFromAnotherProcess is lab capture start, then
// lab capture stop: the second process finds the capture by host.
func TestRunningCaptureStopsFromAnotherProcess(t *testing.T) {
	e := newFakeEngine()
	topo := topology.Default()
	if _, err := StartCapture(context.Background(), e, topo, []string{"client1"}); err != nil {
		t.Fatal(err)
	}
	c, err := RunningCapture(e, topo, []string{"client1"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Stop(context.Background(), t.TempDir())
	if err != nil || len(files) != 1 || files[0].Host != "client1" || files[0].Captured != 7 {
		t.Fatalf("got %+v, %v", files, err)
	}
	if _, err := RunningCapture(e, topo, []string{"client4"}); !errors.Is(err, ErrUnknownHost) {
		t.Errorf("unknown host: got %v", err)
	}
}
