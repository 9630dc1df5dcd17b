package grading

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

func TestVisibilitiesOf(t *testing.T) {
	v := VisibilitiesOf([]scenarios.Scenario{
		{Name: "a", Visibility: scenarios.Hidden},
		{Name: "b", Visibility: scenarios.Visible},
		{Name: "c"},
		{Name: "d", Visibility: scenarios.AfterPublished},
	})
	for check, want := range map[string]scenarios.Visibility{"a": scenarios.Hidden, "b": scenarios.Visible, "c": scenarios.Visible, "d": scenarios.AfterPublished, "m3-captures": scenarios.Visible} {
		if got := v.Of(check); got != want {
			t.Errorf("Of(%q) = %q, want %q", check, got, want)
		}
	}
	if got := Visibilities(nil).Of("a"); got != scenarios.Visible {
		t.Errorf("nil Visibilities: Of = %q, want visible", got)
	}
}

// gradescopeFile is results.json as Gradescope reads it.
type gradescopeFile struct {
	Score            *float64 `json:"score"`
	ExecutionTime    *float64 `json:"execution_time"`
	Output           string   `json:"output"`
	OutputFormat     string   `json:"output_format"`
	StdoutVisibility string   `json:"stdout_visibility"`
	Tests            []struct {
		Number       string   `json:"number"`
		Name         string   `json:"name"`
		NameFormat   string   `json:"name_format"`
		Score        *float64 `json:"score"`
		MaxScore     *float64 `json:"max_score"`
		Status       string   `json:"status"`
		Output       string   `json:"output"`
		OutputFormat string   `json:"output_format"`
		Tags         []string `json:"tags"`
		Visibility   string   `json:"visibility"`
	} `json:"tests"`
}

func readGradescope(t *testing.T, r Report, opts ...GradescopeOption) gradescopeFile {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteGradescope(&b, opts...); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	var g gradescopeFile
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	return g
}

// TestGradescopeFormat checks every field of results.json against
// Gradescope's specification, check by check.
func TestGradescopeFormat(t *testing.T) {
	vis := Visibilities{"m1-broadcast": scenarios.Hidden, "m2-p2p": scenarios.AfterPublished, "robust-silent-client": scenarios.AfterDueDate}
	g := readGradescope(t, sampleReport(), WithVisibilities(vis))
	if g.Score == nil || *g.Score != 1 || g.ExecutionTime == nil || *g.ExecutionTime != 13.5 {
		t.Errorf("score %v execution_time %v, want 1 and 13.5", g.Score, g.ExecutionTime)
	}
	if g.OutputFormat != "md" || g.StdoutVisibility != "hidden" {
		t.Errorf("output_format %q stdout_visibility %q, want md and hidden", g.OutputFormat, g.StdoutVisibility)
	}
	want := []struct {
		number, name, status, visibility string
		score, max                       float64
		tags                             string
	}{
		{"DNS.1", "dns-resolve", "passed", "visible", 1, 1, "DNS required"},
		{"M1.1", "m1-broadcast", "failed", "hidden", 0, 3, "M1 required"},
		{"M2.1", "m2-p2p", "failed", "after_published", 0, 0, "M2 required"}, // not run: no points at stake
		{"M1.2", "robust-silent-client", "failed", "after_due_date", 0, 0, "M1 optional"},
	}
	if len(g.Tests) != len(want) {
		t.Fatalf("%d tests, want %d", len(g.Tests), len(want))
	}
	for i, w := range want {
		got := g.Tests[i]
		t.Run(w.name, func(t *testing.T) {
			if got.Number != w.number || got.Name != w.name || got.Status != w.status || got.Visibility != w.visibility {
				t.Errorf("number %q name %q status %q visibility %q, want %q %q %q %q",
					got.Number, got.Name, got.Status, got.Visibility, w.number, w.name, w.status, w.visibility)
			}
			if got.Score == nil || got.MaxScore == nil || *got.Score != w.score || *got.MaxScore != w.max {
				t.Errorf("score %v/%v, want %v/%v", got.Score, got.MaxScore, w.score, w.max)
			}
			if strings.Join(got.Tags, " ") != w.tags {
				t.Errorf("tags %q, want %q", got.Tags, w.tags)
			}
			if got.NameFormat != "text" || got.OutputFormat != "text" || got.Output == "" {
				t.Errorf("name_format %q output_format %q output %q", got.NameFormat, got.OutputFormat, got.Output)
			}
		})
	}
	// The top-level output is shown to students whatever a test's
	// visibility: it must name no check they may not see yet.
	for _, name := range []string{"m1-broadcast", "m2-p2p", "robust-silent-client", "hello from alice"} {
		if strings.Contains(g.Output, name) {
			t.Errorf("top-level output mentions %q, which is not visible:\n%s", name, g.Output)
		}
	}
	for _, line := range []string{"| DNS.1 | dns-resolve | 1/1 | ✅ passed |", "**1/1 points**: all required checks passed",
		"1 more check (3 points) is graded but not shown.", "1 more check (0 points) will be shown after the due date.",
		"1 more check (3 points) will be shown when the grades are published."} {
		if !strings.Contains(g.Output, line) {
			t.Errorf("top-level output lacks %q:\n%s", line, g.Output)
		}
	}
}

func TestGradescopeNeedsTA(t *testing.T) {
	r := NewReport("t", []scenarios.Result{{Scenario: "q2-report-review", Milestone: scenarios.Q2, Requirement: "the report", MaxPoints: 10,
		Status: scenarios.NeedsTA, Review: "results/t/q2-review.html", Duration: time.Millisecond}}, nil, time.Second)
	g := readGradescope(t, r)
	test := g.Tests[0]
	if test.Status != "" || *test.MaxScore != 0 || test.Number != "Q2.1" || test.Name != "q2-report-review (needs a TA)" {
		t.Errorf("test = %+v", test)
	}
	if !strings.Contains(g.Output, "| Q2.1 | q2-report-review | ?/10 | 👀 needs a TA |") || !strings.Contains(g.Output, "10 more points await a TA") {
		t.Errorf("output:\n%s", g.Output)
	}
}

func TestMarkdownQuotesStudentOutput(t *testing.T) {
	res := scenarios.Result{Scenario: "m1-no-echo", Milestone: scenarios.M1, Requirement: "no *echo* | ever", Required: true, MaxPoints: 1, Status: scenarios.Failed,
		Failure: &scenarios.Failure{File: "f.yaml", Line: 3, Step: scenarios.StepAbsent, Expectation: "no `x`", Got: "printed ``` and <b>",
			Evidence: []scenarios.Evidence{{Proc: "a", Host: "client1", Lines: []string{"```", "<script>alert(1)</script> | # _x_"}}}}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, []Report{NewReport("te|am", []scenarios.Result{res}, nil, 0)}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### Lab 3: te\\|am",
		"Requirement: no \\*echo\\* \\| ever",
		"- **Expected:** `` no `x` ``",
		"- **Got:** ````printed ``` and <b>````",
		"````text\n```\n<script>alert(1)</script> | # _x_\n````",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
