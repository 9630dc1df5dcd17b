package grading

import (
	"fmt"
	"io"
	"strings"

	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// WriteMarkdown writes the reports as Markdown, one section each: a table of
// the checks with their points and results, the total and the verdict, and
// the evidence of the first failure. It is the job summary of the GitHub
// workflow (integrations/github) and, cut to the checks students may see,
// the top-level output of results.json.
func WriteMarkdown(w io.Writer, reports []Report) error {
	for i, r := range reports {
		if i > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		if err := r.writeMarkdown(w, nil, false); err != nil {
			return err
		}
	}
	return nil
}

// writeMarkdown writes one report's summary. With studentView only the
// checks vis makes visible now are shown (and totalled); the others are
// counted in a line that says when they will be shown.
func (r Report) writeMarkdown(w io.Writer, vis Visibilities, studentView bool) error {
	numbers := checkNumbers(r.Results)
	var shown []scenarios.Result
	var shownNumbers []string
	later := map[scenarios.Visibility][2]int{} // checks and points not shown yet
	for i, res := range r.Results {
		if v := vis.Of(res.Scenario); studentView && v != scenarios.Visible {
			n := later[v]
			later[v] = [2]int{n[0] + 1, n[1] + res.MaxPoints}
			continue
		}
		shown = append(shown, res)
		shownNumbers = append(shownNumbers, numbers[i])
	}
	// The total and verdict of what is shown, so a hidden check's result
	// does not leak through them.
	t := NewReport(r.Submission, shown, nil, r.Duration)

	var b strings.Builder
	fmt.Fprintf(&b, "### Lab 3: %s\n\n", mdEscape(r.Submission))
	if r.Error != "" {
		fmt.Fprintf(&b, "**Not graded.** %s\n", mdEscape(r.errorText()))
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "**%d/%d points**: %s\n\n", t.Score, t.MaxScore, markdownVerdict(t))
	b.WriteString("| # | Check | Points | Result |\n|---|---|--:|---|\n")
	for i, res := range shown {
		points := fmt.Sprintf("%d/%d", res.Points, res.MaxPoints)
		word := markdownWords[OutcomeOf(res.Status, res.Required)]
		switch {
		case res.TA != nil:
			word = "✍ graded by a TA"
		case res.Status == scenarios.NeedsTA:
			points = fmt.Sprintf("?/%d", res.MaxPoints)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", shownNumbers[i], mdEscape(res.Scenario), points, word)
	}
	fmt.Fprintf(&b, "| | **Total** | **%d/%d** | |\n", t.Score, t.MaxScore)
	for _, v := range []scenarios.Visibility{scenarios.AfterDueDate, scenarios.AfterPublished, scenarios.Hidden} {
		n, ok := later[v]
		if !ok {
			continue
		}
		when := map[scenarios.Visibility]string{
			scenarios.AfterDueDate:   "will be shown after the due date",
			scenarios.AfterPublished: "will be shown when the grades are published",
			scenarios.Hidden:         plural(n[0], "is", "are") + " graded but not shown",
		}[v]
		fmt.Fprintf(&b, "\n%d more %s (%d %s) %s.\n", n[0], plural(n[0], "check", "checks"), n[1], plural(n[1], "point", "points"), when)
	}
	first := firstFailure(shown)
	if first >= 0 {
		res := shown[first]
		fmt.Fprintf(&b, "\n#### First failure: %s (%s)\n\n", mdEscape(res.Scenario), shownNumbers[first])
		writeMarkdownFailure(&b, res)
		var others []string
		for i, o := range shown {
			if i != first && o.Failure != nil && o.Status != scenarios.NeedsTA {
				others = append(others, fmt.Sprintf("%s (%s)", mdEscape(o.Scenario), shownNumbers[i]))
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(&b, "\nAlso failed or not run: %s.\n", strings.Join(others, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownVerdict(r Report) string {
	v := map[bool]string{true: "all required checks passed", false: "**required checks failed**"}[r.Passed]
	if r.Incomplete {
		v = "**incomplete**: a check could not be run (no points taken for it); grade again"
	}
	if r.AwaitingTA > 0 {
		v += fmt.Sprintf("; %d more points await a TA", r.AwaitingTA)
	}
	return v
}

// firstFailure is the index of the failure to show: the first failed
// required check, else the first failed optional one, else the first that
// could not be run; -1 when there is none.
func firstFailure(results []scenarios.Result) int {
	for _, want := range []func(scenarios.Result) bool{
		func(r scenarios.Result) bool { return r.Status == scenarios.Failed && r.Required },
		func(r scenarios.Result) bool { return r.Status == scenarios.Failed },
		func(r scenarios.Result) bool { return r.Status == scenarios.Error },
	} {
		for i, r := range results {
			if r.Failure != nil && want(r) {
				return i
			}
		}
	}
	return -1
}

func writeMarkdownFailure(b *strings.Builder, res scenarios.Result) {
	f := res.Failure
	where := f.File
	if f.Line > 0 {
		where = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	fmt.Fprintf(b, "Requirement: %s\n\n", mdEscape(res.Requirement))
	fmt.Fprintf(b, "- **Expected:** %s\n", codeSpan(f.Expectation))
	fmt.Fprintf(b, "- **Got:** %s\n", codeSpan(f.Got))
	fmt.Fprintf(b, "- **Where:** %s, step %s\n", codeSpan(where), codeSpan(string(f.Step)))
	for _, n := range res.Notes {
		fmt.Fprintf(b, "- **Note:** %s\n", mdEscape(n))
	}
	for _, ev := range f.Evidence {
		fmt.Fprintf(b, "\nLast lines of %s on %s (lines the grader typed start with `<<<`):\n\n", codeSpan(ev.Proc), codeSpan(ev.Host))
		text := safetext.Clean(strings.Join(ev.Lines, "\n"))
		if len(ev.Lines) == 0 {
			text = "(nothing)"
		}
		fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
		fmt.Fprintf(b, "%stext\n%s\n%s\n", fence, text, fence)
	}
}

// mdEscape makes text (a requirement, a submission's name) print as
// itself in Markdown, also inside a table cell.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range safetext.OneLine(s) {
		if strings.ContainsRune("\\`*_[]<>|#~&!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// codeSpan quotes text as inline code, whatever backticks it holds.
func codeSpan(s string) string {
	s = safetext.OneLine(s)
	if s == "" {
		return "(empty)"
	}
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

func longestRun(s string, c rune) int {
	best, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
