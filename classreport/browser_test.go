package classreport_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// browser is a headless Chromium tab for a test, with what the page did
// that it must not: the dialogs it opened (each dismissed) and the errors
// on its console (an exception, a CSP violation, a file that would not
// load).
type browser struct {
	ctx context.Context

	mu      sync.Mutex
	dialogs []string
	errors  []string
}

// newBrowser starts Chromium (tier.Browser: skipped where there is none
// and CI is not set) with one tab, closed when the test ends.
func newBrowser(t testing.TB) *browser {
	t.Helper()
	path := tier.Browser(t)
	// A TA's screen: the class table of the test fits without scrolling
	// sideways, so a click on a cell is not taken by the sticky name column.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.DisableGPU, chromedp.WindowSize(1600, 1000))
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{ctx: tctx}
	dialogs := chromedp.Events(tctx, page.JavascriptDialogOpening)
	console := chromedp.Console(tctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(tctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	go func() {
		defer wg.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.errors = append(b.errors, m.String()+" ("+m.URL+")")
				b.mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(tctx); err != nil { // starts the browser, for the life of the test
		cancelTab()
		cancelAlloc()
		cancel()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
		wg.Wait()
	})
	return b
}

// rows are the class table's rows a person sees: the names of the rows
// not hidden, in order.
func (b *browser) rows(t *testing.T) []string {
	t.Helper()
	names, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#class tbody tr')).filter(tr => !tr.hidden).map(tr => tr.querySelector('th').textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// screenshot saves what the tab shows as name in the folder
// LAB3_SCREENSHOTS names, if it names one: the README's pictures of the
// class page and a student's page are made so (docs/screenshots).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("LAB3_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs steps, each batch within 30 s: a page whose script did not run
// fails the test at its first wait, not at the test's deadline.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestClassPageInABrowser opens the class page of a graded class (correct,
// failed, incomplete, refused and hostile submissions) from the disk in a
// headless Chromium: every submission and check is there with its state
// once the page's own script has run, sorting by total and by name and
// filtering (incomplete only, failed check m1-broadcast) show the rows
// they should, a failed cell leads to its evidence on the student's page,
// and no dialog opened and nothing went to the console as an error (no
// script of a submission ran; the CSP let the page's own file run).
func TestClassPageInABrowser(t *testing.T) {
	b := newBrowser(t)
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open the class page",
		chromedp.Navigate("file://"+filepath.Join(dir, classreport.PageFile)),
		chromedp.WaitVisible(chromedp.CSS("#controls")))

	b.screenshot(t, "class-page.png")

	// What the script left of the table: every row and state.
	live, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(live))
	if err != nil {
		t.Fatal(err)
	}
	ct := readClassTable(t, doc)
	for sub, checks := range wantStates {
		for check, want := range checks {
			if got := ct.cells[sub][check]; got != want {
				t.Errorf("in the browser, %s, %s: %q, want %q", sub, check, got, want)
			}
		}
	}
	byName := []string{hostileShown, formulaName, "anna", "bob", "chen", "dave", "eve"}
	if got := b.rows(t); !slices.Equal(got, byName) {
		t.Errorf("rows on opening = %q, want %q", got, byName)
	}

	b.do(t, "sort by total", chromedp.Click(chromedp.CSS("#sort-total")))
	if got, want := b.rows(t), []string{formulaName, "anna", hostileShown, "chen", "bob", "dave", "eve"}; !slices.Equal(got, want) {
		t.Errorf("sorted by total = %q, want %q", got, want)
	}
	if sort, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("#col-total"), "aria-sort")); err != nil || sort.Value != "descending" {
		t.Errorf("the total column's aria-sort = %+v, %v; want descending", sort, err)
	}
	b.do(t, "sort by name", chromedp.Click(chromedp.CSS("#sort-name")))
	if got := b.rows(t); !slices.Equal(got, byName) {
		t.Errorf("sorted by name = %q, want %q", got, byName)
	}

	b.do(t, "incomplete only", chromedp.Click(chromedp.CSS("#f-incomplete")))
	if got, want := b.rows(t), []string{"chen", "dave"}; !slices.Equal(got, want) {
		t.Errorf("incomplete only = %q, want %q", got, want)
	}
	b.do(t, "all again", chromedp.Click(chromedp.CSS("#f-incomplete")))
	b.do(t, "failed check m1-broadcast", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.getElementById('f-check'); s.value = 'check-2'; s.dispatchEvent(new Event('change')); })()`))
	if got, want := b.rows(t), []string{hostileShown}; !slices.Equal(got, want) {
		t.Errorf("failed m1-broadcast = %q, want %q", got, want)
	}
	if status, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#f-status"))); err != nil || !strings.HasPrefix(status, "Showing 1 of 7 submissions") {
		t.Errorf("status line %q, %v", status, err)
	}

	// The failed cell leads to the evidence.
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS("#class tbody tr:not([hidden]) td.s-fail a")))); err != nil {
		t.Fatalf("follow the failed cell: %v", err)
	}
	loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil || !strings.HasSuffix(loc, "/index.html#m1-broadcast") || !strings.HasPrefix(loc, "file://"+dir+"/") {
		t.Errorf("the failed cell led to %q (%v), want the submission's page at #m1-broadcast", loc, err)
	}
	evidence, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#m1-broadcast dl.failure")))
	if err != nil || !strings.Contains(evidence, "bob on client2 prints /hello/ within 10s") || !strings.Contains(evidence, hostileText) {
		t.Errorf("the check's evidence: %q, %v", evidence, err)
	}
	b.screenshot(t, "student-page.png")
	title, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil || title != "Lab 3: "+hostileShown {
		t.Errorf("the student's page title = %q, %v", title, err)
	}

	// The events come on their own goroutine and nothing marks the last:
	// give them a moment, then look. No dialog, no error.
	b.do(t, "settle", chromedp.Sleep(200*time.Millisecond))
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		t.Errorf("dialogs opened (a script of the submission ran): %q", b.dialogs)
	}
	if len(b.errors) > 0 {
		t.Errorf("console errors: %q", b.errors)
	}
}

// TestMilestone3InABrowser grades the traffic package's sample captures
// and answers (one of them wrong) as a submission's files, writes its page
// and opens it from the disk: the sequence diagram drawn from the captures
// loads in place (the page's CSP lets its own folder's image in), and the
// answers table marks the wrong answer beside the captures' value.
func TestMilestone3InABrowser(t *testing.T) {
	b := newBrowser(t)
	data := map[string]scenarios.File{}
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap"} {
		raw, err := os.ReadFile(filepath.Join("..", "traffic", "testdata", "sample", n))
		if err != nil {
			t.Fatal(err)
		}
		data[n] = scenarios.File{Mode: 0o644, Data: raw}
	}
	data[scenarios.AnswersFile] = scenarios.File{Data: []byte("SYN_sequence_number: 1000000000\nSYNACK_sequence_number: 42\nSYNACK_ACKnowledgement_number: 1000000001\n")}
	dir := t.TempDir()
	sub := scenarios.Submission{Name: "dana", Team: 30, Files: map[string]scenarios.File{}, Data: data}
	checks := scenarios.SelectFileChecks(scenarios.FileChecks(), func(n string) bool { return n == "m3-captures" || n == "m3-task-3.2" })
	results := scenarios.GradeFiles(context.Background(), sub, scenarios.FileGradeConfig{Checks: checks, ResultsDir: dir})
	if err := classreport.Write(dir, []grading.Report{grading.NewReport("dana", results, nil, time.Second)}); err != nil {
		t.Fatal(err)
	}
	b.do(t, "open dana's page",
		chromedp.Navigate("file://"+filepath.Join(dir, "dana", classreport.PageFile)),
		chromedp.WaitVisible(chromedp.CSS("#m3-captures figure img")))
	width, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`(async () => {
		const img = document.querySelector('#m3-captures figure img');
		if (!img.complete) await new Promise(r => { img.onload = img.onerror = r; });
		return img.naturalWidth;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || width < 100 {
		t.Errorf("the sequence diagram's width in the browser = %d, %v; want it loaded", width, err)
	}
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#m3-task-3\\.2 table.answers tbody tr')).map(tr => Array.from(tr.cells).map(c => c.textContent.trim()).join(' '))`))
	if err != nil || len(rows) != 3 || !strings.HasSuffix(rows[0], "✓ right") || !strings.HasPrefix(rows[1], "SYNACK_sequence_number 42 ") || !strings.HasSuffix(rows[1], "✗ wrong") {
		t.Errorf("answer rows in the browser = %q, %v", rows, err)
	}
	b.do(t, "settle", chromedp.Sleep(200*time.Millisecond))
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		t.Errorf("console errors: %q", b.errors)
	}
}
