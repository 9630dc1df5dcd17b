package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestReportServe: lab report --serve rebuilds the class report, then
// serves it read-only at a URL with a secret token until its context ends:
// the pages as pages, a transcript that holds markup as plain text, a
// capture as a download, nothing without the token, nothing outside the
// folder through a link, nothing written.
func TestReportServe(t *testing.T) {
	dir := gradedFolder(t)
	// What a submission printed lands in its transcripts.
	evil := filepath.Join(dir, "bob", "m1-broadcast", "webserver.log")
	if err := os.MkdirAll(filepath.Dir(evil), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evil, []byte("<html><script>alert(1)</script></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(evil), "evil.js"), []byte("alert(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bob", "chatserver.pcap"), []byte("\xd4\xc3\xb2\xa1"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("the grader's own notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "bob", "notes.txt")); err != nil {
		t.Fatal(err)
	}

	base, stop := serveReport(t, dir)
	before := listing(t, dir)

	get := func(method, url string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	hostEnd := len("http://") + strings.Index(base[len("http://"):], "/")
	root := base[:hostEnd] // http://127.0.0.1:PORT
	tests := []struct {
		name, method, url string
		code              int
		ctype, body       string
	}{
		{"the class page", "GET", base, 200, "text/html; charset=utf-8", "anna"},
		{"a student's page", "GET", base + "bob/", 200, "text/html; charset=utf-8", "bob prints /hello/"},
		{"the gradebook", "GET", base + "grades.csv", 200, "text/csv; charset=utf-8", "submission"},
		{"a transcript with markup", "GET", base + "bob/m1-broadcast/webserver.log", 200, "text/plain; charset=utf-8", "<script>"},
		{"a capture", "GET", base + "bob/chatserver.pcap", 200, "application/octet-stream", ""},
		{"the class page's script", "GET", base + "report.js", 200, "text/javascript; charset=utf-8", ""},
		{"any other script", "GET", base + "bob/m1-broadcast/evil.js", 200, "text/plain; charset=utf-8", "alert"},
		{"without the token", "GET", root + "/index.html", 404, "", ""},
		{"a wrong token", "GET", root + "/00000000000000000000000000000000/index.html", 404, "", ""},
		{"out of the folder", "GET", base + "../../etc/passwd", 404, "", ""},
		{"a link out of the folder", "GET", base + "bob/notes.txt", 404, "", ""},
		{"a write", "POST", base + "index.html", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := get(tt.method, tt.url)
			if code != tt.code {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.url, code, tt.code)
			}
			if strings.Contains(body, "the grader's own notes") {
				t.Errorf("%s: the file behind the link was served", tt.url)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tt.url, h.Get("X-Content-Type-Options"))
			}
			if tt.code != 200 {
				return
			}
			if h.Get("Content-Type") != tt.ctype || !strings.Contains(body, tt.body) {
				t.Errorf("%s: %s, %q; want %s holding %q", tt.url, h.Get("Content-Type"), body, tt.ctype, tt.body)
			}
		})
	}
	if h := func() http.Header { _, h, _ := get("GET", base+"bob/chatserver.pcap"); return h }(); h.Get("Content-Disposition") != "attachment" {
		t.Errorf("a capture: Content-Disposition %q, want attachment", h.Get("Content-Disposition"))
	}

	stop()
	if after := listing(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("serving changed the folder:\nbefore %q\nafter  %q", before, after)
	}
}

// TestReportListenInUse: a --listen address that cannot be had is one
// line, and nothing is served.
func TestReportListenInUse(t *testing.T) {
	dir := gradedFolder(t)
	code, _, stderr := runLab(t, "report", "--listen", "256.0.0.1:1", dir)
	if code != exitUsage || !strings.HasPrefix(stderr, "lab: --listen 256.0.0.1:1: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit %d and one line naming --listen", code, stderr, exitUsage)
	}
}

// serveReport runs lab report --serve dir until stop, which checks that
// it ended as Ctrl-C ends it; it returns the printed URL.
func serveReport(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"report", "--serve", dir}, devnull, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if m := regexp.MustCompile(`^serving .* at (http://127\.0\.0\.1:\d+/[0-9a-f]{32}/) \(read-only`).FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("lab report --serve after Ctrl-C: exit %d, want 0 (stderr %q)", code, stderr.String())
		}
		devnull.Close()
	}
	t.Cleanup(stop)
	if base == "" {
		t.Fatalf("lab report --serve printed no URL (stderr %q)", stderr.String())
	}
	return base, stop
}

// TestReportServeTakesATAScore: a TA's score posted from a student page
// of a served folder is saved into ta-scores.yaml and counted at once in
// the pages and grades.csv; a score that does not fit, or a post from
// another site, changes nothing.
func TestReportServeTakesATAScore(t *testing.T) {
	dir := t.TempDir()
	r := grading.NewReport("anna", []scenarios.Result{
		{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Points: 2, Status: scenarios.Passed},
		{Scenario: "q2-report-review", Milestone: scenarios.Q2, MaxPoints: 10, Status: scenarios.NeedsTA},
	}, nil, time.Second)
	if err := grading.WriteTranscripts(dir, r); err != nil {
		t.Fatal(err)
	}
	base, _ := serveReport(t, dir)
	page, _ := os.ReadFile(filepath.Join(dir, "anna", "index.html"))
	if !strings.Contains(string(page), `<form class="ta" method="post" action="../ta-scores">`) {
		t.Fatalf("anna's page has no TA form")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values, origin string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+"ta-scores", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Location"), string(b)
	}
	scores := filepath.Join(dir, grading.TAScoresFile)
	host := strings.TrimSuffix(base[:len("http://")+strings.Index(base[len("http://"):], "/")], "/")

	code, loc, body := post(url.Values{"submission": {"anna"}, "check": {"q2-report-review"}, "points": {"7"}, "comment": {"Clear, but no FIN in the diagram."}}, host)
	if code != http.StatusSeeOther || !strings.HasSuffix(loc, "/anna/index.html#q2-report-review") {
		t.Fatalf("a score: %d to %q (%s), want 303 to anna's page", code, loc, body)
	}
	saved, _ := os.ReadFile(scores)
	if !strings.Contains(string(saved), "points: 7") || !strings.Contains(string(saved), "Clear, but no FIN in the diagram.") {
		t.Errorf("ta-scores.yaml:\n%s", saved)
	}
	csvText, _ := os.ReadFile(filepath.Join(dir, "grades.csv"))
	if !strings.Contains(string(csvText), "anna,9,12,") {
		t.Errorf("grades.csv does not count the score:\n%s", csvText)
	}
	page, _ = os.ReadFile(filepath.Join(dir, "anna", "index.html"))
	if !strings.Contains(string(page), `value="7"`) || !strings.Contains(string(page), "Graded by a TA: 7 of 10 points.") {
		t.Errorf("anna's page does not show the score")
	}

	for _, tt := range []struct {
		name   string
		form   url.Values
		origin string
		code   int
		want   string
	}{
		{"too many points", url.Values{"submission": {"anna"}, "check": {"q2-report-review"}, "points": {"11"}}, host, 400, "11 points, but the check is worth 0 to 10"},
		{"not a number", url.Values{"submission": {"anna"}, "check": {"q2-report-review"}, "points": {"ten"}}, "", 400, "points: give a whole number"},
		{"a check that needs no TA", url.Values{"submission": {"anna"}, "check": {"m1-broadcast"}, "points": {"1"}}, host, 400, "does not need a TA"},
		{"no such submission", url.Values{"submission": {"carol"}, "check": {"q2-report-review"}, "points": {"1"}}, host, 400, "carol: no report of that submission"},
		{"another site", url.Values{"submission": {"anna"}, "check": {"q2-report-review"}, "points": {"0"}}, "http://evil.example", 403, "only from the served pages"},
		{"a page without an origin", url.Values{"submission": {"anna"}, "check": {"q2-report-review"}, "points": {"0"}}, "null", 403, "only from the served pages"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := listing(t, dir)
			code, _, body := post(tt.form, tt.origin)
			if code != tt.code || !strings.Contains(body, tt.want) || strings.Count(strings.TrimSpace(body), "\n") != 0 {
				t.Errorf("%d %q, want %d and one line holding %q", code, body, tt.code, tt.want)
			}
			if after := listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("the folder changed")
			}
		})
	}
}

// TestReportServeScoreInABrowser is a TA at a served class in headless
// Chromium: on the student's page they enter a score and a comment for
// the Q2 review and save; the page comes back with the score, and the
// class page's total and grades.csv count it.
func TestReportServeScoreInABrowser(t *testing.T) {
	path := tier.Browser(t)
	dir := t.TempDir()
	r := grading.NewReport("anna", []scenarios.Result{
		{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Points: 2, Status: scenarios.Passed},
		{Scenario: "q2-report-review", Milestone: scenarios.Q2, MaxPoints: 10, Status: scenarios.NeedsTA},
	}, nil, time.Second)
	if err := grading.WriteTranscripts(dir, r); err != nil {
		t.Fatal(err)
	}
	base, _ := serveReport(t, dir)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.DisableGPU)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses root with its sandbox
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()

	if err := chromedp.Do(tctx); err != nil { // starts the browser, for the life of the test
		t.Fatalf("start %s: %v", path, err)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(tctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open anna's page", chromedp.Navigate(base+"anna/index.html"), chromedp.WaitVisible(chromedp.CSS(`form.ta input[name=points]`)))
	step("enter a score", chromedp.SendKeys(chromedp.CSS(`form.ta input[name=points]`), "6"),
		chromedp.SendKeys(chromedp.CSS(`form.ta input[name=comment]`), "The flow is clear; the diagram lacks the FIN."))
	step("save it", chromedp.Click(chromedp.CSS(`form.ta button`)))
	step("see it saved", chromedp.WaitVisible(chromedp.CSS(`form.ta input[name=points][value="6"]`)))
	section, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#q2-report-review")))
	if err != nil || !strings.Contains(section, "graded by a TA") || !strings.Contains(section, "Graded by a TA: 6 of 10 points. The flow is clear; the diagram lacks the FIN.") {
		t.Errorf("anna's Q2 review after the score: %v %q", err, section)
	}
	step("open the class page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#class")))
	total, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#class tbody td.total")))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(total), "8/12") || strings.Contains(total, "TA") {
		t.Errorf("anna's total on the class page: %v %q, want 8/12 with nothing awaiting a TA", err, total)
	}
	csvText, _ := os.ReadFile(filepath.Join(dir, "grades.csv"))
	if !strings.Contains(string(csvText), "anna,8,12,") {
		t.Errorf("grades.csv:\n%s", csvText)
	}
}
