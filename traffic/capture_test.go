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

	"github.com/ntnu-ttm4200/lab3/lab"
)

// fakeHost is what the fake engine knows of one container's tcpdump.
type fakeHost struct {
	started    bool
	checks     int
	stopping   bool
	alivepolls int
	killed     bool
	removed    bool
	script     string
}

// fakeEngine plays the lab's containers: it reads the shell scripts that
// capture.go sends and answers as tcpdump would.
type fakeEngine struct {
	mu         sync.Mutex
	hosts      map[string]*fakeHost
	readyAfter int  // checks until tcpdump prints "listening on"
	dies       bool // tcpdump exits at once (no such interface)
	missing    bool // tcpdump is not installed
	stopAfter  int  // alive polls after SIGINT until the process is gone
	neverStops bool
	pcap       []byte
	execs      []string
	now        time.Time
	sleeps     int
	sleepFor   time.Duration
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{hosts: map[string]*fakeHost{}, readyAfter: 1, stopAfter: 1, pcap: []byte("pcap bytes"),
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (e *fakeEngine) clock() CaptureOption {
	return WithClock(
		func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now },
		func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.now = e.now.Add(d)
			e.sleeps++
			e.sleepFor += d
			return ctx.Err()
		})
}

func (e *fakeEngine) host(c string) *fakeHost {
	h, ok := e.hosts[c]
	if !ok {
		h = &fakeHost{}
		e.hosts[c] = h
	}
	return h
}

func (e *fakeEngine) Exec(ctx context.Context, container string, cmd []string, stdin io.Reader) (ExecResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(cmd) < 3 || cmd[0] != "sh" || cmd[1] != "-c" {
		return ExecResult{}, errors.New("fake: not a shell script")
	}
	script := cmd[2]
	e.execs = append(e.execs, container+": "+strings.SplitN(strings.TrimSpace(script), "\n", 2)[0])
	h := e.host(container)
	switch {
	case strings.Contains(script, "tcpdump -i"):
		if e.missing {
			return ExecResult{ExitCode: 127, Stderr: []byte("tcpdump: not installed\n")}, nil
		}
		h.started, h.script = true, script
		return ExecResult{}, nil
	case strings.Contains(script, "lab-capture-alive"):
		h.checks++
		if e.dies {
			return ExecResult{Stdout: []byte("tcpdump: eth9: No such device exists\n")}, nil
		}
		if h.checks >= e.readyAfter {
			return ExecResult{Stdout: []byte("tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n\nlab-capture-alive\n")}, nil
		}
		return ExecResult{Stdout: []byte("\nlab-capture-alive\n")}, nil
	case strings.Contains(script, "kill -INT"):
		h.stopping = true
		return ExecResult{}, nil
	case strings.Contains(script, "kill -KILL"):
		h.killed = true
		return ExecResult{}, nil
	case strings.Contains(script, "kill -0"):
		if h.stopping {
			h.alivepolls++
		}
		if h.killed || (h.stopping && !e.neverStops && h.alivepolls > e.stopAfter) {
			return ExecResult{ExitCode: 1}, nil
		}
		return ExecResult{}, nil
	case strings.Contains(script, "rm -f"):
		h.removed = true
		return ExecResult{}, nil
	}
	return ExecResult{}, errors.New("fake: unknown script " + script)
}

func (e *fakeEngine) ReadFile(ctx context.Context, container, src string) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.HasPrefix(src, CaptureDir+"/") {
		return nil, errors.New("fake: outside the capture dir")
	}
	if strings.HasSuffix(src, ".log") {
		return []byte("tcpdump: listening on eth0\n7 packets captured\n9 packets received by filter\n2 packets dropped by kernel\n"), nil
	}
	return append([]byte(container+":"), e.pcap...), nil
}

func TestStartCaptureWaitsForListening(t *testing.T) {
	e := newFakeEngine()
	e.readyAfter = 3
	topo := lab.Default()
	c, err := StartCapture(context.Background(), e, topo, []string{"webserver"}, e.clock(), WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h := e.hosts[topo.ContainerName("webserver")]
	if h.checks != 3 || e.sleeps != 2 || e.sleepFor != 100*time.Millisecond {
		t.Errorf("checks %d, sleeps %d (%s); want 3 checks and 2 sleeps of 50ms", h.checks, e.sleeps, e.sleepFor)
	}
	for _, want := range []string{"tcpdump -i eth0 -U", "-w /var/tmp/lab-capture/chatserver.pcap", ">/var/tmp/lab-capture/chatserver.pcap.log", "echo $! >/var/tmp/lab-capture/chatserver.pcap.pid"} {
		if !strings.Contains(h.script, want) {
			t.Errorf("start script lacks %q:\n%s", want, h.script)
		}
	}
	if got := c.Files(); !reflect.DeepEqual(got, []string{"chatserver.pcap"}) {
		t.Errorf("Files() = %q", got)
	}
}

func TestStartCaptureAllHosts(t *testing.T) {
	e := newFakeEngine()
	topo := lab.Default()
	c, err := StartCapture(context.Background(), e, topo, nil, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dnsserver.pcap", "chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap"}
	if got := c.Files(); !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %q, want the handout's names %q", got, want)
	}
	for _, h := range topo.Hosts {
		if !e.hosts[topo.ContainerName(h.Name)].started {
			t.Errorf("no tcpdump started on %s", h.Name)
		}
	}
}

func TestStartCaptureFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*fakeEngine)
		hosts   []string
		opts    []CaptureOption
		target  error
		hint    string
		noExec  bool
		elapsed time.Duration
	}{
		{name: "never listening", setup: func(e *fakeEngine) { e.readyAfter, e.stopAfter = 1<<30, 0 }, hosts: []string{"client1"},
			opts:   []CaptureOption{WithReadyTimeout(2 * time.Second), WithPollInterval(100 * time.Millisecond)},
			target: ErrCapture, hint: "not listening after 2s", elapsed: 2 * time.Second},
		{name: "tcpdump exits", setup: func(e *fakeEngine) { e.dies = true }, hosts: []string{"client1"},
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
			start := e.now
			opts := append([]CaptureOption{e.clock()}, tc.opts...)
			_, err := StartCapture(context.Background(), e, lab.Default(), tc.hosts, opts...)
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("got %v, want %v with %q", err, tc.target, tc.hint)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if tc.noExec && len(e.execs) > 0 {
				t.Errorf("bad input ran commands: %q", e.execs)
			}
			if tc.elapsed > 0 && e.now.Sub(start) != tc.elapsed {
				t.Errorf("gave up after %s, want exactly %s", e.now.Sub(start), tc.elapsed)
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

func TestStopCaptureCopiesCompleteFiles(t *testing.T) {
	e := newFakeEngine()
	e.stopAfter = 2
	topo := lab.Default()
	c, err := StartCapture(context.Background(), e, topo, []string{"webserver", "client1"}, e.clock())
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
		{Host: "webserver", Path: filepath.Join(dir, "chatserver.pcap"), Bytes: len("lab3-webserver:pcap bytes"), Captured: 7, Dropped: 2},
		{Host: "client1", Path: filepath.Join(dir, "client1.pcap"), Bytes: len("lab3-client1:pcap bytes"), Captured: 7, Dropped: 2},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got %+v\nwant %+v", files, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, "chatserver.pcap"))
	if err != nil || string(data) != "lab3-webserver:pcap bytes" {
		t.Errorf("chatserver.pcap = %q, %v", data, err)
	}
	for _, name := range []string{"webserver", "client1"} {
		h := e.hosts[topo.ContainerName(name)]
		// Copied only once the process was gone: 2 polls alive, 1 gone.
		if h.alivepolls != 3 || !h.removed || h.killed {
			t.Errorf("%s: alive polls %d, removed %v, killed %v; want 3, true, false", name, h.alivepolls, h.removed, h.killed)
		}
	}
}

func TestStopCaptureKillsStuckTcpdump(t *testing.T) {
	e := newFakeEngine()
	e.neverStops = true
	c, err := StartCapture(context.Background(), e, lab.Default(), []string{"client2"}, e.clock(), WithStopTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Stop(context.Background(), t.TempDir())
	if !errors.Is(err, ErrCapture) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("got %v, want ErrCapture saying it was killed", err)
	}
	h := e.hosts[lab.Default().ContainerName("client2")]
	if !h.killed || !h.removed {
		t.Errorf("killed %v, removed %v; want both", h.killed, h.removed)
	}
}

func TestFileName(t *testing.T) {
	topo := lab.Default()
	want := map[string]string{"webserver": "chatserver.pcap", "client1": "client1.pcap", "client2": "client2.pcap", "client3": "client3.pcap", "dnsserver": "dnsserver.pcap"}
	for host, file := range want {
		h, _ := topo.Host(host)
		if got := FileName(h); got != file {
			t.Errorf("FileName(%s) = %s, want %s", host, got, file)
		}
	}
}
