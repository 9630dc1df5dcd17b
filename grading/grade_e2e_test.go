package grading_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/dockerdtest"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// fixtures is the folder of handout-style fixtures and broken variants.
func fixtures(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "handout", "chatroom_server.py")); err != nil {
		t.Fatalf("handout fixtures missing: %v", err)
	}
	return dir
}

// referenceBins is the folder of the static chat-server and chat-client
// that make build made for the lab's containers.
func referenceBins(t testing.TB) string {
	t.Helper()
	return tier.Bins(t, "chat-server", "chat-client")
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	waitMu.Lock()
	defer waitMu.Unlock()
	if m := waitedRE.FindSubmatch(b); m != nil {
		s, _ := strconv.ParseFloat(string(m[1]), 64)
		waited[w.t.Name()] += time.Duration(s * float64(time.Second))
	}
	return len(b), nil
}

// waited adds up, by test, how long Grade said scenarios waited for the
// machine's CPU.
var (
	waitMu   sync.Mutex
	waited   = map[string]time.Duration{}
	waitedRE = regexp.MustCompile(`scenarios waited ([0-9.]+)s in all for the machine's CPU`)
)

// textLogger prints Grade's progress lines on w, one Write a line, as lab
// grade does.
func textLogger(w io.Writer) *slog.Logger { return progress.New(w, false) }

// failedChecks lists the failed checks; optional ones (robustness, reported
// but not graded) only when all is set.
func failedChecks(r grading.Report, all bool) []string {
	var out []string
	for _, res := range r.Results {
		if res.Status != scenarios.Passed && (all || res.Required) {
			out = append(out, res.Scenario)
		}
	}
	sort.Strings(out)
	return out
}

func grade(t *testing.T, subs []scenarios.Submission, parallel int) []grading.Report {
	reports, _ := gradeIn(t, t.TempDir(), subs, parallel)
	return reports
}

// gradeIn grades into the results folder dir, on the built-in scenarios
// (LAB3_SCENARIOS=name,M2,... narrows them while debugging).
func gradeIn(t *testing.T, dir string, subs []scenarios.Submission, parallel int) ([]grading.Report, string) {
	t.Helper()
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var only []string
	if s := os.Getenv("LAB3_SCENARIOS"); s != "" {
		only = strings.Split(s, ",")
	}
	selected, err := scenarios.Select(all, only)
	if err != nil {
		t.Fatal(err)
	}
	return gradeOn(t, dir, subs, parallel, selected), dir
}

// gradeCalls counts the calls of gradeOn, which name their labs apart.
var gradeCalls atomic.Int32

// gradeOn grades subs on the scenarios given, into the results folder dir,
// and checks that no lab is left behind.
func gradeOn(t *testing.T, dir string, subs []scenarios.Submission, parallel int, selected []scenarios.Scenario, more ...grading.Option) []grading.Report {
	t.Helper()
	d, refs := labcontainers.Engine(t)
	// Grading a class of fixtures takes 10 minutes on one machine and more
	// than 20 on a slower one: it may use the whole of go test's -timeout,
	// less a minute to tear the labs down and report.
	deadline := time.Now().Add(20 * time.Minute)
	if dl, ok := t.Deadline(); ok {
		deadline = dl.Add(-time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// Each call its own labs: a lab that an earlier call's teardown could
	// not remove must not be mistaken for one of this call's.
	prefix := fmt.Sprintf("gt%d%c", os.Getpid()%100000, 'a'+rune(gradeCalls.Add(1)%26))
	reports, err := grading.Grade(ctx, d, subs, append([]grading.Option{
		grading.WithScenarios(selected),
		grading.WithParallel(parallel),
		grading.WithLogger(textLogger(logWriter{t})),
		grading.WithResultsDir(dir),
		grading.WithLabImages(refs.DNS, refs.Host),
		grading.WithDNSCheck(grading.DNSCheckBinary("")),
		grading.WithLabPrefix(prefix)}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever happened, no lab may be left behind.
	for i := range subs {
		for _, name := range labNames(prefix, i+1) {
			cs, err := d.Containers(context.Background(), map[string]string{topology.LabelLab: name})
			if err != nil || len(cs) != 0 {
				t.Errorf("lab %s left %d containers behind (%v)", name, len(cs), err)
			}
		}
	}
	return reports
}

// labNames are the labs Grade makes for submission n: one per share of
// its scenarios (WithLabsPerSubmission).
func labNames(prefix string, n int) []string {
	name := fmt.Sprintf("%s-%d", prefix, n)
	out := []string{name}
	for k := 1; k < grading.DefaultLabsPerSubmission; k++ {
		out = append(out, fmt.Sprintf("%s-%c", name, 'a'+k))
	}
	return out
}

func explain(r grading.Report) string {
	var b strings.Builder
	_ = r.WriteTable(&b)
	return b.String()
}

// checkReference: the reference passes every check, dns-resolve by
// dnscheck, and its transcripts, report and the summary are in dir.
func checkReference(t *testing.T, r grading.Report, dir string) {
	t.Helper()
	for file, want := range map[string]string{
		"reference/m1-broadcast/client1.log": "<<< hello from alice",
		"reference/m1-broadcast/client2.log": "alice (IP: ",
		"reference/report.txt":               "TOTAL",
		"summary.csv":                        "reference,",
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want it to contain %q:\n%s", file, err, want, b)
		}
	}
	if got := failedChecks(r, true); len(got) != 0 || !r.Passed || r.Score != r.MaxScore {
		t.Errorf("reference failed %v:\n%s", got, explain(r))
	}
	t.Logf("reference graded in %.1fs", r.Duration.Seconds())
	for _, res := range r.Results {
		if res.Scenario == "dns-resolve" && (len(res.Transcripts) != 1 || res.Transcripts[0].Proc != "dnscheck") {
			t.Errorf("dns-resolve did not run dnscheck: %+v", res.Transcripts)
		} else if res.Scenario == "dns-resolve" {
			t.Logf("dnscheck:\n%s", res.Transcripts[0].Text)
		}
	}
}

// faultRE reads the checks a broken fixture's FAULT.md says it fails:
// "Fails check `a` (only)" or "Fails checks `a`, `b` (only)".
var (
	faultRE      = regexp.MustCompile("^Fails checks? ((?:`[a-z0-9-]+`(?:, )?)+)")
	faultCheckRE = regexp.MustCompile("`([a-z0-9-]+)`")
)

// correctFixtures are the submissions that must pass every check: the
// polished handout programs and the naive ones written as students do
// (testdata/students), in their own words, ports and team domains, and
// with the password hashing students use (PBKDF2 at 100,000 and 600,000
// rounds, scrypt, a login slowed on purpose).
var correctFixtures = []string{"handout", "students/faithful", "students/ownwords", "students/ownports", "students/ownwords-team7",
	"students/pbkdf2", "students/pbkdf2-owasp", "students/scrypt", "students/slow-login"}

// m4Variants are the correct fixtures that are students/faithful with
// other Milestone 4 programs, and only those (scenarios'
// TestCorrectVariantsDifferOnlyInTheirMilestone): TestGradeCanaries
// grades them on Milestone 4, where they differ, and faithful in full.
var m4Variants = map[string]bool{"students/pbkdf2": true, "students/pbkdf2-owasp": true, "students/scrypt": true, "students/slow-login": true}

// loadCorrect loads correctFixtures, in order.
func loadCorrect(t *testing.T) []scenarios.Submission {
	t.Helper()
	dir := fixtures(t)
	var subs []scenarios.Submission
	for _, c := range correctFixtures {
		sub, err := scenarios.LoadSubmission(filepath.Join(dir, c))
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	return subs
}

// envParallel is LAB3_PARALLEL (how many submissions are graded at once),
// or def when it is not set.
func envParallel(t *testing.T, def int) int {
	t.Helper()
	s := os.Getenv("LAB3_PARALLEL")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("LAB3_PARALLEL=%q: want a whole number of at least 1", s)
	}
	return n
}

// correctTally is what checkCorrect counted.
type correctTally struct{ checks, failed, errored int }

// checkCorrect: every check of every report passed, the optional ones
// included; with allowError a check may end in ERROR (no verdict, no
// points taken), which is counted and logged, never in FAIL.
func checkCorrect(t *testing.T, reports []grading.Report, allowError bool) correctTally {
	t.Helper()
	var n correctTally
	for _, r := range reports {
		var bad []string
		for _, res := range r.Results {
			n.checks++
			switch {
			case res.Status == scenarios.Passed:
			case res.Status == scenarios.Error && allowError:
				n.errored++
				t.Logf("%s %s: ERROR (no verdict): %s", r.Submission, res.Scenario, strings.Join(res.Notes, "; "))
			default:
				n.failed++
				bad = append(bad, res.Scenario)
			}
		}
		if len(bad) != 0 || (!r.Passed && !allowError) {
			t.Errorf("%s failed %v:\n%s", r.Submission, bad, explain(r))
		}
	}
	return n
}

// TestGradeCorrectFixtures grades every correct fixture in full at the
// default parallelism: each passes every check, the optional ones
// included. make flake runs it again and again, NOISY=1 beside a CPU hog;
// there LAB3_PARALLEL sets --parallel, and LAB3_ALLOW_ERROR=1 lets a check
// end in ERROR (no verdict: the machine was too busy to judge, no points
// taken), which is counted, never in FAIL. Each run logs a "flake:" line.
func TestGradeCorrectFixtures(t *testing.T) {
	labcontainers.Engine(t)
	subs := loadCorrect(t)
	parallel := envParallel(t, grading.DefaultParallel())
	began := time.Now()
	n := checkCorrect(t, grade(t, subs, parallel), os.Getenv("LAB3_ALLOW_ERROR") == "1")
	took := time.Since(began)
	waitMu.Lock()
	w := waited[t.Name()]
	delete(waited, t.Name())
	waitMu.Unlock()
	t.Logf("flake: %d submissions, %d checks, %d failed, %d ERROR, %.0fs, %.0f submissions/hour, scenarios waited %.0fs for the machine (--parallel %d)",
		len(subs), n.checks, n.failed, n.errored, took.Seconds(), float64(len(subs))*3600/took.Seconds(), w.Seconds(), parallel)
}

// brokenFixture is a deliberately broken variant and the checks its
// FAULT.md says it fails, sorted; all are of one milestone.
type brokenFixture struct {
	sub       scenarios.Submission
	checks    []string
	milestone scenarios.Milestone
}

// brokenFixtures loads testdata/broken and testdata/students/broken, and
// checks that each FAULT.md names built-in scenarios of one milestone.
func brokenFixtures(t *testing.T) []brokenFixture {
	t.Helper()
	dir := fixtures(t)
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	milestone := map[string]scenarios.Milestone{}
	for _, sc := range all {
		milestone[sc.Name] = sc.Milestone
	}
	broken, _ := filepath.Glob(filepath.Join(dir, "broken", "*"))
	studentBroken, _ := filepath.Glob(filepath.Join(dir, "students", "broken", "*"))
	var out []brokenFixture
	for _, b := range append(broken, studentBroken...) {
		fault, err := os.ReadFile(filepath.Join(b, "FAULT.md"))
		if err != nil {
			t.Fatal(err)
		}
		m := faultRE.FindSubmatch(fault)
		if m == nil {
			t.Fatalf("%s/FAULT.md names no check", b)
		}
		sub, err := scenarios.LoadSubmission(b)
		if err != nil {
			t.Fatal(err)
		}
		f := brokenFixture{sub: sub}
		for _, c := range faultCheckRE.FindAllSubmatch(m[1], -1) {
			f.checks = append(f.checks, string(c[1]))
		}
		sort.Strings(f.checks)
		f.milestone = milestone[f.checks[0]]
		for _, c := range f.checks {
			if mc, known := milestone[c]; !known || mc != f.milestone {
				t.Fatalf("%s: FAULT.md names %s, which is no built-in scenario of %s", b, c, f.milestone)
			}
		}
		out = append(out, f)
	}
	if len(out) < 14 {
		t.Fatalf("found %d broken fixtures, want at least 14", len(out))
	}
	return out
}

// checkBroken says where a broken fixture failed other than its one check.
func checkBroken(t *testing.T, fixtures []brokenFixture, reports []grading.Report) {
	t.Helper()
	want := map[string][]string{}
	for _, f := range fixtures {
		want[f.sub.Name] = f.checks
	}
	for _, r := range reports {
		if got := failedChecks(r, true); fmt.Sprint(got) != fmt.Sprint(want[r.Submission]) {
			t.Errorf("%s: failed %v, want %v:\n%s", r.Submission, got, want[r.Submission], explain(r))
		}
		// FAILED, a verdict: an ERROR (no verdict) would take no points.
		for _, res := range r.Results {
			if res.Status == scenarios.Error {
				t.Errorf("%s: %s is ERROR, want a verdict:\n%s", r.Submission, res.Scenario, explain(r))
			}
		}
	}
}

// TestGradeCanaries is make test's grading smoke, in one batch at the
// default parallelism (the longest grades start first, so the batch ends
// on short ones):
//   - the reference binaries, in full;
//   - every correct fixture in full, except the Milestone 4 variants of
//     students/faithful, on Milestone 4 only (where they differ from it,
//     scenarios' TestCorrectVariantsDifferOnlyInTheirMilestone): each
//     passes every check;
//   - every broken fixture on its fault's milestone only: each fails
//     exactly the checks its FAULT.md names, as FAILED (a verdict), and
//     nothing else of that milestone. Its other milestones' files are its
//     base's, byte for byte (scenarios'
//     TestBrokenFixturesDifferOnlyInTheirMilestone).
//
// make e2e grades them all in full (TestGradeCorrectFixtures,
// TestGradeBrokenFixturesFullSuite).
func TestGradeCanaries(t *testing.T) {
	labcontainers.Engine(t)
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	onMilestone := func(m scenarios.Milestone) []scenarios.Scenario {
		s, err := scenarios.Select(all, []string{string(m)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ref, err := scenarios.Reference(referenceBins(t))
	if err != nil {
		t.Fatal(err)
	}
	subs := []scenarios.Submission{ref}
	only := map[string][]scenarios.Scenario{}
	for i, sub := range loadCorrect(t) {
		if m4Variants[correctFixtures[i]] {
			only[sub.Name] = onMilestone(scenarios.M4)
		}
		subs = append(subs, sub)
	}
	correct := len(subs)
	broken := brokenFixtures(t)
	for _, f := range broken {
		only[f.sub.Name] = onMilestone(f.milestone)
		subs = append(subs, f.sub)
	}
	seen := map[string]bool{}
	for _, sub := range subs {
		if seen[sub.Name] {
			t.Fatalf("two canaries are called %s", sub.Name)
		}
		seen[sub.Name] = true
	}
	dir := t.TempDir()
	began := time.Now()
	reports := gradeOn(t, dir, subs, envParallel(t, grading.DefaultParallel()), all, grading.WithScenariosFor(only))
	t.Logf("%d canaries graded in %.0fs", len(subs), time.Since(began).Seconds())
	t.Run("reference", func(t *testing.T) { checkReference(t, reports[0], dir) })
	t.Run("correct", func(t *testing.T) { checkCorrect(t, reports[1:correct], false) })
	t.Run("broken", func(t *testing.T) { checkBroken(t, broken, reports[correct:]) })
}

// TestGradeBrokenFixturesFullSuite grades every broken variant on every
// scenario: a submission with one fault loses only that fault's points,
// whatever milestone the other checks are in.
func TestGradeBrokenFixturesFullSuite(t *testing.T) {
	labcontainers.Engine(t)
	fixtures := brokenFixtures(t)
	var subs []scenarios.Submission
	for _, f := range fixtures {
		subs = append(subs, f.sub)
	}
	checkBroken(t, fixtures, grade(t, subs, grading.DefaultParallel()))
}

// cancelWriter cancels grading when the first scenario result is printed.
type cancelWriter struct {
	t      *testing.T
	once   sync.Once
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	if strings.HasPrefix(string(b), "PASS") || strings.HasPrefix(string(b), "FAIL") {
		w.once.Do(w.cancel)
	}
	return len(b), nil
}

// TestGradeCancelled is Ctrl-C in the middle of grading: Grade returns the
// cancellation, and no lab is left behind.
func TestGradeCancelled(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	sub, err := scenarios.LoadSubmission(filepath.Join(fixtures(t), "handout"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := "gc" + fmt.Sprint(os.Getpid()%100000)
	reports, err := grading.Grade(ctx, d, []scenarios.Submission{sub, sub},
		grading.WithParallel(2),
		grading.WithLogger(textLogger(&cancelWriter{t: t, cancel: cancel})),
		grading.WithLabImages(refs.DNS, refs.Host),
		grading.WithLabPrefix(prefix))
	if err == nil || !strings.Contains(err.Error(), "grading stopped") {
		t.Errorf("Grade returned %v, want the cancellation", err)
	}
	for i, r := range reports {
		if r.Passed {
			t.Errorf("interrupted report %d passed", i)
		}
		for _, name := range labNames(prefix, i+1) {
			cs, err := d.Containers(context.Background(), map[string]string{topology.LabelLab: name})
			if err != nil || len(cs) != 0 {
				t.Errorf("lab %s left %d containers behind (%v)", name, len(cs), err)
			}
		}
	}
}

// benchGrade grades n copies of sub, parallel at a time, b.N times, and
// reports seconds per submission and submissions per hour.
func benchGrade(b *testing.B, sub scenarios.Submission, n, parallel int) {
	d, refs := labcontainers.Engine(b)
	benchGradeOn(b, d, sub, n, parallel, grading.WithLabImages(refs.DNS, refs.Host))
}

// benchGradeOn is benchGrade on engine d, with more options.
func benchGradeOn(b *testing.B, d *docker.Docker, sub scenarios.Submission, n, parallel int, opts ...grading.Option) {
	subs := make([]scenarios.Submission, n)
	for i := range subs {
		subs[i] = sub
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		reports, err := grading.Grade(context.Background(), d, subs, append([]grading.Option{grading.WithParallel(parallel)}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range reports {
			if !r.Passed {
				b.Fatalf("%s did not pass: %v (incomplete %v, %s; engine %s)", r.Submission, failedChecks(r, false), r.Incomplete, r.Error, r.Engine)
			}
		}
	}
	el := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(el/float64(n), "s/submission")
	b.ReportMetric(float64(n)*3600/el, "submissions/hour")
}

// BenchmarkGradeReference is the whole suite against our Go binaries.
func BenchmarkGradeReference(b *testing.B) {
	sub, err := scenarios.Reference(referenceBins(b))
	if err != nil {
		b.Fatal(err)
	}
	benchGrade(b, sub, 1, 1)
}

// BenchmarkGradeHandout is one handout-style Python submission.
func BenchmarkGradeHandout(b *testing.B) {
	sub, err := scenarios.LoadSubmission(filepath.Join("..", "testdata", "handout"))
	if err != nil {
		b.Fatal(err)
	}
	benchGrade(b, sub, 1, 1)
}

// BenchmarkGradeStudent is one naive student submission: a plain
// completion of the starter code, without the pacing of testdata/handout.
func BenchmarkGradeStudent(b *testing.B) {
	sub, err := scenarios.LoadSubmission(filepath.Join("..", "testdata", "students", "faithful"))
	if err != nil {
		b.Fatal(err)
	}
	benchGrade(b, sub, 1, 1)
}

// BenchmarkGradeParallel is six naive student submissions at the default
// parallelism (lab grade's default --parallel and --labs): the throughput
// a course gets from one machine.
func BenchmarkGradeParallel(b *testing.B) {
	sub, err := scenarios.LoadSubmission(filepath.Join("..", "testdata", "students", "faithful"))
	if err != nil {
		b.Fatal(err)
	}
	benchGrade(b, sub, 6, grading.DefaultParallel())
}

// BenchmarkGradeEngines grades four naive student submissions with two
// slots: both on one engine, and one on each of two (the machine's and a
// private dockerd, which on this one machine share its CPUs). It measures
// what sharding over engines costs, not what a second machine gains: each
// engine's slots are its own, so that gain is linear in the machines.
// (Two slots on each engine here would be eight labs, forty hosts, on two
// cores: measured, a lab's set-up then ran past its 3-minute deadline.)
func BenchmarkGradeEngines(b *testing.B) {
	sub, err := scenarios.LoadSubmission(filepath.Join("..", "testdata", "students", "faithful"))
	if err != nil {
		b.Fatal(err)
	}
	d, refs := labcontainers.Engine(b)
	second := dockerdtest.Start(b)
	if err := images.Replicate(context.Background(), d, second.Engine, refs); err != nil {
		b.Fatal(err)
	}
	d2, err := docker.ConnectEngine(context.Background(), second.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer d2.Close()
	for _, tc := range []struct {
		engines, parallel int
	}{{1, 2}, {2, 1}} {
		b.Run(fmt.Sprintf("engines=%d/parallel=%d", tc.engines, tc.parallel), func(b *testing.B) {
			var more []grading.Option
			if tc.engines == 2 {
				more = append(more, grading.WithEngines(d2))
			}
			benchGradeOn(b, d, sub, 4, tc.parallel, append(more, grading.WithLabImages(refs.DNS, refs.Host))...)
		})
	}
}
