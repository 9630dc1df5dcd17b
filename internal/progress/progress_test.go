package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTextIsTheMessageAlone(t *testing.T) {
	var plain, attrs bytes.Buffer
	slog.New(NewText(&plain)).Info("dnsserver: created")
	l := slog.New(NewText(&attrs)).With("lab", "lab3").WithGroup("g")
	l.Info("dnsserver: created", "host", "dnsserver", "stage", "create", "elapsed", 2*time.Second)
	const want = "dnsserver: created\n"
	if plain.String() != want {
		t.Errorf("without attributes: %q, want %q", plain.String(), want)
	}
	if attrs.String() != want {
		t.Errorf("with attributes: %q, want %q", attrs.String(), want)
	}
}

func TestTextDropsDebug(t *testing.T) {
	var out bytes.Buffer
	l := slog.New(NewText(&out))
	l.Debug("noise")
	l.Warn("base: removing the root filesystem failed")
	if got := out.String(); got != "base: removing the root filesystem failed\n" {
		t.Errorf("got %q", got)
	}
}

func TestNewJSON(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, true).With("lab", "lab3")
	l.Info("dnsserver: created", "host", "dnsserver", "stage", "create")
	l.Info("dns: named answers for team30.com")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	for k, v := range map[string]string{"msg": "dnsserver: created", "level": "INFO", "lab": "lab3", "host": "dnsserver", "stage": "create"} {
		if rec[k] != v {
			t.Errorf("%s = %v, want %q in %s", k, rec[k], v, lines[0])
		}
	}
	if _, ok := rec["time"]; !ok {
		t.Errorf("no time in %s", lines[0])
	}
}

func TestNewText(t *testing.T) {
	var out bytes.Buffer
	New(&out, false).Info("images: copied in 5.0s", "elapsed", 5*time.Second)
	if got := out.String(); got != "images: copied in 5.0s\n" {
		t.Errorf("got %q", got)
	}
}

func TestDiscard(t *testing.T) {
	for _, l := range []*slog.Logger{Discard(), New(nil, false), New(nil, true), slog.New(NewText(nil))} {
		if l.Enabled(context.Background(), slog.LevelError) {
			t.Errorf("%v is enabled", l.Handler())
		}
		l.Info("nothing")
	}
	if n := testing.AllocsPerRun(100, func() { Discard().Info("nothing", "host", "client1") }); n != 0 {
		t.Errorf("a discarded record costs %v allocations", n)
	}
}

// chunkWriter writes each line byte by byte and is not safe for concurrent
// use, so that unserialised handlers would interleave lines (and -race
// would see them).
type chunkWriter struct{ buf bytes.Buffer }

func (c *chunkWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		c.buf.WriteByte(b)
	}
	return len(p), nil
}

// TestConcurrentLinesStayWhole logs from many goroutines through handlers
// derived with With and WithGroup; every line arrives whole. Run it with
// -race.
func TestConcurrentLinesStayWhole(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprint("json=", asJSON), func(t *testing.T) {
			var w chunkWriter
			root := New(&w, asJSON)
			const goroutines, each = 16, 50
			var wg sync.WaitGroup
			for g := range goroutines {
				l := root.With("host", fmt.Sprintf("client%d", g))
				if g%2 == 1 {
					l = l.WithGroup("odd")
				}
				wg.Go(func() {
					for i := range each {
						l.Info(fmt.Sprintf("g%02d line %03d %s", g, i, strings.Repeat("x", 40)), "i", i)
					}
				})
			}
			wg.Wait()
			lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
			if len(lines) != goroutines*each {
				t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
			}
			seen := map[string]bool{}
			for _, line := range lines {
				msg := line
				if asJSON {
					var rec struct{ Msg string }
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("line is not whole JSON: %v: %q", err, line)
					}
					msg = rec.Msg
				}
				var g, i int
				var xs string
				if n, err := fmt.Sscanf(msg, "g%02d line %03d %s", &g, &i, &xs); n != 3 || err != nil || len(xs) != 40 {
					t.Fatalf("line %q is not whole", line)
				}
				seen[msg] = true
			}
			if len(seen) != goroutines*each {
				t.Errorf("%d distinct lines, want %d", len(seen), goroutines*each)
			}
		})
	}
}
