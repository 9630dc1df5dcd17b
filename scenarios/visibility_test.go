package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// scenarioWith is a valid scenario file with extra top-level lines after
// its requirement.
func scenarioWith(extra string) string {
	return "name: t\nmilestone: M1\npoints: 2\nrequirement: quoted\n" + extra +
		"steps:\n  - start: {proc: server, host: webserver, role: server}\n"
}

func TestParseVisibility(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Visibility
	}{
		{"default", "", Visible},
		{"visible", "visibility: visible\n", Visible},
		{"hidden", "visibility: hidden\n", Hidden},
		{"after the due date", "visibility: after_due_date\n", AfterDueDate},
		{"after publishing", "visibility: after_published\n", AfterPublished},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(scenarioWith(tc.line)))
			if err != nil {
				t.Fatal(err)
			}
			if sc.Visibility != tc.want {
				t.Errorf("visibility = %q, want %q", sc.Visibility, tc.want)
			}
		})
	}
}

func TestParseVisibilityErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string // the whole error
	}{
		{"unknown word", "visibility: secret\n",
			`t.yaml:5: visibility "secret": want visible, hidden, after_due_date or after_published`},
		{"Gradescope's words only", "visibility: Hidden\n",
			`t.yaml:5: visibility "Hidden": want visible, hidden, after_due_date or after_published`},
		{"empty", "visibility: ''\n",
			`t.yaml:5: visibility "": want visible, hidden, after_due_date or after_published`},
		{"a list", "visibility: [hidden]\n",
			`t.yaml:5: scenario: visibility must be a string`},
		{"given twice", "visibility: hidden\nvisibility: visible\n",
			`t.yaml:6: scenario: field "visibility" given twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(scenarioWith(tc.line)))
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidScenario) {
				t.Errorf("%v is not ErrInvalidScenario", err)
			}
		})
	}
}

func TestBuiltinScenariosHaveAVisibility(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		switch sc.Visibility {
		case Visible, Hidden, AfterDueDate, AfterPublished:
		default:
			t.Errorf("%s: visibility %q", sc.Name, sc.Visibility)
		}
	}
}

func TestVisibilitiesOf(t *testing.T) {
	v := VisibilitiesOf([]Scenario{
		{Name: "a", Visibility: Hidden},
		{Name: "b", Visibility: Visible},
		{Name: "c"},
		{Name: "d", Visibility: AfterPublished},
	})
	for check, want := range map[string]Visibility{"a": Hidden, "b": Visible, "c": Visible, "d": AfterPublished, "m3-captures": Visible} {
		if got := v.Of(check); got != want {
			t.Errorf("Of(%q) = %q, want %q", check, got, want)
		}
	}
	if got := Visibilities(nil).Of("a"); got != Visible {
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
	vis := Visibilities{"m1-broadcast": Hidden, "m2-p2p": AfterPublished, "robust-silent-client": AfterDueDate}
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
	r := NewReport("t", []Result{{Scenario: "q2-report-review", Milestone: Q2, Requirement: "the report", MaxPoints: 10,
		Status: NeedsTA, Review: "results/t/q2-review.html", Duration: time.Millisecond}}, nil, time.Second)
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
	res := Result{Scenario: "m1-no-echo", Milestone: M1, Requirement: "no *echo* | ever", Required: true, MaxPoints: 1, Status: Failed,
		Failure: &Failure{File: "f.yaml", Line: 3, Step: StepAbsent, Expectation: "no `x`", Got: "printed ``` and <b>",
			Evidence: []Evidence{{Proc: "a", Host: "client1", Lines: []string{"```", "<script>alert(1)</script> | # _x_"}}}}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, []Report{NewReport("te|am", []Result{res}, nil, 0)}); err != nil {
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
