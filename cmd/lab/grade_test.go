package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGradeBadInputIsOneLineBeforeAnyDial(t *testing.T) {
	// An unreachable engine proves bad input is rejected before any dial.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	empty := t.TempDir()
	notDir := filepath.Join(t.TempDir(), "file.py")
	if err := os.WriteFile(notDir, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
		code int // exitUsage unless set
	}{
		{name: "same name twice", args: []string{"grade", "../../testdata/handout", "../../testdata/handout"}, want: "lab: ../../testdata/handout and ../../testdata/handout would share the results folder"},
		{name: "parallel zero", args: []string{"grade", "--parallel", "0", empty}, want: "lab: --parallel 0: must be at least 1"},
		{name: "gradescope with two", args: []string{"grade", "--gradescope", "x.json", empty, empty}, want: "lab: --gradescope writes one submission's results.json"},
		{name: "missing folder", args: []string{"grade", filepath.Join(empty, "nope")}, want: "lab: "},
		{name: "file, not folder", args: []string{"grade", notDir}, want: "lab: "},
		// A folder refused as a submission is the student's failure (1),
		// not a misuse of lab.
		{name: "empty folder", args: []string{"grade", empty}, want: "lab: bad submission: ", code: exitGradeFailed},
		{name: "missing reference binaries", args: []string{"grade", "--bin", empty}, want: "lab: reference binaries: "},
		{name: "bad scenarios folder", args: []string{"grade", "--scenarios", filepath.Join(empty, "nope"), "--bin", empty}, want: "lab: "},
		{name: "--only matches nothing", args: []string{"grade", "--only", "^zz", "--capture"}, want: `lab: --only "^zz" matches no scenario name: names are like m1-broadcast`},
		{name: "--only not a regexp", args: []string{"grade", "--only", "m1-(", "--bin", empty}, want: `lab: --only "m1-(": not a regular expression: `},
		{name: "--only before the submissions", args: []string{"grade", "--only", "^zz", filepath.Join(empty, "nope")}, want: `lab: --only "^zz" matches no scenario name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLab(t, tc.args...)
			want := tc.code
			if want == 0 {
				want = exitUsage
			}
			if code != want {
				t.Errorf("exit code %d, want %d (stderr %q)", code, want, stderr)
			}
			if !strings.HasPrefix(stderr, tc.want) {
				t.Errorf("stderr = %q, want prefix %q", stderr, tc.want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if strings.Contains(stderr, "Docker engine") {
				t.Errorf("bad input reached the engine: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}
