package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryBinaryHasVersion builds every command of the module and asks
// each for --version: one line naming the program and the Go toolchain.
func TestEveryBinaryHasVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary; skipped in -short mode")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/...")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/...: %v\n%s", err, out)
	}
	for _, name := range []string{"lab", "chat-server", "chat-client", "chat-bench", "dnscheck"} {
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
