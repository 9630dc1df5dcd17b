package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// batchOfTwo plays the events of grading alice and bob, two at a time,
// three checks each, moving the clock as the checks take time. Between
// events it calls between, with a label of what just happened.
func batchOfTwo(b *gradeBoard, clk *fakeClock, between func(string)) {
	step := func(label string, d time.Duration, e grading.Event) {
		clk.advance(d)
		b.event(e)
		if between != nil {
			between(label)
		}
	}
	done := func(sub, sc string, st scenarios.Status, pts, max int) grading.ScenarioDone {
		return grading.ScenarioDone{Submission: sub, Scenario: sc, Status: st, Required: true, Points: pts, Max: max, Took: 2 * time.Second}
	}
	step("alice starts", 0, grading.SubmissionStarted{Submission: "alice", Scenarios: 3})
	step("bob starts", 0, grading.SubmissionStarted{Submission: "bob", Scenarios: 3})
	step("alice runs m1-broadcast", time.Second, grading.ScenarioStarted{Submission: "alice", Scenario: "m1-broadcast"})
	step("alice runs m2-p2p-udp", 0, grading.ScenarioStarted{Submission: "alice", Scenario: "m2-p2p-udp"})
	step("bob runs m1-broadcast", 0, grading.ScenarioStarted{Submission: "bob", Scenario: "m1-broadcast"})
	step("alice passes m1-broadcast", 2*time.Second, done("alice", "m1-broadcast", scenarios.Passed, 2, 2))
	step("bob fails m1-broadcast", 0, done("bob", "m1-broadcast", scenarios.Failed, 0, 2))
	step("alice runs m4-register", 0, grading.ScenarioStarted{Submission: "alice", Scenario: "m4-register"})
	step("alice fails m2-p2p-udp", time.Second, done("alice", "m2-p2p-udp", scenarios.Failed, 0, 3))
	step("alice passes m4-register", 2*time.Second, done("alice", "m4-register", scenarios.Passed, 3, 3))
	step("alice is done", 0, grading.SubmissionDone{Report: grading.Report{Submission: "alice", Score: 5, MaxScore: 8,
		Results: []scenarios.Result{
			{Scenario: "m1-broadcast", Status: scenarios.Passed, Required: true, Points: 2, MaxPoints: 2},
			{Scenario: "m2-p2p-udp", Status: scenarios.Failed, Required: true, MaxPoints: 3},
			{Scenario: "m4-register", Status: scenarios.Passed, Required: true, Points: 3, MaxPoints: 3},
		}}})
	// bob's second lab never came up: he is done with one check of three.
	step("bob is done", 4*time.Second, grading.SubmissionDone{Report: grading.Report{Submission: "bob", Incomplete: true,
		Error:   "lab grade-1-b: timed out",
		Results: []scenarios.Result{{Scenario: "m1-broadcast", Status: scenarios.Failed, Required: true, MaxPoints: 2}}}})
}

func TestGradeBoardPlainLines(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	b := newGradeBoard(&out, []string{"alice", "bob"}, clk.now)
	if b.live {
		t.Fatal("a buffer is not a terminal, yet the board is live")
	}
	b.start()
	batchOfTwo(b, clk, nil)
	b.stop()
	// After 3s, 2 of 6 checks are done: 4 more take 6s. After 6s, 4 of
	// 6: 2 more take 3s.
	want := `[0/2] alice  grading 3 checks
[0/2] bob    grading 3 checks
PASS  alice  m1-broadcast             2/2  2.0s
FAIL  bob    m1-broadcast             0/2  2.0s
FAIL  alice  m2-p2p-udp               0/3  2.0s
PASS  alice  m4-register              3/3  2.0s
[1/2] alice  5/8, FAILED: m2-p2p-udp in 6s; ETA 3s
[2/2] bob    0/0, INCOMPLETE: m1-broadcast in 10s
`
	if got := out.String(); got != want {
		t.Errorf("plain lines (-want +got):\n-%s\n+%s", strings.ReplaceAll(want, "\n", "\n-"), strings.ReplaceAll(got, "\n", "\n+"))
	}
}

func TestGradeBoardETA(t *testing.T) {
	tests := []struct {
		name          string
		total, graded int
		running       []int // each running submission's checks
		started, done int   // checks announced and done
		elapsed       time.Duration
		want          string
	}{
		{"nothing done yet", 4, 0, []int{30, 30}, 60, 0, time.Minute, ""},
		// 10 of 120 checks in 1m: 110 more take 11m.
		{"waiting submissions count as the started ones", 4, 0, []int{30, 30}, 60, 10, time.Minute, "ETA 11m00s"},
		// 60 of 60 announced and 1 of 2 graded; the other will run 30.
		{"half the class", 2, 1, nil, 30, 30, 2 * time.Minute, "ETA 2m00s"},
		{"all graded", 2, 2, nil, 60, 60, 5 * time.Minute, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(0, 0)}
			b := newGradeBoard(io.Discard, make([]string, tc.total), clk.now)
			b.graded, b.checksStarted, b.checksDone = tc.graded, tc.started, tc.done
			for _, n := range tc.running {
				b.running = append(b.running, &subProgress{checks: n})
			}
			clk.advance(tc.elapsed)
			if got := b.eta(""); got != tc.want {
				t.Errorf("eta = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassTable(t *testing.T) {
	reports := []grading.Report{
		{Submission: "alice", Score: 37, MaxScore: 37, Passed: true},
		{Submission: "bob", Score: 30, MaxScore: 37, AwaitingTA: 2, Results: []scenarios.Result{
			{Scenario: "m2-p2p-udp", Status: scenarios.Failed, Required: true},
			{Scenario: "m4-register", Status: scenarios.Failed, Required: true},
			{Scenario: "robust-silent-client", Status: scenarios.Failed, Required: false},
			{Scenario: "q2-report-review", Status: scenarios.NeedsTA, Required: true},
		}},
		{Submission: "carol", Score: 28, MaxScore: 34, Incomplete: true, Results: []scenarios.Result{
			{Scenario: "m1-broadcast", Status: scenarios.Error, Required: true},
		}},
		{Submission: "dave", Incomplete: true, Error: "lab grade-1-4: timed out"},
		grading.RefusedReport("eve", os.ErrPermission),
	}
	var out bytes.Buffer
	if err := writeClassTable(&out, reports, len(reports), "results"); err != nil {
		t.Fatal(err)
	}
	want := `SUBMISSION  POINTS       RESULT      FAILED CHECKS
alice       37/37        passed      -
bob         30/37 +2 TA  FAILED      m2-p2p-udp, m4-register
carol       28/34        INCOMPLETE  m1-broadcast (error)
dave        0/0          INCOMPLETE  lab grade-1-4: timed out
eve         0/0          refused     submission refused: permission denied

1 passed, 2 failed, 2 to grade again (a check could not run)
the class: results/index.html (open it in a browser) and results/grades.csv; full reports: results/<submission>/report.txt
`
	if got := out.String(); got != want {
		t.Errorf("class table (-want +got):\n-%s\n+%s", strings.ReplaceAll(want, "\n", "\n-"), strings.ReplaceAll(got, "\n", "\n+"))
	}
}

// screen is the little of a terminal the board uses: text, carriage
// return, newline, cursor up (ESC[nA), erase line (ESC[2K) and erase
// below (ESC[J).
type screen struct {
	rows     [][]rune
	row, col int
}

func (s *screen) write(p string) {
	r := []rune(p)
	for i := 0; i < len(r); i++ {
		for len(s.rows) <= s.row {
			s.rows = append(s.rows, nil)
		}
		switch c := r[i]; {
		case c == '\r':
			s.col = 0
		case c == '\n':
			s.row++
		case c == 0x1b && i+1 < len(r) && r[i+1] == '[':
			j := i + 2
			for j < len(r) && (r[j] >= '0' && r[j] <= '9') {
				j++
			}
			n, _ := strconv.Atoi(string(r[i+2 : j]))
			switch r[j] {
			case 'A':
				s.row = max(0, s.row-max(n, 1))
			case 'K':
				s.rows[s.row] = nil
			case 'J':
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
				s.rows = s.rows[:s.row+1]
			}
			i = j
		default:
			line := s.rows[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = c
			s.rows[s.row] = line
			s.col++
		}
	}
}

func (s *screen) text() string {
	var lines []string
	for _, r := range s.rows {
		lines = append(lines, strings.TrimRight(string(r), " "))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// TestGradeBoardLiveOnATerminal gives the board a real terminal (a pty
// from Go): it goes live, keeps one line per running submission in place
// under the [k/N] header, never wider than the window, and leaves the
// screen clean for the class table.
func TestGradeBoardLiveOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	const cols = 72
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		raw strings.Builder
	)
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			raw.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// Each redraw ends in ESC[J (erase below), and so does stop: the
	// screen is complete after as many of them as the board was asked for.
	scr := &screen{}
	seen, redraws := 0, 0
	screenNow := func() string {
		t.Helper()
		redraws++
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			s := raw.String()
			mu.Unlock()
			if strings.Count(s, "\x1b[J") >= redraws {
				scr.write(s[seen:])
				seen = len(s)
				return scr.text()
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal showed %d redraws, want %d: %q", strings.Count(s, "\x1b[J"), redraws, s)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	clk := &fakeClock{t: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
	long := "a-submission-named-at-great-length-by-its-team"
	b := newGradeBoard(tty, []string{"alice", "bob", long}, clk.now)
	if !b.live {
		t.Fatal("the board is not live on a terminal")
	}
	shots := map[string]string{}
	batchOfTwo(b, clk, func(label string) { shots[label] = screenNow() })
	b.event(grading.SubmissionStarted{Submission: long, Scenarios: 3})
	shots["long starts"] = screenNow()

	want := map[string]string{
		"bob starts": "[0/3] graded, 2 running, 1 waiting, 0s\n" +
			"  SUBMISSION                CHECKS   TIME  FAILED  NOW\n" +
			"  alice                     0/3        0s  -       setting up its lab\n" +
			"  bob                       0/3        0s  -       setting up its lab",
		// 2 of 6 announced checks in 3s; the waiting one counts 3 more.
		// bob's failure is a count of its own, apart from what runs.
		"alice runs m4-register": "[0/3] graded, 2 running, 1 waiting, 3s, ETA 11s\n" +
			"  SUBMISSION                CHECKS   TIME  FAILED  NOW\n" +
			"  alice                     1/3        3s  -       running m2-p2p-udp,…\n" +
			"  bob                       1/3        3s  1",
		// alice stays on the board with her points.
		"alice is done": "[1/3] graded, 1 running, 1 waiting, 6s, ETA 8s\n" +
			"  SUBMISSION                CHECKS   TIME  FAILED  NOW\n" +
			"  bob                       1/3        6s  1\n" +
			"  alice                     3/3        6s  1       graded: 5/8, FAILED",
		"long starts": "[2/3] graded, 1 running, 0 waiting, 10s, ETA 5s\n" +
			"  SUBMISSION                CHECKS   TIME  FAILED  NOW\n" +
			"  a-submission-named-at-g…  0/3        0s  -       setting up its lab\n" +
			"  alice                     3/3        6s  1       graded: 5/8, FAILED\n" +
			"  bob                       3/3       10s  1       graded: 0/0, INCOMP…",
	}
	for label, w := range want {
		if got := shots[label]; got != w {
			t.Errorf("after %s the screen shows\n%s\nwant\n%s", label, got, w)
		}
	}
	for label, shot := range shots {
		for _, line := range strings.Split(shot, "\n") {
			if n := len([]rune(line)); n >= cols {
				t.Errorf("after %s a line is %d columns wide in a %d-column window: %q", label, n, cols, line)
			}
		}
	}
	b.stop()
	if got := screenNow(); got != "" {
		t.Errorf("after stop the screen shows %q, want the block cleared", got)
	}
}

func TestWatchBatchKeepsTheDetailsInTheResultsFolder(t *testing.T) {
	results := t.TempDir()
	var out bytes.Buffer
	opts, done, err := watchBatch(&out, []scenarios.Submission{{Name: "alice"}, {Name: "bob"}}, results, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) != 2 {
		t.Fatalf("%d options, want progress and events", len(opts))
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Errorf("done twice: %v", err)
	}
	if _, err := os.Stat(filepath.Join(results, gradeLog)); err != nil {
		t.Errorf("no %s in the results folder: %v", gradeLog, err)
	}
}

// TestGradeBoardRetriedOnAnotherEngine: a submission whose engine stopped
// answering starts again elsewhere; its first attempt's checks no longer
// count towards the ETA, and it is graded once in [k/N].
func TestGradeBoardRetriedOnAnotherEngine(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	b := newGradeBoard(&out, []string{"carol"}, clk.now)
	b.event(grading.SubmissionStarted{Submission: "carol", Scenarios: 2})
	b.event(grading.ScenarioDone{Submission: "carol", Scenario: "m1-broadcast", Status: scenarios.Passed, Required: true, Points: 2, Max: 2})
	b.event(grading.SubmissionRetried{Submission: "carol", Engine: "ssh://grader2"})
	if b.checksStarted != 0 || b.checksDone != 0 || len(b.running) != 0 {
		t.Fatalf("after the retry: %d of %d checks, %d running; want the first attempt forgotten", b.checksDone, b.checksStarted, len(b.running))
	}
	b.event(grading.SubmissionStarted{Submission: "carol", Scenarios: 2})
	b.event(grading.SubmissionDone{Report: grading.Report{Submission: "carol", Score: 2, MaxScore: 2, Passed: true}})
	if !strings.Contains(out.String(), "[0/1] carol  engine ssh://grader2 stopped answering: grading again on another\n") {
		t.Errorf("no retry line in:\n%s", out.String())
	}
	if b.graded != 1 || b.checksDone != b.checksStarted {
		t.Errorf("graded %d, checks %d of %d; want 1, all", b.graded, b.checksDone, b.checksStarted)
	}
}

// TestGradeBoardKeepsTheLatestGradedInTheWindow: the graded submissions
// stay on the live block as long as the window has rows for them, the
// latest kept, and the block never outgrows the window.
func TestGradeBoardKeepsTheLatestGradedInTheWindow(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
	names := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	b := newGradeBoard(&out, names, clk.now)
	b.live, b.height = true, func() int { return 6 }
	for i, n := range names {
		b.event(grading.SubmissionStarted{Submission: n, Scenarios: 1})
		clk.advance(time.Second)
		b.event(grading.SubmissionDone{Report: grading.Report{Submission: n, Score: i, MaxScore: 5, Passed: true}})
	}
	last := out.String()[strings.LastIndex(out.String(), "\x1b[2K")+len("\x1b[2K"):]
	frames := strings.Split(out.String(), "\x1b[J")
	final := strings.Split(strings.TrimSuffix(frames[len(frames)-2], "\n"), "\n")
	if len(final) > 5 {
		t.Errorf("the block is %d lines in a 6-row window:\n%s", len(final), strings.Join(final, "\n"))
	}
	if !strings.Contains(last, "s6") || !strings.Contains(last, "graded: 5/5, passed") {
		t.Errorf("the latest graded is not last on the board: %q", last)
	}
	if strings.Contains(frames[len(frames)-2], " s1 ") {
		t.Errorf("the oldest graded stayed where the window has no room:\n%s", frames[len(frames)-2])
	}
}
