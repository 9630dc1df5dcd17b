package scenarios

import "testing"

func TestBuiltinScenariosParse(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		t.Logf("%-24s %s %d", sc.Name, sc.Milestone, sc.Points)
	}
}
