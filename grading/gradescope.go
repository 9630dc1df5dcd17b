package grading

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// Visibilities says when Gradescope shows each check to students, by check
// name. A check it does not name (a file check of Milestone 3, a scenario
// without visibility:) is Visible.
type Visibilities map[string]scenarios.Visibility

// VisibilitiesOf collects the visibility: of each scenario.
func VisibilitiesOf(scs []scenarios.Scenario) Visibilities {
	v := Visibilities{}
	for _, sc := range scs {
		if sc.Visibility != "" && sc.Visibility != scenarios.Visible {
			v[sc.Name] = sc.Visibility
		}
	}
	return v
}

// Of is the visibility of one check.
func (v Visibilities) Of(check string) scenarios.Visibility {
	if vis, ok := v[check]; ok {
		return vis
	}
	return scenarios.Visible
}

// GradescopeOption configures WriteGradescope.
type GradescopeOption func(*gradescopeConfig)

type gradescopeConfig struct {
	vis Visibilities
}

// WithVisibilities gives each check its Gradescope visibility, usually
// VisibilitiesOf(the graded scenarios). Without it every check is visible.
func WithVisibilities(v Visibilities) GradescopeOption {
	return func(c *gradescopeConfig) { c.vis = v }
}

// gradescopeResults is the results.json format of Gradescope's autograder
// specification (gradescope-autograders.readthedocs.io, "Autograder
// Specifications").
type gradescopeResults struct {
	Score            int              `json:"score"`
	ExecutionTime    float64          `json:"execution_time"`
	Output           string           `json:"output"`
	OutputFormat     string           `json:"output_format"`
	StdoutVisibility string           `json:"stdout_visibility"`
	Tests            []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Number       string               `json:"number"`
	Name         string               `json:"name"`
	NameFormat   string               `json:"name_format"`
	Score        int                  `json:"score"`
	MaxScore     int                  `json:"max_score"`
	Status       string               `json:"status,omitempty"`
	Output       string               `json:"output"`
	OutputFormat string               `json:"output_format"`
	Tags         []string             `json:"tags"`
	Visibility   scenarios.Visibility `json:"visibility"`
}

// WriteGradescope writes one submission's report as Gradescope's
// results.json: a test per check with its number (M1.2), points, status,
// evidence and visibility, and a Markdown summary of the checks students may
// see now as the top-level output.
func (r Report) WriteGradescope(w io.Writer, opts ...GradescopeOption) error {
	var cfg gradescopeConfig
	for _, o := range opts {
		o(&cfg)
	}
	g := gradescopeResults{
		Score: r.Score, ExecutionTime: roundSeconds(r.Duration),
		OutputFormat: "md", StdoutVisibility: string(scenarios.Hidden), Tests: []gradescopeTest{},
	}
	var out strings.Builder
	if err := r.writeMarkdown(&out, cfg.vis, true); err != nil {
		return err
	}
	g.Output = out.String()
	numbers := checkNumbers(r.Results)
	for i, res := range r.Results {
		t := gradescopeTest{
			Number: numbers[i], Name: res.Scenario, NameFormat: "text",
			Score: res.Points, MaxScore: res.MaxPoints, Status: "passed",
			Output: res.Requirement, OutputFormat: "text",
			Tags:       []string{string(res.Milestone), map[bool]string{true: "required", false: "optional"}[res.Required]},
			Visibility: cfg.vis.Of(res.Scenario),
		}
		switch res.Status {
		case scenarios.Passed:
			if len(res.Notes) > 0 {
				t.Output += "\n" + strings.Join(res.Notes, "\n")
			}
		case scenarios.NeedsTA:
			if res.TA != nil {
				t.Name += " (graded by a TA)"
				t.Output = taText(res)
				break
			}
			// Not graded yet: no status, so Gradescope shows it neither
			// passed nor failed; the points come from the TA's review.
			t.Name += " (needs a TA)"
			t.Status, t.MaxScore = "", 0
			t.Output = "needs a TA: not graded automatically; a TA grades it by hand.\n" + reviewText(res)
		case scenarios.Error:
			// Not graded: no points lost; staff regrade it.
			t.Status, t.MaxScore = "failed", 0
			t.Output = "not graded (the lab failed, not your program; staff will grade it again): " + failureText(res)
		default:
			t.Status = "failed"
			t.Output = failureText(res)
		}
		g.Tests = append(g.Tests, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // output is Markdown and evidence, read by people
	return enc.Encode(g)
}

// checkNumbers numbers the results within their milestone, in report
// order: DNS.1, M1.1, M1.2, …, M3.1, Q2.1.
func checkNumbers(results []scenarios.Result) []string {
	seen := map[scenarios.Milestone]int{}
	out := make([]string, len(results))
	for i, res := range results {
		seen[res.Milestone]++
		out[i] = fmt.Sprintf("%s.%d", res.Milestone, seen[res.Milestone])
	}
	return out
}
