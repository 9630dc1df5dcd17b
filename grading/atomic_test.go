package grading

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// holdOld makes a second name for each existing file, as a reader holding
// it open would: a file written in place shows the new bytes through the
// second name too, one renamed into place does not.
func holdOld(t *testing.T, paths ...string) map[string]string {
	t.Helper()
	held := map[string]string{}
	for i, p := range paths {
		link := filepath.Join(t.TempDir(), "held", strings.Repeat("x", i+1))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(p, link); err != nil {
			t.Skipf("no hard links here: %v", err)
		}
		held[p] = link
	}
	return held
}

// leftovers lists the temporary files left under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	held := holdOld(t, path)
	if err := WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
	if b, _ := os.ReadFile(held[path]); string(b) != "old" {
		t.Errorf("the old file was rewritten in place (a reader saw %q), not replaced", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode().Perm(), err)
	}

	// A write that fails half-way leaves the file as it was.
	boom := errors.New("disk full")
	err := WriteFile(path, 0o644, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half of a")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the writer's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("after a failed write the file holds %q, want new", b)
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestReportsAreWrittenAtomically: every file Grade writes into the
// results folder (the transcripts, report.txt, report.json, summary.csv
// and summary.json) replaces the old one whole, never rewrites it in
// place, and leaves no temporary file.
func TestReportsAreWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	old := sampleReport()
	if err := WriteTranscripts(dir, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummaries(dir, []Report{old}); err != nil {
		t.Fatal(err)
	}
	files := []string{
		filepath.Join(dir, "team07", "report.txt"),
		filepath.Join(dir, "team07", "report.json"),
		filepath.Join(dir, "summary.csv"),
		filepath.Join(dir, "summary.json"),
	}
	before := map[string]string{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = string(b)
	}
	held := holdOld(t, files...)

	regraded := scenarios.Result{Scenario: "dns-resolve", Milestone: scenarios.DNS, Required: true, Points: 1, MaxPoints: 1, Status: scenarios.Passed,
		Transcripts: []scenarios.Transcript{{Proc: "dnscheck", Host: "dnscheck", Text: "PASS\n"}}}
	regrade := NewReport("team07", []scenarios.Result{regraded}, nil, 0)
	if err := WriteTranscripts(dir, regrade); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummaries(dir, []Report{regrade}); err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		now, _ := os.ReadFile(p)
		then, _ := os.ReadFile(held[p])
		if string(now) == before[p] {
			t.Errorf("%s: not rewritten", p)
		}
		if string(then) != before[p] {
			t.Errorf("%s was rewritten in place: a reader holding it saw the new report", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "team07", "dns-resolve", "dnscheck.log")); err != nil || string(b) != "PASS\n" {
		t.Errorf("transcript: %q, %v", b, err)
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestReviewSheetIsWrittenAtomically: the TA's review sheet of Delivery
// Q2, which the file checks write into the results folder, is replaced
// whole on a regrade too (grading hands them WriteFile): the file held
// from the first grade is another file than the new one.
func TestReviewSheetIsWrittenAtomically(t *testing.T) {
	results := t.TempDir()
	data := sampleCaptures(t)
	data["report.pdf"] = scenarios.File{Data: []byte("%PDF-1.4\n1 0 obj << /Type /Pages /Count 1 >> endobj\n%%EOF\n")}
	sub := scenarios.Submission{Name: "team30", Team: 30, Files: map[string]scenarios.File{}, Data: data}
	checks := scenarios.SelectFileChecks(scenarios.FileChecks(), func(name string) bool { return name == "q2-report-review" })
	grade := func() {
		t.Helper()
		if _, err := Grade(t.Context(), nil, []scenarios.Submission{sub}, WithScenarios([]scenarios.Scenario{}),
			WithFileChecks(checks), WithResultsDir(results), WithParallel(1)); err != nil {
			t.Fatal(err)
		}
	}
	grade()
	var files []string
	for _, name := range []string{scenarios.ReviewSheet, "q2-report.pdf"} {
		files = append(files, filepath.Join(results, "team30", name))
	}
	held := holdOld(t, files...)
	grade()
	for _, p := range files {
		now, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		then, err := os.Stat(held[p])
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(now, then) {
			t.Errorf("%s was rewritten in place on the regrade, not replaced", filepath.Base(p))
		}
	}
	if left := leftovers(t, results); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}
