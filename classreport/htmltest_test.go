package classreport_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// What the tests read of the pages, parsed as a browser parses them.

func parsePage(t *testing.T, path string) *html.Node {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

// elements are n's elements, in document order, that keep says to keep.
func elements(n *html.Node, keep func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && keep(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

// byID is the element with the id, nil if there is none.
func byID(doc *html.Node, id string) *html.Node {
	found := elements(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// inline are the elements whose text runs on with their neighbours'.
var inline = map[string]bool{"a": true, "span": true, "strong": true, "b": true, "em": true, "code": true, "abbr": true}

// text is n's text as a person reads it: its text nodes, a block (a
// cell, a paragraph, a list item) apart from the next, white space folded.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		block := n.Type == html.ElementNode && !inline[n.Data]
		if block {
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			b.WriteString(" ")
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// rawText is n's text as it is, white space kept.
func rawText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// children are n's element children with the tag.
func children(n *html.Node, name string) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == name {
			out = append(out, c)
		}
	}
	return out
}

// checkLinks follows every relative link of the page at path: the file
// must be there and, for a fragment, hold an element with that id. It
// fails on a link with a scheme (javascript:, http:): the pages link only
// into the results folder.
func checkLinks(t *testing.T, path string, doc *html.Node) {
	t.Helper()
	parsed := map[string]*html.Node{}
	for _, n := range elements(doc, func(n *html.Node) bool { return attr(n, "href") != "" || attr(n, "src") != "" }) {
		ref := attr(n, "href") + attr(n, "src")
		u, err := url.Parse(ref)
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Errorf("%s: link %q leaves the results folder (%v)", path, ref, err)
			continue
		}
		target := path
		if u.Path != "" {
			target = filepath.Join(filepath.Dir(path), filepath.FromSlash(u.Path))
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("%s: link %q: %v", path, ref, err)
			continue
		}
		if u.Fragment != "" && strings.HasSuffix(target, ".html") {
			if parsed[target] == nil {
				parsed[target] = parsePage(t, target)
			}
			if byID(parsed[target], u.Fragment) == nil {
				t.Errorf("%s: link %q: %s has no id %q", path, ref, target, u.Fragment)
			}
		}
	}
}
