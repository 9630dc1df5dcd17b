package grading

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// taClass is a results folder of two submissions whose Q2 review awaits a
// TA: anna passed her one automatic check, bob failed his.
func taClass(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	review := scenarios.Result{Scenario: "q2-report-review", Milestone: scenarios.Q2, MaxPoints: 10, Status: scenarios.NeedsTA}
	for _, r := range []Report{
		NewReport("anna", []scenarios.Result{{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Points: 2, Status: scenarios.Passed}, review}, nil, time.Second),
		NewReport("bob", []scenarios.Result{{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Status: scenarios.Failed, Failure: &scenarios.Failure{Expectation: "x", Got: "y"}}, review}, nil, time.Second),
	} {
		if err := WriteTranscripts(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeTAScores(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, TAScoresFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTAScoresCount: the TA's points from ta-scores.yaml reach the totals
// of every report LoadReports gives (the class page, grades.csv, the
// summaries), the table, JUnit and Gradescope; a regrade into the folder
// keeps them; a partial score is a grade, not a failure.
func TestTAScoresCount(t *testing.T) {
	dir := taClass(t)
	before, err := LoadReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before[0].Score != 2 || before[0].MaxScore != 2 || before[0].AwaitingTA != 10 {
		t.Fatalf("anna before: %d/%d +%d TA, want 2/2 +10 TA", before[0].Score, before[0].MaxScore, before[0].AwaitingTA)
	}
	writeTAScores(t, dir, "anna:\n  q2-report-review:\n    points: 8\n    comment: The diagram lacks the FIN.\n")
	reports, err := LoadReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	anna, bob := reports[0], reports[1]
	if anna.Score != 10 || anna.MaxScore != 12 || anna.AwaitingTA != 0 || !anna.Passed {
		t.Errorf("anna scored: %d/%d +%d TA, passed %v; want 10/12 +0 TA, passed", anna.Score, anna.MaxScore, anna.AwaitingTA, anna.Passed)
	}
	if bob.Score != 0 || bob.MaxScore != 2 || bob.AwaitingTA != 10 {
		t.Errorf("bob, not scored: %d/%d +%d TA; want 0/2 +10 TA", bob.Score, bob.MaxScore, bob.AwaitingTA)
	}

	var table, junit, gs bytes.Buffer
	if err := anna.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"q2-report-review  Q2         8/10    graded by a TA", "10/12   all required checks passed", "graded by a TA: 8/10\nThe diagram lacks the FIN."} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := WriteJUnit(&junit, reports); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `skipped="1"`) || strings.Count(junit.String(), "<skipped") != 1 || !strings.Contains(junit.String(), "graded by a TA: 8/10") {
		t.Errorf("JUnit: want anna's review a passed case with the TA's text and only bob's skipped:\n%s", junit.String())
	}
	if err := anna.WriteGradescope(&gs); err != nil {
		t.Fatal(err)
	}
	var g struct {
		Score float64 `json:"score"`
		Tests []struct {
			Name     string  `json:"name"`
			Score    float64 `json:"score"`
			MaxScore float64 `json:"max_score"`
			Output   string  `json:"output"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(gs.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	last := g.Tests[len(g.Tests)-1]
	if g.Score != 10 || last.Score != 8 || last.MaxScore != 10 || !strings.Contains(last.Name, "graded by a TA") || !strings.Contains(last.Output, "The diagram lacks the FIN.") {
		t.Errorf("Gradescope: score %v, last test %+v; want 10 and the review 8/10 with the comment", g.Score, last)
	}

	// A regrade of anna writes her report again: the scores stay.
	if _, err := WriteMerged(dir, NewReport("anna", []scenarios.Result{{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Points: 2, Status: scenarios.Passed}}, nil, time.Second)); err != nil {
		t.Fatal(err)
	}
	again, err := LoadReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Score != 10 || again[0].MaxScore != 12 {
		t.Errorf("anna after a regrade: %d/%d, want 10/12 (the TA's points kept)", again[0].Score, again[0].MaxScore)
	}
}

// TestTAScoresBadInput: CheckTAScores names, in one line, the entry of a
// ta-scores.yaml that does not fit the folder (ErrTAScores); LoadReports
// still gives every report, counting only the entries that fit (bob's
// score beside the bad one).
func TestTAScoresBadInput(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not YAML of the shape", "anna: [1, 2]\n", "ta-scores.yaml: "},
		{"an unknown field", "anna:\n  q2-report-review:\n    point: 8\n", "field point not found"},
		{"no points", "anna:\n  q2-report-review:\n    comment: good\n", "anna: q2-report-review: no points: give points: 0 to 10"},
		{"too many points", "anna:\n  q2-report-review:\n    points: 12\n", "anna: q2-report-review: 12 points, but the check is worth 0 to 10"},
		{"negative points", "anna:\n  q2-report-review:\n    points: -1\n", "worth 0 to 10"},
		{"a check that needs no TA", "anna:\n  m1-broadcast:\n    points: 2\n", "anna: m1-broadcast: the check does not need a TA (it is passed)"},
		{"no such check", "anna:\n  q9:\n    points: 2\n", "anna: q9: the submission has no such check"},
		{"no such submission", "carol:\n  q2-report-review:\n    points: 2\n", "carol: no report of that submission in the folder"},
		{"a name with an escape", "\"x\\e[2J\":\n  q2-report-review:\n    points: 2\n", "no report of that submission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := taClass(t)
			writeTAScores(t, dir, tt.text+"bob:\n  q2-report-review:\n    points: 4\n")
			reports, err := LoadReports(dir)
			if err != nil || len(reports) != 2 {
				t.Fatalf("LoadReports = %d reports, %v; want both", len(reports), err)
			}
			if tt.name != "not YAML of the shape" && tt.name != "an unknown field" && reports[1].Score != 4 {
				t.Errorf("bob's fitting score beside the bad entry: %d points, want 4", reports[1].Score)
			}
			err = CheckTAScores(dir, reports)
			if !errors.Is(err, ErrTAScores) {
				t.Fatalf("CheckTAScores = %v, want ErrTAScores", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "\x1b") {
				t.Errorf("error %q, want one line holding %q", msg, tt.want)
			}
		})
	}
}

// TestApplyTAScoresChangesNothingOnError: a bad entry leaves the reports
// given as they were.
func TestApplyTAScoresChangesNothingOnError(t *testing.T) {
	r := NewReport("anna", []scenarios.Result{{Scenario: "q2-report-review", MaxPoints: 10, Status: scenarios.NeedsTA}}, nil, 0)
	eight, twelve := 8, 12
	_, err := ApplyTAScores([]Report{r}, TAScores{"anna": {"q2-report-review": {Points: &twelve}}})
	if err == nil || r.Results[0].TA != nil || r.Results[0].Points != 0 {
		t.Fatalf("a bad score: err %v, result %+v; want an error and the result untouched", err, r.Results[0])
	}
	out, err := ApplyTAScores([]Report{r}, TAScores{"anna": {"q2-report-review": {Points: &eight}}})
	if err != nil || out[0].Score != 8 || r.Results[0].TA != nil {
		t.Fatalf("a good score: %v, %d points, original %+v; want 8 and the original untouched", err, out[0].Score, r.Results[0])
	}
}

// TestTAScoreFollowsTheFiles: a score saved from the review page holds the
// digest of the files the TA scored; once the student hands in other
// files (a regrade with a new digest), it is no longer counted, the check
// awaits a TA again and says what the TA gave the earlier files. A score
// written by hand, without files:, counts whatever the files.
func TestTAScoreFollowsTheFiles(t *testing.T) {
	dir := t.TempDir()
	review := scenarios.Result{Scenario: "q2-report-review", Milestone: scenarios.Q2, MaxPoints: 10, Status: scenarios.NeedsTA}
	graded := func(digest string) {
		t.Helper()
		for _, name := range []string{"anna", "bob"} {
			r := NewReport(name, []scenarios.Result{review}, nil, time.Second)
			r.Digest = digest + "-" + name
			if _, err := WriteMerged(dir, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	graded("sha256:one")
	if _, err := SaveTAScore(dir, "anna", "q2-report-review", 7, "Clear."); err != nil {
		t.Fatal(err)
	}
	saved, err := LoadTAScores(dir)
	if err != nil || saved["anna"]["q2-report-review"].Files != "sha256:one-anna" {
		t.Fatalf("saved score %+v, %v; want the files' digest sha256:one-anna", saved["anna"]["q2-report-review"], err)
	}
	text, _ := os.ReadFile(filepath.Join(dir, TAScoresFile))
	writeTAScores(t, dir, string(text)+"bob:\n  q2-report-review:\n    points: 5\n")
	score := func(name string) Report {
		t.Helper()
		reports, err := LoadReports(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reports {
			if r.Submission == name {
				return r
			}
		}
		t.Fatalf("no report of %s", name)
		return Report{}
	}
	if a := score("anna"); a.Score != 7 || a.AwaitingTA != 0 {
		t.Errorf("anna, same files: %d points, %d awaiting a TA; want 7 and 0", a.Score, a.AwaitingTA)
	}

	graded("sha256:two") // both hand in other files
	a := score("anna")
	if a.Score != 0 || a.AwaitingTA != 10 || a.Results[0].TA != nil {
		t.Errorf("anna, other files: %d points, %d awaiting a TA, TA %+v; want 0, 10 and no TA score", a.Score, a.AwaitingTA, a.Results[0].TA)
	}
	if notes := strings.Join(a.Results[0].Notes, "\n"); !strings.Contains(notes, "A TA gave 7 of 10 points to an earlier version of this submission (Clear); its files changed since") {
		t.Errorf("anna's review notes %q, want the earlier score named", notes)
	}
	if b := score("bob"); b.Score != 5 {
		t.Errorf("bob, scored by hand without files: %d points, want 5 whatever his files", b.Score)
	}
	if err := CheckTAScores(dir, []Report{score("anna"), score("bob")}); err != nil {
		t.Errorf("an entry for earlier files is no error: %v", err)
	}
}
