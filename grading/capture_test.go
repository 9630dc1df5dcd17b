package grading

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// captureLog records, in order, the resets, program starts and capture
// hooks of one scenario run.
type captureLog struct {
	mu     sync.Mutex
	events []string
}

func (l *captureLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *captureLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// TestCaptureHooksWrapScenario: runOnce starts the capture after the
// reset, right before the first step, and stops it after the scenario's
// programs are gone, on a live context, whatever the outcome; a capture
// that fails to start or stop is the lab's ERROR. The lab is runtime/fake's
// with the grader's agent (gradingtest.Engine), the server an echo.
func TestCaptureHooksWrapScenario(t *testing.T) {
	const head = "name: t\nmilestone: M1\npoints: 2\nrequirement: echo\nsteps:\n" +
		"  - start: {proc: srv, host: webserver, role: server}\n  - expect: {proc: srv, match: ready}\n"
	tests := []struct {
		name       string
		steps      string
		startErr   error
		stopErr    error
		cancel     bool // the server's start cancels the grading context
		wantStatus scenarios.Status
		wantGot    string
		wantEvents []string
	}{
		{name: "pass", steps: "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: 'you said: hi'}\n",
			wantStatus: scenarios.Passed, wantEvents: []string{"reset", "capture start", "spawn srv", "typed hi", "capture stop"}},
		{name: "step fails", steps: "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: never, within: 300ms}\n",
			wantStatus: scenarios.Failed, wantGot: "it did not within", wantEvents: []string{"reset", "capture start", "spawn srv", "typed hi", "capture stop"}},
		{name: "ctx cancelled", steps: "  - expect: {proc: srv, match: never, within: 10m}\n", cancel: true,
			wantStatus: scenarios.Error, wantEvents: []string{"reset", "capture start", "spawn srv", "capture stop"}},
		{name: "start fails", startErr: errors.New("tcpdump: not installed"),
			wantStatus: scenarios.Error, wantGot: "capture did not start: tcpdump: not installed", wantEvents: []string{"reset", "capture start"}},
		{name: "stop fails", stopErr: errors.New("tcpdump still running"),
			wantStatus: scenarios.Error, wantGot: "capture did not stop cleanly", wantEvents: []string{"reset", "capture start", "spawn srv", "capture stop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := &captureLog{}
			f := gradingtest.NewEngine(t, "fake")
			topo := topology.Default()
			if err := f.AddLab(ctx, topo); err != nil {
				t.Fatal(err)
			}
			var srvRunning atomic.Bool
			chat := f.SpawnFunc
			f.SpawnFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (int, error) {
				if gradingtest.Program(cmd)[0] != "srv" {
					if len(cmd) > 3 && cmd[3] == "lab3-agent" {
						// The agent's resets of the web server are logged.
						in, w := io.Pipe()
						requests := stdin
						go func() {
							sc := bufio.NewScanner(requests)
							for sc.Scan() {
								if host == "webserver" && strings.HasPrefix(sc.Text(), "R ") {
									log.add("reset")
								}
								if _, err := io.WriteString(w, sc.Text()+"\n"); err != nil {
									break
								}
							}
							w.Close()
						}()
						stdin = in
					}
					return chat(ctx, lab, host, cmd, stdin, out)
				}
				log.add("spawn srv")
				srvRunning.Store(true)
				defer srvRunning.Store(false)
				if tt.cancel {
					cancel()
				}
				fmt.Fprintln(out, "ready")
				sc := bufio.NewScanner(stdin)
				for sc.Scan() {
					log.add("typed " + sc.Text())
					fmt.Fprintln(out, "you said: "+sc.Text())
				}
				return 137, nil
			}
			dir := filepath.Join(t.TempDir(), "team", "t", CaptureDir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "stale.pcap"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var stopCtxErr error
			var serverRunningAtStop bool
			capt := &scenarioCapture{topo: topo, dir: dir, start: func(ctx context.Context, got topology.Topology) (func(context.Context, string) error, error) {
				log.add("capture start")
				if got.Name != topo.Name {
					t.Errorf("capture started on lab %q, want %q", got.Name, topo.Name)
				}
				if _, err := os.Stat(filepath.Join(dir, "stale.pcap")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("an earlier attempt's capture is still there: %v", err)
				}
				if tt.startErr != nil {
					return nil, tt.startErr
				}
				return func(ctx context.Context, d string) error {
					log.add("capture stop")
					stopCtxErr = ctx.Err()
					serverRunningAtStop = srvRunning.Load()
					if d != dir {
						t.Errorf("capture saved to %s, want %s", d, dir)
					}
					return tt.stopErr
				}, nil
			}}
			rt := NewLabRuntime(f, topo, nil)
			progs := scenarios.Programs{PortsKnown: true, Commands: map[scenarios.Milestone]map[scenarios.Role][]string{scenarios.M1: {scenarios.RoleServer: {"srv"}}}}
			eng := scenarios.NewEngine(rt, progs, scenarios.VarsFor(topo, scenarios.DefaultPort, scenarios.DefaultP2PPort))
			sc, err := scenarios.Parse("t.yaml", []byte(head+tt.steps))
			if err != nil {
				t.Fatal(err)
			}
			res := runOnce(ctx, rt, topo, eng, sc, capt)

			if got := log.list(); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events %q, want %q", got, tt.wantEvents)
			}
			if tt.wantStatus != "" && res.Status != tt.wantStatus {
				t.Errorf("status %s, want %s (%+v)", res.Status, tt.wantStatus, res.Failure)
			}
			if tt.wantGot != "" && (res.Failure == nil || !strings.Contains(res.Failure.Got, tt.wantGot)) {
				t.Errorf("failure %+v, want it to say %q", res.Failure, tt.wantGot)
			}
			if res.Status == scenarios.Error && res.Points != 0 {
				t.Errorf("an ERROR scenario earned %d points", res.Points)
			}
			if stopCtxErr != nil {
				t.Errorf("capture stopped with a done context: %v", stopCtxErr)
			}
			if serverRunningAtStop {
				t.Error("capture stopped while the scenario's server still ran")
			}
			wantCaptures := ""
			if tt.startErr == nil && tt.stopErr == nil {
				wantCaptures = dir
			}
			if res.Captures != wantCaptures {
				t.Errorf("Captures = %q, want %q", res.Captures, wantCaptures)
			}
			if tt.startErr == nil && tt.stopErr == nil {
				if _, err := topology.Load(filepath.Join(dir, topology.TopologyFile)); err != nil {
					t.Errorf("the lab's topology is not saved with its captures: %v", err)
				}
			}
		})
	}
}

func TestWriteTranscriptsKeepsCaptures(t *testing.T) {
	dir := t.TempDir()
	sdir := filepath.Join(dir, "team07", "m2-p2p-udp")
	for _, f := range []string{"captures/client1.pcap", "old.log"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(sdir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sdir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		captures string
		want     bool
	}{
		{"captured this run", filepath.Join(sdir, CaptureDir), true},
		{"not captured this run", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := NewReport("team07", []scenarios.Result{{Scenario: "m2-p2p-udp", Status: scenarios.Passed, Captures: tt.captures,
				Transcripts: []scenarios.Transcript{{Proc: "bob", Host: "client2", Text: "hi\n"}}}}, nil, 0)
			if err := WriteTranscripts(dir, rep); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(sdir, "captures", "client1.pcap"))
			if got := err == nil; got != tt.want {
				t.Errorf("capture kept = %v, want %v", got, tt.want)
			}
			if _, err := os.Stat(filepath.Join(sdir, "old.log")); err == nil {
				t.Error("a stale transcript survived")
			}
			if _, err := os.Stat(filepath.Join(sdir, "client2.log")); err != nil {
				t.Errorf("transcript not written: %v", err)
			}
		})
	}
}
