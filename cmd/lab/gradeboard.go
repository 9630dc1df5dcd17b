package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// gradeBoard shows a batch's grading as it goes, from the grader's events.
// On a terminal it keeps one live status line per running submission under
// a header with [k/N] graded and an ETA, redrawn in place; elsewhere (a
// log, a pipe) it prints plain lines: one per finished check and one per
// finished submission with [k/N] and the ETA. Either way it prints nothing
// else, so lines of submissions graded at once never interleave.
type gradeBoard struct {
	w      io.Writer
	live   bool
	width  func() int // the terminal's columns
	height func() int // and rows
	now    func() time.Time

	mu        sync.Mutex
	total     int // submissions in the batch
	nameWidth int
	began     time.Time
	graded    int // submissions done
	running   []*subProgress
	finished  []finishedSub // in the order they finished
	// Checks, for the ETA: done so far, and announced by the submissions
	// that have started.
	checksDone, checksStarted int
	drawn                     int // lines the live block holds on screen
	stopTick                  chan struct{}
	ticking                   sync.WaitGroup
}

// subProgress is one running submission.
type subProgress struct {
	name         string
	checks, done int
	failed       int
	current      []string // checks under way
	began        time.Time
}

// finishedSub is a graded submission, as the live block keeps showing it.
type finishedSub struct {
	name          string
	checks, fails int
	took          time.Duration
	result        string // its points and verdict
}

// newGradeBoard makes the board for a batch of submissions with these
// names. It is live when w is a terminal.
func newGradeBoard(w io.Writer, names []string, now func() time.Time) *gradeBoard {
	b := &gradeBoard{w: w, now: now, total: len(names), began: now(), width: func() int { return 80 }, height: func() int { return 24 }}
	for _, n := range names {
		b.nameWidth = max(b.nameWidth, utf8.RuneCountInString(n))
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.live = true
		b.width = func() int {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
				return cols
			}
			return 80
		}
		b.height = func() int {
			if _, rows, err := term.GetSize(int(f.Fd())); err == nil && rows > 0 {
				return rows
			}
			return 24
		}
	}
	return b
}

// start begins redrawing the live block every second, so that times and
// the ETA move while a long check runs.
func (b *gradeBoard) start() {
	if !b.live {
		return
	}
	b.stopTick = make(chan struct{})
	b.ticking.Add(1)
	go func() {
		defer b.ticking.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-b.stopTick:
				return
			case <-t.C:
				b.mu.Lock()
				b.redraw()
				b.mu.Unlock()
			}
		}
	}()
}

// stop ends the live block and clears it from the screen, so that what is
// printed next (the class table) takes its place.
func (b *gradeBoard) stop() {
	if b.stopTick != nil {
		close(b.stopTick)
		b.ticking.Wait()
		b.stopTick = nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.live && b.drawn > 0 {
		fmt.Fprintf(b.w, "\x1b[%dA\r\x1b[J", b.drawn)
		b.drawn = 0
	}
}

// event takes one grading event (grading.WithEvents).
func (b *gradeBoard) event(e grading.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := e.(type) {
	case grading.SubmissionStarted:
		b.running = append(b.running, &subProgress{name: e.Submission, checks: e.Scenarios, began: b.now()})
		b.checksStarted += e.Scenarios
		if !b.live {
			fmt.Fprintf(b.w, "%s %-*s  grading %d checks\n", b.count(), b.nameWidth, oneLine(e.Submission), e.Scenarios)
		}
	case grading.ScenarioStarted:
		if s := b.find(e.Submission); s != nil {
			s.current = append(s.current, e.Scenario)
		}
	case grading.ScenarioDone:
		b.checksDone++
		if s := b.find(e.Submission); s != nil {
			s.done++
			if i := slices.Index(s.current, e.Scenario); i >= 0 {
				s.current = slices.Delete(s.current, i, i+1)
			}
			if e.Required && e.Status != scenarios.Passed && e.Status != scenarios.NeedsTA {
				s.failed++
			}
		}
		if !b.live {
			fmt.Fprintf(b.w, "%-5s %-*s  %-24s %d/%d  %s\n", grading.ProgressWords[grading.OutcomeOf(e.Status, e.Required)], b.nameWidth, oneLine(e.Submission), e.Scenario, e.Points, e.Max, seconds(e.Took))
		}
	case grading.SubmissionRetried:
		if i := slices.IndexFunc(b.running, func(s *subProgress) bool { return s.name == e.Submission }); i >= 0 {
			s := b.running[i]
			b.checksStarted -= s.checks
			b.checksDone -= s.done
			b.running = slices.Delete(b.running, i, i+1)
		}
		if !b.live {
			fmt.Fprintf(b.w, "%s %-*s  engine %s stopped answering: grading again on another\n", b.count(), b.nameWidth, oneLine(e.Submission), e.Engine)
		}
	case grading.SubmissionDone:
		b.graded++
		r := e.Report
		var took time.Duration
		if i := slices.IndexFunc(b.running, func(s *subProgress) bool { return s.name == r.Submission }); i >= 0 {
			s := b.running[i]
			// A lab that could not be set up ends a submission early:
			// its remaining checks will not run.
			b.checksDone += s.checks - s.done
			took = b.now().Sub(s.began)
			b.running = slices.Delete(b.running, i, i+1)
			b.finished = append(b.finished, finishedSub{name: s.name, checks: s.checks, fails: s.failed, took: took,
				result: fmt.Sprintf("%s, %s", points(r), verdict(r))})
		}
		if !b.live {
			fmt.Fprintf(b.w, "%s %-*s  %s in %s%s\n", b.count(), b.nameWidth, oneLine(r.Submission), verdictLine(r), clock(took), b.eta("; "))
		}
	}
	b.redraw()
}

func (b *gradeBoard) find(name string) *subProgress {
	for _, s := range b.running {
		if s.name == name {
			return s
		}
	}
	return nil
}

// count is "[k/N]": submissions graded of the batch.
func (b *gradeBoard) count() string {
	w := len(fmt.Sprint(b.total))
	return fmt.Sprintf("[%*d/%d]", w, b.graded, b.total)
}

// eta estimates the time left from the checks done so far: the batch's
// checks still to run at the rate they have run. Submissions not started
// yet count as many checks as those started, on average.
func (b *gradeBoard) eta(prefix string) string {
	if b.checksDone == 0 || b.graded == b.total {
		return ""
	}
	started := b.graded + len(b.running)
	perSub := float64(b.checksStarted) / float64(max(started, 1))
	all := float64(b.checksStarted) + perSub*float64(b.total-started)
	left := all - float64(b.checksDone)
	if left <= 0 {
		return ""
	}
	elapsed := b.now().Sub(b.began)
	d := time.Duration(float64(elapsed) * left / float64(b.checksDone))
	return prefix + "ETA " + clock(d.Round(time.Second))
}

// liveNameWidth is the most columns a submission's name takes in the live
// block, so that what it runs still fits the window.
const liveNameWidth = 24

// redraw puts the live block on the terminal in place of the last one: a
// line for the batch, the columns' names, a row per running submission
// (its failures so far apart from what runs now), then the submissions
// already graded with their points, the latest last, as many as the
// window has room for.
func (b *gradeBoard) redraw() {
	if !b.live {
		return
	}
	cols := b.width()
	head := fmt.Sprintf("%s graded, %d running, %d waiting, %s%s", b.count(), len(b.running),
		b.total-b.graded-len(b.running), clock(b.now().Sub(b.began).Round(time.Second)), b.eta(", "))
	nw := max(min(b.nameWidth, liveNameWidth), len("SUBMISSION"))
	cw := len("CHECKS")
	for _, s := range b.running {
		cw = max(cw, len(fmt.Sprintf("%d/%d", s.done, s.checks)))
	}
	for _, s := range b.finished {
		cw = max(cw, len(fmt.Sprintf("%d/%d", s.checks, s.checks)))
	}
	row := func(name, checks, took, failed, what string) string {
		return fmt.Sprintf("  %-*s  %-*s  %5s  %-6s  %s", nw, fit(oneLine(name), nw), cw, checks, took, failed, what)
	}
	failed := func(n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	lines := []string{head, strings.TrimRight(row("SUBMISSION", "CHECKS", "TIME", "FAILED", "NOW"), " ")}
	for _, s := range b.running {
		var now string
		switch {
		case len(s.current) > 0:
			now = "running " + strings.Join(s.current, ", ")
		case s.done == 0:
			now = "setting up its lab"
		case s.done >= s.checks:
			now = "tearing down its lab"
		}
		lines = append(lines, row(s.name, fmt.Sprintf("%d/%d", s.done, s.checks), clock(b.now().Sub(s.began).Round(time.Second)), failed(s.failed), now))
	}
	// The graded ones fill the rest of the window, the latest kept; the
	// class table that ends the batch lists them all.
	room := max(b.height()-1-len(lines), 0)
	done := b.finished[max(len(b.finished)-room, 0):]
	for _, s := range done {
		lines = append(lines, row(s.name, fmt.Sprintf("%d/%d", s.checks, s.checks), clock(s.took.Round(time.Second)), failed(s.fails), "graded: "+s.result))
	}
	var out strings.Builder
	if b.drawn > 0 {
		fmt.Fprintf(&out, "\x1b[%dA", b.drawn)
	}
	for _, l := range lines {
		out.WriteString("\r\x1b[2K")
		out.WriteString(fit(strings.TrimRight(l, " "), cols-1))
		out.WriteString("\n")
	}
	out.WriteString("\x1b[J")
	io.WriteString(b.w, out.String())
	b.drawn = len(lines)
}

// fit cuts s to n columns, so that a line never wraps and the block can be
// redrawn in place.
func fit(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// seconds is a check's duration, as ProgressLine prints it.
func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// clock is a duration as a person reads it: 42s, 3m05s, 1h02m.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// failedChecks names a report's required checks that did not pass, an
// ERROR marked as such (it is the grader's, to grade again).
func failedChecks(r grading.Report) []string {
	var out []string
	for _, res := range r.Results {
		switch {
		case res.Status == scenarios.Error:
			out = append(out, res.Scenario+" (error)")
		case res.Required && res.Status != scenarios.Passed && res.Status != scenarios.NeedsTA:
			out = append(out, res.Scenario)
		}
	}
	return out
}

// verdict is a report's outcome in one word.
func verdict(r grading.Report) string {
	switch {
	case strings.HasPrefix(r.Error, "submission refused: "):
		return "refused"
	case r.Incomplete:
		return "INCOMPLETE"
	case r.Passed:
		return "passed"
	}
	return "FAILED"
}

// verdictLine is a finished submission in the plain lines.
func verdictLine(r grading.Report) string {
	line := fmt.Sprintf("%s, %s", points(r), verdict(r))
	if f := failedChecks(r); len(f) > 0 {
		line += ": " + strings.Join(f, ", ")
	}
	if r.Error != "" && len(r.Results) == 0 {
		line += ": " + oneLine(r.Error)
	}
	return line
}

// points is a report's score, with what awaits a TA.
func points(r grading.Report) string {
	p := fmt.Sprintf("%d/%d", r.Score, r.MaxScore)
	if r.AwaitingTA > 0 {
		p += fmt.Sprintf(" +%d TA", r.AwaitingTA)
	}
	return p
}

// writeClassTable prints a batch's grades on one screen: one row per
// submission with its points, its verdict and the checks it failed, then
// the totals and where the full reports are; class is how many
// submissions the results folder holds, this batch's and earlier ones'.
func writeClassTable(w io.Writer, reports []grading.Report, class int, resultsDir string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBMISSION\tPOINTS\tRESULT\tFAILED CHECKS")
	var passed, failed, again int
	for _, r := range reports {
		checks := strings.Join(failedChecks(r), ", ")
		if checks == "" && r.Error != "" {
			checks = oneLine(r.Error)
		}
		if checks == "" {
			checks = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(r.Submission), points(r), verdict(r), checks)
		switch {
		case r.Incomplete:
			again++
		case r.Passed:
			passed++
		default:
			failed++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	totals := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if again > 0 {
		totals += fmt.Sprintf(", %d to grade again (a check could not run)", again)
	}
	if class > len(reports) {
		totals += fmt.Sprintf("; %s holds %d submissions in all, the others as graded before", resultsDir, class)
	}
	_, err := fmt.Fprintf(w, "\n%s\nthe class: %s/index.html (open it in a browser) and %s/grades.csv; full reports: %s/<submission>/report.txt\n",
		totals, resultsDir, resultsDir, resultsDir)
	return err
}

// gradeLog is the file in the results folder that keeps a batch's
// detailed progress (every lab set up, every check with its expectation,
// every retry), which the board shows only in summary.
const gradeLog = "grade.log"

// watchBatch prepares the progress of a batch: the board on w and the
// detailed lines in RESULTS/grade.log (JSON objects with logJSON). done
// stops the board and closes the log.
func watchBatch(w io.Writer, subs []scenarios.Submission, resultsDir string, logJSON bool) (opts []grading.Option, done func() error, err error) {
	// Appended to: an earlier batch's progress stays, under its own line.
	log, err := os.OpenFile(filepath.Join(resultsDir, gradeLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("write %s: %w", gradeLog, err)
	}
	if st, err := log.Stat(); err == nil && st.Size() > 0 {
		fmt.Fprintf(log, "\n")
	}
	if !logJSON {
		fmt.Fprintf(log, "=== lab grade, %s: %d submissions\n", time.Now().Format(time.DateTime), len(subs))
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	board := newGradeBoard(w, names, time.Now)
	board.start()
	opts = []grading.Option{grading.WithLogger(progress.New(log, logJSON)), grading.WithEvents(board.event)}
	var once sync.Once
	var closeErr error
	return opts, func() error {
		once.Do(func() {
			board.stop()
			closeErr = log.Close()
		})
		return closeErr
	}, nil
}
