package grading

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// Report is one submission's grade: every check's result, the score, and
// whether all required checks passed.
type Report struct {
	Submission string `json:"submission"`
	Score      int    `json:"score"`
	MaxScore   int    `json:"max_score"`
	Passed     bool   `json:"passed"`
	// Incomplete is true when a check could not be run (the lab broke, or
	// Docker refused): such a check costs no points, is left out of
	// MaxScore, and the submission should be graded again.
	Incomplete bool `json:"incomplete,omitempty"`
	// AwaitingTA is the points of checks that need a TA (NeedsTA): in
	// neither Score nor MaxScore until a TA scores them (ApplyTAScores);
	// then they are in both.
	AwaitingTA int           `json:"awaiting_ta,omitempty"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	// Engine is the Docker engine that graded the submission, when it was
	// graded on one of several (lab grade --engine).
	Engine string `json:"engine,omitempty"`
	// GradedAt is when the report was last written, by lab Version.
	// Each result says when its check ran (scenarios.Result.GradedAt): a
	// regrade of some checks keeps the others' (MergeReport).
	GradedAt time.Time `json:"graded_at,omitzero"`
	Version  string    `json:"version,omitempty"`
	// Source is the submission's folder as graded, and Digest the digest
	// of its files then (SubmissionDigest): lab grade --again grades it
	// again when they have changed since.
	Source  string             `json:"source,omitempty"`
	Digest  string             `json:"digest,omitempty"`
	Results []scenarios.Result `json:"results"`
}

// refusedPrefix starts the Error of a refused submission's report.
const refusedPrefix = "submission refused: "

// errorText says why the report has no results: a refused submission, or
// a lab that could not be set up.
func (r Report) errorText() string {
	if strings.HasPrefix(r.Error, refusedPrefix) {
		return r.Error
	}
	return "lab setup failed: " + r.Error
}

// RefusedReport is the report of a submission that was refused before
// grading (a link, too many or too large files): it fails, and it is the
// submission's doing, not the grader's, so it is not incomplete.
func RefusedReport(submission string, err error) Report {
	return Report{Submission: submission, Error: refusedPrefix + err.Error()}
}

// NewReport totals results. setupErr, if not nil, is a failure to bring the
// submission's lab up; the report then fails.
func NewReport(submission string, results []scenarios.Result, setupErr error, d time.Duration) Report {
	r := Report{Submission: submission, Results: results, Passed: setupErr == nil, Duration: d}
	if setupErr != nil {
		r.Error = setupErr.Error()
		r.Incomplete = true
	}
	r.total()
	return r
}

// total adds up the results into Score, MaxScore and AwaitingTA, and
// clears Passed and sets Incomplete as they say; a report whose lab could
// not be set up keeps its Error.
func (r *Report) total() {
	r.Score, r.MaxScore, r.AwaitingTA = 0, 0, 0
	for _, res := range r.Results {
		r.Score += res.Points
		if res.Status == scenarios.NeedsTA {
			if res.TA != nil {
				// Scored by a TA: the points count, and a partial
				// score is a grade, not a failure.
				r.MaxScore += res.MaxPoints
				continue
			}
			// Neither passed nor failed: a TA decides.
			r.AwaitingTA += res.MaxPoints
			continue
		}
		if res.Status == scenarios.Error {
			// Not the student's failure: it counts neither way.
			r.Incomplete = true
			if res.Required {
				r.Passed = false
			}
			continue
		}
		r.MaxScore += res.MaxPoints
		if res.Required && res.Status != scenarios.Passed {
			r.Passed = false
		}
	}
}

// Outcome is how a finished check ended, as every report names it: the
// five cases that each output (progress lines, the table, the Markdown
// summary) gives a word of its own.
type Outcome int

const (
	OutcomePassed         Outcome = iota
	OutcomeFailed                 // a required check failed
	OutcomeOptionalFailed         // a check that carries no points failed
	OutcomeError                  // the lab failed, not the program: not graded
	OutcomeNeedsTA                // a TA decides
)

// OutcomeOf classifies a check's status; a failure of a check that is not
// required is an optional failure.
func OutcomeOf(status scenarios.Status, required bool) Outcome {
	switch {
	case status == scenarios.Passed:
		return OutcomePassed
	case status == scenarios.Error:
		return OutcomeError
	case status == scenarios.NeedsTA:
		return OutcomeNeedsTA
	case !required:
		return OutcomeOptionalFailed
	}
	return OutcomeFailed
}

// The words of each output for the outcomes.
var (
	// ProgressWords are the plain progress lines' words (ProgressLine,
	// lab grade's board): at most five letters, for a column.
	ProgressWords = [...]string{OutcomePassed: "PASS", OutcomeFailed: "FAIL", OutcomeOptionalFailed: "warn", OutcomeError: "ERROR", OutcomeNeedsTA: "TA"}
	tableWords    = [...]string{OutcomePassed: "passed", OutcomeFailed: "FAILED", OutcomeOptionalFailed: "failed (not graded)", OutcomeError: "ERROR", OutcomeNeedsTA: "NEEDS A TA"}
	markdownWords = [...]string{
		OutcomePassed:         "✅ passed",
		OutcomeFailed:         "❌ **failed**",
		OutcomeOptionalFailed: "➖ failed (optional, not graded)",
		OutcomeError:          "⚠️ not run (the lab failed, not the program; grade again)",
		OutcomeNeedsTA:        "👀 needs a TA",
	}
)

// ProgressLine is the one line printed as each scenario finishes.
func ProgressLine(submission string, res scenarios.Result) string {
	status := ProgressWords[OutcomeOf(res.Status, res.Required)]
	line := fmt.Sprintf("%-5s %s %-24s %d/%d  %.1fs", status, safetext.OneLine(submission), res.Scenario, res.Points, res.MaxPoints, res.Duration.Seconds())
	if res.Failure != nil {
		line += "  " + res.Failure.Expectation
	}
	return line
}

// WriteTable prints the final table of checks with points, then every
// failure with its evidence.
func (r Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Submission %s\n", safetext.OneLine(r.Submission))
	if r.Error != "" {
		fmt.Fprintf(w, "  %s\n", safetext.OneLine(r.errorText()))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tMILESTONE\tPOINTS\tRESULT")
	for _, res := range r.Results {
		word := tableWords[OutcomeOf(res.Status, res.Required)]
		if res.TA != nil {
			word = "graded by a TA"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", res.Scenario, res.Milestone, res.Points, res.MaxPoints, word)
	}
	verdict := map[bool]string{true: "all required checks passed", false: "required checks failed"}[r.Passed]
	if r.Incomplete {
		verdict = "incomplete: a check could not be run (no points taken for it); grade again"
	}
	if r.AwaitingTA > 0 {
		verdict += fmt.Sprintf("; %d more points await a TA", r.AwaitingTA)
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d/%d\t%s\n", r.Score, r.MaxScore, verdict)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.Failure != nil {
			fmt.Fprintln(w)
			writeFailure(w, res)
		}
		switch {
		case res.TA != nil:
			fmt.Fprintf(w, "\n%s %s\n", res.Scenario, safetext.Clean(taText(res)))
		case res.Status == scenarios.NeedsTA:
			fmt.Fprintln(w)
			fmt.Fprint(w, reviewText(res))
		}
		if len(res.Notes) > 0 && res.Failure == nil {
			fmt.Fprintln(w)
			fmt.Fprintf(w, "NOTE %s\n", res.Scenario)
			writeNotes(w, res)
		}
	}
	return nil
}

// reviewText says what a TA is to grade and where the review sheet is.
func reviewText(res scenarios.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "NEEDS A TA %s (%d points)\n", res.Scenario, res.MaxPoints)
	fmt.Fprintf(&b, "  requirement: %s\n", res.Requirement)
	if res.Review != "" {
		fmt.Fprintf(&b, "  review sheet: %s\n", safetext.OneLine(res.Review))
	}
	writeNotes(&b, res)
	return b.String()
}

func writeNotes(w io.Writer, res scenarios.Result) {
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note:        %s\n", safetext.OneLine(n))
	}
}

func writeFailure(w io.Writer, res scenarios.Result) {
	f := res.Failure
	where := f.File
	if f.Line > 0 {
		where = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	fmt.Fprintf(w, "%s %s (%s, step %s)\n", strings.ToUpper(string(res.Status)), res.Scenario, where, f.Step)
	fmt.Fprintf(w, "  requirement: %s\n", res.Requirement)
	fmt.Fprintf(w, "  expected:    %s\n", safetext.OneLine(f.Expectation))
	fmt.Fprintf(w, "  got:         %s\n", safetext.OneLine(f.Got))
	for _, ev := range f.Evidence {
		fmt.Fprintf(w, "  last lines of %s on %s:\n", safetext.OneLine(ev.Proc), safetext.OneLine(ev.Host))
		if len(ev.Lines) == 0 {
			fmt.Fprintln(w, "    | (nothing)")
		}
		for _, l := range ev.Lines {
			fmt.Fprintf(w, "    | %s\n", safetext.OneLine(l))
		}
	}
	writeNotes(w, res)
}

func failureText(res scenarios.Result) string {
	if res.Failure == nil {
		return fmt.Sprintf("%s %s\n  requirement: %s\n", strings.ToUpper(string(res.Status)), res.Scenario, res.Requirement)
	}
	var b strings.Builder
	writeFailure(&b, res)
	return b.String()
}

// WriteJSON writes the reports as indented JSON.
func WriteJSON(w io.Writer, reports []Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}

func roundSeconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr,omitempty"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr,omitempty"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitSkipped marks a case that was not decided: a check that needs a TA.
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the reports as JUnit XML, one test suite per
// submission, as GitLab and GitHub test reports read it.
func WriteJUnit(w io.Writer, reports []Report) error {
	var out junitSuites
	for _, r := range reports {
		s := junitSuite{Name: r.Submission, Time: roundSeconds(r.Duration)}
		if r.Error != "" {
			s.Errors++
			s.Cases = append(s.Cases, junitCase{Name: "lab-setup", Classname: r.Submission,
				Error: &junitProblem{Message: r.Error, Type: "setup", Text: r.Error}})
		}
		for _, res := range r.Results {
			c := junitCase{Name: res.Scenario, Classname: r.Submission + "." + string(res.Milestone), Time: roundSeconds(res.Duration)}
			switch {
			case res.Status == scenarios.NeedsTA && res.TA != nil:
				// Scored by a TA: a grade, passed, with the points.
				c.SystemOut = taText(res)
			case res.Status == scenarios.NeedsTA:
				// Neither passed nor failed: a TA decides.
				c.Skipped = &junitSkipped{Message: fmt.Sprintf("needs a TA: %d points graded by hand", res.MaxPoints)}
				c.SystemOut = reviewText(res)
				s.Skipped++
			case res.Status == scenarios.Error:
				c.Error = &junitProblem{Message: res.Failure.Expectation + ": " + res.Failure.Got, Type: "lab", Text: failureText(res)}
				s.Errors++
			case res.Status != scenarios.Passed && res.Required:
				c.Failure = &junitProblem{Message: res.Failure.Expectation + ": " + res.Failure.Got, Type: "failed", Text: failureText(res)}
				s.Failures++
			case res.Status != scenarios.Passed:
				// Optional checks are reported but never fail the build.
				c.SystemOut = "not graded:\n" + failureText(res)
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
		out.Time += s.Time
		out.Suites = append(out.Suites, s)
	}
	out.Time = float64(int64(out.Time*1000+0.5)) / 1000
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteSummaryCSV writes one row per submission: the summary of a batch.
func WriteSummaryCSV(w io.Writer, reports []Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"submission", "score", "max_score", "passed", "failed_checks", "error", "seconds"})
	for _, r := range reports {
		var failed []string
		for _, res := range r.Results {
			if res.Status != scenarios.Passed && res.Status != scenarios.NeedsTA && res.Required {
				failed = append(failed, res.Scenario)
			}
		}
		_ = cw.Write([]string{safetext.CSVCell(safetext.OneLine(r.Submission)), fmt.Sprint(r.Score), fmt.Sprint(r.MaxScore), fmt.Sprint(r.Passed),
			strings.Join(failed, " "), safetext.CSVCell(safetext.OneLine(r.Error)), fmt.Sprintf("%.1f", r.Duration.Seconds())})
	}
	cw.Flush()
	return cw.Error()
}

// WriteTranscripts saves every process's output as
// dir/<submission>/<scenario>/<host>.log (processes on the same host share
// the file, each under its "### name on host: command" header) and the
// report as dir/<submission>/report.txt and report.json. Each file is
// written atomically (WriteFile): a reader never sees half a report.
func WriteTranscripts(dir string, r Report) error {
	if err := writeTranscripts(dir, r.Submission, r.Results); err != nil {
		return err
	}
	return writeReportFiles(dir, r)
}

// writeTranscripts writes the transcripts of results, each scenario's
// folder cleared of what an earlier run left there first.
func writeTranscripts(dir, submission string, results []scenarios.Result) error {
	base := filepath.Join(dir, scenarios.SafeName(submission))
	for _, res := range results {
		sdir := filepath.Join(base, scenarios.SafeName(res.Scenario))
		if err := clearScenarioDir(sdir, res.Captures != ""); err != nil {
			return fmt.Errorf("write transcripts: %w", err)
		}
		if len(res.Transcripts) == 0 {
			continue
		}
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return fmt.Errorf("write transcripts: %w", err)
		}
		byHost := map[string]*strings.Builder{}
		var hosts []string
		for _, t := range res.Transcripts {
			b, ok := byHost[t.Host]
			if !ok {
				b = &strings.Builder{}
				byHost[t.Host] = b
				hosts = append(hosts, t.Host)
			}
			b.WriteString(t.Text)
			if !strings.HasSuffix(t.Text, "\n") {
				b.WriteString("\n")
			}
		}
		for _, h := range hosts {
			// A TA may cat it: no control sequence of the program's.
			if err := writeBytes(filepath.Join(sdir, scenarios.SafeName(h)+".log"), []byte(safetext.Clean(byHost[h].String()))); err != nil {
				return fmt.Errorf("write transcripts: %w", err)
			}
		}
	}
	return nil
}

// writeReportFiles writes r as report.txt and report.json.
func writeReportFiles(dir string, r Report) error {
	base := filepath.Join(dir, scenarios.SafeName(r.Submission))
	var table strings.Builder
	_ = r.WriteTable(&table)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := writeBytes(filepath.Join(base, "report.txt"), []byte(table.String())); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	err := WriteFile(filepath.Join(base, ReportFile), 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	})
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteMerged writes r, a run's report, into the results folder dir over
// the report an earlier run left there (MergeReport): the transcripts of
// the checks r graded replace theirs, the others' stay. It returns the
// report it wrote.
func WriteMerged(dir string, r Report) (Report, error) {
	merged := r
	data, err := os.ReadFile(filepath.Join(dir, scenarios.SafeName(r.Submission), ReportFile))
	switch {
	case err == nil:
		// A report that cannot be read is replaced: it held nothing to keep.
		if old, derr := decodeReport(data); derr == nil {
			merged = MergeReport(old, r)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return r, fmt.Errorf("write report: %w", err)
	}
	if err := writeTranscripts(dir, r.Submission, r.Results); err != nil {
		return r, err
	}
	return merged, writeReportFiles(dir, merged)
}

// MergeReport is cur, a run's report of a submission, laid over old, the
// report of an earlier run: each check cur graded replaces old's, old's
// other checks stay as they were (each says when it ran), and the totals
// are those of the merged checks. A refused submission, or another
// submission's report, is not merged: cur stands alone.
func MergeReport(old, cur Report) Report {
	if old.Submission != cur.Submission || strings.HasPrefix(cur.Error, refusedPrefix) || len(old.Results) == 0 {
		return cur
	}
	graded := map[string]scenarios.Result{}
	for _, res := range cur.Results {
		graded[res.Scenario] = res
	}
	var results []scenarios.Result
	for _, res := range old.Results {
		if now, ok := graded[res.Scenario]; ok {
			res = now
			delete(graded, res.Scenario)
		}
		results = append(results, res)
	}
	for _, res := range cur.Results {
		if _, ok := graded[res.Scenario]; ok {
			results = append(results, res)
		}
	}
	var setupErr error
	if cur.Error != "" {
		setupErr = errors.New(cur.Error)
	}
	m := NewReport(cur.Submission, results, setupErr, cur.Duration)
	m.Engine, m.GradedAt, m.Version, m.Source, m.Digest = cur.Engine, cur.GradedAt, cur.Version, cur.Source, cur.Digest
	return m
}

// WriteSummaries writes summary.csv and summary.json for a batch of
// reports into dir, each atomically (WriteFile).
func WriteSummaries(dir string, reports []Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer, []Report) error
	}{{"summary.csv", WriteSummaryCSV}, {"summary.json", WriteJSON}} {
		err := WriteFile(filepath.Join(dir, f.name), 0o644, func(w io.Writer) error { return f.write(w, reports) })
		if err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	return nil
}

// clearScenarioDir removes what an earlier run left in a scenario's
// folder; with keepCaptures the captures this run saved there stay.
func clearScenarioDir(dir string, keepCaptures bool) error {
	if !keepCaptures {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Name() == CaptureDir {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
