package classreport_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'"

// classTable is the class page's table as the tests read it: the checks'
// columns and, per submission, the cells by check name.
type classTable struct {
	rows  []string                     // submission names, in page order
	cells map[string]map[string]string // submission -> check -> state word
	other map[string]map[string]string // submission -> column (Total, Result, M1 points…) -> text
	cellN map[string]map[string]*html.Node
}

// readClassTable reads the class table: the second header row names a
// column per check (data-check) and per milestone subtotal, in the order
// of each row's cells after the total and the result.
func readClassTable(t *testing.T, doc *html.Node) classTable {
	t.Helper()
	table := byID(doc, "class")
	if table == nil {
		t.Fatal("no table#class")
	}
	thead := elements(table, tag("thead"))[0]
	headRows := children(thead, "tr")
	if len(headRows) != 2 {
		t.Fatalf("thead has %d rows, want 2 (milestones, then checks)", len(headRows))
	}
	var columns []string
	isCheck := map[string]bool{}
	for _, th := range children(headRows[1], "th") {
		name := text(th)
		if attr(th, "data-check") != "" {
			// "M1.2 m1-broadcast": the number, then the name.
			name = name[strings.Index(name, " ")+1:]
			isCheck[name] = true
		}
		columns = append(columns, name)
	}
	ct := classTable{cells: map[string]map[string]string{}, other: map[string]map[string]string{}, cellN: map[string]map[string]*html.Node{}}
	for _, tr := range children(elements(table, tag("tbody"))[0], "tr") {
		name := text(children(tr, "th")[0])
		ct.rows = append(ct.rows, name)
		tds := children(tr, "td")
		if len(tds) != 2+len(columns) {
			t.Fatalf("row %q has %d cells, want %d", name, len(tds), 2+len(columns))
		}
		ct.cells[name], ct.cellN[name] = map[string]string{}, map[string]*html.Node{}
		ct.other[name] = map[string]string{"Total": text(tds[0]), "Result": text(tds[1])}
		for i, col := range columns {
			td := tds[2+i]
			if !isCheck[col] {
				ct.other[name][col] = text(td)
				continue
			}
			// The state in words is the accessible name's first part: the
			// link's, or the cell's where the check did not run.
			label := attr(td, "aria-label")
			for _, a := range elements(td, tag("a")) {
				label = attr(a, "aria-label")
			}
			word, _, _ := strings.Cut(label, ",")
			ct.cells[name][col] = word
			ct.cellN[name][col] = td
		}
	}
	return ct
}

// TestClassPage: every submission is a row and every check a column
// under its milestone, each cell in words the state it shows by colour,
// with the totals and the milestones' points; the TA's queue links every
// review sheet; a check run twice is marked with why; every link
// resolves, cells to their check on the student's page.
func TestClassPage(t *testing.T) {
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, classreport.PageFile)
	doc := parsePage(t, path)
	ct := readClassTable(t, doc)

	wantRows := []string{hostileShown, formulaName, "anna", "bob", "chen", "dave", "eve"}
	if strings.Join(ct.rows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("rows (-want +got):\n-%q\n+%q", wantRows, ct.rows)
	}
	for sub, checks := range wantStates {
		for check, want := range checks {
			if got := ct.cells[sub][check]; got != want {
				t.Errorf("%s, %s: the cell says %q, want %q", sub, check, got, want)
			}
		}
	}
	for sub, want := range map[string]map[string]string{
		"anna": {"Total": "9/9 +10 TA", "Result": "✓ passed", "DNS points": "1/1", "M1 points": "2/2", "M2 points": "3/3", "M3 points": "3/3", "Q2 points": "0/0 +10 TA"},
		"bob":  {"Total": "3/9 +10 TA", "Result": "✗ failed", "M1 points": "2/2", "M2 points": "0/3", "M3 points": "0/3"},
		"chen": {"Total": "7/7 +10 TA", "Result": "⚠ incomplete", "M1 points": "0/0"},
		"dave": {"Total": "3/3 +10 TA", "Result": "⚠ incomplete: lab grade-1-4: create container client1: timed out", "DNS points": "0/0"},
		"eve":  {"Total": "0/0", "Result": "⊘ refused: submission refused: a link: chatroom_server.py -> /etc/passwd; hand in regular files only"},
	} {
		for col, w := range want {
			if got := ct.other[sub][col]; got != w {
				t.Errorf("%s, %s: %q, want %q", sub, col, got, w)
			}
		}
	}
	// The columns are grouped by milestone, in the handout's order.
	var groups []string
	for _, th := range elements(doc, func(n *html.Node) bool { return hasClass(n, "group") }) {
		groups = append(groups, text(th)+"/"+attr(th, "colspan"))
	}
	if got, want := strings.Join(groups, " "), "DNS/2 M1/3 M2/2 M3/2 Q2/2"; got != want {
		t.Errorf("milestone groups (name/columns with the subtotal) = %q, want %q", got, want)
	}
	// Each check's header says its requirement on hover, and the list of
	// checks how many passed.
	for _, th := range elements(doc, func(n *html.Node) bool { return attr(n, "data-check") != "" }) {
		if !strings.Contains(attr(th, "title"), "passed") && !strings.Contains(attr(th, "title"), "await a TA") {
			t.Errorf("check header %q: title %q says neither the requirement nor how many passed", text(th), attr(th, "title"))
		}
	}
	checks := text(byID(doc, "checks"))
	for _, want := range []string{
		`M1.1 m1-broadcast (2 points; 3 of 5 passed, 1 with no verdict (error)) "broadcast those messages to the other connected clients"`,
		"M1.2 robust-silent-client (0 points, optional; 4 of 5 passed) a silent client does not block the server",
		"Q2.1 q2-report-review (10 points, optional; 6 await a TA)",
	} {
		if !strings.Contains(checks, want) {
			t.Errorf("the list of checks lacks %q:\n%s", want, checks)
		}
	}
	foot := text(elements(doc, tag("tfoot"))[0])
	if want := "Passed 5/5 3/5 4/5 4/5 5/6 0/6"; !strings.Contains(foot, want) {
		t.Errorf("tfoot = %q, want it to count %q", foot, want)
	}

	// The TA's queue: every needs_ta item, its review sheet linked when
	// grading wrote one.
	queue := byID(doc, "queue")
	var items []string
	for _, tr := range children(elements(queue, tag("tbody"))[0], "tr") {
		link := "none"
		for _, a := range elements(tr, tag("a")) {
			if strings.HasSuffix(attr(a, "href"), scenarios.ReviewSheet) {
				link = attr(a, "href")
			}
		}
		items = append(items, text(children(tr, "th")[0])+" -> "+link)
	}
	wantQueue := []string{hostileShown + " -> " + scenarios.SafeName(hostileName) + "/q2-review.html", formulaName + " -> none",
		"anna -> anna/q2-review.html", "bob -> bob/q2-review.html", "chen -> none", "dave -> none"}
	if strings.Join(items, "\n") != strings.Join(wantQueue, "\n") {
		t.Errorf("the TA's queue (-want +got):\n-%q\n+%q", wantQueue, items)
	}

	// Reruns: marked in the cell, with the reason on hover and listed.
	for _, sub := range []string{"anna", "chen"} {
		td := ct.cellN[sub]["m1-broadcast"]
		a := elements(td, tag("a"))[0]
		if !strings.Contains(text(td), "↻") || !strings.HasSuffix(attr(a, "aria-label"), ", run again") || !strings.Contains(attr(a, "title"), "run twice") && !strings.Contains(attr(a, "title"), "too busy") {
			t.Errorf("%s's m1-broadcast: %q (label %q, title %q), want the rerun mark and why", sub, text(td), attr(a, "aria-label"), attr(a, "title"))
		}
	}
	if td := ct.cellN["bob"]["m1-broadcast"]; strings.Contains(text(td), "↻") {
		t.Errorf("bob's m1-broadcast ran once but is marked: %q", text(td))
	}
	reruns := text(byID(doc, "reruns"))
	for _, want := range []string{"anna M1.1 m1-broadcast passed run twice: the first run ran out of time", "chen M1.1 m1-broadcast error the machine was too busy to judge"} {
		if !strings.Contains(reruns, want) {
			t.Errorf("the reruns lack %q:\n%s", want, reruns)
		}
	}

	// The page's own script and style are files; nothing inline.
	var csp string
	for _, m := range elements(doc, tag("meta")) {
		if strings.EqualFold(attr(m, "http-equiv"), "Content-Security-Policy") {
			csp = attr(m, "content")
		}
	}
	if csp != wantCSP {
		t.Errorf("CSP = %q, want %q", csp, wantCSP)
	}
	scripts := elements(doc, tag("script"))
	if len(scripts) != 1 || attr(scripts[0], "src") != classreport.ScriptFile || scripts[0].FirstChild != nil {
		t.Errorf("want one script, %s, with no inline code; got %d", classreport.ScriptFile, len(scripts))
	}
	// Without the script every row is shown and the controls, which do
	// nothing then, are hidden.
	for _, tr := range elements(doc, tag("tr")) {
		if attr(tr, "hidden") != "" || hasAttr(tr, "hidden") {
			t.Errorf("a row is hidden without the script: %q", text(tr))
		}
	}
	if c := byID(doc, "controls"); c == nil || !hasAttr(c, "hidden") {
		t.Error("the sort and filter controls are not hidden until the script shows them")
	}
	checkLinks(t, path, doc)
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestStudentPages: a submission's page has each check it ran with its
// requirement, points and state, the failed expectation and the evidence,
// its transcripts linked and, for checks that did not pass, shown in place
// cut to their first and last lines and cleaned of terminal sequences; its
// captures and review sheet linked; every link resolves.
func TestStudentPages(t *testing.T) {
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		path := filepath.Join(dir, scenarios.SafeName(r.Submission), classreport.PageFile)
		doc := parsePage(t, path)
		name := safetext.OneLine(r.Submission)
		if got := text(elements(doc, tag("h1"))[0]); got != name {
			t.Errorf("%s: h1 %q", path, got)
		}
		for _, c := range classChecks {
			sec := byID(doc, c.name)
			want := wantStates[name][c.name]
			if want == "not run" {
				if sec != nil {
					t.Errorf("%s: a section for %s, which it did not run", name, c.name)
				}
				continue
			}
			if sec == nil {
				t.Errorf("%s: no section for %s", name, c.name)
				continue
			}
			h := text(elements(sec, tag("h2"))[0])
			if !strings.Contains(h, " "+want+":") || !strings.Contains(h, c.name) || !strings.Contains(h, "of "+strconv.Itoa(c.points)+" point") {
				t.Errorf("%s, %s: heading %q, want the state %q, the check and its points", name, c.name, h, want)
			}
			if req := text(sec); !strings.Contains(req, "Requirement: "+c.requirement) {
				t.Errorf("%s, %s: no requirement sentence in %q", name, c.name, req)
			}
		}
		checkLinks(t, path, doc)
	}

	bob := parsePage(t, filepath.Join(dir, "bob", classreport.PageFile))
	sec := byID(bob, "m2-p2p-udp")
	failure := text(elements(sec, func(n *html.Node) bool { return hasClass(n, "failure") })[0])
	for _, want := range []string{"Expected bob on client2 prints /hello/ within 10s", "Got it printed nothing", "Where scenarios/m2-p2p-udp.yaml:12, step expect", "a wait ran out"} {
		if !strings.Contains(failure, want) {
			t.Errorf("bob's m2-p2p-udp failure lacks %q: %q", want, failure)
		}
	}
	if ev := text(elements(sec, func(n *html.Node) bool { return hasClass(n, "evidence") })[0]); ev != "[Server] Your username (bob) is valid. <<< @alice: hi" {
		t.Errorf("bob's evidence = %q", ev)
	}
	var shown string
	for _, li := range elements(sec, tag("li")) {
		if strings.HasPrefix(text(li), "client2.log") {
			if a := elements(li, tag("a"))[0]; attr(a, "href") != "./m2-p2p-udp/client2.log" {
				t.Errorf("client2.log links to %q", attr(a, "href"))
			}
			if pre := elements(li, tag("pre")); len(pre) == 1 {
				shown = rawText(pre[0])
			}
		}
	}
	if !strings.HasPrefix(shown, "### bob on client2") || !strings.HasSuffix(shown, "LAST LINE of bob\n") || !strings.Contains(shown, "bytes not shown: open the file") {
		t.Errorf("bob's client2.log in place: want its first and last lines with what was left out between; got %d bytes:\n%.300s", len(shown), shown)
	}
	if len(shown) > 40<<10 || strings.ContainsAny(shown, "\x1b\r") {
		t.Errorf("bob's client2.log in place: %d bytes (want at most 40 KiB), control characters: %v", len(shown), strings.ContainsAny(shown, "\x1b\r"))
	}
	if got := text(byID(bob, "m1-broadcast")); strings.Contains(got, "Show") {
		t.Errorf("a passed check's transcripts are shown in place: %q", got)
	}

	anna := parsePage(t, filepath.Join(dir, "anna", classreport.PageFile))
	var hrefs []string
	for _, a := range elements(anna, tag("a")) {
		hrefs = append(hrefs, attr(a, "href"))
	}
	for _, want := range []string{"./q2-review.html", "./m2-p2p-udp/captures/chatserver.pcap", "./m2-p2p-udp/webserver.log", "./report.txt", "./report.json", "../index.html"} {
		if !slices.Contains(hrefs, want) {
			t.Errorf("anna's page does not link %s; it links %q", want, hrefs)
		}
	}
	if rerun := text(byID(anna, "m1-broadcast")); !strings.Contains(rerun, "↻ run twice: the first run ran out of time") || strings.Count(rerun, "run twice:") != 1 {
		t.Errorf("anna's m1-broadcast: want the rerun marked once with why: %q", rerun)
	}
}

// TestWrittenFiles: Write writes the class page with its script and
// style, a page per submission and grades.csv, each mode 0644, and no
// temporary file is left.
func TestWrittenFiles(t *testing.T) {
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	files := []string{classreport.PageFile, classreport.ScriptFile, classreport.StyleFile, classreport.GradesFile}
	for _, r := range reports {
		files = append(files, filepath.Join(scenarios.SafeName(r.Submission), classreport.PageFile))
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Error(err)
			continue
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f, st.Mode().Perm())
		}
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("a temporary file is left: %s", path)
		}
		return nil
	})
}

// TestStudentPageShowsMilestone3: a Milestone 3 question's answers are a
// table beside the values read from the captures, each marked right or
// wrong in words, the student's text escaped; m3-captures shows the
// sequence diagram drawn from the captures in place and links them.
func TestStudentPageShowsMilestone3(t *testing.T) {
	dir := t.TempDir()
	capt := filepath.Join(dir, "dana", "m3-captures", scenarios.CaptureFolder)
	mustWrite(t, filepath.Join(capt, "chatserver.pcap"), "pcap")
	mustWrite(t, filepath.Join(capt, scenarios.SequenceDiagram), `<svg xmlns="http://www.w3.org/2000/svg"/>`)
	results := []scenarios.Result{
		{Scenario: "m3-captures", Milestone: scenarios.M3, Requirement: "Task 3.1", MaxPoints: 2, Points: 2, Status: scenarios.Passed, Captures: capt},
		{Scenario: "m3-task-3.2", Milestone: scenarios.M3, Requirement: "Task 3.2", MaxPoints: 3, Points: 1, Status: scenarios.Failed,
			Failure: &scenarios.Failure{Expectation: "all 3 answers right (1 right)", Got: "…"},
			Answers: []scenarios.Answer{
				{Question: "SYN_sequence_number", Given: "1000000000", Where: "lab3.ipynb cell 7", Expected: []int{1000000000}, From: "chatserver.pcap frame 1", Right: true},
				{Question: "SYNACK_sequence_number", Given: "<script>alert(1)</script>", Expected: []int{2000000000}, From: "chatserver.pcap frame 2"},
				{Question: "SYNACK_ACKnowledgement_number", Expected: []int{1000000001}, From: "chatserver.pcap frame 2, = SYN seq + 1"},
			}},
	}
	if err := classreport.Write(dir, []grading.Report{grading.NewReport("dana", results, nil, time.Second)}); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "dana", classreport.PageFile)
	doc := parsePage(t, page)
	tables := elements(byID(doc, "m3-task-3.2"), func(n *html.Node) bool { return hasClass(n, "answers") })
	if len(tables) != 1 {
		t.Fatalf("m3-task-3.2: %d answer tables, want 1", len(tables))
	}
	var rows []string
	for _, tr := range elements(elements(tables[0], tag("tbody"))[0], tag("tr")) {
		rows = append(rows, text(tr))
	}
	want := []string{
		"SYN_sequence_number 1000000000 (lab3.ipynb cell 7) 1000000000 chatserver.pcap frame 1 ✓ right",
		"SYNACK_sequence_number <script>alert(1)</script> 2000000000 chatserver.pcap frame 2 ✗ wrong",
		"SYNACK_ACKnowledgement_number no answer 1000000001 chatserver.pcap frame 2, = SYN seq + 1 ✗ wrong",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("answer rows\n%q\nwant\n%q", rows, want)
	}
	if n := len(elements(doc, tag("script"))); n != 0 {
		t.Errorf("the page has %d script elements: a student's answer became markup", n)
	}
	imgs := elements(byID(doc, "m3-captures"), tag("img"))
	if len(imgs) != 1 || attr(imgs[0], "src") != "./m3-captures/captures/sequence.svg" || attr(imgs[0], "alt") == "" {
		t.Fatalf("m3-captures: images %d, want the sequence diagram with a text alternative", len(imgs))
	}
	var hrefs []string
	for _, a := range elements(byID(doc, "m3-captures"), tag("a")) {
		hrefs = append(hrefs, attr(a, "href"))
	}
	if !slices.Contains(hrefs, "./m3-captures/captures/chatserver.pcap") {
		t.Errorf("m3-captures links %q, want the capture", hrefs)
	}
	checkLinks(t, page, doc)
}
