package github

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestGradeScript runs grade.sh, the one script the workflow runs, on a
// clean copy of a student's submission as GitHub would, then every graded
// step's command as GitHub Classroom's command grader runs it (with only
// PATH and HOME), so neither the script nor classroom.yml can rot.
// testdata/students/faithful passes every lab check and hands in no
// captures, answers or report, so Milestone 3 and Q2 fail and the job must
// fail.
func TestGradeScript(t *testing.T) {
	labcontainers.Engine(t) // skips without an engine unless CI is set; builds the images once

	sub := filepath.Join(t.TempDir(), "faithful")
	copyFiles(t, filepath.Join("..", "..", "testdata", "students", "faithful"), sub)
	home := t.TempDir()
	out := filepath.Join(home, ".cache", "lab3-grade") // grade.sh's default under HOME
	stepSummary := filepath.Join(t.TempDir(), "step_summary.md")
	ghOutput := filepath.Join(t.TempDir(), "output")
	if err := os.WriteFile(stepSummary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), "bash", "grade.sh", sub)
	cmd.Env = append(withoutEnv(os.Environ(), "LAB3_DIR", "LAB3_OUT", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ACTIONS"),
		"LAB3_OUT="+out, "GITHUB_STEP_SUMMARY="+stepSummary, "GITHUB_OUTPUT="+ghOutput, "GITHUB_ACTIONS=true",
		fmt.Sprintf("LAB3_LAB_PREFIX=gh-%d", os.Getpid()))
	log, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("grade.sh: %v, want exit status 1 (a required check failed)\n%s", err, log)
	}
	if !strings.Contains(string(log), "::error title=Lab 3::a required check failed") {
		t.Errorf("no error annotation in the log:\n%s", log)
	}
	if got, _ := os.ReadFile(ghOutput); string(got) != "out="+out+"\n" {
		t.Errorf("step output %q, want out=%s", got, out)
	}

	report := readReport(t, filepath.Join(out, "results", "faithful", "report.json"))
	summary, err := os.ReadFile(stepSummary)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, report, string(summary))
	checkJUnit(t, report, filepath.Join(out, "junit.xml"))

	// Every graded step of classroom.yml against the report, run the way
	// the command grader runs it.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]scenarios.Result{}
	for _, res := range report.Results {
		byName[res.Scenario] = res
	}
	classroom, required := 0, 0
	for _, res := range report.Results {
		if res.Required {
			required += res.Points
		}
	}
	for _, st := range readWorkflow(t).Jobs["run-autograding-tests"].Steps {
		m := checkCommand.FindStringSubmatch(st.With["command"])
		if m == nil {
			continue
		}
		res := byName[m[1]]
		want := res.Status == scenarios.Passed
		if m[2] != "" {
			k, _ := strconv.Atoi(m[2])
			want = res.Points >= k
		}
		run := exec.CommandContext(t.Context(), "sh", "-c", strings.Replace(st.With["command"], ".lab3/", repo+"/", 1))
		run.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
		got, err := run.CombinedOutput()
		if (err == nil) != want {
			t.Errorf("step %s: %s passed=%v, want %v (%s %d/%d)\n%s", st.ID, st.With["command"], err == nil, want, res.Status, res.Points, res.MaxPoints, got)
		}
		if err == nil {
			p, _ := strconv.Atoi(st.With["max-score"])
			classroom += p
		}
	}
	if classroom != required {
		t.Errorf("GitHub Classroom would give %d points, lab grade %d on the required checks", classroom, required)
	}
	t.Logf("faithful: %d/%d points (GitHub Classroom: %d), first failure shown in the summary", report.Score, report.MaxScore, classroom)
}

func checkSummary(t *testing.T, report grading.Report, summary string) {
	t.Helper()
	rest, ok := strings.CutPrefix(summary, "earlier step\n")
	if !ok {
		t.Errorf("the job summary was overwritten, not appended to:\n%s", summary)
	}
	if !strings.HasPrefix(rest, "### Lab 3: faithful\n") {
		t.Errorf("summary starts %.60q, want the heading", rest)
	}
	if want := fmt.Sprintf("| | **Total** | **%d/%d** | |", report.Score, report.MaxScore); !strings.Contains(rest, want) {
		t.Errorf("summary lacks %q:\n%s", want, rest)
	}
	for _, res := range report.Results {
		if !strings.Contains(rest, fmt.Sprintf(" | %s | ", res.Scenario)) {
			t.Errorf("summary has no row for %s", res.Scenario)
		}
	}
	first := ""
	for _, res := range report.Results {
		if res.Status == scenarios.Failed && res.Required {
			first = res.Scenario
			break
		}
	}
	if first == "" {
		t.Fatal("no required check failed, but grade.sh exited 1")
	}
	if !strings.Contains(rest, "#### First failure: "+first+" (") || !strings.Contains(rest, "- **Expected:**") {
		t.Errorf("summary does not show %s as the first failure with its evidence:\n%s", first, rest)
	}
}

func checkJUnit(t *testing.T, report grading.Report, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	if j.Tests != len(report.Results) || j.Failures == 0 || len(j.Suites) != 1 || j.Suites[0].Name != "faithful" {
		t.Errorf("junit.xml: %d tests, %d failures, suites %+v; want %d tests of suite faithful, some failed", j.Tests, j.Failures, j.Suites, len(report.Results))
	}
}

func readReport(t *testing.T, path string) grading.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r grading.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// copyFiles copies the regular files of a folder, as a fresh checkout has
// them.
func copyFiles(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
