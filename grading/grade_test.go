package grading

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Grade's orchestration on gradingtest's fake engine: provision, deploy,
// reset, scenarios, capture, retries, engines, teardown and reports, with
// no Docker. The chat programs are the fake's scripted service.

// gradeOpts are the options every test here grades with: the fake's
// images (nothing is built), its dnscheck, the relay scenario and
// dns-resolve, fixed lab names t-<n>.
func gradeOpts(t *testing.T, results string, more ...Option) []Option {
	return append([]Option{WithScenarios(gradingtest.Scenarios(t)), WithLabImages(gradingtest.DNSImage, gradingtest.HostImage),
		WithDNSCheck(gradingtest.DNSCheckBinary), WithResultsDir(results), WithLabPrefix("t")}, more...)
}

// events records the kinds of Grade's events, in order, per submission.
type events struct {
	mu  sync.Mutex
	all []string
}

func (e *events) hook(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case SubmissionStarted:
		e.all = append(e.all, "started "+ev.Submission)
	case SubmissionRetried:
		e.all = append(e.all, "retried "+ev.Submission+" from "+ev.Engine)
	case SubmissionDone:
		e.all = append(e.all, "done "+ev.Report.Submission)
	}
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

// indexOf is the position of the first call that starts with prefix, or
// -1.
func indexOf(calls []string, prefix string) int {
	return slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// TestGradeOnFake grades one submission end to end: each of its two labs
// is provisioned (sandboxed, on an internal network), the submission is
// staged on every chat host, the chat hosts are reset before the chat
// scenario, the relay scenario and dns-resolve (the graded dnscheck, on
// the fake's dnscheck binary) pass, each scenario's traffic is captured,
// every lab is torn down, and the results folder holds the reports and
// transcripts.
func TestGradeOnFake(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	results := t.TempDir()
	var captured []string
	var capMu sync.Mutex
	fakeCapture := func(c *gradeConfig) {
		c.capturer = func(ctx context.Context, topo topology.Topology) (func(context.Context, string) error, error) {
			return func(ctx context.Context, dir string) error {
				capMu.Lock()
				captured = append(captured, topo.Name+" "+filepath.Base(filepath.Dir(dir)))
				capMu.Unlock()
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(dir, "client1.pcap"), []byte("pcap"), 0o644)
			}, nil
		}
	}
	var ev events
	reports, err := Grade(context.Background(), f, []scenarios.Submission{gradingtest.Submission("alice", "chat-server")},
		gradeOpts(t, results, WithLabsPerSubmission(2), WithCapture(true), fakeCapture, WithEvents(ev.hook))...)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	r := reports[0]
	if !r.Passed || r.Incomplete || r.Error != "" || len(r.Results) != 2 || r.Score != 3 || r.MaxScore != 3 {
		var b strings.Builder
		_ = r.WriteTable(&b)
		t.Fatalf("passed %v, incomplete %v, error %q, %d results, %d/%d; want both checks passed, 3/3:\n%s",
			r.Passed, r.Incomplete, r.Error, len(r.Results), r.Score, r.MaxScore, b.String())
	}

	// Two labs, one per scenario, each provisioned, sandboxed, staged and
	// torn down.
	calls := f.Calls()
	for _, name := range []string{"t-1", "t-1-b"} {
		if !f.Sandboxed(name) {
			t.Errorf("lab %s was not sandboxed (internal network, confined hosts) when the submission was staged", name)
		}
		up := indexOf(calls, "start "+name+"-client1")
		staged := indexOf(calls, "copy 1 file(s) to "+name+"-client1:"+scenarios.StageDir)
		down := indexOf(calls, "remove network "+name+"_net")
		if up < 0 || staged < up || down < staged {
			t.Errorf("lab %s: up at %d, staged at %d, down at %d; want them in that order: %q", name, up, staged, down, calls)
		}
	}
	// The chat scenario's lab reset its four chat hosts first; the DNS
	// scenario's needs no reset.
	var chatLab, dnsLab string
	for _, name := range []string{"t-1", "t-1-b"} {
		if len(f.Resets(name)) > 0 {
			chatLab = name
		} else {
			dnsLab = name
		}
	}
	if got := slices.Sorted(slices.Values(f.Resets(chatLab))); !slices.Equal(got, []string{"client1", "client2", "client3", "webserver"}) {
		t.Errorf("reset %q in lab %s, want every chat host once", got, chatLab)
	}
	if dnsLab == "" || indexOf(calls, "copy 1 file(s) to "+dnsLab+"-client3:/usr/local/bin") < 0 {
		t.Errorf("the dnscheck binary was not copied into lab %q's clients: %q", dnsLab, calls)
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}

	// Captures wrap each scenario, into its results folder.
	capMu.Lock()
	slices.Sort(captured)
	if want := slices.Sorted(slices.Values([]string{dnsLab + " dns-resolve", chatLab + " fake-relay"})); !slices.Equal(captured, want) {
		t.Errorf("captured %q, want %q", captured, want)
	}
	capMu.Unlock()
	for _, res := range r.Results {
		if res.Captures != filepath.Join(results, "alice", res.Scenario, CaptureDir) {
			t.Errorf("%s: captures in %q", res.Scenario, res.Captures)
		}
	}

	for file, want := range map[string]string{
		"alice/report.txt":                       "3/3     all required checks passed",
		"alice/report.json":                      `"passed": true`,
		"alice/fake-relay/client2.log":           "client1 says: hello",
		"alice/dns-resolve/dnscheck.log":         "== client3: PASS",
		"alice/fake-relay/captures/client1.pcap": "pcap",
		"summary.csv":                            "alice,3,3,true",
		"summary.json":                           `"submission": "alice"`,
	} {
		b, err := os.ReadFile(filepath.Join(results, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v; want it to hold %q:\n%s", file, err, want, b)
		}
	}
	if got := ev.list(); !slices.Equal(got, []string{"started alice", "done alice"}) {
		t.Errorf("events %q", got)
	}
}

// TestGradeFailingSubmissionOnFake: a server that crashes fails the chat
// scenario (the submission's FAIL, not the lab's ERROR), and a client
// whose resolver gets a wrong answer fails dns-resolve with the typed
// report's problem as the reason; the report is complete, not passed.
func TestGradeFailingSubmissionOnFake(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	f.FailDNS("client2")
	reports, err := Grade(context.Background(), f, []scenarios.Submission{gradingtest.Submission("bob", "crash-server")},
		gradeOpts(t, t.TempDir(), WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	if r.Passed || r.Incomplete || r.Score != 0 || r.MaxScore != 3 {
		t.Fatalf("passed %v, incomplete %v, %d/%d; want a complete failed report, 0/3", r.Passed, r.Incomplete, r.Score, r.MaxScore)
	}
	byName := map[string]scenarios.Result{}
	for _, res := range r.Results {
		byName[res.Scenario] = res
	}
	relay, dns := byName["fake-relay"], byName["dns-resolve"]
	if relay.Status != scenarios.Failed || relay.Failure == nil || !strings.Contains(relay.Failure.Got, "exited with code 1") {
		t.Errorf("fake-relay: %s %+v, want FAIL: the server exited", relay.Status, relay.Failure)
	}
	want := "client2: FAIL resolv " + "team30.com. A via "
	if dns.Status != scenarios.Failed || dns.Failure == nil || !strings.Contains(dns.Failure.Got, want) ||
		!strings.Contains(dns.Failure.Got, ": wrong-answer: want ") || strings.Contains(dns.Failure.Got, "client1") {
		t.Errorf("dns-resolve: %s %+v, want FAIL naming client2's wrong answer (%q…) and nothing of client1", dns.Status, dns.Failure, want)
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestGradeEngineDiesMidRunOnFake mirrors cmd/lab's Docker test of the same
// name: of two engines, the second stops answering while one of its labs
// runs a scenario. Its submission is graded again on the first; every
// report is complete, passed and names the first engine, and the first
// engine is left clean.
func TestGradeEngineDiesMidRunOnFake(t *testing.T) {
	main, second := gradingtest.NewEngine(t, "main"), gradingtest.NewEngine(t, "second")
	died := make(chan struct{})
	var once sync.Once
	second.OnSpawn = func(lab, host, program string) {
		if program == "chat-client" {
			// A machine lost mid-scenario, once its server runs.
			once.Do(func() {
				second.Die()
				close(died)
			})
		}
	}
	main.OnSpawn = func(lab, host, program string) {
		// The first engine waits until the second has taken a
		// submission and died with it, so that there is one to regrade.
		select {
		case <-died:
		case <-time.After(10 * time.Second):
		}
	}
	relay := []scenarios.Scenario{gradingtest.Relay(t)}
	var subs []scenarios.Submission
	for _, n := range []string{"s1", "s2", "s3"} {
		subs = append(subs, gradingtest.Submission(n, "chat-server"))
	}
	var ev events
	reports, err := Grade(context.Background(), main, subs, gradeOpts(t, t.TempDir(), WithScenarios(relay),
		WithEngines(second), WithParallel(1), WithLabsPerSubmission(1), WithEvents(ev.hook))...)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-died:
	default:
		t.Fatal("the second engine never ran a scenario")
	}
	for _, r := range reports {
		if !r.Passed || r.Incomplete || len(r.Results) != 1 || r.Engine != "main" {
			t.Errorf("%s: passed %v, incomplete %v, %d checks, engine %q, error %q; want passed on main",
				r.Submission, r.Passed, r.Incomplete, len(r.Results), r.Engine, r.Error)
		}
	}
	retried := slices.IndexFunc(ev.list(), func(e string) bool { return strings.HasPrefix(e, "retried ") && strings.HasSuffix(e, " from second") })
	if retried < 0 {
		t.Errorf("no submission was retried from the dead engine: %q", ev.list())
	}
	if left := main.Left(); len(left) > 0 {
		t.Errorf("left behind on main: %q", left)
	}
}

// TestGradeWhenEveryEngineDies: with no engine left to regrade on, every
// submission not graded yet gets an incomplete report saying so; with one
// engine only, the one it was grading is incomplete, its lab lost.
func TestGradeWhenEveryEngineDies(t *testing.T) {
	relay := []scenarios.Scenario{gradingtest.Relay(t)}
	dieAtClient := func(f *gradingtest.Engine) {
		var once sync.Once
		f.OnSpawn = func(lab, host, program string) {
			if program == "chat-client" {
				once.Do(f.Die)
			}
		}
	}
	a, b := gradingtest.NewEngine(t, "a"), gradingtest.NewEngine(t, "b")
	dieAtClient(a)
	dieAtClient(b)
	subs := []scenarios.Submission{gradingtest.Submission("s1", "chat-server"), gradingtest.Submission("s2", "chat-server"), gradingtest.Submission("s3", "chat-server")}
	reports, err := Grade(context.Background(), a, subs, gradeOpts(t, t.TempDir(), WithScenarios(relay),
		WithEngines(b), WithParallel(1), WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Passed || !r.Incomplete || r.Error != "no Docker engine left to grade on: every engine stopped answering" {
			t.Errorf("%s: passed %v, incomplete %v, error %q; want incomplete, no engine left", r.Submission, r.Passed, r.Incomplete, r.Error)
		}
	}

	one := gradingtest.NewEngine(t, "one")
	dieAtClient(one)
	reports, err = Grade(context.Background(), one, subs[:1], gradeOpts(t, t.TempDir(), WithScenarios(relay), WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; r.Passed || !r.Incomplete || !strings.Contains(r.Error, "engine one stopped answering") {
		t.Errorf("one engine: passed %v, incomplete %v, error %q; want incomplete: the engine stopped answering", r.Passed, r.Incomplete, r.Error)
	}
}

// TestGradeLabUpFails: a lab that cannot be brought up gives a failed,
// incomplete report that says why, with the lab's own error, and leaves
// nothing behind; a subnet another network took meanwhile is tried again
// on a fresh one.
func TestGradeLabUpFails(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	f.Fail = func(op, target string) error {
		if op == "create container" && target == "t-1-client2" {
			return errors.New("no space left on device")
		}
		return nil
	}
	results := t.TempDir()
	reports, err := Grade(context.Background(), f, []scenarios.Submission{gradingtest.Submission("carol", "chat-server")},
		gradeOpts(t, results, WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	r := reports[0]
	if r.Passed || !r.Incomplete || len(r.Results) != 0 ||
		!strings.Contains(r.Error, "lab t-1: create container t-1-client2: no space left on device") {
		t.Errorf("passed %v, incomplete %v, %d results, error %q; want a failed report naming the container that could not be made",
			r.Passed, r.Incomplete, len(r.Results), r.Error)
	}
	if b, err := os.ReadFile(filepath.Join(results, "carol", "report.txt")); err != nil || !strings.Contains(string(b), "lab setup failed: lab t-1: create container") {
		t.Errorf("report.txt: %v\n%s", err, b)
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}

	// A conflict on the network's subnet is tried again, on another.
	f = gradingtest.NewEngine(t, "fake")
	var nets []string
	f.Fail = func(op, target string) error {
		if op != "create network" {
			return nil
		}
		nets = append(nets, target)
		if len(nets) == 1 {
			return errors.New("Error response from daemon: invalid pool request: Pool overlaps with other one on this address space")
		}
		return nil
	}
	reports, err = Grade(context.Background(), f, []scenarios.Submission{gradingtest.Submission("carol", "chat-server")},
		gradeOpts(t, t.TempDir(), WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; !r.Passed || r.Incomplete || len(nets) != 2 {
		t.Errorf("passed %v, incomplete %v, error %q after %d network attempts; want passed on the second", r.Passed, r.Incomplete, r.Error, len(nets))
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestGradeCancelledOnFake: cancelling grading mid-scenario stops it with the
// context's error, the interrupted submissions' reports are not passed,
// and every lab, those still coming up included, is torn down: nothing is
// left in the engine.
func TestGradeCancelledOnFake(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.OnSpawn = func(lab, host, program string) {
		if program == "chat-client" {
			cancel()
		}
	}
	subs := []scenarios.Submission{gradingtest.Submission("s1", "chat-server"), gradingtest.Submission("s2", "chat-server")}
	reports, err := Grade(ctx, f, subs, gradeOpts(t, t.TempDir(), WithParallel(1))...)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	for _, r := range reports {
		if r.Submission != "" && (r.Passed || (!r.Incomplete && r.Error == "")) {
			t.Errorf("%s: passed %v, incomplete %v, error %q; want an unfinished report", r.Submission, r.Passed, r.Incomplete, r.Error)
		}
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind after cancellation: %q", left)
	}
	if strings.Join(f.Calls(), "\n") == "" {
		t.Error("nothing was done before the cancellation")
	}
}

// TestGradeRestartsAHostThatCannotBeReset: a chat host the reset cannot
// clean (neither through the agent nor an exec, as after a fork bomb) is
// restarted, which empties its tmpfs folders, given the submission again
// and reset, and the scenario runs as usual.
func TestGradeRestartsAHostThatCannotBeReset(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	f.FailResets("client1", 2) // the agent's and the exec's
	relay := []scenarios.Scenario{gradingtest.Relay(t)}
	reports, err := Grade(context.Background(), f, []scenarios.Submission{gradingtest.Submission("dave", "chat-server")},
		gradeOpts(t, t.TempDir(), WithScenarios(relay), WithLabsPerSubmission(1))...)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; !r.Passed || r.Incomplete {
		t.Errorf("passed %v, incomplete %v, error %q", r.Passed, r.Incomplete, r.Error)
	}
	calls := f.Calls()
	restart := indexOf(calls, "restart t-1-client1")
	staged := indexOf(calls[max(restart, 0):], "copy 1 file(s) to t-1-client1:"+scenarios.StageDir)
	if restart < 0 || staged < 0 {
		t.Errorf("client1 was not restarted and staged again: %q", calls)
	}
	if n := strings.Count(strings.Join(calls, "\n"), "restart "); n != 1 {
		t.Errorf("%d restarts, want client1's alone", n)
	}
	if got := f.Resets("t-1"); slices.Index(got, "client1") < 0 {
		t.Errorf("client1 was never reset after its restart: %q", got)
	}
}

// TestLabRuntimeCheckDNS: the lab adapter's dnscheck returns the typed
// report; one whose only failures are silence comes with an error (the
// machine's fault, an ERROR that Grade tries again), and without a binary
// the step is told to ask getent.
func TestLabRuntimeCheckDNS(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	topo := topology.Default()
	if err := f.AddLab(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	rt := NewLabRuntime(f, topo, gradingtest.DNSCheckBinary)
	rep, err := rt.CheckDNS(context.Background(), []string{"client1", "client2"})
	if err != nil || !rep.Pass() || len(rep.Hosts) != 2 || len(rep.Hosts[0].Results) != 4 {
		t.Fatalf("CheckDNS: %v, pass %v, %d hosts; want the apex's A and AAAA through both paths on two hosts", err, rep.Pass(), len(rep.Hosts))
	}
	f.SilenceDNS("client2")
	rep, err = rt.CheckDNS(context.Background(), []string{"client1", "client2"})
	if err == nil || !strings.Contains(err.Error(), "the machine is overloaded") || rep.Pass() || len(rep.Hosts) != 2 {
		t.Errorf("silence: %v, pass %v, %d hosts; want an error with the report", err, rep.Pass(), len(rep.Hosts))
	}
	f.FailDNS("client2")
	if rep, err = rt.CheckDNS(context.Background(), []string{"client2"}); err != nil || rep.Pass() {
		t.Errorf("a wrong answer: %v, pass %v; want a failed report, no error", err, rep.Pass())
	}
	if _, err := NewLabRuntime(f, topo, nil).CheckDNS(context.Background(), nil); !errors.Is(err, scenarios.ErrNoDNSCheck) {
		t.Errorf("without a binary: %v, want ErrNoDNSCheck", err)
	}
}

// TestGradeRerunsATimedOutCheck: a check that fails only because a wait ran
// out is run a second time before points are taken, as a busy grading
// machine can make correct work late; the second run counts and the report
// says so. A wrong answer (the server crashed) is not run again.
func TestGradeRerunsATimedOutCheck(t *testing.T) {
	slow, err := scenarios.Parse("fake-slow.yaml", []byte(strings.Replace(gradingtest.RelayScenario,
		"{proc: server, match: listening}", "{proc: server, match: listening, within: 1s}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	f := gradingtest.NewEngine(t, "fake")
	var mu sync.Mutex
	starts := map[string]int{}
	f.OnSpawn = func(lab, host, program string) {
		if strings.HasSuffix(program, "-server") {
			mu.Lock()
			starts[program]++
			mu.Unlock()
		}
	}
	subs := []scenarios.Submission{gradingtest.Submission("late", "late-server"), gradingtest.Submission("silent", "silent-server"), gradingtest.Submission("crash", "crash-server")}
	reports, err := Grade(context.Background(), f, subs,
		gradeOpts(t, t.TempDir(), WithScenarios([]scenarios.Scenario{slow}), WithLabsPerSubmission(1), WithParallel(1))...)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]scenarios.Result{}
	for _, r := range reports {
		if len(r.Results) != 1 || r.Incomplete {
			t.Fatalf("%s: %d results, incomplete %v; want one complete result", r.Submission, len(r.Results), r.Incomplete)
		}
		byName[r.Submission] = r.Results[0]
	}
	notes := func(res scenarios.Result) string { return strings.Join(res.Notes, " | ") }

	late := byName["late"]
	if late.Status != scenarios.Passed || late.Points != 2 || !strings.Contains(notes(late), "run twice: the first run ran out of time (server on webserver prints /listening/ within 1s: it did not within") ||
		!strings.Contains(notes(late), "it passed the second run, which counts") {
		t.Errorf("late: %s %d points, notes %q; want passed, 2 points, a note of the rerun", late.Status, late.Points, late.Notes)
	}
	silent := byName["silent"]
	if silent.Status != scenarios.Failed || silent.Failure == nil || !silent.Failure.TimedOut || !strings.Contains(notes(silent), "the second run failed too") {
		t.Errorf("silent: %s %+v, notes %q; want failed twice by timeout", silent.Status, silent.Failure, silent.Notes)
	}
	crash := byName["crash"]
	if crash.Status != scenarios.Failed || crash.Failure == nil || crash.Failure.TimedOut || len(crash.Notes) != 0 {
		t.Errorf("crash: %s %+v, notes %q; want failed once, not as a timeout", crash.Status, crash.Failure, crash.Notes)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"late-server": 2, "silent-server": 2, "crash-server": 1}; !maps.Equal(starts, want) {
		t.Errorf("servers started %v, want %v", starts, want)
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestGradeScenariosFor: a submission named in WithScenariosFor is graded
// on its own scenarios only, the others on all; the one with more to run
// starts first, whatever its place in the batch, and the reports keep the
// batch's order.
func TestGradeScenariosFor(t *testing.T) {
	f := gradingtest.NewEngine(t, "fake")
	ev := &events{}
	subs := []scenarios.Submission{gradingtest.Submission("regrade", "chat-server"), gradingtest.Submission("whole", "chat-server")}
	reports, err := Grade(context.Background(), f, subs, gradeOpts(t, t.TempDir(), WithParallel(1), WithLabsPerSubmission(1), WithEvents(ev.hook),
		WithScenariosFor(map[string][]scenarios.Scenario{"regrade": {gradingtest.Relay(t)}}))...)
	if err != nil {
		t.Fatal(err)
	}
	ran := func(r Report) []string {
		var out []string
		for _, res := range r.Results {
			out = append(out, res.Scenario)
		}
		return out
	}
	if len(reports) != 2 || reports[0].Submission != "regrade" || !slices.Equal(ran(reports[0]), []string{"fake-relay"}) || !reports[0].Passed {
		t.Errorf("regrade: %+v, want fake-relay only, passed", reports)
	}
	if len(reports) == 2 && (reports[1].Submission != "whole" || !slices.Equal(ran(reports[1]), []string{"fake-relay", "dns-resolve"}) || !reports[1].Passed) {
		t.Errorf("whole: %s ran %v passed %v, want fake-relay and dns-resolve, passed", reports[1].Submission, ran(reports[1]), reports[1].Passed)
	}
	if got, want := ev.list(), []string{"started whole", "done whole", "started regrade", "done regrade"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if left := f.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}
