package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
)

func newReportCmd(a *app) *cobra.Command {
	var (
		roster      string
		scoreColumn string
		serve       bool
		listen      string
	)
	cmd := &cobra.Command{
		Use:   "report RESULTS",
		Short: "Rebuild the class page, the submissions' pages and grades.csv of a results folder",
		Long: `Rebuild what lab grade writes for the TA at the end of every run, from the
report.json files of a results folder, without grading: RESULTS/index.html
(the class: a row per submission, a column per check grouped by milestone,
the TA's queue, the checks run twice), RESULTS/<submission>/index.html (each
check with its requirement, evidence and transcripts) and RESULTS/grades.csv
(the gradebook). The pages open from the disk in any browser, with no server.
--roster FILE (CSV with a header line: a submission column and the student
id columns of your gradebook, e.g. Canvas's Student, ID, SIS User ID, SIS
Login ID and Section) makes grades.csv one row per student, ready for a
gradebook import; --score-column names its total column as the gradebook
does (e.g. "Lab 3 (123456)"). A missing or empty folder, or a report.json
that cannot be read, is one line and nothing is written.

--serve then serves the folder on this machine until Ctrl-C, at a URL with
a secret token that lab prints, read-only but for the TA's scores (the form
under a check that needs a TA saves into ta-scores.yaml); --listen ADDR (e.g. :8033)
serves it there instead, for a browser on another machine: anyone with the
URL can read the class's results, so share it as you would the files.
Transcripts and other text a submission wrote are served as plain text,
never as pages.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			var opts []classreport.Option
			var ro *classreport.Roster
			if roster != "" {
				if err := needFileOrDir("--roster", roster); err != nil {
					return err
				}
				var err error
				if ro, err = classreport.LoadRoster(roster); err != nil {
					var pe *fs.PathError
					if errors.As(err, &pe) {
						return usagef("--roster %s: %s", roster, plainOSError(err))
					}
					return usagef("--%s", err)
				}
				opts = append(opts, classreport.WithRoster(ro))
			}
			opts = append(opts, classreport.WithScoreColumn(scoreColumn))
			reports, err := grading.LoadReports(dir)
			if err == nil {
				err = grading.CheckTAScores(dir, reports)
			}
			if err != nil {
				return reportLoadError(dir, err)
			}
			if ro != nil {
				warnUnmatched(a.stderr, ro, reports)
			}
			if err := classreport.Write(dir, reports, opts...); err != nil {
				return err
			}
			if _, err = fmt.Fprintln(a.stdout, reportWritten(dir, reports)); err != nil || (!serve && listen == "") {
				return err
			}
			addr := listen
			if addr == "" {
				addr = defaultServeAddr
			}
			return serveResults(cmd.Context(), a.stdout, dir, addr, func(reports []grading.Report) error {
				return classreport.Write(dir, reports, opts...)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&roster, "roster", "", "CSV with a header line naming a submission column and the gradebook's student id columns: grades.csv gets one row per student")
	f.BoolVar(&serve, "serve", false, "then serve the folder on this machine (127.0.0.1, a port of the kernel's choice) until Ctrl-C, read-only but for the TA's scores")
	f.StringVar(&listen, "listen", "", "serve the folder on ADDR (e.g. :8033) instead, for a browser on another machine; the URL carries a secret token")
	f.StringVar(&scoreColumn, "score-column", "", `name grades.csv's total column as the gradebook names the assignment, e.g. "Lab 3 (123456)" (default "total")`)
	return cmd
}

// reportLoadError says in one line why a results folder cannot be
// reported on, and what to do.
func reportLoadError(dir string, err error) error {
	var re *grading.ReportError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s: no such folder; grade into it first: lab grade --results %s SUBMISSION...", dir, dir)
	case errors.Is(err, grading.ErrNoReports):
		return fmt.Errorf("%s holds no report (no %s): grade into it first: lab grade --results %s SUBMISSION...", dir, filepath.Join(dir, "*", grading.ReportFile), dir)
	case errors.Is(err, grading.ErrTAScores):
		return fmt.Errorf("%s: %s; nothing was written: fix it, then run lab report again", filepath.Join(dir, grading.TAScoresFile), strings.TrimPrefix(err.Error(), grading.TAScoresFile+": "))
	case errors.As(err, &re):
		return fmt.Errorf("%s: %s; nothing was written: grade that submission again, or move its folder out of %s", re.Path, oneLine(re.Err.Error()), dir)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return usagef("%s: %s; give the results folder lab grade wrote", dir, plainOSError(err))
	}
	return err
}

// warnUnmatched says which students of the roster have no graded
// submission and which submissions are in no roster row.
func warnUnmatched(w io.Writer, ro *classreport.Roster, reports []grading.Report) {
	noReport, notInRoster := ro.Unmatched(reports)
	if len(noReport) > 0 {
		fmt.Fprintf(w, "lab: warning: the roster names %s with no report; their rows in grades.csv have no scores: %s\n",
			plural(len(noReport), "submission"), safeNames(noReport))
	}
	if len(notInRoster) > 0 {
		fmt.Fprintf(w, "lab: warning: %s in no roster row, left out of grades.csv: %s\n",
			plural(len(notInRoster), "graded submission"), safeNames(notInRoster))
	}
}

// safeNames lists names on one line, each made safe for a terminal, at
// most ten of them.
func safeNames(ns []string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = safetext.OneLine(n)
	}
	return listSome(out, 10)
}

// reportWritten is the line lab report and lab grade print once the
// class report is written.
func reportWritten(dir string, reports []grading.Report) string {
	return fmt.Sprintf("the class: %s (%s, each with its page); the gradebook: %s",
		filepath.Join(dir, classreport.PageFile), plural(len(reports), "submission"), filepath.Join(dir, classreport.GradesFile))
}
