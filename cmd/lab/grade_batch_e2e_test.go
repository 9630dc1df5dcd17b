package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGradeBatchOnATerminal grades two student submissions at once from a
// terminal (a pty from Go): the live block shows [k/N] and each running
// submission, and the run ends with the class table, while the full
// reports and the detailed progress go to the results folder.
func TestGradeBatchOnATerminal(t *testing.T) {
	needDocker(t)
	labBin := buildLab(t)
	results := t.TempDir()
	subs := []string{"../../testdata/students/faithful", "../../testdata/students/ownports"}
	p := startPTY(t, 30, 120, labBin, append([]string{"grade", "--only", "^dns-resolve$", "--parallel", "2", "--labs", "1",
		"--results", results}, subs...)...)
	code := p.waitFor(t, 5*60)
	out := p.output()
	t.Logf("lab grade on a terminal:\n%q", out)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{"[0/2] graded, 2 running", "\x1b[J", "SUBMISSION  POINTS  RESULT  FAILED CHECKS",
		"faithful    1/1     passed  -", "ownports    1/1     passed  -", "2 passed, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "Submission faithful") {
		t.Error("the full report reached the terminal; want only the class table")
	}
	for _, f := range []string{"faithful/report.txt", "ownports/report.json", "summary.csv", gradeLog} {
		if _, err := os.Stat(filepath.Join(results, f)); err != nil {
			t.Errorf("results folder: %v", err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(results, gradeLog))
	if !strings.Contains(string(log), "PASS  faithful dns-resolve") {
		t.Errorf("%s lacks the per-check lines:\n%s", gradeLog, log)
	}
}
