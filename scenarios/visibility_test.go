package scenarios

import (
	"errors"
	"testing"
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
