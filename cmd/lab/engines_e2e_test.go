package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/dockerdtest"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// engineChecks are the scenarios the engine tests grade: DNS from the
// clients, Milestone 1's broadcast and Milestone 2's UDP P2P, one lab each.
const engineChecks = "^(dns-resolve|m1-broadcast|m2-p2p-udp)$"

// mainEngine is the URL of the machine's engine.
func mainEngine() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// copiesOf copies a fixture into n submission folders named sub1..subN.
func copiesOf(t *testing.T, fixture string, n int) []string {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("sub%d", i+1))
		if err := os.CopyFS(dir, os.DirFS(fixture)); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// gradeJSON runs lab grade --json with args and decodes its reports.
func gradeJSON(ctx context.Context, t *testing.T, args ...string) (int, []grading.Report, string) {
	t.Helper()
	code, out, stderr := runLabContext(ctx, t, append([]string{"grade", "--json"}, args...)...)
	var reports []grading.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("exit %d; the reports are not JSON: %v\n%s\nstderr:\n%s", code, err, out, stderr)
	}
	return code, reports, stderr
}

// verdicts is a report's outcome, check by check, without timings.
func verdicts(r grading.Report) map[string]string {
	out := map[string]string{}
	for _, res := range r.Results {
		out[res.Scenario] = fmt.Sprintf("%s %d/%d", res.Status, res.Points, res.MaxPoints)
	}
	return out
}

// TestGradeAcrossTwoEngines grades four copies of a naive student
// submission over two engines, the machine's and a private dockerd
// standing in for a second machine, which lab grade gives the images
// first: both engines grade, and each copy gets the same verdicts
// whichever engine graded it.
func TestGradeAcrossTwoEngines(t *testing.T) {
	needDocker(t)
	second := dockerdtest.Start(t)
	subs := copiesOf(t, "../../testdata/students/faithful", 4)
	code, reports, stderr := gradeJSON(context.Background(), t, append([]string{"--engine", mainEngine(), "--engine", second.Host,
		"--parallel", "1", "--labs", "1", "--only", engineChecks, "--lab-prefix", "engines2", "--results", t.TempDir()}, subs...)...)
	t.Logf("stderr:\n%s", stderr)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if len(reports) != 4 {
		t.Fatalf("%d reports, want 4", len(reports))
	}
	used := map[string]int{}
	for _, r := range reports {
		used[r.Engine]++
		if !r.Passed || r.Incomplete || len(r.Results) != 3 {
			t.Errorf("%s on %s: passed %v, incomplete %v, %d checks; want all 3 passed", r.Submission, r.Engine, r.Passed, r.Incomplete, len(r.Results))
		}
		if got, want := verdicts(r), verdicts(reports[0]); !maps.Equal(got, want) {
			t.Errorf("%s on %s: %v, but %s on %s: %v", r.Submission, r.Engine, got, reports[0].Submission, reports[0].Engine, want)
		}
	}
	if used[mainEngine()] == 0 || used[second.Host] == 0 {
		t.Errorf("submissions per engine: %v; want both engines used", used)
	}
	if !strings.Contains(stderr, "images: copying") {
		t.Errorf("the second engine got no images from the first:\n%s", stderr)
	}
	assertNoLabs(t, second.Engine)
}

// TestGradeEngineDiesMidRun kills the second engine while it grades: its
// submission is graded again on the first, and every report is complete.
func TestGradeEngineDiesMidRun(t *testing.T) {
	needDocker(t)
	second := dockerdtest.Start(t)
	subs := copiesOf(t, "../../testdata/students/faithful", 3)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		// Kill it once one of its labs runs, as a machine lost mid-run.
		for deadline := time.Now().Add(4 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			cs, err := second.Engine.Containers(context.Background(), nil)
			if err == nil && slices.ContainsFunc(cs, func(c runtime.ContainerInfo) bool { return c.State == "running" }) {
				time.Sleep(2 * time.Second)
				second.Kill()
				return
			}
		}
	}()
	code, reports, stderr := gradeJSON(context.Background(), t, append([]string{"--engine", mainEngine(), "--engine", second.Host,
		"--parallel", "1", "--labs", "1", "--only", engineChecks, "--lab-prefix", "enginedies", "--results", t.TempDir()}, subs...)...)
	<-killed
	t.Logf("stderr:\n%s", stderr)
	if !strings.Contains(stderr, "engine "+second.Host+" stopped answering") {
		t.Fatalf("the second engine was not seen to stop answering (exit %d)", code)
	}
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, r := range reports {
		if !r.Passed || r.Incomplete || len(r.Results) != 3 || r.Engine != mainEngine() {
			t.Errorf("%s: passed %v, incomplete %v, %d checks, engine %s; want all 3 passed on %s", r.Submission, r.Passed, r.Incomplete, len(r.Results), r.Engine, mainEngine())
		}
	}
}

// assertNoLabs fails if the engine still holds a lab's container.
func assertNoLabs(t *testing.T, eng runtime.Engine) {
	t.Helper()
	cs, err := eng.Containers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for _, c := range cs {
		if _, ok := c.Labels[topology.LabelLab]; ok {
			left++
		}
	}
	if left > 0 {
		t.Errorf("%d lab containers left on the second engine", left)
	}
}
