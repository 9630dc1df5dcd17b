// Package github holds the tests of the GitHub Classroom and Actions
// integration: classroom.yml matches the scenarios, and grade.sh, the one
// script it runs, grades a real submission (README.md).
package github

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

var update = flag.Bool("update", false, "rewrite classroom.yml from the scenarios (make classroom)")

// workflowFile is the workflow a student's repository runs, as
// .github/workflows/classroom.yml.
const workflowFile = "classroom.yml"

// gradedStep is one autograding-command-grader step: it awards Points when
// the check passed, or with AtLeast when it scored at least that many.
type gradedStep struct {
	ID, Name, Check string
	AtLeast, Points int
}

// gradedSteps gives every graded check its points. A scenario is all or
// nothing, so it is one step; a file check (Milestone 3, Delivery Q2) may
// give part of its points (Task 3.2 and 3.3 score per answer), so it is one
// step of one point per point. Optional checks are left out: the robust-*
// scenarios give no points and q2-report-review is graded by a TA.
func gradedSteps(scs []scenarios.Scenario, files []scenarios.FileCheck) []gradedStep {
	var out []gradedStep
	for _, sc := range scs {
		if sc.Required && sc.Points > 0 {
			out = append(out, gradedStep{ID: stepID(sc.Name), Name: sc.Name, Check: sc.Name, Points: sc.Points})
		}
	}
	for _, c := range files {
		if !c.Required || c.Points == 0 {
			continue
		}
		if c.Points == 1 {
			out = append(out, gradedStep{ID: stepID(c.Name), Name: c.Name, Check: c.Name, Points: 1})
			continue
		}
		for k := 1; k <= c.Points; k++ {
			out = append(out, gradedStep{ID: fmt.Sprintf("%s-p%d", stepID(c.Name), k),
				Name: fmt.Sprintf("%s point %d of %d", c.Name, k, c.Points), Check: c.Name, AtLeast: k, Points: 1})
		}
	}
	return out
}

// stepID makes a check name a step id (letters, digits, - and _).
func stepID(name string) string { return strings.ReplaceAll(name, ".", "-") }

var workflowTemplate = template.Must(template.New("wf").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"total": func(steps []gradedStep) int {
		n := 0
		for _, s := range steps {
			n += s.Points
		}
		return n
	},
}).Parse(`# Lab 3 autograding for a student's repository: copy this file to
# .github/workflows/classroom.yml in the assignment's template repository.
# On every push it builds the lab's images offline on the runner, grades the
# repository with lab grade (integrations/github/grade.sh), puts the table of
# checks and the first failure's evidence in the job summary, uploads the
# JUnit report, and fails when a required check fails. The steps after
# "Grade" give GitHub Classroom each check's points ({{total .}} in all).
#
# Generated from the scenarios by make classroom; do not edit it by hand
# (go test ./integrations/github checks it against the scenarios).
name: Autograding Tests
on:
  push:
  workflow_dispatch:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
env:
  # The toolkit that grades: pin a tag or commit for the term.
  LAB3_REPOSITORY: ntnu-ttm4200/lab3
  LAB3_REF: main
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Check out the submission
        uses: actions/checkout@v4
      - name: Check out the Lab 3 toolkit
        uses: actions/checkout@v4
        with:
          repository: ${{"{{"}} env.LAB3_REPOSITORY {{"}}"}}
          ref: ${{"{{"}} env.LAB3_REF {{"}}"}}
          path: .lab3
      - name: Set up Go
        uses: actions/setup-go@v5
        with:
          go-version-file: .lab3/go.mod
          cache-dependency-path: .lab3/go.sum
      - name: Grade
        id: grade
        run: .lab3/integrations/github/grade.sh .
      - name: Upload the JUnit report and the evidence
        if: ${{"{{"}} !cancelled() {{"}}"}}
        uses: actions/upload-artifact@v4
        with:
          name: lab3-grade
          path: |
            ${{"{{"}} steps.grade.outputs.out {{"}}"}}/junit.xml
            ${{"{{"}} steps.grade.outputs.out {{"}}"}}/summary.md
            ${{"{{"}} steps.grade.outputs.out {{"}}"}}/results
{{- range .}}
      - name: {{.Name}}
        id: {{.ID}}
        if: ${{"{{"}} !cancelled() {{"}}"}}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {{.Name}}
          command: .lab3/integrations/github/grade.sh --check {{.Check}}{{if .AtLeast}} {{.AtLeast}}{{end}}
          timeout: 1
          max-score: {{.Points}}
{{- end}}
      - name: Autograding Reporter
        if: ${{"{{"}} !cancelled() {{"}}"}}
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{{- range .}}
          {{upper .ID}}_RESULTS: "${{"{{"}} steps.{{.ID}}.outputs.result {{"}}"}}"
{{- end}}
        with:
          runners: {{range $i, $s := .}}{{if $i}},{{end}}{{$s.ID}}{{end}}
`))

func renderWorkflow(t *testing.T) []byte {
	t.Helper()
	scs, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := workflowTemplate.Execute(&b, gradedSteps(scs, scenarios.FileChecks())); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestClassroomWorkflow keeps classroom.yml what the scenarios make it;
// make classroom (go test -run TestClassroomWorkflow -update) rewrites it.
func TestClassroomWorkflow(t *testing.T) {
	got := renderWorkflow(t)
	if *update {
		if err := os.WriteFile(workflowFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the scenarios make it: run make classroom and commit it", workflowFile)
	}
}

// workflow is the part of classroom.yml this test reads.
type workflow struct {
	Name string `yaml:"name"`
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			ID   string            `yaml:"id"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T) workflow {
	t.Helper()
	data, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", workflowFile, err)
	}
	return wf
}

var checkCommand = regexp.MustCompile(`^\.lab3/integrations/github/grade\.sh --check ([a-z0-9.-]+)(?: ([0-9]+))?$`)

// TestClassroomPointsMatchScenarios reads classroom.yml as GitHub does and
// checks, independently of the generator, that every graded check gets
// exactly its points, that every step is reported, and that the workflow
// has the name and the one job GitHub Classroom requires.
func TestClassroomPointsMatchScenarios(t *testing.T) {
	wf := readWorkflow(t)
	if wf.Name != "Autograding Tests" {
		t.Errorf("workflow name %q: GitHub Classroom reads only \"Autograding Tests\"", wf.Name)
	}
	job, ok := wf.Jobs["run-autograding-tests"]
	if !ok || len(wf.Jobs) != 1 {
		t.Fatalf("jobs %v: GitHub Classroom wants the one job run-autograding-tests", wf.Jobs)
	}
	scs, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{} // check -> points GitHub Classroom must give
	for _, sc := range scs {
		if sc.Required && sc.Points > 0 {
			want[sc.Name] = sc.Points
		}
	}
	for _, c := range scenarios.FileChecks() {
		if c.Required && c.Points > 0 {
			want[c.Name] = c.Points
		}
	}
	got := map[string]int{}
	levels := map[string][]int{} // a file check's per-point thresholds
	var ids []string
	var reporter map[string]string
	var runners string
	graded := false
	for _, st := range job.Steps {
		switch {
		case st.Run == ".lab3/integrations/github/grade.sh .":
			graded = true
		case strings.HasPrefix(st.Uses, "classroom-resources/autograding-command-grader@"):
			if !graded {
				t.Errorf("step %s comes before the Grade step", st.ID)
			}
			if st.If != "${{ !cancelled() }}" {
				t.Errorf("step %s: if %q, want it to run also after a failed grade", st.ID, st.If)
			}
			m := checkCommand.FindStringSubmatch(st.With["command"])
			if m == nil {
				t.Errorf("step %s: command %q does not run grade.sh --check", st.ID, st.With["command"])
				continue
			}
			points, err := strconv.Atoi(st.With["max-score"])
			if err != nil || points <= 0 {
				t.Errorf("step %s: max-score %q", st.ID, st.With["max-score"])
			}
			got[m[1]] += points
			if m[2] != "" {
				k, _ := strconv.Atoi(m[2])
				levels[m[1]] = append(levels[m[1]], k)
			}
			ids = append(ids, st.ID)
		case strings.HasPrefix(st.Uses, "classroom-resources/autograding-grading-reporter@"):
			reporter, runners = st.Env, st.With["runners"]
		}
	}
	if !graded {
		t.Error("no step runs .lab3/integrations/github/grade.sh .")
	}
	for name, p := range want {
		if got[name] != p {
			t.Errorf("%s: GitHub Classroom gives %d points, the scenarios %d", name, got[name], p)
		}
	}
	for name, p := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %d points in %s, but no graded check has that name", name, p, workflowFile)
		}
	}
	for name, ks := range levels {
		// One point per point scored: thresholds 1..points, each once.
		for i, k := range ks {
			if k != i+1 {
				t.Errorf("%s: thresholds %v, want 1..%d", name, ks, want[name])
				break
			}
		}
	}
	if runners != strings.Join(ids, ",") {
		t.Errorf("reporter runners %q, want every graded step: %q", runners, strings.Join(ids, ","))
	}
	for _, id := range ids {
		key := strings.ToUpper(id) + "_RESULTS"
		if reporter[key] != "${{ steps."+id+".outputs.result }}" {
			t.Errorf("reporter env %s = %q", key, reporter[key])
		}
	}
}
