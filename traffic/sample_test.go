package traffic

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSampleCaptures keeps testdata/sample (the captures the examples and
// the README use) equal to what the generator writes; -update rewrites them.
func TestSampleCaptures(t *testing.T) {
	g := deliveryQ2(t)
	paths, _ := g.write(t.TempDir(), g.labFiles())
	dir := filepath.Join("testdata", "sample")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(p))
		if *update {
			if err := os.WriteFile(dst, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(dst)
		if err != nil {
			t.Fatalf("%v (run go test ./traffic -run TestSampleCaptures -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes; run with -update", dst)
		}
	}
}
