package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// lab grade's flags, outputs and exit codes on gradingtest's fake engines,
// which run reached through withEngines instead of Docker: the
// submissions' programs are the fake's chat service, the scenarios its
// relay scenario.

// fakeEngines are the engines lab grade reaches: gradingtest engines by
// the name --engine gives, "" being the environment's. A name without one
// is an engine that does not answer.
type fakeEngines struct {
	byName map[string]*gradingtest.Engine

	mu    sync.Mutex
	dials []string // the names lab grade asked for, in order
}

// newFakeEngines makes one fake engine per name, each called by its name;
// the environment's ("") is called local.
func newFakeEngines(t *testing.T, names ...string) *fakeEngines {
	f := &fakeEngines{byName: map[string]*gradingtest.Engine{}}
	for _, n := range names {
		called := n
		if n == "" {
			called = "local"
		}
		f.byName[n] = gradingtest.NewEngine(t, called)
	}
	return f
}

// connect is withEngines' connect.
func (f *fakeEngines) connect(ctx context.Context, name string) (runtime.Engine, error) {
	f.mu.Lock()
	f.dials = append(f.dials, name)
	f.mu.Unlock()
	if e, ok := f.byName[name]; ok {
		return e, nil
	}
	where := name
	if where == "" {
		where = "unix:///var/run/docker.sock"
	}
	return nil, fmt.Errorf("%w: cannot reach the Docker engine at %s: is dockerd running?", runtime.ErrEngineUnreachable, where)
}

// dialled lists the names lab grade asked for.
func (f *fakeEngines) dialled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dials)
}

// gradeOnFake runs lab grade with args on engines and returns its exit
// code and output. lab grade ensures the lab's images on the first engine
// as on Docker: the fake builds them from the registry's base
// (LAB_BASE=registry; a fake build fetches nothing), under a cache folder,
// and so a build lock, of the test's own.
func gradeOnFake(ctx context.Context, t *testing.T, engines *fakeEngines, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(images.EnvBase, string(images.FromRegistry))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var out, errb bytes.Buffer
	code = run(ctx, append([]string{"grade"}, args...), devnull, &out, &errb, withEngines(engines.connect))
	return code, out.String(), errb.String()
}

// reportsOf decodes lab grade --json's reports.
func reportsOf(t *testing.T, stdout, stderr string) []grading.Report {
	t.Helper()
	var reports []grading.Report
	if err := json.Unmarshal([]byte(stdout), &reports); err != nil {
		t.Fatalf("the reports are not JSON: %v\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	return reports
}

// fakeScenarios writes the fake's relay scenario twice, as fake-relay and
// fake-relay-again, into a folder for --scenarios.
func fakeScenarios(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"fake-relay":       gradingtest.RelayScenario,
		"fake-relay-again": strings.Replace(gradingtest.RelayScenario, "name: fake-relay", "name: fake-relay-again", 1),
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lastLine is the last line of s.
func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// outcome says how a report ended: passed, failed or incomplete.
func outcome(r grading.Report) string {
	switch {
	case r.Incomplete:
		return "incomplete"
	case r.Passed:
		return "passed"
	}
	return "failed"
}

// scenarioNames are the checks a report holds, sorted.
func scenarioNames(r grading.Report) []string {
	var out []string
	for _, res := range r.Results {
		out = append(out, res.Scenario)
	}
	slices.Sort(out)
	return out
}

// checksOf is a report's outcome check by check, without timings, sorted.
func checksOf(r grading.Report) []string {
	var out []string
	for _, res := range r.Results {
		out = append(out, fmt.Sprintf("%s %s %d/%d", res.Scenario, res.Status, res.Points, res.MaxPoints))
	}
	slices.Sort(out)
	return out
}

// TestGradeExitCodesOnFake: lab grade exits 0 when every required check
// passed, 1 when one failed, 3 when the lab broke (it could not come up,
// or its engine stopped answering mid-run), 4 when no engine answers
// (none is there, or the one there dies before grading) and 2 on a bad
// command line, which is caught before any engine is dialled. Nothing it
// failed to grade leaves a results folder, and a lab it graded is gone.
func TestGradeExitCodesOnFake(t *testing.T) {
	dieAtClient := func(e *gradingtest.Engine) {
		var once sync.Once
		e.OnSpawn = func(lab, host, program string) {
			if program == "chat-client" {
				once.Do(e.Die)
			}
		}
	}
	tests := []struct {
		name   string
		server string                      // the submission's chat server, chat-server if empty
		down   bool                        // no engine answers
		setup  func(e *gradingtest.Engine) // the environment's engine, before lab grade
		args   []string                    // besides --json, --scenarios, --results, --only and --lab-prefix
		code   int
		stderr string // how the last line of stderr starts ("": not checked)
		report string // the report's outcome (outcome); "" for no report
		why    string // what the report's error says
	}{
		{name: "every required check passed", code: exitGradePassed, report: "passed"},
		{name: "a required check failed", server: "crash-server", code: exitGradeFailed, report: "failed"},
		{name: "the lab could not come up", code: exitGradeIncomplete, report: "incomplete", why: "lab t-1: create container t-1-client2: no space left on device",
			setup: func(e *gradingtest.Engine) {
				e.Fail = func(op, target string) error {
					if op == "create container" && target == "t-1-client2" {
						return errors.New("no space left on device")
					}
					return nil
				}
			}},
		{name: "the engine died mid-run", setup: dieAtClient, code: exitGradeIncomplete, report: "incomplete", why: "engine local stopped answering"},
		{name: "the engine died before grading", setup: func(e *gradingtest.Engine) { e.Die() },
			code: exitEngine, stderr: "lab: images: "},
		{name: "no engine answers", down: true, code: exitEngine,
			stderr: "lab: cannot reach the Docker engine at unix:///var/run/docker.sock: is dockerd running?"},
		{name: "no --engine answers", down: true, args: []string{"--engine", "tcp://a:2375", "--engine", "tcp://b:2375"},
			code: exitEngine, stderr: "lab: none of the 2 engines of --engine answers"},
		{name: "--parallel 0", args: []string{"--parallel", "0"}, code: exitUsage, stderr: "lab: --parallel 0: must be at least 1"},
		{name: "--labs 0", args: []string{"--labs", "0"}, code: exitUsage, stderr: "lab: --labs 0: must be at least 1"},
		{name: "--only not a regexp", args: []string{"--only", "fake-("}, code: exitUsage, stderr: `lab: --only "fake-(": not a regular expression`},
		{name: "--only matches nothing", args: []string{"--only", "^zz"}, code: exitUsage, stderr: `lab: --only "^zz" matches no scenario name`},
		{name: "unknown flag", args: []string{"--bogus"}, code: exitUsage, stderr: "lab: unknown flag: --bogus; see: lab grade --help"},
		{name: "--junit in a missing folder", args: []string{"--junit", "/nonexistent/dir/j.xml"}, code: exitUsage,
			stderr: "lab: --junit /nonexistent/dir/j.xml: folder /nonexistent/dir does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			engines := newFakeEngines(t)
			var e *gradingtest.Engine
			if !tt.down {
				engines = newFakeEngines(t, "")
				e = engines.byName[""]
				if tt.setup != nil {
					tt.setup(e)
				}
			}
			results := filepath.Join(t.TempDir(), "results")
			args := append([]string{"--json", "--scenarios", fakeScenarios(t), "--results", results, "--only", "^fake-relay$", "--lab-prefix", "t"}, tt.args...)
			server := cmp.Or(tt.server, "chat-server")
			code, stdout, stderr := gradeOnFake(context.Background(), t, engines, append(args, gradingtest.SubmissionDir(t, "sub", server))...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			last := lastLine(stderr)
			if tt.stderr != "" && !strings.HasPrefix(last, tt.stderr) {
				t.Errorf("last line of stderr %q, want it to start with %q", last, tt.stderr)
			}
			if tt.report == "" {
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
				if _, err := os.Stat(results); err == nil {
					t.Errorf("made %s", results)
				}
			} else if reports := reportsOf(t, stdout, stderr); len(reports) != 1 || outcome(reports[0]) != tt.report || !strings.Contains(reports[0].Error, tt.why) {
				t.Errorf("reports %+v, want one, %s, its error saying %q", reports, tt.report, tt.why)
			}
			if dialled := engines.dialled(); (tt.code == exitUsage) != (len(dialled) == 0) {
				t.Errorf("dialled %q; want an engine dialled unless the command line is bad", dialled)
			}
			if e != nil && e.Alive(context.Background()) {
				if left := e.Left(); len(left) > 0 {
					t.Errorf("left behind: %q", left)
				}
			}
		})
	}
}

// TestGradeOnlyOnFake: --only runs the scenarios whose name matches, an
// unanchored regular expression, and no other.
func TestGradeOnlyOnFake(t *testing.T) {
	scen := fakeScenarios(t)
	sub := gradingtest.SubmissionDir(t, "sub", "chat-server")
	for _, tt := range []struct {
		only string
		want []string
	}{
		{"^fake-relay$", []string{"fake-relay"}},
		{"fake-relay", []string{"fake-relay", "fake-relay-again"}},
		{"again", []string{"fake-relay-again"}},
	} {
		t.Run(tt.only, func(t *testing.T) {
			engines := newFakeEngines(t, "")
			code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--json", "--scenarios", scen, "--results", t.TempDir(), "--only", tt.only, sub)
			if code != exitGradePassed {
				t.Fatalf("exit %d, want 0\n%s", code, stderr)
			}
			reports := reportsOf(t, stdout, stderr)
			if len(reports) != 1 {
				t.Fatalf("%d reports, want 1", len(reports))
			}
			if got := scenarioNames(reports[0]); !slices.Equal(got, tt.want) {
				t.Errorf("checks %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGradeParallelOnFake: --parallel N grades N submissions at once on
// an engine, each in a lab of its own. With 2, each submission's server
// waits until the other's has started, so that they pass only together;
// with 1, no lab is up next to another.
func TestGradeParallelOnFake(t *testing.T) {
	for _, tt := range []struct {
		parallel string
		want     int // labs up at once
	}{
		{"1", 1},
		{"2", 2},
	} {
		t.Run("--parallel "+tt.parallel, func(t *testing.T) {
			engines := newFakeEngines(t, "")
			e := engines.byName[""]
			var mu sync.Mutex
			most, servers := 0, 0
			together := make(chan struct{})
			e.OnSpawn = func(lab, host, program string) {
				if program != "chat-server" {
					return
				}
				nets, err := e.Networks(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				most = max(most, len(nets))
				if servers++; servers == tt.want {
					close(together)
				}
				mu.Unlock()
				// A backstop, not a pace: with --parallel 2 the other
				// submission's server comes at once or never.
				select {
				case <-together:
				case <-time.After(10 * time.Second):
				}
			}
			subs := []string{gradingtest.SubmissionDir(t, "s1", "chat-server"), gradingtest.SubmissionDir(t, "s2", "chat-server")}
			code, stdout, stderr := gradeOnFake(context.Background(), t, engines, append([]string{"--json", "--parallel", tt.parallel, "--labs", "1",
				"--scenarios", fakeScenarios(t), "--only", "^fake-relay$", "--results", t.TempDir()}, subs...)...)
			if code != exitGradePassed {
				t.Fatalf("exit %d, want 0\n%s", code, stderr)
			}
			for _, r := range reportsOf(t, stdout, stderr) {
				if outcome(r) != "passed" {
					t.Errorf("%s: %s, %q; want passed", r.Submission, outcome(r), r.Error)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if most != tt.want {
				t.Errorf("%d labs up at once, want %d", most, tt.want)
			}
		})
	}
}

// TestGradeOutputsOnFake: one submission's grade prints its progress and
// its table, and writes the results folder (report, transcripts,
// summaries), --junit, --summary and --gradescope.
func TestGradeOutputsOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	out := t.TempDir()
	results := filepath.Join(out, "results")
	junit, summary, gradescope := filepath.Join(out, "junit.xml"), filepath.Join(out, "summary.md"), filepath.Join(out, "results.json")
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--only", "^fake-relay$",
		"--results", results, "--junit", junit, "--summary", summary, "--gradescope", gradescope, gradingtest.SubmissionDir(t, "alice", "chat-server"))
	if code != exitGradePassed {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	for _, want := range []string{"PASS  alice fake-relay ", "Submission alice", "TOTAL", "2/2     all required checks passed", "results: " + results} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for file, want := range map[string]string{
		filepath.Join(results, "alice", "report.txt"):                "2/2     all required checks passed",
		filepath.Join(results, "alice", "report.json"):               `"passed": true`,
		filepath.Join(results, "alice", "fake-relay", "client2.log"): "client1 says: hello",
		filepath.Join(results, "summary.csv"):                        "alice,2,2,true",
		filepath.Join(results, "summary.json"):                       `"submission": "alice"`,
		junit:                                                        `<testcase name="fake-relay" classname="alice.M1"`,
		summary:                                                      "alice",
		gradescope:                                                   `"score": 2`,
	} {
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v; want it to hold %q:\n%s", file, err, want, b)
		}
	}
	b, _ := os.ReadFile(junit)
	if err := xml.Unmarshal(b, new(any)); err != nil {
		t.Errorf("--junit: not XML: %v", err)
	}
}

// TestGradeBatchOnFake: a batch prints its progress, one line per check and
// per submission, and ends with the class on one screen, not each full
// report; grade.log keeps every check's line. A failed submission next to
// a passed one exits 1.
func TestGradeBatchOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	results := t.TempDir()
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--only", "^fake-relay$", "--results", results,
		gradingtest.SubmissionDir(t, "good", "chat-server"), gradingtest.SubmissionDir(t, "crashed", "crash-server"))
	if code != exitGradeFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(stdout, "\n") {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	for _, want := range []string{"SUBMISSION POINTS RESULT FAILED CHECKS", "good 2/2 passed -", "crashed 0/2 FAILED fake-relay", "1 passed, 1 failed"} {
		if !rows[want] {
			t.Errorf("stdout lacks the line %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^\[[0-2]/2\] good +grading 1 checks$`).MatchString(stdout) {
		t.Errorf("stdout lacks good's progress line:\n%s", stdout)
	}
	if strings.Contains(stdout, "Submission good") {
		t.Errorf("a full report reached stdout; want only the class table:\n%s", stdout)
	}
	log, err := os.ReadFile(filepath.Join(results, gradeLog))
	if err != nil || !strings.Contains(string(log), "PASS  good") || !strings.Contains(string(log), "FAIL  crashed") {
		t.Errorf("%s: %v; want every check's line:\n%s", gradeLog, err, log)
	}
}

// TestGradeCaptureOnlyOnFake mirrors TestGradeCaptureOnly: with --only and
// --capture, one scenario runs, and a capture of each of the lab's five
// hosts lands in its results folder, with the lab's topology.
func TestGradeCaptureOnlyOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	results := t.TempDir()
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--results", results,
		"--only", "^fake-relay$", "--capture", gradingtest.SubmissionDir(t, "sub", "chat-server"))
	if code != exitGradePassed {
		t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "PASS  sub "); n != 1 || !strings.Contains(stdout, "PASS  sub fake-relay") {
		t.Errorf("want exactly one scenario, fake-relay, to run; got %d PASS lines:\n%s", n, stdout)
	}
	dir := filepath.Join(results, "sub", "fake-relay", grading.CaptureDir)
	for _, f := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap", "dnsserver.pcap"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) < 24 || !bytes.Equal(b[:4], []byte{0xd4, 0xc3, 0xb2, 0xa1}) {
			t.Errorf("capture %s: %v (want a pcap file with its header)", f, err)
		}
	}
	if _, err := topology.Load(filepath.Join(dir, topology.TopologyFile)); err != nil {
		t.Errorf("the lab's topology is not saved with its captures: %v", err)
	}
	if _, err := os.Stat(filepath.Join(results, "sub", "fake-relay-again")); err == nil {
		t.Error("fake-relay-again ran: --only does not match it")
	}
	if left := engines.byName[""].Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestGradeAcrossTwoEnginesOnFake mirrors TestGradeAcrossTwoEngines: four
// submissions over two --engine engines, one slot each, each engine's
// first server waiting until the other engine's has started, so that both
// grade. The second gets the images from the first, every copy gets the
// same verdicts and each report names its engine; no lab is left on
// either.
func TestGradeAcrossTwoEnginesOnFake(t *testing.T) {
	const first, second = "tcp://first:2375", "tcp://second:2375"
	engines := newFakeEngines(t, first, second)
	both := make(chan struct{})
	var mu sync.Mutex
	started := map[string]bool{}
	for name, e := range engines.byName {
		e.OnSpawn = func(lab, host, program string) {
			if program != "chat-server" {
				return
			}
			mu.Lock()
			started[name] = true
			if len(started) == 2 && !isClosed(both) {
				close(both)
			}
			mu.Unlock()
			select {
			case <-both:
			case <-time.After(10 * time.Second): // a backstop: the other engine's slot starts at once or never
			}
		}
	}
	var subs []string
	for i := range 4 {
		subs = append(subs, gradingtest.SubmissionDir(t, fmt.Sprintf("sub%d", i+1), "chat-server"))
	}
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, append([]string{"--json", "--engine", first, "--engine", second,
		"--parallel", "1", "--labs", "1", "--scenarios", fakeScenarios(t), "--only", "fake-relay", "--lab-prefix", "engines2", "--results", t.TempDir()}, subs...)...)
	if code != exitGradePassed {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	reports := reportsOf(t, stdout, stderr)
	if len(reports) != 4 {
		t.Fatalf("%d reports, want 4", len(reports))
	}
	used := map[string]int{}
	for _, r := range reports {
		used[r.Engine]++
		if outcome(r) != "passed" || len(r.Results) != 2 {
			t.Errorf("%s on %s: %s, %d checks; want both passed", r.Submission, r.Engine, outcome(r), len(r.Results))
		}
		if got, want := checksOf(r), checksOf(reports[0]); !slices.Equal(got, want) {
			t.Errorf("%s on %s: %v, but %s on %s: %v", r.Submission, r.Engine, got, reports[0].Submission, reports[0].Engine, want)
		}
	}
	if used[first] == 0 || used[second] == 0 || used[first]+used[second] != 4 {
		t.Errorf("submissions per engine: %v; want both engines used", used)
	}
	if !strings.Contains(stderr, "images: copying") || !slices.ContainsFunc(engines.byName[second].Calls(), func(c string) bool { return strings.HasPrefix(c, "load image ") }) {
		t.Errorf("the second engine got no images from the first:\n%s", stderr)
	}
	for name, e := range engines.byName {
		if left := e.Left(); len(left) > 0 {
			t.Errorf("left behind on %s: %q", name, left)
		}
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestGradeEngineDiesMidRunOnFake mirrors TestGradeEngineDiesMidRun: the
// second --engine stops answering while one of its labs runs a scenario.
// lab grade says so, grades that submission again on the first, and exits
// 0 with every report complete, passed and naming the first engine.
func TestGradeEngineDiesMidRunOnFake(t *testing.T) {
	const first, second = "tcp://first:2375", "tcp://second:2375"
	engines := newFakeEngines(t, first, second)
	died := make(chan struct{})
	var once sync.Once
	dead := engines.byName[second]
	dead.OnSpawn = func(lab, host, program string) {
		if program == "chat-client" {
			once.Do(func() {
				dead.Die()
				close(died)
			})
		}
	}
	engines.byName[first].OnSpawn = func(lab, host, program string) {
		// The first engine waits until the second has taken a
		// submission and died with it, so that there is one to regrade.
		select {
		case <-died:
		case <-time.After(10 * time.Second): // a backstop: the second's slot starts at once or never
		}
	}
	var subs []string
	for i := range 3 {
		subs = append(subs, gradingtest.SubmissionDir(t, fmt.Sprintf("sub%d", i+1), "chat-server"))
	}
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, append([]string{"--json", "--engine", first, "--engine", second,
		"--parallel", "1", "--labs", "1", "--scenarios", fakeScenarios(t), "--only", "^fake-relay$", "--lab-prefix", "enginedies", "--results", t.TempDir()}, subs...)...)
	if !isClosed(died) {
		t.Fatal("the second engine never ran a scenario")
	}
	if !strings.Contains(stderr, "engine "+second+" stopped answering") {
		t.Errorf("the second engine was not seen to stop answering:\n%s", stderr)
	}
	if code != exitGradePassed {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	for _, r := range reportsOf(t, stdout, stderr) {
		if outcome(r) != "passed" || len(r.Results) != 1 || r.Engine != first {
			t.Errorf("%s: %s, %d checks, engine %s; want passed on %s", r.Submission, outcome(r), len(r.Results), r.Engine, first)
		}
	}
	if left := engines.byName[first].Left(); len(left) > 0 {
		t.Errorf("left behind on the first engine: %q", left)
	}
}

// TestGradeEngineDownAtStartOnFake: an --engine that does not answer at
// the start is left out with a one-line warning, and the others grade.
func TestGradeEngineDownAtStartOnFake(t *testing.T) {
	const up, down = "tcp://up:2375", "tcp://down:2375"
	engines := newFakeEngines(t, up)
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--json", "--engine", down, "--engine", up,
		"--scenarios", fakeScenarios(t), "--only", "^fake-relay$", "--results", t.TempDir(), gradingtest.SubmissionDir(t, "sub", "chat-server"))
	if code != exitGradePassed {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	if want := "lab: warning: cannot reach the Docker engine at " + down + ": is dockerd running?; grading on the other engines\n"; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr %q, want it to start with %q", stderr, want)
	}
	if reports := reportsOf(t, stdout, stderr); len(reports) != 1 || outcome(reports[0]) != "passed" {
		t.Errorf("reports %+v, want one, passed", reports)
	}
}

// TestGradeInterruptedOnFake: an interrupt (its context cancelled) while
// a scenario runs ends lab grade with "interrupted" and exit 130, and
// every lab, those still coming up included, is torn down.
func TestGradeInterruptedOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	e := engines.byName[""]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.OnSpawn = func(lab, host, program string) {
		if program == "chat-client" {
			cancel()
		}
	}
	subs := []string{gradingtest.SubmissionDir(t, "s1", "chat-server"), gradingtest.SubmissionDir(t, "s2", "chat-server")}
	code, _, stderr := gradeOnFake(ctx, t, engines, append([]string{"--parallel", "1", "--scenarios", fakeScenarios(t), "--results", t.TempDir(), "--only", "fake-relay"}, subs...)...)
	if code != exitInterrupted || lastLine(stderr) != "lab: interrupted" {
		t.Errorf("exit %d, last line of stderr %q; want %d, lab: interrupted\n%s", code, lastLine(stderr), exitInterrupted, stderr)
	}
	if left := e.Left(); len(left) > 0 {
		t.Errorf("left behind after the interrupt: %q", left)
	}
}

// TestGradeRegradeMergesOnFake: a regrade of one submission's one check
// into a class's results folder changes only that check of that report;
// the other submission's report, the class summaries and the class page
// keep everyone, and grade.log keeps the first batch's lines. --again then
// grades again only what needs it: nothing, until a submission's files
// change.
func TestGradeRegradeMergesOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	scen := fakeScenarios(t)
	results := t.TempDir()
	anna := gradingtest.SubmissionDir(t, "anna", "chat-server")
	bob := gradingtest.SubmissionDir(t, "bob", "crash-server")
	if code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--results", results, anna, bob); code != exitGradeFailed {
		t.Fatalf("first grade: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	first, err := grading.LoadReports(results)
	if err != nil {
		t.Fatal(err)
	}
	annaFirst := first[0]
	if annaFirst.Submission != "anna" || annaFirst.Source != anna || annaFirst.Digest == "" || annaFirst.GradedAt.IsZero() || annaFirst.Version == "" {
		t.Fatalf("anna's report does not say what was graded, when and by what: %+v", annaFirst)
	}
	time.Sleep(1100 * time.Millisecond) // a second later, to tell the runs apart by their dates

	// The exit status is the merged report's: anna handed in no
	// captures, answers or PDF, and the file checks she failed stay.
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--results", results, "--only", "^fake-relay-again$", anna)
	if code != exitGradeFailed || outcome(annaFirst) != "failed" {
		t.Fatalf("regrade: exit %d, want 1 (anna was %s)\n%s%s", code, outcome(annaFirst), stdout, stderr)
	}
	after, err := grading.LoadReports(results)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[1].Submission != "bob" || !slices.Equal(checksOf(after[1]), checksOf(first[1])) {
		t.Fatalf("bob's report changed with anna's regrade: %v", after)
	}
	a := after[0]
	if got, want := checksOf(a), checksOf(annaFirst); !slices.Equal(got, want) || a.Score != annaFirst.Score || a.MaxScore != annaFirst.MaxScore {
		t.Errorf("anna after regrading one check: %q %d/%d, want %q %d/%d", got, a.Score, a.MaxScore, want, annaFirst.Score, annaFirst.MaxScore)
	}
	for _, res := range a.Results {
		regraded := res.Scenario == "fake-relay-again"
		if regraded != res.GradedAt.After(annaFirst.GradedAt) {
			t.Errorf("anna's %s graded at %s (first run %s): only the regraded check is new", res.Scenario, res.GradedAt, annaFirst.GradedAt)
		}
	}
	if _, err := os.Stat(filepath.Join(results, "anna", "fake-relay")); err != nil {
		t.Errorf("the transcripts of anna's check that was not regraded are gone: %v", err)
	}
	for file, want := range map[string][]string{
		"summary.csv":                      {"\nanna,", "\nbob,"},
		"grades.csv":                       {"anna", "bob"},
		"index.html":                       {">anna<", ">bob<", "checks from earlier runs"},
		"anna/index.html":                  {"in an earlier run"},
		gradeLog:                           {"FAIL  bob", "=== lab grade"},
		filepath.Join("bob", "report.txt"): {"bob"},
	} {
		b, err := os.ReadFile(filepath.Join(results, file))
		for _, w := range want {
			if err != nil || !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q after anna's regrade (%v)", file, w, err)
			}
		}
	}

	// --again: nothing changed, nothing to do.
	code, stdout, stderr = gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--again", results)
	if code != exitGradePassed || !strings.HasPrefix(stdout, "nothing to grade again in "+results) {
		t.Errorf("--again on an unchanged class: exit %d, %q %q", code, stdout, stderr)
	}
	// bob's files change: only bob is graded again.
	if err := os.WriteFile(filepath.Join(bob, "notes.txt"), []byte("fixed it\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--again", results)
	if code != exitGradeFailed || !strings.Contains(stderr, "lab: grading again: bob (its files changed since ") || !strings.Contains(stderr, "; 1 up to date") {
		t.Errorf("--again after bob's change: exit %d, stderr %q", code, stderr)
	}
	final, _ := grading.LoadReports(results)
	if len(final) != 2 || !final[0].GradedAt.Equal(a.GradedAt) || !final[1].GradedAt.After(first[1].GradedAt) {
		t.Errorf("--again graded %v; want bob only", final)
	}
	// --again with a submission named, or another --results: a usage error.
	for _, args := range [][]string{{"--again", results, anna}, {"--again", results, "--results", t.TempDir()}} {
		if code, _, stderr := gradeOnFake(context.Background(), t, engines, append([]string{"--scenarios", scen}, args...)...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("lab grade %q: exit %d, %q; want 2 and one line", args, code, stderr)
		}
	}
}

// TestGradeRefusesAnUnreadableReportInResultsOnFake: a results folder with
// a report that cannot be read is refused before anything is graded, and
// the report is left as it was.
func TestGradeRefusesAnUnreadableReportInResultsOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	results := t.TempDir()
	bad := filepath.Join(results, "chen", grading.ReportFile)
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--results", results, gradingtest.SubmissionDir(t, "anna", "chat-server"))
	if code != 2 || !strings.Contains(stderr, bad) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, %q; want 2 and one line naming %s", code, stderr, bad)
	}
	if len(engines.dialled()) != 0 {
		t.Errorf("an engine was dialled: %q", engines.dialled())
	}
	if b, _ := os.ReadFile(bad); string(b) != "{not json" {
		t.Errorf("the bad report was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(results, "anna")); err == nil {
		t.Error("anna was graded into the folder")
	}
}

// TestGradeMilestonesOnFake: --milestones grades only what the course asks
// for: a code-only class is not failed on the captures, answers and PDF
// it was never asked to hand in; a milestone that is no milestone, or one
// with nothing to grade, is a usage error before any engine is dialled.
func TestGradeMilestonesOnFake(t *testing.T) {
	scen := fakeScenarios(t)
	sub := gradingtest.SubmissionDir(t, "anna", "chat-server")
	engines := newFakeEngines(t, "")
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--json", "--scenarios", scen, "--results", t.TempDir(), "--milestones", "m1", sub)
	if code != exitGradePassed {
		t.Fatalf("--milestones m1: exit %d, want 0 (no file check graded)\n%s", code, stderr)
	}
	if got := scenarioNames(reportsOf(t, stdout, stderr)[0]); !slices.Equal(got, []string{"fake-relay", "fake-relay-again"}) {
		t.Errorf("--milestones m1 graded %q", got)
	}
	// Without it the file checks fail a submission with no captures.
	code, _, _ = gradeOnFake(context.Background(), t, engines, "--json", "--scenarios", scen, "--results", t.TempDir(), sub)
	if code != exitGradeFailed {
		t.Errorf("without --milestones: exit %d, want 1 (the file checks)", code)
	}
	for _, tc := range []struct{ flag, want string }{
		{"M9", `lab: --milestones "M9": not a milestone: name some of DNS, M1, M2, M3, M4, Q2`},
		{"M2,M4", "lab: --milestones M2,M4: no scenario of those milestones"},
	} {
		fresh := newFakeEngines(t, "")
		code, _, stderr := gradeOnFake(context.Background(), t, fresh, "--scenarios", scen, "--milestones", tc.flag, sub)
		if code != 2 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || len(fresh.dialled()) != 0 {
			t.Errorf("--milestones %s: exit %d, %q, dialled %q; want 2 and %q", tc.flag, code, stderr, fresh.dialled(), tc.want)
		}
	}
}

// TestGradeRefusesBadTAScoresOnFake: a results folder whose
// ta-scores.yaml does not fit is refused before any engine is dialled.
func TestGradeRefusesBadTAScoresOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	results := t.TempDir()
	if err := grading.WriteTranscripts(results, grading.NewReport("chen", []scenarios.Result{{Scenario: "fake-relay", Milestone: scenarios.M1, MaxPoints: 1, Status: scenarios.Passed, Points: 1}}, nil, time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(results, grading.TAScoresFile), []byte("chen:\n  fake-relay:\n    points: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--results", results, gradingtest.SubmissionDir(t, "anna", "chat-server"))
	if code == exitGradePassed || !strings.Contains(stderr, "ta-scores.yaml: chen: fake-relay: the check does not need a TA") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, %q; want a refusal in one line naming the entry", code, stderr)
	}
	if len(engines.dialled()) != 0 {
		t.Errorf("an engine was dialled: %q", engines.dialled())
	}
}

// TestGradeCourseSettingsOnFake: the course's lab3.yaml in the folder lab
// grade runs in sets its milestones (and says so on stderr), a flag wins
// over it, --course names another file, a submission's own lab3.yaml
// there is not taken for the course's, and a bad setting is a one-line
// usage error before any engine is dialled.
func TestGradeCourseSettingsOnFake(t *testing.T) {
	scen := fakeScenarios(t)
	sub := gradingtest.SubmissionDir(t, "anna", "chat-server")
	engines := newFakeEngines(t, "")
	here := t.TempDir()
	t.Chdir(here)
	mustWriteFile(t, filepath.Join(here, "lab3.yaml"), "# the course\ncourse:\n  milestones: [M1]\n")
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--json", "--scenarios", scen, "--results", t.TempDir(), sub)
	if code != exitGradePassed || !strings.Contains(stderr, "lab: the course's settings from lab3.yaml: milestones M1\n") {
		t.Fatalf("course milestones M1: exit %d, want 0 (no file check graded) and a note of the settings\n%s", code, stderr)
	}
	if got := scenarioNames(reportsOf(t, stdout, stderr)[0]); !slices.Equal(got, []string{"fake-relay", "fake-relay-again"}) {
		t.Errorf("course milestones M1 graded %q", got)
	}
	// The flag wins: every milestone, so the file checks fail.
	code, _, stderr = gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--results", t.TempDir(), "--milestones", "M1,M3", sub)
	if code != exitGradeFailed {
		t.Errorf("--milestones M1,M3 over the course's M1: exit %d, want 1 (the file checks)\n%s", code, stderr)
	}
	// A submission's lab3.yaml where lab grade runs is no course file.
	mustWriteFile(t, filepath.Join(here, "lab3.yaml"), "team: 11\n")
	code, _, stderr = gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--results", t.TempDir(), sub)
	if code != exitGradeFailed || strings.Contains(stderr, "course") {
		t.Errorf("a manifest in the working folder: exit %d, want 1 (every milestone graded) and no course note\n%s", code, stderr)
	}
	named := filepath.Join(t.TempDir(), "ttm4200.yaml")
	mustWriteFile(t, named, "course:\n  milestones: [m1]\n  roster: roster.csv\n")
	mustWriteFile(t, filepath.Join(filepath.Dir(named), "roster.csv"), "anna,11\n")
	code, _, stderr = gradeOnFake(context.Background(), t, engines, "--scenarios", scen, "--results", t.TempDir(), "--course", named, sub)
	if code != exitGradePassed || !strings.Contains(stderr, "milestones m1, roster "+filepath.Join(filepath.Dir(named), "roster.csv")) {
		t.Errorf("--course %s: exit %d, want 0 with its roster beside it\n%s", named, code, stderr)
	}

	for _, tc := range []struct{ name, text, want string }{
		{"misspelt key", "course:\n  milestone: [M1]\n", "lab: lab3.yaml: course: line 1: field milestone not found in type main.course (it takes milestones, max_payload and roster)"},
		{"no milestone", "course:\n  milestones: [M9]\n", `lab: lab3.yaml: course: milestones: "M9": not a milestone`},
		{"other keys", "course:\n  milestones: [M1]\nteam: 11\n", "lab: lab3.yaml: a course's lab3.yaml holds course: only, not team"},
		{"bad payload", "course:\n  max_payload: [70000]\n", "lab: lab3.yaml: course: max_payload: 70000 is no UDP payload size"},
		{"not YAML", "course: [\n", "lab: lab3.yaml: not YAML: "},
	} {
		mustWriteFile(t, filepath.Join(here, "lab3.yaml"), tc.text)
		fresh := newFakeEngines(t, "")
		code, _, stderr := gradeOnFake(context.Background(), t, fresh, "--scenarios", scen, sub)
		if code != 2 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || len(fresh.dialled()) != 0 {
			t.Errorf("%s: exit %d, %q, dialled %q; want 2 and %q", tc.name, code, stderr, fresh.dialled(), tc.want)
		}
	}
	fresh := newFakeEngines(t, "")
	code, _, stderr = gradeOnFake(context.Background(), t, fresh, "--scenarios", scen, "--course", filepath.Join(here, "missing.yaml"), sub)
	if code != 2 || !strings.Contains(stderr, "lab: --course: ") || !strings.Contains(stderr, "does not exist") || len(fresh.dialled()) != 0 {
		t.Errorf("a missing --course file: exit %d, %q; want 2", code, stderr)
	}
}

func mustWriteFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGradeSkipsFilesAmongSubmissionsOnFake: a class folder's glob picks up
// its README beside the submissions; lab grade skips it with a note and
// grades the folders. A file given alone is still a usage error.
func TestGradeSkipsFilesAmongSubmissionsOnFake(t *testing.T) {
	scen := fakeScenarios(t)
	sub := gradingtest.SubmissionDir(t, "anna", "chat-server")
	readme := filepath.Join(t.TempDir(), "README.md")
	mustWriteFile(t, readme, "# the class\n")
	engines := newFakeEngines(t, "")
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--json", "--scenarios", scen, "--results", t.TempDir(), "--milestones", "M1", readme, sub)
	if code != exitGradePassed || !strings.Contains(stderr, "lab: "+readme+": a file, not a submission folder: skipped\n") {
		t.Fatalf("a README among the submissions: exit %d, want 0 with a note\n%s", code, stderr)
	}
	if reps := reportsOf(t, stdout, stderr); len(reps) != 1 || reps[0].Submission != "anna" {
		t.Errorf("graded %d reports, want anna's only", len(reps))
	}
	fresh := newFakeEngines(t, "")
	code, _, stderr = gradeOnFake(context.Background(), t, fresh, "--scenarios", scen, readme)
	if code != 2 || !strings.Contains(stderr, "is a file; give a folder") || len(fresh.dialled()) != 0 {
		t.Errorf("a file alone: exit %d, %q; want 2", code, stderr)
	}
}
