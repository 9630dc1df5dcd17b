package gradescope

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
)

// TestGradescopeDir is the staff workflow of README.md end to end: grade an
// export of three submissions with lab grade --gradescope-dir (one correct,
// one that fails a hidden check, one refused), pack the results with
// make-autograder.sh, and publish each with run_autograder as Gradescope
// would. Two scenarios and no file checks keep it short; one scenario is
// made hidden in a copy of the scenario files, as staff would.
func TestGradescopeDir(t *testing.T) {
	labcontainers.Engine(t) // skips without an engine unless CI is set; builds the images once

	repo := filepath.Join("..", "..")
	tmp := t.TempDir()
	bin := tier.Bins(t, "lab", "chat-server", "chat-client", "dnscheck")
	scen := filepath.Join(tmp, "scenarios")
	if err := os.MkdirAll(scen, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(repo, "scenarios", "dns-resolve.yaml"), filepath.Join(scen, "dns-resolve.yaml"))
	leave, err := os.ReadFile(filepath.Join(repo, "scenarios", "m2-leave-notice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	leave = []byte(strings.Replace(string(leave), "\nsteps:", "\nvisibility: hidden\nsteps:", 1))
	if err := os.WriteFile(filepath.Join(scen, "m2-leave-notice.yaml"), leave, 0o644); err != nil {
		t.Fatal(err)
	}

	export := filepath.Join(tmp, "export")
	copyDir(t, filepath.Join(repo, "testdata", "students", "faithful"), filepath.Join(export, "submission_101"))
	copyDir(t, filepath.Join(repo, "testdata", "students", "broken", "no-offline-notice"), filepath.Join(export, "submission_102"))
	copyDir(t, filepath.Join(repo, "testdata", "students", "faithful"), filepath.Join(export, "submission_103"))
	if err := os.Symlink("/etc/passwd", filepath.Join(export, "submission_103", "notes.txt")); err != nil {
		t.Fatal(err)
	}

	gs := filepath.Join(tmp, "gradescope")
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin, "lab"), "grade",
		"--scenarios", scen, "--only", "^(dns-resolve|m2-leave-notice)$", "--gradescope-dir", gs, "--results", filepath.Join(tmp, "results"),
		"--lab-prefix", fmt.Sprintf("gh-gs%d", os.Getpid()), "--parallel", "2", "--labs", "1",
		filepath.Join(export, "submission_101"), filepath.Join(export, "submission_102"), filepath.Join(export, "submission_103"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("lab grade: %v, want exit status 1 (a check failed, a submission refused)\n%s", err, out)
	}

	root := makeAutograder(t, gs)
	type test struct {
		Number, Name, Status, Visibility string
		Score                            int
		MaxScore                         int `json:"max_score"`
	}
	type results struct {
		Score        int
		Output       string
		OutputFormat string `json:"output_format"`
		Tests        []test
	}
	published := map[int]results{}
	for _, id := range []int{101, 102, 103} {
		raw := runAutograder(t, root, id)
		staff, err := os.ReadFile(filepath.Join(gs, fmt.Sprintf("submission_%d", id), "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != string(staff) {
			t.Errorf("submission %d: Gradescope got another results.json than lab grade wrote", id)
		}
		var r results
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		published[id] = r
	}

	want := map[int]struct {
		score int
		tests []test
	}{
		101: {2, []test{{"DNS.1", "dns-resolve", "passed", "visible", 1, 1}, {"M2.1", "m2-leave-notice", "passed", "hidden", 1, 1}}},
		102: {1, []test{{"DNS.1", "dns-resolve", "passed", "visible", 1, 1}, {"M2.1", "m2-leave-notice", "failed", "hidden", 0, 1}}},
		103: {0, nil},
	}
	for id, w := range want {
		r := published[id]
		if r.Score != w.score || r.OutputFormat != "md" || len(r.Tests) != len(w.tests) {
			t.Errorf("submission %d: score %d, output_format %q, %d tests; want %d, md, %d", id, r.Score, r.OutputFormat, len(r.Tests), w.score, len(w.tests))
			continue
		}
		for i := range w.tests {
			if r.Tests[i] != w.tests[i] {
				t.Errorf("submission %d test %d: %+v, want %+v", id, i, r.Tests[i], w.tests[i])
			}
		}
		if strings.Contains(r.Output, "m2-leave-notice") {
			t.Errorf("submission %d: the top-level output names the hidden check:\n%s", id, r.Output)
		}
	}
	if o := published[102].Output; !strings.Contains(o, "1 more check (1 point) is graded but not shown.") || !strings.Contains(o, "all required checks passed") {
		t.Errorf("submission 102's output gives the hidden failure away or does not count it:\n%s", o)
	}
	if o := published[103].Output; !strings.Contains(o, "**Not graded.** submission refused:") || !strings.Contains(o, "notes.txt is a symbolic link") {
		t.Errorf("submission 103's output does not say why it was refused:\n%s", o)
	}
	t.Logf("results.json of submission_102:\n%s", runAutograder(t, root, 102))
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			copyFile(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
