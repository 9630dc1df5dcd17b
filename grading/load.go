package grading

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// ReportFile is each submission's report in the results folder
// (WriteTranscripts).
const ReportFile = "report.json"

// ErrNoReports is returned, wrapped, for a results folder that holds no
// submission's report.
var ErrNoReports = errors.New("no reports")

// ReportError is a report.json that cannot be used: not JSON, not a
// report, or in another submission's folder.
type ReportError struct {
	Path string
	Err  error
}

func (e *ReportError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

func (e *ReportError) Unwrap() error { return e.Err }

// LoadReports reads every submission's report from a results folder:
// dir/<submission>/report.json, in the order of the folders' names. It
// fails, and returns no reports, when dir is not a folder
// (a *fs.PathError), holds no report (ErrNoReports) or one report cannot
// be read (*ReportError): a class page must not leave a student out
// silently. The entries of the folder's TAScoresFile that fit are counted
// (ApplyFittingTAScores); CheckTAScores says why the others do not.
func LoadReports(dir string) ([]Report, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &os.PathError{Op: "read", Path: dir, Err: errors.New("not a folder")}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var reports []Report
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), ReportFile)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // not a submission's folder
		}
		if err != nil {
			return nil, &ReportError{Path: path, Err: err}
		}
		r, err := decodeReport(data)
		if err != nil {
			return nil, &ReportError{Path: path, Err: err}
		}
		if want := scenarios.SafeName(r.Submission); want != e.Name() {
			return nil, &ReportError{Path: path, Err: fmt.Errorf("the report of submission %q, whose folder is %s: move it back, or remove this copy", r.Submission, want)}
		}
		reports = append(reports, r)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("%w in %s: no %s in any of its folders", ErrNoReports, dir, filepath.Join("*", ReportFile))
	}
	// The TA's points that fit count; CheckTAScores says why the others
	// do not (a regrade must not keep the class's pages from being
	// written).
	scores, _ := LoadTAScores(dir)
	reports, _ = ApplyFittingTAScores(reports, scores)
	return reports, nil
}

// decodeReport reads one report.json: one JSON object naming its
// submission, with nothing after it.
func decodeReport(data []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("not a report: %w", err)
	}
	if r.Submission == "" {
		return r, errors.New("not a report: it names no submission")
	}
	return r, nil
}
