package classreport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// SubmissionColumn is the roster's column that names each student's
// submission: its folder's name as lab grade was given it.
const SubmissionColumn = "submission"

// Roster maps submissions to the students who handed them in, for a
// gradebook import: grades.csv gets one row per roster row, led by the
// roster's own columns (a student id, such as Canvas's Student, ID, SIS
// User ID, SIS Login ID and Section), in the roster's order.
type Roster struct {
	// Columns are the roster's columns other than submission, in order.
	Columns []string
	rows    []rosterRow
}

type rosterRow struct {
	submission string
	values     []string // one per column
}

// ReadRoster reads a roster: CSV whose first line names the columns, one
// of them submission (any case) and at least one other (the student id
// the gradebook matches rows by). Rows with an empty submission, such as
// the "Points Possible" row of a Canvas export, are left out; a team's
// submission may be on several rows, one per student. name says where the
// roster came from, for errors.
func ReadRoster(r io.Reader, name string) (*Roster, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("roster %s: %w", name, err)
	}
	// A spreadsheet's "CSV UTF-8" starts with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.TrimLeadingSpace = true
	records, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("roster %s: %s: want CSV with a header line", name, oneLineErr(err))
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("roster %s: empty: want a header line naming a %s column and a student id column", name, SubmissionColumn)
	}
	header := records[0]
	sub := -1
	ro := &Roster{}
	var keep []int
	for i, h := range header {
		h = strings.TrimSpace(h)
		if strings.EqualFold(h, SubmissionColumn) {
			if sub >= 0 {
				return nil, fmt.Errorf("roster %s:1: two %s columns", name, SubmissionColumn)
			}
			sub = i
			continue
		}
		ro.Columns = append(ro.Columns, h)
		keep = append(keep, i)
	}
	if sub < 0 {
		return nil, fmt.Errorf("roster %s:1: no %s column: the first line names the columns, e.g. %s,SIS User ID", name, SubmissionColumn, SubmissionColumn)
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("roster %s:1: only a %s column: add the student id column the gradebook matches rows by, e.g. SIS User ID", name, SubmissionColumn)
	}
	for _, rec := range records[1:] {
		s := strings.TrimSpace(rec[sub])
		if s == "" {
			continue
		}
		row := rosterRow{submission: s}
		for _, i := range keep {
			row.values = append(row.values, strings.TrimSpace(rec[i]))
		}
		ro.rows = append(ro.rows, row)
	}
	return ro, nil
}

// LoadRoster reads the roster file path (ReadRoster).
func LoadRoster(path string) (*Roster, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRoster(f, path)
}

// matches reports whether a roster row's submission names the report: by
// its name, or by its results folder's.
func (row rosterRow) matches(r grading.Report) bool {
	return row.submission == r.Submission || row.submission == scenarios.SafeName(r.Submission)
}

// Unmatched compares the roster with a class's reports: the roster's
// submissions that have no report (grades.csv gives their students empty
// scores) and the reports no roster row names (grades.csv leaves them out).
func (ro *Roster) Unmatched(reports []grading.Report) (noReport, notInRoster []string) {
	for _, row := range ro.rows {
		if !slices.ContainsFunc(reports, row.matches) && !slices.Contains(noReport, row.submission) {
			noReport = append(noReport, row.submission)
		}
	}
	for _, r := range reports {
		if !slices.ContainsFunc(ro.rows, func(row rosterRow) bool { return row.matches(r) }) {
			notInRoster = append(notInRoster, r.Submission)
		}
	}
	return noReport, notInRoster
}

func oneLineErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.Line, pe.Err)
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
