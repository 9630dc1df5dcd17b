package scenarios

import (
	"context"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// starveHosts is a lab whose observed processes have waited for a CPU as
// waits says, on hosts throttled by their own quota as throttled says.
type starveHosts struct {
	runtime.Hosts
	waits     map[int]time.Duration // by PID, over the process's two threads
	throttled time.Duration
}

func (h *starveHosts) Observe(ctx context.Context, host string, pids []int) (HostState, error) {
	var hs HostState
	for _, pid := range pids {
		half := h.waits[pid] / 2
		hs.Tasks = append(hs.Tasks,
			TaskState{PID: pid, TID: pid, RunDelay: half, Sched: true},
			TaskState{PID: pid, TID: pid + 1, RunDelay: h.waits[pid] - half, Sched: true})
	}
	return hs, nil
}

func (h *starveHosts) SignalAll(context.Context, string, syscall.Signal, []int) error { return nil }

func (h *starveHosts) Throttled(context.Context, string) (time.Duration, error) {
	return h.throttled, nil
}

// pidProc is a process that is only a PID.
type pidProc struct{ pid int }

func (p pidProc) Stdin() io.WriteCloser                        { return nopCloser{} }
func (p pidProc) Output() io.Reader                            { return strings.NewReader("") }
func (p pidProc) PID() int                                     { return p.pid }
func (p pidProc) Signal(context.Context, syscall.Signal) error { return nil }
func (p pidProc) Wait() (int, error)                           { return 0, nil }

type nopCloser struct{}

func (nopCloser) Write(b []byte) (int, error) { return len(b), nil }
func (nopCloser) Close() error                { return nil }

func TestStarvationNamesTheProgramTheMachineHeldBack(t *testing.T) {
	tests := []struct {
		name      string
		waits     map[int]time.Duration
		throttled time.Duration
		step      StepKind
		crashed   []crash
		want      string
	}{
		{"a server kept from the CPU", map[int]time.Duration{10: 1800 * time.Millisecond, 20: 40 * time.Millisecond}, 0, StepJoin, nil,
			"server on webserver waited 1.8s for a CPU during the scenario"},
		{"an idle machine", map[int]time.Duration{10: 30 * time.Millisecond, 20: 5 * time.Millisecond}, 0, StepJoin, nil, ""},
		{"held back by its own quota", map[int]time.Duration{10: 3 * time.Second}, 2 * time.Second, StepJoin, nil, ""},
		{"something printed that must not be", map[int]time.Duration{10: 3 * time.Second}, 0, StepAbsent, nil, ""},
		{"a password in a file", map[int]time.Duration{10: 3 * time.Second}, 0, StepGrep, nil, ""},
		{"a crash", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin,
			[]crash{{"server", "webserver", "NameError: name 'broadcast' is not defined"}}, ""},
		{"a crash that followed a client's own timeout", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin,
			[]crash{{"server", "webserver", "RuntimeError: dictionary changed size during iteration"}, {"bob", "client2", "TimeoutError: timed out"}},
			"server on webserver waited 3s for a CPU during the scenario"},
		{"a client's own timeout", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin,
			[]crash{{"alice", "client1", "TimeoutError: timed out"}}, "server on webserver waited 3s for a CPU during the scenario"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{rt: &starveHosts{waits: tc.waits, throttled: tc.throttled}, clock: realClock{}}
			r := &run{e: e, procs: map[string]*proc{
				"server": {name: "server", host: "webserver", p: pidProc{10}, tr: newTranscript()},
				"alice":  {name: "alice", host: "client1", p: pidProc{20}, tr: newTranscript()},
			}}
			if got := r.starvation(context.Background(), Step{Kind: tc.step}, tc.crashed); got != tc.want {
				t.Errorf("starvation = %q, want %q", got, tc.want)
			}
		})
	}
}
