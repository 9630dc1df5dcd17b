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
	pagesCountRE = regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b`)
	// pageRE is one page object: /Type /Page, not /Pages.
	pageRE   = regexp.MustCompile(`/Type\s*/Page(?:[^A-Za-z0-9]|$)`)
	streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\n?endstream`)
)

// maxInflated bounds how much the page counter inflates from a PDF's
// compressed object streams, so that a zip bomb costs nothing.
const maxInflated = 64 << 20

// PDFPages counts the pages of a PDF without rendering it: the largest
// /Count of a page tree node (the root's), or failing that the number of
// /Type /Page objects, in the file and in its compressed object streams.
func PDFPages(data []byte) (int, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\r\n "), []byte("%PDF-")) {
		return 0, fmt.Errorf("report: %w: the file does not start with %%PDF-; export the report as PDF", ErrNotPDF)
	}
	bodies := [][]byte{data}
	budget := int64(maxInflated)
	for _, m := range streamRE.FindAllSubmatch(data, -1) {
		if budget <= 0 {
			break
		}
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(zr, budget))
		budget -= int64(len(b))
		if bytes.Contains(b, []byte("/Page")) {
			bodies = append(bodies, b)
		}
	}
	count, objects := 0, 0
	for _, b := range bodies {
		for _, m := range pagesCountRE.FindAllSubmatch(b, -1) {
			v := m[1]
			if len(v) == 0 {
				v = m[2]
			}
			if n, err := strconv.Atoi(string(v)); err == nil && n > count {
				count = n
			}
		}
		objects += len(pageRE.FindAll(b, -1))
	}
	if count > 0 {
		return count, nil
	}
	if objects > 0 {
		return objects, nil
	}
	return 0, fmt.Errorf("report: %w: no pages found; export the report as PDF again", ErrNotPDF)
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
// points as a checklist; each file through writeFile when it is not nil
// (grading's atomic writer). It returns the sheet's path.
func writeReviewSheet(dir, submission, report string, pdf []byte, d *traffic.Diagram,
	writeFile func(path string, perm os.FileMode, write func(io.Writer) error) error) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("review sheet: %w", err)
	}
	data := struct {
		Submission, Report, PDF, SVG, Mermaid, NoDiagram string
		Points                                           []string
	}{Submission: submission, Report: report, Points: q2Points, NoDiagram: "the captures are missing or show no such exchange"}
	write := func(name string, b []byte) error {
		var err error
		if writeFile != nil {
			err = writeFile(filepath.Join(dir, name), 0o644, func(w io.Writer) error {
				_, err := w.Write(b)
				return err
			})
		} else {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
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
