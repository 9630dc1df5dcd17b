package main

import (
	"context"
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// gradedFolder writes a results folder as lab grade leaves it: anna
// passed, bob failed m1-broadcast.
func gradedFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	check := func(name string, st scenarios.Status) scenarios.Result {
		res := scenarios.Result{Scenario: name, Milestone: scenarios.M1, Requirement: "the server relays a line", Required: true, MaxPoints: 2, Status: st}
		if st == scenarios.Passed {
			res.Points = 2
		} else {
			res.Failure = &scenarios.Failure{File: "scenarios/" + name + ".yaml", Expectation: "bob prints /hello/", Got: "it printed nothing"}
		}
		return res
	}
	for _, r := range []grading.Report{
		grading.NewReport("anna", []scenarios.Result{check("m1-broadcast", scenarios.Passed)}, nil, time.Second),
		grading.NewReport("bob", []scenarios.Result{check("m1-broadcast", scenarios.Failed)}, nil, time.Second),
	} {
		if err := grading.WriteTranscripts(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listing is every file and folder under dir with its size, to see that
// nothing was written.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, _ := d.Info()
		out = append(out, strings.TrimPrefix(path, dir)+" "+info.Mode().String()+" "+info.ModTime().String())
		return nil
	})
	return out
}

// TestReportRebuildsTheClassReport: lab report RESULTS writes the class
// page, each submission's page and grades.csv from the report.json files,
// 0644, and says where in one line; with --roster and --score-column,
// grades.csv is the roster's students and a warning names who is missing.
func TestReportRebuildsTheClassReport(t *testing.T) {
	dir := gradedFolder(t)
	code, stdout, stderr := runLab(t, "report", dir)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if want := "the class: " + filepath.Join(dir, "index.html") + " (2 submissions, each with its page); the gradebook: " + filepath.Join(dir, "grades.csv") + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	for _, f := range []string{"index.html", "report.js", "report.css", "grades.csv", "anna/index.html", "bob/index.html"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, want a file with mode 0644", f, err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "bob", "index.html"))
	if !strings.Contains(string(page), "bob prints /hello/") {
		t.Errorf("bob's page lacks the failed expectation:\n%s", page)
	}

	roster := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(roster, []byte("SIS User ID,submission\ns101,anna\ns103,carol\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runLab(t, "report", "--roster", roster, "--score-column", "Lab 3 (123456)", dir)
	if code != exitOK {
		t.Fatalf("with --roster: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"lab: warning: the roster names 1 submission with no report; their rows in grades.csv have no scores: carol\n",
		"lab: warning: 1 graded submission in no roster row, left out of grades.csv: bob\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	f, err := os.Open(filepath.Join(dir, "grades.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0][:3], ",") != "SIS User ID,submission,Lab 3 (123456)" ||
		strings.Join(rows[1][:3], ",") != "s101,anna,2" || strings.Join(rows[2][:3], ",") != "s103,carol," {
		t.Errorf("grades.csv with the roster: %v %q", err, rows)
	}
}

// TestReportBadInputWritesNothing: a results folder that is not there,
// holds no report or holds a report.json that cannot be read, and a
// roster that cannot be used, are each one line with what to do, and
// nothing is written.
func TestReportBadInputWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) []string // the arguments after report
		code  int
		want  string // in the line, RESULTS for the folder
	}{
		{"no arguments", func(t *testing.T) []string { return nil }, exitUsage, "usage: lab report RESULTS (got no arguments)"},
		{"missing folder", func(t *testing.T) []string { return []string{filepath.Join(t.TempDir(), "results")} }, exitUsage,
			"RESULTS: no such folder; grade into it first: lab grade --results RESULTS SUBMISSION..."},
		{"a file, not a folder", func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "results")
			os.WriteFile(p, nil, 0o644)
			return []string{p}
		}, exitUsage, "RESULTS: not a folder; give the results folder lab grade wrote"},
		{"empty folder", func(t *testing.T) []string { return []string{t.TempDir()} }, exitFailed,
			"RESULTS holds no report (no RESULTS/*/report.json): grade into it first: lab grade --results RESULTS SUBMISSION..."},
		{"a broken report.json beside good ones", func(t *testing.T) []string {
			dir := gradedFolder(t)
			os.MkdirAll(filepath.Join(dir, "carol"), 0o755)
			os.WriteFile(filepath.Join(dir, "carol", "report.json"), []byte(`{"submission": "carol", "score": 1`), 0o644)
			return []string{dir}
		}, exitFailed, "RESULTS/carol/report.json: not a report: unexpected end of JSON input; nothing was written: grade that submission again, or move its folder out of RESULTS"},
		{"missing roster", func(t *testing.T) []string {
			return []string{"--roster", "/nonexistent/roster.csv", gradedFolder(t)}
		}, exitUsage, "--roster /nonexistent/roster.csv: no such file or folder"},
		{"roster without a submission column", func(t *testing.T) []string {
			roster := filepath.Join(t.TempDir(), "roster.csv")
			os.WriteFile(roster, []byte("student,id\nanna,1\n"), 0o644)
			return []string{"--roster", roster, gradedFolder(t)}
		}, exitUsage, "--roster ROSTER:1: no submission column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.setup(t)
			results := ""
			if len(args) > 0 {
				results = args[len(args)-1]
			}
			var before []string
			if results != "" {
				before = listing(t, results)
			}
			code, stdout, stderr := runLab(t, append([]string{"report"}, args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			want := tc.want
			if results != "" {
				want = strings.ReplaceAll(want, "RESULTS", results)
			}
			if i := slices.Index(args, "--roster"); i >= 0 {
				want = strings.ReplaceAll(want, "ROSTER", args[i+1])
			}
			if !strings.HasPrefix(stderr, "lab: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want one line saying %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if results != "" {
				if after := listing(t, results); !slices.Equal(before, after) {
					t.Errorf("the folder changed:\nbefore %q\nafter  %q", before, after)
				}
				for _, f := range []string{"index.html", "grades.csv", "anna/index.html"} {
					if _, err := os.Stat(filepath.Join(results, f)); err == nil {
						t.Errorf("%s was written", f)
					}
				}
			}
		})
	}
}

// TestGradeWritesTheClassReportOnFake: every lab grade run ends by
// writing the class page, the submissions' pages and grades.csv into its
// results folder, and says where.
func TestGradeWritesTheClassReportOnFake(t *testing.T) {
	engines := newFakeEngines(t, "")
	results := t.TempDir()
	code, stdout, stderr := gradeOnFake(context.Background(), t, engines, "--scenarios", fakeScenarios(t), "--only", "^fake-relay$", "--results", results,
		gradingtest.SubmissionDir(t, "good", "chat-server"), gradingtest.SubmissionDir(t, "crashed", "crash-server"))
	if code != exitGradeFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if want := "the class: " + results + "/index.html (open it in a browser) and " + results + "/grades.csv"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	for file, want := range map[string]string{
		filepath.Join(results, classreport.PageFile):            `href="crashed/index.html#fake-relay"`,
		filepath.Join(results, classreport.GradesFile):          "good,2,2,2,passed,complete,no,0\n",
		filepath.Join(results, "crashed", classreport.PageFile): "the server relays a client&#39;s line to the other clients",
		filepath.Join(results, "good", classreport.PageFile):    `href="./fake-relay/client2.log"`,
	} {
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v; want it to hold %q:\n%.2000s", file, err, want, b)
		}
	}
}

// TestReportCountsTAScores: the points a TA writes into ta-scores.yaml
// reach the class page, the student's page and grades.csv; a file that
// does not fit the folder is one line, and nothing is written.
func TestReportCountsTAScores(t *testing.T) {
	dir := t.TempDir()
	r := grading.NewReport("anna", []scenarios.Result{
		{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Points: 2, Status: scenarios.Passed},
		{Scenario: "q2-report-review", Milestone: scenarios.Q2, MaxPoints: 10, Status: scenarios.NeedsTA},
	}, nil, time.Second)
	if err := grading.WriteTranscripts(dir, r); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runLab(t, "report", dir); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(page), "ta-scores.yaml") || !strings.Contains(string(page), "q2-report-review:") {
		t.Errorf("the class page does not show how to write ta-scores.yaml")
	}

	scores := filepath.Join(dir, grading.TAScoresFile)
	if err := os.WriteFile(scores, []byte("anna:\n  q2-report-review:\n    points: 7\n    comment: <b>Good</b> flow, no diagram.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runLab(t, "report", dir); code != exitOK {
		t.Fatalf("with ta-scores.yaml: exit %d: %s", code, stderr)
	}
	f, err := os.Open(filepath.Join(dir, "grades.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 2 || rows[1][1] != "9" || rows[1][2] != "12" || rows[1][len(rows[1])-2] != "no" {
		t.Errorf("grades.csv: %v %q; want anna 9 of 12, no TA awaited", err, rows)
	}
	page, _ = os.ReadFile(filepath.Join(dir, "index.html"))
	student, _ := os.ReadFile(filepath.Join(dir, "anna", "index.html"))
	if !strings.Contains(string(page), "graded by a TA") || !strings.Contains(string(student), "Graded by a TA: 7 of 10 points. &lt;b&gt;Good&lt;/b&gt; flow") {
		t.Errorf("the pages do not show the TA's score and comment (escaped)")
	}

	if err := os.WriteFile(scores, []byte("anna:\n  q2-report-review:\n    points: 11\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	code, stdout, stderr := runLab(t, "report", dir)
	if code == exitOK || stdout != "" || !strings.Contains(stderr, "anna: q2-report-review: 11 points, but the check is worth 0 to 10") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a bad ta-scores.yaml: exit %d, stdout %q, stderr %q; want one line naming the entry", code, stdout, stderr)
	}
	if after := listing(t, dir); !slices.Equal(before, after) {
		t.Errorf("a bad ta-scores.yaml changed the folder")
	}
}
