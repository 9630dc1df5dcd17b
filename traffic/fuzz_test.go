package traffic

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// FuzzCaptures feeds arbitrary bytes to Analyze and Sequence as a capture
// file: they must answer or fail with a one-line error, never panic.
func FuzzCaptures(f *testing.F) {
	for _, name := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "dnsserver.pcap"} {
		data, err := os.ReadFile(filepath.Join("testdata", "sample", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("not a capture"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.pcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := Analyze(ctx, []string{path}, topology.Default()); err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("analyze error is not one line: %q", err)
		}
		d, err := Sequence(ctx, []string{path}, topology.Default(), WithFrom(Bound{Kind: BoundOffset}))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("diagram error is not one line: %q", err)
			}
			return
		}
		_ = d.Mermaid()
		_ = d.SVG()
	})
}

// FuzzParseBound checks that any --from/--to value parses or fails cleanly
// and that what parses prints back to the same bound.
func FuzzParseBound(f *testing.F) {
	for _, s := range []string{"2026-11-25T19:00:00Z", "12.5s", "+3", "client1.pcap:17", "17", "", ":", "a:b:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBound(s)
		if err != nil {
			return
		}
		again, err := ParseBound(b.String())
		if err != nil || again.Kind != b.Kind || again.File != b.File || again.Frame != b.Frame || !again.Time.Equal(b.Time) {
			t.Errorf("ParseBound(%q) = %+v prints as %q, which parses to %+v, %v", s, b, b.String(), again, err)
		}
	})
}
