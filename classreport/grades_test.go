package classreport_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/classreport"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func diffRows(t *testing.T, got, want [][]string) {
	t.Helper()
	join := func(rows [][]string) string {
		var lines []string
		for _, r := range rows {
			lines = append(lines, strings.Join(r, "|"))
		}
		return strings.Join(lines, "\n")
	}
	if g, w := join(got), join(want); g != w {
		t.Errorf("grades.csv (-want +got):\n-%s\n+%s", strings.ReplaceAll(w, "\n", "\n-"), strings.ReplaceAll(g, "\n", "\n+"))
	}
}

// TestGradesCSV: one row per submission with its total, the points of
// each milestone, the verdict, complete or not (a check without a
// verdict) and what awaits a TA; a name that is a formula is kept as text.
func TestGradesCSV(t *testing.T) {
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	diffRows(t, readCSV(t, filepath.Join(dir, classreport.GradesFile)), [][]string{
		{"submission", "total", "max", "DNS", "M1", "M2", "M3", "Q2", "result", "complete", "needs_ta", "ta_points"},
		{hostileShown, "7", "9", "1", "0", "3", "3", "0", "failed", "complete", "yes", "10"},
		{"'" + formulaName, "9", "9", "1", "2", "3", "3", "0", "passed", "complete", "yes", "10"},
		{"anna", "9", "9", "1", "2", "3", "3", "0", "passed", "complete", "yes", "10"},
		{"bob", "3", "9", "1", "2", "0", "0", "0", "failed", "complete", "yes", "10"},
		{"chen", "7", "7", "1", "0", "3", "3", "0", "incomplete", "incomplete", "yes", "10"},
		{"dave", "3", "3", "0", "0", "0", "3", "0", "incomplete", "incomplete", "yes", "10"},
		{"eve", "0", "0", "0", "0", "0", "0", "0", "refused", "complete", "no", "0"},
	})
}

// A roster as a TA makes it from a Canvas gradebook export: its first
// five columns and a submission column. A student whose name is a formula,
// a team of two on one submission, a student with no submission graded,
// and Canvas's "Points Possible" row.
const canvasRoster = "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,submission\n" +
	"    Points Possible,,,,,\n" +
	"\"Berg, Anna\",101,s101,anna@uni.example,TTM4200,anna\n" +
	"\"Dahl, Bob\",102,s102,bob@uni.example,TTM4200,bob\n" +
	"\"Lie, Bo\",103,s103,bo@uni.example,TTM4200,bob\n" +
	"\"=cmd|' /C calc'!A0\",104,@s104,+x@uni.example,TTM4200,frank\n"

// TestGradesCSVWithRoster: with a roster, grades.csv has one row per
// student, led by the roster's columns and in its order, the total under
// the gradebook's column name; a student whose submission was not graded
// gets empty scores; reports the roster does not name are left out and
// named by Unmatched.
func TestGradesCSVWithRoster(t *testing.T) {
	dir, reports := gradedClass(t)
	roster, err := classreport.ReadRoster(strings.NewReader(canvasRoster), "roster.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := classreport.Write(dir, reports, classreport.WithRoster(roster), classreport.WithScoreColumn("Lab 3 (123456)")); err != nil {
		t.Fatal(err)
	}
	diffRows(t, readCSV(t, filepath.Join(dir, classreport.GradesFile)), [][]string{
		{"Student", "ID", "SIS User ID", "SIS Login ID", "Section", "submission", "Lab 3 (123456)", "max", "DNS", "M1", "M2", "M3", "Q2", "result", "complete", "needs_ta", "ta_points"},
		{"Berg, Anna", "101", "s101", "anna@uni.example", "TTM4200", "anna", "9", "9", "1", "2", "3", "3", "0", "passed", "complete", "yes", "10"},
		{"Dahl, Bob", "102", "s102", "bob@uni.example", "TTM4200", "bob", "3", "9", "1", "2", "0", "0", "0", "failed", "complete", "yes", "10"},
		{"Lie, Bo", "103", "s103", "bo@uni.example", "TTM4200", "bob", "3", "9", "1", "2", "0", "0", "0", "failed", "complete", "yes", "10"},
		{"'=cmd|' /C calc'!A0", "104", "'@s104", "'+x@uni.example", "TTM4200", "frank", "", "", "", "", "", "", "", "not graded", "", "", ""},
	})
	noReport, notInRoster := roster.Unmatched(reports)
	if strings.Join(noReport, ",") != "frank" {
		t.Errorf("roster submissions without a report = %q, want frank", noReport)
	}
	if got, want := strings.Join(notInRoster, "\n"), strings.Join([]string{"chen", "dave", "eve", hostileName, formulaName}, "\n"); got != want {
		t.Errorf("reports not in the roster = %q, want %q", notInRoster, want)
	}
}

func TestReadRosterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, roster, want string
	}{
		{"empty", "", "roster r.csv: empty: want a header line naming a submission column and a student id column"},
		{"no submission column", "student,id\nanna,1\n", "roster r.csv:1: no submission column: the first line names the columns, e.g. submission,SIS User ID"},
		{"only a submission column", "Submission\nanna\n", "roster r.csv:1: only a submission column: add the student id column the gradebook matches rows by, e.g. SIS User ID"},
		{"two submission columns", "submission,id,Submission\n", "roster r.csv:1: two submission columns"},
		{"a short row", "submission,id\nanna\n", "roster r.csv: line 2: wrong number of fields: want CSV with a header line"},
		{"a broken quote", "submission,id\n\"anna,1\n", "roster r.csv: line 2: extraneous or missing \" in quoted-field: want CSV with a header line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := classreport.ReadRoster(strings.NewReader(tc.roster), "r.csv")
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
