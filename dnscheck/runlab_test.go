package dnscheck

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// localRunner stands in for Docker: a fake engine whose hosts each have a
// folder, where the copied binary really runs, as a local process, against
// test servers on 127.0.0.1/127.0.0.2 instead of the lab's network.
type localRunner struct {
	t       *testing.T
	eng     *fake.Engine
	dir     string
	port    string            // the test servers' port
	resolv  map[string]string // host → resolv.conf text
	copyErr map[string]error  // container → CopyFiles failure
	execFn  map[string]func() (runtime.ExecResult, error)

	// forkMu keeps forks out while a copied binary is open for writing:
	// a child forked then would inherit the descriptor, and running the
	// binary would fail with "text file busy" (golang.org/issue/22315).
	forkMu sync.RWMutex

	mu    sync.Mutex
	execs [][]string
}

// newRunner is a localRunner on an engine with no lab; withLab adds topo's.
func newRunner(t *testing.T, withLab bool) *localRunner {
	l := &localRunner{t: t, eng: fake.New("fake"), dir: t.TempDir(), resolv: map[string]string{},
		copyErr: map[string]error{}, execFn: map[string]func() (runtime.ExecResult, error){}}
	l.eng.Fail = func(op, target string) error {
		if op == "copy" {
			return l.copyErr[target]
		}
		return nil
	}
	l.eng.ExecFunc = l.exec
	if withLab {
		if err := l.eng.AddLab(context.Background(), topology.Default()); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// copies are the files copied into the hosts, as "host:path:mode".
func (l *localRunner) copies() []string {
	var out []string
	for _, h := range topology.Default().Hosts {
		for _, p := range l.eng.Files(topology.DefaultName, h.Name) {
			f, _ := l.eng.File(topology.DefaultName, h.Name, p)
			out = append(out, h.Name+":"+p+":"+f.Mode.String())
		}
	}
	return out
}

func (l *localRunner) exec(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	l.mu.Lock()
	l.execs = append(l.execs, cmd)
	l.mu.Unlock()
	if fn := l.execFn[host]; fn != nil {
		return fn()
	}
	dir := filepath.Join(l.dir, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runtime.ExecResult{}, err
	}
	bin, ok := l.eng.File(lab, host, cmd[0])
	if !ok {
		return runtime.ExecResult{ExitCode: 127, Stderr: []byte(cmd[0] + ": not found")}, nil
	}
	local := filepath.Join(dir, filepath.Base(cmd[0]))
	l.forkMu.Lock()
	err := os.WriteFile(local, bin.Data, bin.Mode)
	l.forkMu.Unlock()
	if err != nil {
		return runtime.ExecResult{}, err
	}
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte(l.resolv[host]), 0o644); err != nil {
		return runtime.ExecResult{}, err
	}
	// The lab's addresses and port 53 are mapped onto the test servers.
	args := slices.Clone(cmd[1:])
	for i := range args {
		switch {
		case i > 0 && args[i-1] == "--direct":
			args[i] = "127.0.0.1"
		case i > 0 && args[i-1] == "--port":
			args[i] = l.port
		}
	}
	args = append(args, "--resolv", resolv)
	c := exec.CommandContext(ctx, local, args...)
	c.Stdin = stdin
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	l.forkMu.RLock()
	err = c.Start()
	l.forkMu.RUnlock()
	if err != nil {
		return runtime.ExecResult{}, err
	}
	err = c.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		err = nil
	}
	return runtime.ExecResult{ExitCode: c.ProcessState.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, err
}

var (
	binaryOnce sync.Once
	binaryData []byte
	binaryErr  error
)

// testBinary reads the dnscheck binary that make build made, once for all
// tests (tier.Bin: the tests build no binaries of their own).
func testBinary(t testing.TB) []byte {
	t.Helper()
	path := tier.Bin(t, "dnscheck")
	binaryOnce.Do(func() { binaryData, binaryErr = os.ReadFile(path) })
	if binaryErr != nil {
		t.Fatalf("read dnscheck: %v", binaryErr)
	}
	return binaryData
}

func newLocalRunner(t *testing.T) (*localRunner, *dnstest.Server, *dnstest.Server) {
	labSrv, other, _ := twoServers(t)
	_, port, _ := net.SplitHostPort(labSrv.Addr)
	l := newRunner(t, true)
	l.port = port
	for _, c := range topology.Default().Clients() {
		l.resolv[c.Name] = "nameserver 127.0.0.1\n"
	}
	return l, labSrv, other
}

func TestRunLabHealthy(t *testing.T) {
	bin := testBinary(t)
	r, _, _ := newLocalRunner(t)
	topo := topology.Default()
	rep, err := RunLab(context.Background(), r.eng, topo, bin, fast...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass() {
		var b strings.Builder
		_ = WriteText(&b, rep)
		t.Fatalf("healthy lab failed:\n%s", b.String())
	}
	var hosts []string
	for _, h := range rep.Hosts {
		hosts = append(hosts, h.Host)
		if got, want := len(h.Results), 2*len(Expectations(topo)); got != want {
			t.Errorf("%s: %d results, want %d", h.Host, got, want)
		}
	}
	if got := strings.Join(hosts, ","); got != "client1,client2,client3" {
		t.Errorf("hosts = %s, want client1,client2,client3 in order", got)
	}
	want := "client1:/usr/local/bin/dnscheck:-rwxr-xr-x,client2:/usr/local/bin/dnscheck:-rwxr-xr-x,client3:/usr/local/bin/dnscheck:-rwxr-xr-x"
	if got := strings.Join(r.copies(), ","); got != want {
		t.Errorf("copies = %s, want %s", got, want)
	}
	wantCmd := "/usr/local/bin/dnscheck --expect-json - --direct 10.20.30.2 --host client1 --timeout 150ms --retries 1 --port 53 --json"
	if !slices.ContainsFunc(r.execs, func(c []string) bool { return strings.Join(c, " ") == wantCmd }) {
		t.Errorf("no exec of %q in %q", wantCmd, r.execs)
	}
	if rep.Lab != "lab3" || rep.Domain != "team30.com" || rep.Server != "10.20.30.2" {
		t.Errorf("report header = %q %q %q", rep.Lab, rep.Domain, rep.Server)
	}
}

func TestRunLabFailures(t *testing.T) {
	bin := testBinary(t)
	topo := topology.Default()
	tests := []struct {
		name     string
		setup    func(r *localRunner, other *dnstest.Server)
		failHost string
		wantKind FindingKind
		wantHas  string
	}{
		{name: "a client's resolv.conf points elsewhere",
			setup: func(r *localRunner, other *dnstest.Server) {
				r.resolv["client2"] = "nameserver 127.0.0.2\n"
				other.SetMode(dnstest.Lie)
			},
			failHost: "client2", wantKind: FindingResolvElsewhere, wantHas: "points elsewhere"},
		{name: "the copy fails",
			setup: func(r *localRunner, _ *dnstest.Server) {
				r.copyErr["lab3-client3"] = errors.New("no such container: lab3-client3")
			},
			failHost: "client3", wantKind: FindingRun, wantHas: "copy dnscheck into client3: no such container: lab3-client3: is the lab up?"},
		{name: "the binary cannot run there",
			setup: func(r *localRunner, _ *dnstest.Server) {
				r.execFn["client1"] = func() (runtime.ExecResult, error) {
					return runtime.ExecResult{ExitCode: 126, Stderr: []byte("exec format error\n")}, nil
				}
			},
			failHost: "client1", wantKind: FindingRun, wantHas: "exited 126: exec format error (was bin/dnscheck built with CGO_ENABLED=0"},
		{name: "the binary prints garbage",
			setup: func(r *localRunner, _ *dnstest.Server) {
				r.execFn["client1"] = func() (runtime.ExecResult, error) {
					return runtime.ExecResult{ExitCode: 1, Stdout: []byte("Segmentation fault")}, nil
				}
			},
			failHost: "client1", wantKind: FindingRun, wantHas: "printed no report"},
		{name: "exec itself fails",
			setup: func(r *localRunner, _ *dnstest.Server) {
				r.execFn["client2"] = func() (runtime.ExecResult, error) {
					return runtime.ExecResult{}, errors.New("container lab3-client2 is not running")
				}
			},
			failHost: "client2", wantKind: FindingRun, wantHas: "run dnscheck in client2: container lab3-client2 is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, other := newLocalRunner(t)
			tt.setup(r, other)
			rep, err := RunLab(context.Background(), r.eng, topo, bin, fast...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Pass() {
				t.Fatal("report passes, want a failure")
			}
			for _, h := range rep.Hosts {
				if h.Host != tt.failHost {
					if !h.Pass() {
						t.Errorf("%s failed too: %+v", h.Host, h.Findings)
					}
					continue
				}
				found := slices.ContainsFunc(h.Findings, func(f Finding) bool {
					return f.Kind == tt.wantKind && strings.Contains(f.Detail, tt.wantHas)
				})
				if !found {
					t.Errorf("%s: no %s finding with %q in %+v", h.Host, tt.wantKind, tt.wantHas, h.Findings)
				}
			}
		})
	}
}

func TestRunLabRefusesBadInputWithoutTouchingContainers(t *testing.T) {
	topo := topology.Default()
	bin := []byte("#!/bin/sh\n")
	tests := []struct {
		name string
		bin  []byte
		opts []Option
		want string
	}{
		{"empty binary", nil, nil, "no dnscheck binary: the binary is empty: run make build (bin/dnscheck)"},
		{"unknown client", bin, []Option{WithClients("client9")}, `unknown host "client9": the lab's hosts are dnsserver, webserver, client1, client2, client3`},
		{"invalid expectation", bin, []Option{WithExpectations([]Expectation{{Name: "team30.com", Type: "A", Want: []string{"x"}}})},
			`expectation 1: invalid expectation: team30.com. A: "x" is not an IP address`},
		{"no expectations", bin, []Option{WithExpectations([]Expectation{})}, "invalid expectation: no expectations to check"},
		{"empty topology", bin, nil, "invalid topology: the topology has no DNS server: make it with topology.New"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, false)
			topo := topo
			if tt.name == "empty topology" {
				topo = topology.Topology{}
			}
			_, err := RunLab(context.Background(), r.eng, topo, tt.bin, tt.opts...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if calls := r.eng.Calls(); len(calls)+len(r.execs) != 0 {
				t.Errorf("touched containers: %v execs %v", calls, r.execs)
			}
		})
	}
}

func TestRunLabOneClientCustomExpectationsAndClock(t *testing.T) {
	bin := testBinary(t)
	r, _, _ := newLocalRunner(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { t := now; now = now.Add(1500 * time.Millisecond); return t }
	exps := []Expectation{{Name: "www.team30.com", Type: "CNAME", Want: []string{"team30.com."}}}
	rep, err := RunLab(context.Background(), r.eng, topology.Default(), bin,
		append(fast, WithClients("client2"), WithExpectations(exps), WithClock(clock), WithBinaryPath("/tmp/dc"))...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 1 || rep.Hosts[0].Host != "client2" || len(rep.Hosts[0].Results) != 2 || !rep.Pass() {
		t.Fatalf("report = %+v, want client2 only, 2 passing results", rep)
	}
	if rep.Elapsed != 1500*time.Millisecond {
		t.Errorf("elapsed = %v, want the clock's 1.5s", rep.Elapsed)
	}
	if got := strings.Join(r.copies(), ","); got != "client2:/tmp/dc:-rwxr-xr-x" {
		t.Errorf("copy = %s", got)
	}
}

// TestSandboxBinaryPathIsInTheToolFolder: the path RunLab falls back to on
// a sandboxed host is in lab's writable tool folder.
func TestSandboxBinaryPathIsInTheToolFolder(t *testing.T) {
	if want := lab.ToolDir + "/bin/dnscheck"; sandboxBinaryPath != want {
		t.Errorf("sandboxBinaryPath = %s, want %s", sandboxBinaryPath, want)
	}
}
