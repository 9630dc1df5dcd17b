// Package gradescope holds the tests of the Gradescope integration: lab
// grade --gradescope-dir on a staff machine, and the autograder zip that
// publishes its results (README.md).
package gradescope

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeAutograder runs make-autograder.sh on results and unpacks the zip
// as Gradescope does, into root/source; it returns root.
func makeAutograder(t *testing.T, results string) string {
	t.Helper()
	zipPath := filepath.Join(t.TempDir(), "autograder.zip")
	out, err := exec.Command("bash", "make-autograder.sh", results, zipPath).CombinedOutput()
	if err != nil {
		t.Fatalf("make-autograder.sh: %v\n%s", err, out)
	}
	root := t.TempDir()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			t.Fatalf("zip entry %q escapes the folder", f.Name)
		}
		dst := filepath.Join(root, "source", f.Name)
		if f.FileInfo().IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"run_autograder", "setup.sh"} {
		info, err := os.Stat(filepath.Join(root, "source", name))
		if err != nil {
			t.Fatalf("%s is not at the root of the zip: %v", name, err)
		}
		if info.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s is not executable in the zip (%v)", name, info.Mode())
		}
	}
	return root
}

// runAutograder runs the zip's run_autograder for one submission id, as
// Gradescope runs it, and returns the results.json it left.
func runAutograder(t *testing.T, root string, id int) []byte {
	t.Helper()
	meta, _ := json.Marshal(map[string]any{"id": id, "assignment": map[string]any{"id": 7, "title": "Lab 3"}})
	if err := os.WriteFile(filepath.Join(root, "submission_metadata.json"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(root, "results"))
	cmd := exec.Command(filepath.Join(root, "source", "run_autograder"))
	cmd.Env = append(os.Environ(), "AUTOGRADER_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run_autograder: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(root, "results", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got) {
		t.Fatalf("results.json is not JSON:\n%s", got)
	}
	return got
}

func TestPublish(t *testing.T) {
	results := t.TempDir()
	staff := map[string]string{
		"submission_101": `{"score": 40, "output": "a", "output_format": "md", "tests": []}` + "\n",
		"submission_102": `{"score": 12, "output": "b", "output_format": "md", "tests": []}` + "\n",
	}
	for dir, body := range staff {
		if err := os.MkdirAll(filepath.Join(results, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(results, dir, "results.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := makeAutograder(t, results)
	tests := []struct {
		name string
		id   int
		want string // the results.json, or "" for the not-graded-yet one
	}{
		{"graded", 101, staff["submission_101"]},
		{"another", 102, staff["submission_102"]},
		{"submitted after the export", 555, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runAutograder(t, root, tc.id)
			if tc.want != "" {
				if string(got) != tc.want {
					t.Errorf("results.json:\n%s\nwant the staff's:\n%s", got, tc.want)
				}
				return
			}
			var g struct {
				Score        *float64 `json:"score"`
				Output       string   `json:"output"`
				OutputFormat string   `json:"output_format"`
				Tests        []any    `json:"tests"`
			}
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if g.Score == nil || *g.Score != 0 || g.OutputFormat != "md" || !strings.Contains(g.Output, "Not graded yet") || g.Tests == nil {
				t.Errorf("placeholder results.json: %s", got)
			}
		})
	}
}

func TestMakeAutograderWithoutResults(t *testing.T) {
	out, err := exec.Command("bash", "make-autograder.sh", t.TempDir(), filepath.Join(t.TempDir(), "a.zip")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "run lab grade --gradescope-dir") {
		t.Errorf("make-autograder.sh on an empty folder: %v\n%s", err, out)
	}
}
