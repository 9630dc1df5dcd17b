package scenarios

import (
	"context"
	"io"
	"strings"
	"sync"
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
		window    time.Duration // the wait that ran out
		crashed   []crash
		want      string
	}{
		{"a server kept from the CPU", map[int]time.Duration{10: 1800 * time.Millisecond, 20: 40 * time.Millisecond}, 0, StepJoin, 0, nil,
			"server on webserver waited 1.8s for a CPU in the space of 3s"},
		{"an idle machine", map[int]time.Duration{10: 30 * time.Millisecond, 20: 5 * time.Millisecond}, 0, StepJoin, 0, nil, ""},
		{"held back by its own quota", map[int]time.Duration{10: 3 * time.Second}, 2 * time.Second, StepJoin, 0, nil, ""},
		{"something printed that must not be", map[int]time.Duration{10: 3 * time.Second}, 0, StepAbsent, 0, nil, ""},
		{"a password in a file", map[int]time.Duration{10: 3 * time.Second}, 0, StepGrep, 0, nil, ""},
		{"a crash", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin, 0,
			[]crash{{"server", "webserver", "NameError: name 'broadcast' is not defined"}}, ""},
		{"a crash that followed a client's own timeout", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin, 0,
			[]crash{{"server", "webserver", "RuntimeError: dictionary changed size during iteration"}, {"bob", "client2", "TimeoutError: timed out"}},
			"server on webserver waited 3s for a CPU in the space of 3s"},
		{"a client's own timeout", map[int]time.Duration{10: 3 * time.Second}, 0, StepJoin, 0,
			[]crash{{"alice", "client1", "TimeoutError: timed out"}}, "server on webserver waited 3s for a CPU in the space of 3s"},
		{"a refused client still running 10 s, the server starved 1.8 s", map[int]time.Duration{10: 1800 * time.Millisecond}, 0, StepJoin, 10 * time.Second, nil, ""},
		{"a refused client still running 10 s, the server starved 6 s", map[int]time.Duration{10: 6 * time.Second}, 0, StepJoin, 10 * time.Second, nil,
			"server on webserver waited 6s for a CPU in the space of 10s"},
		{"nothing printed within 10 s after a client's own timeout", map[int]time.Duration{10: 1800 * time.Millisecond}, 0, StepExpect, 10 * time.Second,
			[]crash{{"bob", "client2", "TimeoutError: timed out"}}, "server on webserver waited 1.8s for a CPU in the space of 3s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{rt: &starveHosts{waits: tc.waits, throttled: tc.throttled}, clock: realClock{}}
			r := &run{e: e, procs: map[string]*proc{
				"server": {name: "server", host: "webserver", p: pidProc{10}, tr: newTranscript()},
				"alice":  {name: "alice", host: "client1", p: pidProc{20}, tr: newTranscript()},
			}}
			if got := r.starvation(context.Background(), Step{Kind: tc.step}, tc.window, tc.crashed); got != tc.want {
				t.Errorf("starvation = %q, want %q", got, tc.want)
			}
		})
	}
}

// stepClock is a clock that moves only when told.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time                         { return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// TestStarvationCountsWaitsThatComeTogether: a program starved when its
// waits add up to StarvedWait within StarvedWindow, not when the same
// wait is spread over a long scenario (the grader's own labs sharing the
// cores), which made nothing late.
func TestStarvationCountsWaitsThatComeTogether(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name     string
		readings []time.Duration // the server's run delay, read every 500 ms
		want     string
	}{
		{"spread thinly over 16 s", func() []time.Duration {
			var out []time.Duration
			for i := range 32 {
				out = append(out, ms(50*i)) // 1.55 s in all, 0.3 s in any 3 s
			}
			return out
		}(), ""},
		{"1.2 s at once", []time.Duration{0, ms(20), ms(40), ms(600), ms(1240), ms(1250), ms(1260)},
			"server on webserver waited 1.26s for a CPU in the space of 3s"},
		// 240 ms a second: at most 0.84 s in a stretch (3 s, and the half
		// second before its first reading), 1.08 s in all.
		{"under a second in any 3 s", []time.Duration{0, ms(120), ms(240), ms(360), ms(480), ms(600), ms(720), ms(840), ms(960), ms(1080)}, ""},
		{"a second in 3 s", []time.Duration{0, ms(150), ms(300), ms(450), ms(600), ms(750), ms(900), ms(1050)},
			"server on webserver waited 1.05s for a CPU in the space of 3s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &starveHosts{waits: map[int]time.Duration{}}
			clock := &stepClock{now: time.Unix(1e9, 0)}
			e := &Engine{rt: h, clock: clock}
			r := &run{e: e, procs: map[string]*proc{
				"server": {name: "server", host: "webserver", p: pidProc{10}, tr: newTranscript()},
			}}
			for _, d := range tc.readings {
				h.waits[10] = d
				if _, err := r.observe(context.Background(), h, r.livePIDs()); err != nil {
					t.Fatal(err)
				}
				clock.now = clock.now.Add(500 * time.Millisecond)
			}
			if got := r.starvation(context.Background(), Step{Kind: StepJoin}, 0, nil); got != tc.want {
				t.Errorf("starvation = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWindowedWait(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }
	s := []waitSample{{at(0), 100 * time.Millisecond}, {at(1), 200 * time.Millisecond}, {at(10), 900 * time.Millisecond}, {at(11), 2 * time.Second}}
	// From the reading before the stretch: 2s - 200ms over 10..11 s, since
	// the wait between 1 s and 10 s may have come just before 10 s.
	if got, want := windowedWait(s, 3*time.Second), 1800*time.Millisecond; got != want {
		t.Errorf("windowedWait = %v, want %v", got, want)
	}
	if got := windowedWait(nil, time.Second); got != 0 {
		t.Errorf("no readings: %v", got)
	}
}

// countingWaits is a WaitReader whose one process has waited 100 ms more
// at each reading.
type countingWaits struct {
	mu    sync.Mutex
	reads int
}

func (c *countingWaits) ReadWaits(_ context.Context, _ string, pids []int) (HostState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	var hs HostState
	for _, pid := range pids {
		hs.Tasks = append(hs.Tasks, TaskState{PID: pid, TID: pid, RunDelay: time.Duration(c.reads) * 100 * time.Millisecond, Sched: true})
	}
	return hs, nil
}

// TestSampleWaitsReadsWhileTheScenarioRuns: the running programs' waits are
// read every sampleEvery, each reading kept with its time, until stopped.
func TestSampleWaitsReadsWhileTheScenarioRuns(t *testing.T) {
	e := &Engine{clock: realClock{}}
	r := &run{e: e, procs: map[string]*proc{
		"server": {name: "server", host: "webserver", p: pidProc{10}, tr: newTranscript()},
	}}
	wr := &countingWaits{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.sampleWaits(context.Background(), wr, stop)
	}()
	time.Sleep(2*sampleEvery + sampleEvery/2)
	close(stop)
	select {
	case <-done:
	case <-time.After(sampleEvery):
		t.Fatal("sampleWaits did not return once stopped")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.waits["server on webserver"]
	if len(s) != 2 || s[1].d != 200*time.Millisecond || !s[1].at.After(s[0].at) {
		t.Fatalf("readings %+v, want two, 100 ms and 200 ms, in order", s)
	}
}

// TestWaitsOfAnEndedThreadStillCount: a server's thread that ended (its
// client left) keeps its wait in the process's sum, so a later reading
// without it does not hide a wait that came together.
func TestWaitsOfAnEndedThreadStillCount(t *testing.T) {
	clock := &stepClock{now: time.Unix(1e9, 0)}
	r := &run{e: &Engine{clock: clock}, procs: map[string]*proc{
		"server": {name: "server", host: "webserver", p: pidProc{10}, tr: newTranscript()},
	}}
	read := func(tasks ...TaskState) {
		r.noteWaits(map[string]HostState{"webserver": {Tasks: tasks}})
		clock.now = clock.now.Add(time.Second)
	}
	thread := func(tid int, ms int) TaskState {
		return TaskState{PID: 10, TID: tid, RunDelay: time.Duration(ms) * time.Millisecond, Sched: true}
	}
	read(thread(10, 10), thread(11, 900))
	read(thread(10, 20)) // thread 11 ended
	read(thread(10, 800))
	// Within 3 s of each other: 910 ms at the first reading, then the main
	// thread's 790 ms more. Without the ended thread the sum would fall to
	// 20 ms and count 800 ms only.
	if _, _, got := r.longestWait(StarvedWindow); got != 1700*time.Millisecond {
		t.Errorf("longest wait %v, want 1.7s", got)
	}
}
