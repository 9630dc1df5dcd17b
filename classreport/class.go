package classreport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// State is how one check ended for one submission, as the pages and the
// CSV name it.
type State int

// The states of a check. NotRun is a check another submission of the class
// ran and this one did not (a refused submission, a lab that never came
// up, a narrower --only).
const (
	NotRun State = iota
	Passed
	Failed
	OptionalFailed // failed, but the check carries no points
	Error          // no verdict: the lab failed, not the program
	NeedsTA        // a TA grades it by hand
	Scored         // a TA has graded it (grading.TAScoresFile)
)

// stateText is what tells the states apart without colour: a symbol, a
// word for the cell, a CSS class and a sentence for a tooltip or a
// screen reader.
var stateText = [...]struct{ symbol, word, class, long string }{
	NotRun:         {"·", "not run", "s-notrun", "not run for this submission"},
	Passed:         {"✓", "passed", "s-pass", "passed"},
	Failed:         {"✗", "failed", "s-fail", "failed"},
	OptionalFailed: {"○", "failed (optional)", "s-opt", "failed; an optional check that carries no points"},
	Error:          {"⚠", "error", "s-err", "error, no verdict: the lab failed, not the program; grade it again"},
	NeedsTA:        {"✎", "needs a TA", "s-ta", "needs a TA: graded by hand"},
	Scored:         {"✍", "graded by a TA", "s-scored", "graded by a TA"},
}

// Symbol is the state's mark in a cell.
func (s State) Symbol() string { return stateText[s].symbol }

// String is the state in words.
func (s State) String() string { return stateText[s].word }

// stateOf is a result's state.
func stateOf(res scenarios.Result) State {
	if res.Status == scenarios.NeedsTA && res.TA != nil {
		return Scored
	}
	switch grading.OutcomeOf(res.Status, res.Required) {
	case grading.OutcomePassed:
		return Passed
	case grading.OutcomeFailed:
		return Failed
	case grading.OutcomeOptionalFailed:
		return OptionalFailed
	case grading.OutcomeError:
		return Error
	}
	return NeedsTA
}

// milestoneOrder is the order of the class table's column groups: the
// handout's, with any other milestone after them.
var milestoneOrder = []scenarios.Milestone{scenarios.DNS, scenarios.M1, scenarios.M2, scenarios.M3, scenarios.M4, scenarios.Q2}

// class is what the class page shows: the checks as columns, grouped by
// milestone, a row per submission, the TA's queue and the reruns.
type class struct {
	Groups []*group
	Checks []*check
	Rows   []*row
	Queue  []queueItem
	// TAExample shows how to write the TA's points (grading.TAScoresFile).
	TAExample string
	Reruns    []rerunItem
	Extra     []fileLink // the results folder's other class files (summary.csv, …)

	Passed, Failed, Incomplete, Refused int

	byName map[string]*check // by the check's name in the reports
}

// check is one column: a check some submission of the class ran.
type check struct {
	Index       int
	Name        string
	Anchor      string // its section on a student page, and its transcripts' folder
	Number      string // M1.2
	Milestone   string
	Requirement string
	MaxPoints   int
	Required    bool

	Ran, Passed, Errors, TA int // submissions that ran it, passed it, …
}

// ID is the check's section on the class page.
func (c *check) ID() string { return fmt.Sprintf("check-%d", c.Index+1) }

// Tally says how the class did on the check, e.g. "7 of 9 passed".
func (c *check) Tally() string {
	if c.TA > 0 && c.TA == c.Ran {
		return fmt.Sprintf("%d await a TA", c.TA)
	}
	s := fmt.Sprintf("%d of %d passed", c.Passed, c.Ran)
	if c.Errors > 0 {
		s += fmt.Sprintf(", %d with no verdict (error)", c.Errors)
	}
	return s
}

// group is a milestone's columns.
type group struct {
	Milestone string
	Checks    []*check
	MaxPoints int
}

// row is one submission.
type row struct {
	Report  grading.Report
	Name    string // the submission's name, cleaned
	Dir     string // its folder in the results folder
	Verdict verdict
	Error   string
	Cells   []cell     // one per check of the class
	Sub     []subtotal // one per milestone group
	Failed  []string   // the IDs of the checks it failed, for the filter
}

// Graded says when the submission was last graded and by which lab, and
// how many of its checks stay from earlier runs; "" for a report that does
// not say.
func (r *row) Graded() string {
	if r.Report.GradedAt.IsZero() {
		return ""
	}
	s := "graded " + r.Report.GradedAt.UTC().Format(whenFormat)
	if r.Report.Version != "" {
		s += " by lab " + safetext.OneLine(r.Report.Version)
	}
	earlier := 0
	for _, res := range r.Report.Results {
		if !res.GradedAt.IsZero() && res.GradedAt.Before(r.Report.GradedAt) {
			earlier++
		}
	}
	if earlier > 0 {
		s += fmt.Sprintf("; %d %s from earlier runs", earlier, plural(earlier, "check", "checks"))
	}
	return s
}

// whenFormat is how the pages write a time.
const whenFormat = "2006-01-02 15:04 UTC"

// Points is the row's total as the table shows it.
func (r *row) Points() string {
	p := fmt.Sprintf("%d/%d", r.Report.Score, r.Report.MaxScore)
	if r.Report.AwaitingTA > 0 {
		p += fmt.Sprintf(" +%d TA", r.Report.AwaitingTA)
	}
	return p
}

// cell is one submission's result of one check.
type cell struct {
	State     State
	Points    int
	MaxPoints int
	Rerun     string // why it was run more than once, if it was
	Earlier   string // when it ran, if in an earlier run than the report's last
	Href      string // its section on the student's page
	Title     string // the tooltip: check, state, points, rerun; none for a plain pass
}

// Ran reports whether the submission ran the check.
func (c cell) Ran() bool { return c.State != NotRun }

// AwaitsTA reports whether a TA is to grade the check.
func (c cell) AwaitsTA() bool { return c.State == NeedsTA }

// Class is the CSS class of the state.
func (c cell) Class() string { return stateText[c.State].class }

// Word is the state in words, for screen readers.
func (c cell) Word() string { return stateText[c.State].word }

// Symbol is the state's mark.
func (c cell) Symbol() string { return stateText[c.State].symbol }

// subtotal is a submission's points in one milestone.
type subtotal struct {
	Points, Max, TA int
}

// String is the subtotal as the table shows it.
func (s subtotal) String() string {
	p := fmt.Sprintf("%d/%d", s.Points, s.Max)
	if s.TA > 0 {
		p += fmt.Sprintf(" +%d TA", s.TA)
	}
	return p
}

// verdict is a submission's outcome as a whole.
type verdict int

const (
	verdictPassed verdict = iota
	verdictFailed
	verdictIncomplete
	verdictRefused
)

var verdictText = [...]struct{ symbol, word, class string }{
	verdictPassed:     {"✓", "passed", "s-pass"},
	verdictFailed:     {"✗", "failed", "s-fail"},
	verdictIncomplete: {"⚠", "incomplete", "s-err"},
	verdictRefused:    {"⊘", "refused", "s-fail"},
}

func (v verdict) String() string { return verdictText[v].word }

// Symbol is the verdict's mark.
func (v verdict) Symbol() string { return verdictText[v].symbol }

// Class is the verdict's CSS class.
func (v verdict) Class() string { return verdictText[v].class }

func verdictOf(r grading.Report) verdict {
	switch {
	case strings.HasPrefix(r.Error, "submission refused: "):
		return verdictRefused
	case r.Incomplete:
		return verdictIncomplete
	case r.Passed:
		return verdictPassed
	}
	return verdictFailed
}

// queueItem is a check that awaits a TA.
type queueItem struct {
	Row    *row
	Check  *check
	Review string // the review sheet's link, "" when there is none
	Notes  []string
}

// rerunItem is a check that was run more than once.
type rerunItem struct {
	Row    *row
	Check  *check
	State  State
	Reason string
}

// newClass lays the reports out; dir is the results folder they are in
// (review sheets are linked only when they are there).
func newClass(dir string, reports []grading.Report) *class {
	byName := map[string]*check{}
	c := &class{byName: byName, TAExample: grading.TAScoresExample}
	var order []*check
	for _, r := range reports {
		for _, res := range r.Results {
			if _, ok := byName[res.Scenario]; ok {
				continue
			}
			ch := &check{Name: safetext.OneLine(res.Scenario), Anchor: scenarios.SafeName(res.Scenario), Milestone: safetext.OneLine(string(res.Milestone)),
				Requirement: safetext.Clean(res.Requirement), MaxPoints: res.MaxPoints, Required: res.Required}
			byName[res.Scenario] = ch
			order = append(order, ch)
		}
	}
	c.Groups = groupChecks(order)
	for _, g := range c.Groups {
		for i, ch := range g.Checks {
			ch.Index = len(c.Checks)
			ch.Number = fmt.Sprintf("%s.%d", g.Milestone, i+1)
			c.Checks = append(c.Checks, ch)
		}
	}
	sorted := slices.Clone(reports)
	slices.SortStableFunc(sorted, func(a, b grading.Report) int {
		return strings.Compare(strings.ToLower(a.Submission), strings.ToLower(b.Submission))
	})
	for _, r := range sorted {
		c.Rows = append(c.Rows, c.newRow(dir, r, byName))
	}
	return c
}

// groupChecks puts the checks into their milestones' groups, in the
// handout's order; within a milestone they keep the reports' order.
func groupChecks(checks []*check) []*group {
	rank := func(m string) int {
		if i := slices.Index(milestoneOrder, scenarios.Milestone(m)); i >= 0 {
			return i
		}
		return len(milestoneOrder)
	}
	var groups []*group
	for _, ch := range checks {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.Milestone == ch.Milestone })
		if i < 0 {
			groups = append(groups, &group{Milestone: ch.Milestone})
			i = len(groups) - 1
		}
		groups[i].Checks = append(groups[i].Checks, ch)
		groups[i].MaxPoints += ch.MaxPoints
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		if d := rank(a.Milestone) - rank(b.Milestone); d != 0 {
			return d
		}
		if rank(a.Milestone) == len(milestoneOrder) {
			return strings.Compare(a.Milestone, b.Milestone)
		}
		return 0
	})
	return groups
}

// newRow lays out one submission and counts it into the class.
func (c *class) newRow(dir string, r grading.Report, byName map[string]*check) *row {
	w := &row{Report: r, Name: safetext.OneLine(r.Submission), Dir: scenarios.SafeName(r.Submission), Verdict: verdictOf(r), Error: safetext.OneLine(r.Error)}
	if w.Name == "" {
		w.Name = "(no name)"
	}
	switch w.Verdict {
	case verdictPassed:
		c.Passed++
	case verdictFailed:
		c.Failed++
	case verdictIncomplete:
		c.Incomplete++
	case verdictRefused:
		c.Refused++
	}
	w.Cells = make([]cell, len(c.Checks))
	for i, ch := range c.Checks {
		w.Cells[i] = cell{Href: w.Dir + "/index.html#" + ch.Anchor, MaxPoints: ch.MaxPoints,
			Title: fmt.Sprintf("%s: %s", ch.Name, NotRun.String())}
	}
	seen := map[string]bool{}
	for _, res := range r.Results {
		ch := byName[res.Scenario]
		if seen[res.Scenario] {
			continue // a check twice in one report: the first counts, as in the table
		}
		seen[res.Scenario] = true
		st := stateOf(res)
		cl := cell{State: st, Points: res.Points, MaxPoints: res.MaxPoints, Rerun: safetext.Clean(res.Rerun), Href: w.Dir + "/index.html#" + ch.Anchor}
		if !res.GradedAt.IsZero() && res.GradedAt.Before(w.Report.GradedAt) {
			cl.Earlier = "graded " + res.GradedAt.UTC().Format(whenFormat) + ", in an earlier run"
		}
		cl.Title = fmt.Sprintf("%s: %s, %d of %d %s", ch.Name, stateText[st].long, res.Points, res.MaxPoints, plural(res.MaxPoints, "point", "points"))
		if st == NeedsTA {
			cl.Title = fmt.Sprintf("%s: %s, %d %s", ch.Name, stateText[st].long, res.MaxPoints, plural(res.MaxPoints, "point", "points"))
		}
		if st == Scored && res.TA.Comment != "" {
			cl.Title += ": " + safetext.OneLine(res.TA.Comment)
		}
		if st == Passed && cl.Rerun == "" {
			// The cell says it all; most cells pass, and a class page of
			// 300 submissions is lighter without.
			cl.Title = ""
		}
		if cl.Rerun != "" {
			cl.Title += "; " + cl.Rerun
			c.Reruns = append(c.Reruns, rerunItem{Row: w, Check: ch, State: st, Reason: cl.Rerun})
		}
		w.Cells[ch.Index] = cl
		ch.Ran++
		switch st {
		case Passed:
			ch.Passed++
		case Scored:
			// Full marks from a TA count as passed in the check's tally.
			if res.Points == res.MaxPoints {
				ch.Passed++
			}
		case Failed, OptionalFailed:
			w.Failed = append(w.Failed, ch.ID())
		case Error:
			ch.Errors++
		case NeedsTA:
			ch.TA++
			c.Queue = append(c.Queue, queueItem{Row: w, Check: ch, Review: reviewLink(dir, w.Dir, res.Review), Notes: cleanAll(res.Notes)})
		}
	}
	for _, g := range c.Groups {
		var s subtotal
		for _, ch := range g.Checks {
			cl := w.Cells[ch.Index]
			switch cl.State {
			case NotRun:
			case NeedsTA:
				s.TA += cl.MaxPoints
			case Error:
				s.Points += cl.Points
			default:
				s.Points += cl.Points
				s.Max += cl.MaxPoints
			}
		}
		w.Sub = append(w.Sub, s)
	}
	return w
}

// reviewLink is the link from the results folder to a submission's review
// sheet, when the sheet is in its folder there.
func reviewLink(dir, subDir, review string) string {
	if review == "" {
		return ""
	}
	name := filepath.Base(review)
	if st, err := os.Stat(filepath.Join(dir, subDir, name)); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return subDir + "/" + pathEscape(name)
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = safetext.Clean(s)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
