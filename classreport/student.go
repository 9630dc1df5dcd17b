package classreport

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// What a student's page shows of the transcripts in place: those of the
// checks that did not pass, each cut to its first and last lines, up to a
// budget for the page. Every transcript is linked whole.
const (
	transcriptHead   = 4 << 10
	transcriptTail   = 28 << 10
	pageBudget       = 1 << 20
	maxFilesPerCheck = 100
)

// studentPage is what a submission's page shows.
type studentPage struct {
	Row     *row
	Checks  []studentCheck
	Files   []fileLink // the files of the submission's folder
	More    int        // files not listed
	Review  string     // the Q2 review sheet's link, "" when there is none
	Skipped int        // transcripts not shown in place: the page's budget was spent
}

// studentCheck is one check on a student's page.
type studentCheck struct {
	Check       *check
	Cell        cell
	Requirement string
	Notes       []string
	Failure     *failureView
	Logs        []transcript
	Captures    []fileLink
	// Diagram is the sequence diagram among Captures (m3-captures), shown
	// in place; nil when there is none.
	Diagram *fileLink
	// Answers are a Milestone 3 question's answers beside the values
	// read from the captures.
	Answers []answerView
	More    int // files of the check's folder not listed
	// TA is the form a TA scores a check that needs a TA with, nil for
	// every other check.
	TA *taForm
}

// taForm is what the student page's TA form holds: the submission (by
// its folder's name, which is safe to show) and check it scores, and the
// score so far. lab report --serve takes it
// (POST ../ta-scores) into grading.TAScoresFile.
type taForm struct {
	Submission, Check string
	Max               int
	Points            string // "" until scored
	Comment           string
}

// failureView is a failure's expectation and evidence, cleaned.
type failureView struct {
	Where, Step, Expectation, Got string
	TimedOut                      bool
	Starved                       string
	Evidence                      []evidenceView
}

// answerView is one answer of a Milestone 3 question, cleaned.
type answerView struct {
	Question, Given, Where, Expected, From string
	Right                                  bool
}

func answersOf(as []scenarios.Answer) []answerView {
	var out []answerView
	for _, a := range as {
		exp := make([]string, len(a.Expected))
		for i, v := range a.Expected {
			exp[i] = strconv.Itoa(v)
		}
		out = append(out, answerView{Question: safetext.OneLine(a.Question), Given: safetext.OneLine(a.Given), Where: safetext.OneLine(a.Where),
			Expected: strings.Join(exp, " or "), From: safetext.OneLine(a.From), Right: a.Right})
	}
	return out
}

type evidenceView struct {
	Proc, Host string
	Lines      []string
}

// fileLink is a file of the results folder, linked from a page in that
// folder's submission folder.
type fileLink struct {
	Name string // cleaned, for display
	Href string
	Size string
	disk string // the name on disk
}

// transcript is a log file, shown in place when Text is set.
type transcript struct {
	fileLink
	Text    string
	Dropped int64 // bytes left out between the head and the tail
	Shown   bool
}

// newStudentPage gathers a submission's page: its checks in the class's
// column order with their evidence, and the files grading left in
// dir/<submission>/.
func newStudentPage(dir string, c *class, w *row) *studentPage {
	p := &studentPage{Row: w}
	base := filepath.Join(dir, w.Dir)
	budget := int64(pageBudget)
	checkDirs := map[string]bool{}
	seen := map[string]bool{}
	for _, res := range w.Report.Results {
		if seen[res.Scenario] {
			continue
		}
		seen[res.Scenario] = true
		ch := c.byName[res.Scenario]
		checkDirs[ch.Anchor] = true
		cl := w.Cells[ch.Index]
		sc := studentCheck{Check: ch, Cell: cl, Requirement: safetext.Clean(res.Requirement), Failure: failureOf(res.Failure), Answers: answersOf(res.Answers)}
		if res.Status == scenarios.NeedsTA {
			sc.TA = &taForm{Submission: w.Dir, Check: safetext.OneLine(res.Scenario), Max: res.MaxPoints}
			if res.TA != nil {
				sc.TA.Points, sc.TA.Comment = strconv.Itoa(res.TA.Points), safetext.OneLine(res.TA.Comment)
			}
		}
		if res.TA != nil {
			sc.Notes = append(sc.Notes, safetext.Clean(fmt.Sprintf("Graded by a TA: %d of %d points. %s", res.TA.Points, res.MaxPoints, res.TA.Comment)))
		}
		for _, n := range cleanAll(res.Notes) {
			if n != cl.Rerun { // shown apart, marked
				sc.Notes = append(sc.Notes, n)
			}
		}
		p.Checks = append(p.Checks, sc)
	}
	slices.SortStableFunc(p.Checks, func(a, b studentCheck) int { return a.Check.Index - b.Check.Index })
	for i := range p.Checks {
		sc := &p.Checks[i]
		inPlace := sc.Cell.State == Failed || sc.Cell.State == OptionalFailed || sc.Cell.State == Error
		sc.Logs, sc.Captures, sc.More = checkFiles(filepath.Join(base, sc.Check.Anchor), sc.Check.Anchor, inPlace, &budget, &p.Skipped)
		for j := range sc.Captures {
			if sc.Captures[j].disk == scenarios.SequenceDiagram {
				sc.Diagram = &sc.Captures[j]
			}
		}
	}
	p.Files, p.More = listFiles(base, "", func(name string) bool { return name != PageFile && !checkDirs[name] })
	for _, res := range w.Report.Results {
		if res.Status == scenarios.NeedsTA && res.Review != "" {
			p.Review = reviewLink(dir, w.Dir, res.Review)
			if p.Review != "" {
				p.Review = "./" + strings.TrimPrefix(p.Review, w.Dir+"/")
			}
		}
	}
	return p
}

func failureOf(f *scenarios.Failure) *failureView {
	if f == nil {
		return nil
	}
	where := f.File
	if f.Line > 0 {
		where = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	v := &failureView{Where: safetext.OneLine(where), Step: safetext.OneLine(string(f.Step)), Expectation: safetext.Clean(f.Expectation), Got: safetext.Clean(f.Got),
		TimedOut: f.TimedOut, Starved: safetext.Clean(f.Starved)}
	for _, ev := range f.Evidence {
		v.Evidence = append(v.Evidence, evidenceView{Proc: safetext.OneLine(ev.Proc), Host: safetext.OneLine(ev.Host), Lines: cleanAll(ev.Lines)})
	}
	return v
}

// checkFiles lists a check's folder: its transcripts (shown in place when
// inPlace, while the page's budget lasts) and its captures.
func checkFiles(folder, rel string, inPlace bool, budget *int64, skipped *int) (logs []transcript, captures []fileLink, more int) {
	files, more := listFiles(folder, rel+"/", func(string) bool { return true })
	for _, f := range files {
		t := transcript{fileLink: f}
		if inPlace && strings.HasSuffix(f.Name, ".log") {
			if *budget > 0 {
				text, dropped, n, err := readBounded(filepath.Join(folder, f.disk))
				if err != nil {
					text = "(could not read it: " + safetext.OneLine(err.Error()) + ")"
				}
				t.Text, t.Dropped, t.Shown = text, dropped, true
				*budget -= n
			} else {
				*skipped++
			}
		}
		logs = append(logs, t)
	}
	capFiles, capMore := listFiles(filepath.Join(folder, grading.CaptureDir), rel+"/"+grading.CaptureDir+"/", func(string) bool { return true })
	return logs, capFiles, more + capMore
}

// listFiles lists the regular files of folder whose names keep says to
// keep, sorted, at most maxFilesPerCheck, linked as prefix + name from the
// submission's folder; links, folders and the atomic writer's temporary
// files are left out. A folder that is not there lists nothing.
func listFiles(folder, prefix string, keep func(string) bool) ([]fileLink, int) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, 0
	}
	var out []fileLink
	more := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !keep(name) {
			continue
		}
		if len(out) == maxFilesPerCheck {
			more++
			continue
		}
		size := ""
		if info, err := e.Info(); err == nil {
			size = humanSize(info.Size())
		}
		out = append(out, fileLink{Name: safetext.OneLine(name), Href: "./" + prefix + pathEscape(name), Size: size, disk: name})
	}
	slices.SortFunc(out, func(a, b fileLink) int { return strings.Compare(a.Name, b.Name) })
	return out, more
}

// readBounded reads a transcript: whole when short, else its first and
// last lines, cleaned of terminal sequences; dropped is what it left out,
// n what it read.
func readBounded(path string) (text string, dropped, n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, 0, err
	}
	size := st.Size()
	if size <= transcriptHead+transcriptTail {
		b, err := io.ReadAll(io.LimitReader(f, transcriptHead+transcriptTail))
		return safetext.Clean(string(b)), 0, int64(len(b)), err
	}
	head := make([]byte, transcriptHead)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", 0, 0, err
	}
	tail := make([]byte, transcriptTail)
	if _, err := f.ReadAt(tail, size-transcriptTail); err != nil && err != io.EOF {
		return "", 0, 0, err
	}
	// Cut at line ends, so no line (nor character) is shown in part.
	if i := strings.LastIndexByte(string(head), '\n'); i >= 0 {
		head = head[:i+1]
	}
	if i := strings.IndexByte(string(tail), '\n'); i >= 0 {
		tail = tail[i+1:]
	}
	dropped = size - int64(len(head)) - int64(len(tail))
	text = safetext.Clean(string(head)) + fmt.Sprintf("\n… %d bytes not shown: open the file …\n\n", dropped) + safetext.Clean(string(tail))
	return text, dropped, int64(len(head) + len(tail)), nil
}

// pathEscape makes a file's name one segment of a relative link.
func pathEscape(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), ":", "%3A")
}

func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
