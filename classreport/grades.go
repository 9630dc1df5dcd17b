package classreport

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/ntnu-ttm4200/lab3/internal/safetext"
)

// The columns of grades.csv after the roster's.
const (
	colSubmission = "submission"
	colTotal      = "total" // WithScoreColumn renames it
	colMax        = "max"
	colResult     = "result"
	colComplete   = "complete"
	colNeedsTA    = "needs_ta"
	colTAPoints   = "ta_points"
)

// writeGrades writes grades.csv: one row per submission (per roster row
// with a roster) with the total, the milestones' points, the verdict,
// whether grading is complete (no check without a verdict) and whether
// points await a TA. Every cell that comes from a student or the roster
// is guarded against spreadsheet formulas (safetext.CSVCell).
func writeGrades(w io.Writer, c *class, cfg *config) error {
	cw := csv.NewWriter(w)
	var header []string
	if cfg.roster != nil {
		for _, col := range cfg.roster.Columns {
			header = append(header, safetext.CSVCell(safetext.OneLine(col)))
		}
	}
	header = append(header, colSubmission, safetext.CSVCell(safetext.OneLine(cfg.scoreColumn)), colMax)
	for _, g := range c.Groups {
		header = append(header, safetext.CSVCell(g.Milestone))
	}
	header = append(header, colResult, colComplete, colNeedsTA, colTAPoints)
	if err := cw.Write(header); err != nil {
		return err
	}
	if cfg.roster == nil {
		for _, w := range c.Rows {
			if err := cw.Write(gradeCells(c, w)); err != nil {
				return err
			}
		}
	} else {
		for _, rr := range cfg.roster.rows {
			var lead []string
			for _, v := range rr.values {
				lead = append(lead, safetext.CSVCell(safetext.OneLine(v)))
			}
			var cells []string
			for _, w := range c.Rows {
				if rr.matches(w.Report) {
					cells = gradeCells(c, w)
					break
				}
			}
			if cells == nil {
				// No report: empty scores, which a gradebook import leaves
				// as they are.
				cells = make([]string, len(header)-len(lead))
				cells[0] = safetext.CSVCell(safetext.OneLine(rr.submission))
				cells[len(cells)-4] = "not graded"
			}
			if err := cw.Write(append(lead, cells...)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// gradeCells is a submission's cells of grades.csv, from submission on.
func gradeCells(c *class, w *row) []string {
	r := w.Report
	cells := []string{safetext.CSVCell(w.Name), strconv.Itoa(r.Score), strconv.Itoa(r.MaxScore)}
	for i := range c.Groups {
		cells = append(cells, strconv.Itoa(w.Sub[i].Points))
	}
	complete := "complete"
	if r.Incomplete {
		complete = "incomplete"
	}
	needsTA := "no"
	if r.AwaitingTA > 0 {
		needsTA = "yes"
	}
	return append(cells, w.Verdict.String(), complete, needsTA, strconv.Itoa(r.AwaitingTA))
}
