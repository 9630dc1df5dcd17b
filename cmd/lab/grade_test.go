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
	}{
		{"same name twice", []string{"grade", "../../testdata/handout", "../../testdata/handout"}, "lab: ../../testdata/handout and ../../testdata/handout would share the results folder"},
		{"parallel zero", []string{"grade", "--parallel", "0", empty}, "lab: --parallel 0: must be at least 1"},
		{"gradescope with two", []string{"grade", "--gradescope", "x.json", empty, empty}, "lab: --gradescope writes one submission's results.json"},
		{"missing folder", []string{"grade", filepath.Join(empty, "nope")}, "lab: "},
		{"file, not folder", []string{"grade", notDir}, "lab: "},
		{"empty folder", []string{"grade", empty}, "lab: "},
		{"missing reference binaries", []string{"grade", "--bin", empty}, "lab: reference binaries: "},
		{"bad scenarios folder", []string{"grade", "--scenarios", filepath.Join(empty, "nope"), "--bin", empty}, "lab: "},
		{"--only matches nothing", []string{"grade", "--only", "^zz", "--capture"}, `lab: --only "^zz" matches no scenario name: names are like m1-broadcast`},
		{"--only not a regexp", []string{"grade", "--only", "m1-(", "--bin", empty}, `lab: --only "m1-(": not a regular expression: `},
		{"--only before the submissions", []string{"grade", "--only", "^zz", filepath.Join(empty, "nope")}, `lab: --only "^zz" matches no scenario name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLab(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
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
