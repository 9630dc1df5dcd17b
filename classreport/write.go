package classreport

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ntnu-ttm4200/lab3/grading"
)

// The files Write writes into the results folder.
const (
	PageFile   = "index.html" // the class page; each submission's page in its folder
	GradesFile = "grades.csv" // the gradebook
	ScriptFile = "report.js"  // the class page's sorting and filtering
	StyleFile  = "report.css" // the pages' style
)

// extraFiles are the class files grading writes beside the class page,
// linked from it when they are there.
var extraFiles = []string{"summary.csv", "summary.json", "grade.log"}

//go:embed assets
var assets embed.FS

var (
	funcs = template.FuncMap{
		"inc":   func(n int) int { return n + 1 },
		"lower": strings.ToLower,
		"join":  func(ss []string) string { return strings.Join(ss, " ") },
	}
	classTmpl   = template.Must(template.New("class.html.tmpl").Funcs(funcs).ParseFS(assets, "assets/class.html.tmpl"))
	studentTmpl = template.Must(template.New("student.html.tmpl").Funcs(funcs).ParseFS(assets, "assets/student.html.tmpl"))
)

// Option configures Write.
type Option func(*config)

type config struct {
	roster      *Roster
	scoreColumn string
}

// WithRoster makes grades.csv one row per student of the roster, led by
// the roster's columns, for a gradebook import.
func WithRoster(r *Roster) Option {
	return func(c *config) { c.roster = r }
}

// WithScoreColumn names grades.csv's total column (default "total"), e.g.
// as the gradebook's export names the assignment: "Lab 3 (123456)".
func WithScoreColumn(name string) Option {
	return func(c *config) {
		if name != "" {
			c.scoreColumn = name
		}
	}
}

// Write writes the class report of a results folder into dir: the class
// page (index.html, with report.css and report.js), each submission's page
// (dir/<submission>/index.html) and the gradebook (grades.csv). Each file is
// written atomically (grading.WriteFile), mode 0644; the class page and
// grades.csv last, so that what they link to is there. Transcripts,
// captures and review sheets are linked where grading left them in dir.
func Write(dir string, reports []grading.Report, opts ...Option) error {
	cfg := &config{scoreColumn: colTotal}
	for _, o := range opts {
		o(cfg)
	}
	c := newClass(dir, reports)
	for _, name := range extraFiles {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
			c.Extra = append(c.Extra, fileLink{Name: name, Href: name})
		}
	}
	var page, grades bytes.Buffer
	if err := classTmpl.Execute(&page, c); err != nil {
		return fmt.Errorf("class page: %w", err)
	}
	if err := writeGrades(&grades, c, cfg); err != nil {
		return fmt.Errorf("%s: %w", GradesFile, err)
	}
	for _, name := range []string{StyleFile, ScriptFile} {
		data, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return err
		}
		if err := writeBytes(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	for _, w := range c.Rows {
		if err := writeStudentPage(dir, c, w); err != nil {
			return err
		}
	}
	if err := writeBytes(filepath.Join(dir, PageFile), page.Bytes()); err != nil {
		return err
	}
	return writeBytes(filepath.Join(dir, GradesFile), grades.Bytes())
}

// writeStudentPage writes dir/<submission>/index.html.
func writeStudentPage(dir string, c *class, w *row) error {
	sub := filepath.Join(dir, w.Dir)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return fmt.Errorf("page of %s: %w", w.Dir, err)
	}
	p := newStudentPage(dir, c, w)
	return writeFile(filepath.Join(sub, PageFile), func(out io.Writer) error { return studentTmpl.Execute(out, p) })
}

func writeBytes(path string, data []byte) error {
	return writeFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := grading.WriteFile(path, 0o644, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
