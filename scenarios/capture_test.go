package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
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

func TestCaptureHooksWrapScenario(t *testing.T) {
	tests := []struct {
		name       string
		steps      string
		startErr   error
		stopErr    error
		cancel     bool // the server's start cancels the grading context
		wantStatus Status
		wantGot    string
		wantEvents []string
	}{
		{name: "pass", steps: "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: 'you said: hi'}\n",
			wantStatus: Passed, wantEvents: []string{"reset", "capture start", "spawn srv", "typed hi", "capture stop"}},
		{name: "step fails", steps: "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: never}\n",
			wantStatus: Failed, wantGot: "it did not within 10s", wantEvents: []string{"reset", "capture start", "spawn srv", "typed hi", "capture stop"}},
		{name: "ctx cancelled", steps: "  - expect: {proc: srv, match: never, within: 10m}\n", cancel: true,
			wantEvents: []string{"reset", "capture start", "spawn srv", "capture stop"}},
		{name: "start fails", startErr: errors.New("tcpdump: not installed"),
			wantStatus: Error, wantGot: "capture did not start: tcpdump: not installed", wantEvents: []string{"reset", "capture start"}},
		{name: "stop fails", stopErr: errors.New("tcpdump still running"),
			wantStatus: Error, wantGot: "capture did not stop cleanly", wantEvents: []string{"reset", "capture start", "spawn srv", "capture stop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := &captureLog{}
			rt := &fakeRuntime{programs: map[string]program{"srv": func(p *fakeProc) {
				log.add("spawn srv")
				if tt.cancel {
					cancel()
				}
				p.onLine = func(p *fakeProc, line string) {
					log.add("typed " + line)
					p.emit("you said: " + line + "\n")
				}
				p.emit("ready\n")
			}}}
			rt.exec = func(host string, cmd []string) (ExecResult, error) {
				if host == "webserver" {
					log.add("reset")
				}
				return ExecResult{}, nil
			}
			topo := lab.Default()
			dir := filepath.Join(t.TempDir(), "team", "t", CaptureDir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "stale.pcap"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var stopCtxErr error
			var serverRunningAtStop bool
			capt := &scenarioCapture{topo: topo, dir: dir, start: func(ctx context.Context, got lab.Topology) (func(context.Context, string) error, error) {
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
					if p := rt.proc("webserver"); p != nil {
						serverRunningAtStop = p.running()
					}
					if d != dir {
						t.Errorf("capture saved to %s, want %s", d, dir)
					}
					return tt.stopErr
				}, nil
			}}
			clock := newFakeClock()
			clock.settle = rt.settle
			eng := NewEngine(rt, fakePrograms, defaultVars(), WithClock(clock))
			res := runOnce(ctx, rt, topo, eng, mustParse(t, echoHead+tt.steps), capt)

			if got := log.list(); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events %q, want %q", got, tt.wantEvents)
			}
			if tt.wantStatus != "" && res.Status != tt.wantStatus {
				t.Errorf("status %s, want %s (%+v)", res.Status, tt.wantStatus, res.Failure)
			}
			if tt.wantGot != "" && (res.Failure == nil || !strings.Contains(res.Failure.Got, tt.wantGot)) {
				t.Errorf("failure %+v, want it to say %q", res.Failure, tt.wantGot)
			}
			if res.Status == Error && res.Points != 0 {
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
			rep := NewReport("team07", []Result{{Scenario: "m2-p2p-udp", Status: Passed, Captures: tt.captures,
				Transcripts: []Transcript{{Proc: "bob", Host: "client2", Text: "hi\n"}}}}, nil, 0)
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
