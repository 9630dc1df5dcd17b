package classreport_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestHostileSubmissionIsText: what a submission controls (its name, its
// output, its evidence, notes, the names of files in its folder) lands in
// the pages as text: no element, attribute or link of its making, no
// terminal sequence nor ESC byte in any file the report writes, no
// formula in grades.csv.
func TestHostileSubmissionIsText(t *testing.T) {
	dir, reports := gradedClass(t)
	if err := classreport.Write(dir, reports); err != nil {
		t.Fatal(err)
	}
	written := []string{classreport.PageFile, classreport.GradesFile, classreport.ScriptFile, classreport.StyleFile}
	for _, r := range reports {
		written = append(written, filepath.Join(scenarios.SafeName(r.Submission), classreport.PageFile))
	}
	for _, f := range written {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.IndexByte(b, 0x1b); i >= 0 {
			t.Errorf("%s: an ESC byte at %d: %q", f, i, b[max(0, i-40):min(len(b), i+40)])
		}
		for _, bad := range []string{"\u202e", "\u0007", "\r", "<script>alert", "<img"} {
			if strings.Contains(string(b), bad) && (strings.HasSuffix(f, ".html") || !strings.HasPrefix(bad, "<")) {
				t.Errorf("%s holds %q", f, bad)
			}
		}
		if !strings.HasSuffix(f, ".html") {
			continue
		}
		doc := parsePage(t, filepath.Join(dir, f))
		for _, n := range elements(doc, func(*html.Node) bool { return true }) {
			switch n.Data {
			case "script":
				if f != classreport.PageFile || attr(n, "src") != classreport.ScriptFile {
					t.Errorf("%s: a script element (src %q)", f, attr(n, "src"))
				}
			case "form":
				// The TA's form of a check that needs a TA, and no other:
				// it posts only to lab report --serve's ta-scores.
				if f == classreport.PageFile || attr(n, "class") != "ta" || attr(n, "action") != "../ta-scores" || attr(n, "method") != "post" {
					t.Errorf("%s: a form element (action %q)", f, attr(n, "action"))
				}
			case "img", "iframe", "object", "embed", "style", "svg", "base":
				t.Errorf("%s: a %s element", f, n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" || a.Key == "src" && n.Data != "script" {
					t.Errorf("%s: <%s %s=%q>", f, n.Data, a.Key, a.Val)
				}
			}
		}
		checkLinks(t, filepath.Join(dir, f), doc)
	}

	// The hostile submission shows as the text it is.
	class := parsePage(t, filepath.Join(dir, classreport.PageFile))
	if rows := readClassTable(t, class).rows; rows[0] != hostileShown {
		t.Errorf("the hostile submission's row is %q, want the text %q", rows[0], hostileShown)
	}
	page := parsePage(t, filepath.Join(dir, scenarios.SafeName(hostileName), classreport.PageFile))
	if got := text(elements(page, tag("h1"))[0]); got != hostileShown {
		t.Errorf("its page's heading is %q, want %q", got, hostileShown)
	}
	sec := byID(page, "m1-broadcast")
	if got := text(sec); !strings.Contains(got, "Got "+hostileText) || !strings.Contains(got, "Note: note "+hostileText) || !strings.Contains(got, "Last lines of server on webserver") {
		t.Errorf("its m1-broadcast does not show what it printed as text:\n%s", got)
	}
	if ev := rawText(elements(sec, func(n *html.Node) bool { return hasClass(n, "evidence") })[0]); ev != hostileText+"\ntail\n" {
		t.Errorf("its evidence = %q, want %q", ev, hostileText+"\ntail\n")
	}
	var logs []string
	for _, pre := range elements(sec, func(n *html.Node) bool { return hasClass(n, "transcript") }) {
		logs = append(logs, rawText(pre))
	}
	if want := []string{"<script>alert(6)</script>\n", "### server\n" + hostileText + "\nevil\n"}; strings.Join(logs, "|") != strings.Join(want, "|") {
		t.Errorf("its transcripts in place = %q, want %q", logs, want)
	}
	// Its files, named as markup and terminal sequences, are linked by
	// escaped names that stay in its folder.
	var files []string
	for _, a := range elements(byID(page, "page-files"), tag("a")) {
		files = append(files, text(a)+" -> "+attr(a, "href"))
	}
	for _, want := range []string{
		`"><img src=x onerror=alert(4)>.txt -> ./%22%3E%3Cimg%20src=x%20onerror=alert%284%29%3E.txt`,
		"javascript:alert(5) -> ./javascript%3Aalert%285%29",
		"name with break.log -> ./%1B%5D52%3Bc%3BaGk=%07name%0Awith%20break.log",
	} {
		if !strings.Contains(strings.Join(files, "\n"), want) {
			t.Errorf("its files lack %q:\n%s", want, strings.Join(files, "\n"))
		}
	}
}
