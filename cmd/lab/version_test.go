package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

// TestEveryBinaryHasVersion asks every command of the module, as make
// build made it, for --version: one line naming the program and the Go toolchain.
func TestEveryBinaryHasVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every binary that make build made; skipped in -short mode")
	}
	names := []string{"lab", "chat-server", "chat-client", "chat-bench", "dnscheck"}
	bin := tier.Bins(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(filepath.Join(bin, name), "--version").Output()
			if err != nil {
				t.Fatalf("%s --version: %v", name, err)
			}
			line := string(out)
			if !strings.HasPrefix(line, name+" ") || !strings.Contains(line, " go1.") || strings.Count(line, "\n") != 1 {
				t.Errorf("%s --version = %q, want one line: %s VERSION [commit C] goX.Y", name, line, name)
			}
		})
	}
}
