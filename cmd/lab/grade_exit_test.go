package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading"
)

func TestGradeExit(t *testing.T) {
	passed := grading.Report{Submission: "a", Passed: true}
	failed := grading.Report{Submission: "b"}
	incomplete := grading.Report{Submission: "c", Incomplete: true}
	tests := []struct {
		name    string
		reports []grading.Report
		want    int
	}{
		{"all passed", []grading.Report{passed, passed}, 0},
		{"one failed", []grading.Report{passed, failed}, 1},
		{"could not grade", []grading.Report{passed, incomplete}, 3},
		{"could not grade wins over failed", []grading.Report{failed, incomplete}, 3},
	}
	for _, tt := range tests {
		err := gradeExit(tt.reports)
		code := 0
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if code != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, code, tt.want)
		}
	}
}

func TestLoadRoster(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "roster.csv")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := loadRoster(write("submission,team\nalpha,11\nbeta, team12\n\ngamma,team7.com\n"))
	if err != nil || len(got) != 3 || got["alpha"] != 11 || got["beta"] != 12 || got["gamma"] != 7 {
		t.Errorf("roster %v %v", got, err)
	}
	for _, bad := range []string{"alpha,11\nbeta,twelve\n", "alpha,11,x\n", "alpha,0\nbeta,1\n"} {
		if _, err := loadRoster(write(bad)); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("roster %q: %v, want a one-line error", bad, err)
		}
	}
	if _, err := loadRoster(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("missing roster accepted")
	}
}

// TestLoadSubmissionsRefusesOneFolderNotTheBatch: a link in one student's
// folder fails that student alone; a single bad folder is an error.
func TestLoadSubmissionsRefusesOneFolderNotTheBatch(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	for _, d := range []string{good, bad} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "chatroom_server.py"), []byte("print(1)\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(bad, "notes.txt")); err != nil {
		t.Fatal(err)
	}
	subs, refused, err := loadSubmissions([]string{good, bad}, "")
	if err != nil || len(subs) != 1 || subs[0].Name != "good" || len(refused) != 1 || refused[0].Submission != "bad" ||
		refused[0].Passed || refused[0].Incomplete || !strings.Contains(refused[0].Error, "symbolic link") {
		t.Errorf("batch: subs %d refused %+v err %v", len(subs), refused, err)
	}
	if code := gradeExitCode(t, append([]grading.Report{{Submission: "good", Passed: true}}, refused...)); code != 1 {
		t.Errorf("a refused submission exits %d, want 1", code)
	}
	if _, _, err := loadSubmissions([]string{bad}, ""); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("single bad folder: %v", err)
	}
}

func gradeExitCode(t *testing.T, reports []grading.Report) int {
	t.Helper()
	var ee exitError
	if err := gradeExit(reports); errors.As(err, &ee) {
		return ee.code
	}
	return 0
}

// TestGradeEnginesNoneAnswers: --engine names that reach nothing end lab
// grade with one line and exit 4, and leave no results folder; a bad
// --parallel is still a usage error.
func TestGradeEnginesNoneAnswers(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	results := filepath.Join(t.TempDir(), "results")
	sub := "../../testdata/students/faithful"
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--engine", "tcp://127.0.0.1:1"}, exitEngine, "lab: cannot reach the Docker engine at tcp://127.0.0.1:1"},
		{[]string{"--engine", "tcp://127.0.0.1:1", "--engine", "no-such-context"}, exitEngine, "lab: none of the 2 engines of --engine answers"},
		{[]string{"--engine", "tcp://127.0.0.1:1", "--parallel", "0"}, exitUsage, "lab: --parallel 0: must be at least 1"},
	} {
		code, _, stderr := runLab(t, append(append([]string{"grade", "--results", results}, tt.args...), sub)...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, stderr)
		}
		last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
		if !strings.HasPrefix(last, tt.want) {
			t.Errorf("%v: stderr %q, want its last line to start with %q", tt.args, stderr, tt.want)
		}
		if _, err := os.Stat(results); err == nil {
			t.Errorf("%v: made %s", tt.args, results)
		}
	}
}
