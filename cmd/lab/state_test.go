package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestMain keeps the labs' state that the tests' lab up makes (SSH keys and
// config) out of the source tree: in a folder of its own, removed at the
// end. The lab binaries the terminal tests run inherit it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lab-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(lab.EnvStateDir, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
