package grading_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/dockerdtest"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
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

// referenceBins builds static Linux chat-server and chat-client for the
// lab's containers.
func referenceBins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "../cmd/chat-server", "../cmd/chat-client")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build reference binaries: %v\n%s", err, out)
	}
	return dir
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

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

// gradeIn grades into the results folder dir.
func gradeIn(t *testing.T, dir string, subs []scenarios.Submission, parallel int) ([]grading.Report, string) {
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
	prefix := "gt" + fmt.Sprint(os.Getpid()%100000)
	// LAB3_SCENARIOS=name,M2,... narrows the run while debugging.
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
	reports, err := grading.Grade(ctx, d, subs,
		grading.WithScenarios(selected),
		grading.WithParallel(parallel),
		grading.WithLogger(textLogger(logWriter{t})),
		grading.WithResultsDir(dir),
		grading.WithLabImages(refs.DNS, refs.Host),
		grading.WithDNSCheck(grading.DNSCheckBinary("")),
		grading.WithLabPrefix(prefix))
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
	return reports, dir
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

func TestGradeReference(t *testing.T) {
	labcontainers.Engine(t)
	sub, err := scenarios.Reference(referenceBins(t))
	if err != nil {
		t.Fatal(err)
	}
	reports, dir := gradeIn(t, t.TempDir(), []scenarios.Submission{sub}, 1)
	r := reports[0]
	for file, want := range map[string]string{
		"reference/m1-broadcast/client1.log": "<<< hello from alice",
		"reference/m1-broadcast/client2.log": "alice (IP: ",
		"reference/report.txt":               "TOTAL",
		"summary.csv":                        "reference,",
	} {
		if os.Getenv("LAB3_SCENARIOS") != "" {
			break
		}
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

var faultRE = regexp.MustCompile("Fails check `([a-z0-9-]+)`")

// correctFixtures are the submissions that must pass every check: the
// polished handout programs and the naive ones written as students do
// (testdata/students), in their own words, ports and team domains.
var correctFixtures = []string{"handout", "students/faithful", "students/ownwords", "students/ownports", "students/ownwords-team7"}

// TestGradeCorrectFixtures grades every correct fixture at the default
// parallelism: each passes every check, the optional ones included. make
// flake runs it ten times.
func TestGradeCorrectFixtures(t *testing.T) {
	labcontainers.Engine(t)
	dir := fixtures(t)
	var subs []scenarios.Submission
	for _, c := range correctFixtures {
		sub, err := scenarios.LoadSubmission(filepath.Join(dir, c))
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	for _, r := range grade(t, subs, grading.DefaultParallel()) {
		if got := failedChecks(r, true); len(got) != 0 || !r.Passed {
			t.Errorf("%s failed %v:\n%s", r.Submission, got, explain(r))
		}
	}
}

// TestGradeBrokenFixtures grades every deliberately broken variant: each
// fails exactly the check its FAULT.md names, and nothing else, so a
// submission with one fault loses only that fault's points.
func TestGradeBrokenFixtures(t *testing.T) {
	labcontainers.Engine(t)
	dir := fixtures(t)
	var subs []scenarios.Submission
	want := map[string][]string{}
	broken, _ := filepath.Glob(filepath.Join(dir, "broken", "*"))
	studentBroken, _ := filepath.Glob(filepath.Join(dir, "students", "broken", "*"))
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
		subs = append(subs, sub)
		want[sub.Name] = []string{string(m[1])}
	}
	if len(subs) < 14 {
		t.Fatalf("found %d broken fixtures, want at least 14", len(subs))
	}
	for _, r := range grade(t, subs, grading.DefaultParallel()) {
		got := failedChecks(r, true)
		if fmt.Sprint(got) != fmt.Sprint(want[r.Submission]) {
			t.Errorf("%s: failed %v, want %v:\n%s", r.Submission, got, want[r.Submission], explain(r))
		}
	}
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
	bins := b.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", bins+"/", "../cmd/chat-server", "../cmd/chat-client")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	sub, err := scenarios.Reference(bins)
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
