package scenarios

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/ntnu-ttm4200/lab3/traffic"
)

// ErrNotPDF is returned, wrapped, for a report that is not a PDF.
var ErrNotPDF = errors.New("not a PDF")

var (
	// pagesCountRE is a page tree node, /Type /Pages with its /Count, in
	// either order; the root's count is the document's page count.
	pagesCountRE = regexp.MustCompile(`/Type\s*/Pages\b[^>]{0,512}?/Count\s+(\d{1,9})|/Count\s+(\d{1,9})[^>]{0,512}?/Type\s*/Pages\b`)
	// pageRE is one page object: /Type /Page, not /Pages.
	pageRE = regexp.MustCompile(`/Type\s*/Page[^A-Za-z0-9]`)
)

// What counting a report's pages may cost, whatever the PDF holds: the
// handout asks for at most two pages, so the counter needs to see a third
// and no more. It inflates at most maxInflated bytes of compressed object
// streams in all, a chunk at a time, and looks at most maxCounts page
// tree nodes: its work is bounded by bytes, not by a clock, so that its
// answer never depends on how busy the machine is.
const (
	maxInflated = 16 << 20
	pdfChunk    = 256 << 10
	maxCounts   = 1024
)

// PDFPages counts the pages of a PDF without rendering it: the largest
// /Count of a page tree node (the root's), or failing that the number of
// /Type /Page objects, in the file and in its compressed object streams.
// It stops once it has seen more than two pages, so a count above 2 may
// be a lower bound; its memory and time are bounded whatever the file.
func PDFPages(data []byte) (int, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\r\n "), []byte("%PDF-")) {
		return 0, fmt.Errorf("report: %w: the file does not start with %%PDF-; export the report as PDF", ErrNotPDF)
	}
	var c pageCounter
	c.scan(data, 0)
	budget := int64(maxInflated)
	buf := make([]byte, pdfChunk)
	for rest := data; !c.enough() && budget > 0; {
		body, after, ok := nextStream(rest)
		if !ok {
			break
		}
		rest = after
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			continue
		}
		// A chunk at a time, each with the last bytes of the one before,
		// so that a page object split between two is still seen.
		var carry []byte
		for !c.enough() && budget > 0 {
			n, err := io.ReadFull(zr, buf[:min(int64(len(buf)), budget)])
			budget -= int64(n)
			if n > 0 {
				chunk := append(carry, buf[:n]...)
				c.scan(chunk, len(carry))
				carry = append(carry[:0], chunk[max(0, len(chunk)-64):]...)
			}
			if err != nil {
				break
			}
		}
	}
	if c.count > 0 {
		return c.count, nil
	}
	if c.objects > 0 {
		return c.objects, nil
	}
	return 0, fmt.Errorf("report: %w: no pages found; export the report as PDF again", ErrNotPDF)
}

// pageCounter keeps what PDFPages has seen so far.
type pageCounter struct {
	count, objects, counts int
}

// enough reports whether counting can stop: more than two pages seen.
func (c *pageCounter) enough() bool { return c.count > 2 || c.objects > 2 }

// scan counts the page tree nodes and page objects of b that end past
// b[from:] (b[:from] was scanned already, as the end of the chunk before).
func (c *pageCounter) scan(b []byte, from int) {
	if !bytes.Contains(b, []byte("/Page")) {
		return
	}
	for _, m := range pagesCountRE.FindAllSubmatch(b, maxCounts-c.counts) {
		c.counts++
		v := m[1]
		if len(v) == 0 {
			v = m[2]
		}
		if n, err := strconv.Atoi(string(v)); err == nil && n > c.count {
			c.count = n
		}
	}
	for rest, off := b, 0; c.objects <= 2; {
		m := pageRE.FindIndex(rest)
		if m == nil {
			break
		}
		if off+m[1] > from {
			c.objects++
		}
		rest, off = rest[m[1]:], off+m[1]
	}
}

// nextStream finds the next "stream … endstream" in b and returns its
// body and what follows it.
func nextStream(b []byte) (body, rest []byte, ok bool) {
	for {
		i := bytes.Index(b, []byte("stream"))
		if i < 0 {
			return nil, nil, false
		}
		after := b[i+len("stream"):]
		// "endstream" holds "stream" too: a body starts only after an end
		// of line.
		if i >= 3 && bytes.Equal(b[i-3:i], []byte("end")) || len(after) == 0 || after[0] != '\n' && after[0] != '\r' {
			b = after
			continue
		}
		after = bytes.TrimPrefix(bytes.TrimPrefix(after, []byte("\r")), []byte("\n"))
		j := bytes.Index(after, []byte("endstream"))
		if j < 0 {
			return after, nil, true
		}
		return after[:j], after[j+len("endstream"):], true
	}
}

// q2Points are the points the handout asks the report to address.
var q2Points = []string{
	"How hostnames and addresses get resolved.",
	"How TCP and UDP sockets are created (protocol family, type of service) and associated with addresses.",
	"How a server socket handles multiple incoming connections.",
	"The difference between connection-oriented and connectionless.",
	"A sequence diagram of all packet transactions between the clients and the server (one diagram only) when a new client connects and sends one direct message.",
	"If the Delivery Q1 code is not working: why, and how they tried to fix it.",
	"Specific to their application, not a generic explanation; fewer than two pages including the diagram.",
}

var reviewTmpl = template.Must(template.New("review").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Delivery Q2 review: {{.Submission}}</title>
<style>
body { font-family: sans-serif; margin: 1em; }
.cols { display: flex; gap: 1em; align-items: flex-start; }
.col { flex: 1; min-width: 0; }
object, img { width: 100%; border: 1px solid #ccc; }
object { height: 90vh; }
pre { white-space: pre-wrap; font-size: 11px; background: #f6f6f6; padding: .5em; }
li { margin: .3em 0; }
</style></head><body>
<h1>Delivery Q2 review: {{.Submission}}</h1>
<p>Grade the report by hand: tick what it addresses, and compare its sequence
diagram with the one drawn from the student's own captures.</p>
<h2>Checklist (the handout's points)</h2>
<ul>{{range .Points}}
<li><label><input type="checkbox"> {{.}}</label></li>{{end}}
</ul>
<div class="cols">
<div class="col"><h2>The student's report{{if .Report}}: {{.Report}}{{end}}</h2>
{{if .PDF}}<object data="{{.PDF}}" type="application/pdf"><a href="{{.PDF}}">{{.PDF}}</a></object>{{else}}<p><strong>No PDF report in the submission.</strong></p>{{end}}
</div>
<div class="col"><h2>Diagram from the student's captures</h2>
{{if .SVG}}<img src="{{.SVG}}" alt="sequence diagram from the captures">
<details><summary>Mermaid</summary><pre>{{.Mermaid}}</pre></details>{{else}}<p><strong>No diagram: {{.NoDiagram}}</strong></p>{{end}}
</div></div>
</body></html>
`))

// Files of the review sheet, in the submission's results folder.
const (
	ReviewSheet   = "q2-review.html"
	reviewPDF     = "q2-report.pdf"
	reviewSVG     = "q2-diagram.svg"
	reviewMermaid = "q2-diagram.mmd"
)

// writeReviewSheet writes the TA's review sheet into dir: the student's
// report beside the diagram drawn from their captures, and the handout's
// points as a checklist; each file through writeFile (fileGrader.write:
// grading's atomic writer when it gives one). It returns the sheet's path.
func writeReviewSheet(dir, submission, report string, pdf []byte, d *traffic.Diagram,
	writeFile func(path string, data []byte) error) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("review sheet: %w", err)
	}
	data := struct {
		Submission, Report, PDF, SVG, Mermaid, NoDiagram string
		Points                                           []string
	}{Submission: submission, Report: report, Points: q2Points, NoDiagram: "the captures are missing or show no such exchange"}
	write := func(name string, b []byte) error {
		if err := writeFile(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("review sheet: %w", err)
		}
		return nil
	}
	for _, stale := range []string{reviewPDF, reviewSVG, reviewMermaid} {
		_ = os.Remove(filepath.Join(dir, stale))
	}
	if len(pdf) > 0 {
		if err := write(reviewPDF, pdf); err != nil {
			return "", err
		}
		data.PDF = reviewPDF
	}
	if d != nil {
		if err := write(reviewSVG, d.SVG()); err != nil {
			return "", err
		}
		data.Mermaid = d.Mermaid()
		if err := write(reviewMermaid, []byte(data.Mermaid)); err != nil {
			return "", err
		}
		data.SVG = reviewSVG
	}
	var b bytes.Buffer
	if err := reviewTmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("review sheet: %w", err)
	}
	path := filepath.Join(dir, ReviewSheet)
	return path, write(ReviewSheet, b.Bytes())
}
