package classreport_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestLoadReadsWhatGradingWrote: the reports read back from a results
// folder are those grading wrote, in the order of their folders' names,
// and render the same pages.
func TestLoadReadsWhatGradingWrote(t *testing.T) {
	dir, reports := gradedClass(t)
	mustWrite(t, filepath.Join(dir, "summary.csv"), "submission\n")
	if err := os.Mkdir(filepath.Join(dir, "not-a-submission"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := grading.LoadReports(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, r := range got {
		byName[r.Submission] = i
		if i > 0 && scenarios.SafeName(got[i-1].Submission) > scenarios.SafeName(r.Submission) {
			t.Errorf("%q comes after %q: want the folders' order", r.Submission, got[i-1].Submission)
		}
	}
	if len(got) != len(reports) {
		t.Fatalf("Load read %d reports, want %d", len(got), len(reports))
	}
	for _, want := range reports {
		r := got[byName[want.Submission]]
		// Transcripts are in the folder, not in report.json.
		for i := range want.Results {
			want.Results[i].Transcripts = nil
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("%q read back differs:\n got %+v\nwant %+v", want.Submission, r, want)
		}
	}
}

// TestLoadErrors: a folder that is not there, one without reports and a
// report that cannot be read are each one error naming what to do, and
// Load returns no reports: a class page must not leave a student out.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the folder to load
		is    error
		want  string
	}{
		{"missing folder", func(t *testing.T, dir string) string { return filepath.Join(dir, "nope") }, fs.ErrNotExist, "no such file or directory"},
		{"a file, not a folder", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "f"), "x")
			return filepath.Join(dir, "f")
		}, nil, "not a folder"},
		{"empty folder", func(t *testing.T, dir string) string { return dir }, grading.ErrNoReports, "no reports in DIR: no */report.json in any of its folders"},
		{"only grading's class files", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "summary.csv"), "x")
			return dir
		}, grading.ErrNoReports, "no reports in DIR"},
		{"truncated report.json", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "anna", "report.json"), `{"submission": "anna", "results": [`)
			return dir
		}, nil, "DIR/anna/report.json: not a report: unexpected end of JSON input"},
		{"report.json that is not a report", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "anna", "report.json"), `[1, 2]`)
			return dir
		}, nil, "DIR/anna/report.json: not a report: json: cannot unmarshal array"},
		{"report naming no submission", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "anna", "report.json"), `{"score": 3}`)
			return dir
		}, nil, "DIR/anna/report.json: not a report: it names no submission"},
		{"another submission's report", func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "anna", "report.json"), `{"submission": "anna"}`)
			mustWrite(t, filepath.Join(dir, "anna.bak", "report.json"), `{"submission": "anna"}`)
			return dir
		}, nil, `DIR/anna.bak/report.json: the report of submission "anna", whose folder is anna: move it back, or remove this copy`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			reports, err := grading.LoadReports(tc.setup(t, dir))
			if err == nil || reports != nil {
				t.Fatalf("Load = %d reports, %v; want an error and none", len(reports), err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if want := strings.ReplaceAll(tc.want, "DIR", dir); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want it to say %q", err, want)
			}
			var re *grading.ReportError
			if strings.Contains(tc.want, "report.json:") && !errors.As(err, &re) {
				t.Errorf("error %v is not a *ReportError", err)
			}
		})
	}
}
