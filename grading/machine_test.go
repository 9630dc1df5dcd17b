package grading

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

func TestParsePressure(t *testing.T) {
	got, err := parsePressure("some avg10=34.83 avg60=63.67 avg300=63.39 total=449734529\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
	if err != nil || got != 0.3483 {
		t.Errorf("parsePressure = %v, %v; want 0.3483", got, err)
	}
	if _, err := parsePressure("full avg10=1.00\n"); err == nil {
		t.Error("a file without a some line parsed")
	}
}

// TestGovernorHoldsBackWhileTheMachineIsBusy: under pressure one fewer
// scenario runs at a time, down to one, which always may; the next starts
// when one ends, and the wait is counted and said.
func TestGovernorHoldsBackWhileTheMachineIsBusy(t *testing.T) {
	var pressure atomic.Value
	pressure.Store(0.95)
	var said []string
	var now atomic.Int64 // seconds past start
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newGovernor(func() (float64, error) { return pressure.Load().(float64), nil }, 2,
		func(msg string, p float64, running, allowed int) { said = append(said, msg) })
	g.clock = func() time.Time { return start.Add(time.Duration(now.Load()) * time.Second) }

	first, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.allowed != 1 { // read under no lock: nothing else runs yet
		t.Fatalf("allowed %d under 95%% pressure, want 1", g.allowed)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := g.acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a second scenario started while the machine was busy and one ran")
	case <-time.After(3 * governorPoll):
	}
	now.Add(2)
	first()
	second := <-got
	second()
	if len(said) != 2 || !strings.HasPrefix(said[0], "waiting for the machine: CPU pressure 95% over 10 s; 1 of at most 2 scenarios running") ||
		!strings.HasPrefix(said[1], "the machine has room again after 2.0s") {
		t.Errorf("said %q", said)
	}
	if w := g.totalWait(); w != 2*time.Second {
		t.Errorf("total wait %s, want 2s", w)
	}

	// Calm again: after a step the allowance grows back to the most.
	pressure.Store(0.1)
	now.Add(int64(governorStep / time.Second))
	a, _ := g.acquire(context.Background())
	b, _ := g.acquire(context.Background())
	if g.running != 2 { // both acquired in this goroutine
		t.Errorf("running %d on a calm machine, want 2", g.running)
	}
	a()
	b()
}

func TestGovernorGivesWayToCancel(t *testing.T) {
	g := newGovernor(func() (float64, error) { return 1, nil }, 1, nil)
	release, _ := g.acquire(context.Background())
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire on a cancelled context = %v, want context.Canceled", err)
	}
	var nilGov *governor
	r, err := nilGov.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// TestRunScenarioRerunsAStarvedFailure: a failure while a program of the
// scenario waited for a CPU is run again; starved twice it is no verdict.
func TestRunScenarioRerunsAStarvedFailure(t *testing.T) {
	failed := func(starved string) scenarios.Result {
		return scenarios.Result{Scenario: "m4-register", Status: scenarios.Failed, MaxPoints: 2,
			Failure: &scenarios.Failure{Expectation: "alice registers and stays connected", Got: "the program exited with code 0", Starved: starved}}
	}
	passed := scenarios.Result{Scenario: "m4-register", Status: scenarios.Passed, Points: 2, MaxPoints: 2}
	late := scenarios.Result{Scenario: "m4-register", Status: scenarios.Failed, MaxPoints: 2,
		Failure: &scenarios.Failure{Expectation: "alice registers and stays connected", Got: "nothing within 10s", TimedOut: true}}
	const hungry = "server on webserver waited 1.8s for a CPU in the space of 3s"
	tests := []struct {
		name   string
		runs   []scenarios.Result
		status scenarios.Status
		note   string
	}{
		{"starved, then passes", []scenarios.Result{failed(hungry), passed}, scenarios.Passed,
			"run twice: the first run failed while the machine starved it (" + hungry + "; alice registers and stays connected: the program exited with code 0); it passed the second run, which counts"},
		{"starved, then fails on a calm machine", []scenarios.Result{failed(hungry), failed("")}, scenarios.Failed,
			"run twice: the first run failed while the machine starved it (" + hungry + "; alice registers and stays connected: the program exited with code 0); the second run failed too"},
		{"starved twice, then passes alone", []scenarios.Result{failed(hungry), failed(hungry), passed}, scenarios.Passed,
			"run three times: the first run failed while the machine starved it (" + hungry + "; alice registers and stays connected: the program exited with code 0), and the second while the machine starved it (" + hungry + "); the third ran with no other scenario beside it; it passed the third run, which counts"},
		{"out of time, then starved, then passes alone", []scenarios.Result{late, failed(hungry), passed}, scenarios.Passed,
			"run three times: the first run ran out of time (alice registers and stays connected: nothing within 10s), and the second while the machine starved it"},
		{"starved twice, then fails alone", []scenarios.Result{failed(hungry), failed(hungry), failed("")}, scenarios.Failed,
			"the third run failed too"},
		{"starved three times", []scenarios.Result{failed(hungry), failed(hungry), failed(hungry)}, scenarios.Error,
			"the machine was too busy to judge: the first run failed while the machine starved it (" + hungry + "; alice registers and stays connected: the program exited with code 0), and the second and third runs failed while a program waited for a CPU, the third with no other scenario beside it"},
		{"not starved: judged at once", []scenarios.Result{failed("")}, scenarios.Failed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &gradeConfig{logger: progress.Discard()}
			n := 0
			res := c.runScenario(context.Background(), "sub", "lab", nil, func(alone bool) scenarios.Result {
				n++
				if n > len(tc.runs) {
					t.Fatalf("run %d times, want %d", n, len(tc.runs))
				}
				if want := n == 3; alone != want {
					t.Errorf("run %d alone: %v, want %v", n, alone, want)
				}
				return tc.runs[n-1]
			})
			if n != len(tc.runs) || res.Status != tc.status {
				t.Errorf("%d runs, %s; want %d, %s", n, res.Status, len(tc.runs), tc.status)
			}
			if (tc.note == "") != (res.Rerun == "") {
				t.Errorf("rerun %q, want one only when run more than once", res.Rerun)
			}
			notes := strings.Join(res.Notes, " | ")
			if (tc.note == "") != (notes == "") || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
			if tc.status == scenarios.Error && res.Points != 0 {
				t.Errorf("%d points for no verdict", res.Points)
			}
		})
	}
}

func TestParseThrottled(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{"cgroup v1", "nr_periods 12\nnr_throttled 3\nthrottled_time 1500000000\nnr_bursts 0\n", 1500 * time.Millisecond},
		{"cgroup v2", "usage_usec 100\nnr_throttled 1\nthrottled_usec 2500\n", 2500 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseThrottled(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("parseThrottled = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := parseThrottled("nr_periods 1\n"); err == nil {
		t.Error("a cpu.stat without throttled time parsed")
	}
}

// TestGovernorAloneHasTheMachineToItself: a run alone waits for the
// scenarios that run to end, none starts beside it, and they start again
// once it is done.
func TestGovernorAloneHasTheMachineToItself(t *testing.T) {
	g := newGovernor(func() (float64, error) { return 0, nil }, 3, nil)
	other, _ := g.acquire(context.Background())
	got := make(chan func(), 1)
	go func() {
		r, err := g.acquireAlone(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a run alone started beside another scenario")
	case <-time.After(3 * governorPoll):
	}
	// Waiting for the machine, it keeps new scenarios from starting.
	waiting := make(chan func(), 1)
	go func() {
		for {
			g.mu.Lock()
			solo := g.solo
			g.mu.Unlock()
			if solo > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		r, _ := g.acquire(context.Background())
		waiting <- r
	}()
	select {
	case <-waiting:
		t.Fatal("a scenario started while a run waited to be alone")
	case <-time.After(3 * governorPoll):
	}
	other()
	alone := <-got
	select {
	case <-waiting:
		t.Fatal("a scenario started beside a run alone")
	case <-time.After(3 * governorPoll):
	}
	alone()
	(<-waiting)()

	// Cancelled while it waits, it lets the others run again.
	other, _ = g.acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquireAlone(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("acquireAlone on a cancelled context = %v", err)
	}
	next, _ := g.acquire(context.Background())
	next()
	other()
}

func TestGovernorCalmWaitsForRoom(t *testing.T) {
	var pressure atomic.Value
	pressure.Store(0.9)
	g := newGovernor(func() (float64, error) { return pressure.Load().(float64), nil }, 2, nil)
	release, _ := g.acquire(context.Background())
	done := make(chan struct{})
	go func() {
		g.calm(context.Background(), time.Minute)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("calm returned while the machine was busy and a scenario ran")
	case <-time.After(3 * governorPoll):
	}
	pressure.Store(0.5)
	<-done
	release()
	// Nothing else running: no wait, however busy.
	pressure.Store(1.0)
	g.calm(context.Background(), time.Minute)
}

// TestSocketTableSysctlsAreWhatMakeDepsSets: the hint Grade gives names
// the settings scripts/host-tune.sh (make deps) applies.
func TestSocketTableSysctlsAreWhatMakeDepsSets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "scripts", "host-tune.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Fields(SocketTableSysctls) {
		if !strings.Contains(string(b), kv) {
			t.Errorf("scripts/host-tune.sh does not set %s", kv)
		}
	}
}
