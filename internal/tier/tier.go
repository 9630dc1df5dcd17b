// Package tier sorts the project's tests into the README's tiers, so that
// `make test` stays fast and `make e2e` still runs everything:
//
//   - unit: Go code only, with the race detector. Tests that need Docker
//     skip (LAB3_TIER=unit). Tests that run Python or a headless browser
//     still run.
//   - smoke: a named set of real-Docker tests, without the race detector
//     (the Makefile's SMOKE list, run by `make test` after the unit tier).
//   - e2e: every test (`make e2e`; LAB3_TIER unset or e2e).
//
// `go test -short` (make test-short) skips Docker, Python and the browser.
//
// Tests that need a binary take the one `make build` made, from LAB3_BIN
// (default: the module's bin/), and never build one themselves.
package tier

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Env is the variable that names the tier being run: "unit", "smoke" or
// "e2e". Unset means every test may run.
const Env = "LAB3_TIER"

// BinEnv is the variable naming the folder of binaries that `make build`
// made (default: the module's bin/).
const BinEnv = "LAB3_BIN"

// Docker skips tb when the tier being run has no Docker tests: in -short
// mode and in the unit tier. Whether an engine is really there is for the
// caller to find out (labcontainers.Engine does).
func Docker(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs Docker; skipped in -short mode")
	}
	if os.Getenv(Env) == "unit" {
		tb.Skip("needs Docker; the unit tier (" + Env + "=unit) runs none: make test runs it in its smoke step or make e2e does")
	}
}

// Python returns the path of python3, for tests that run the handout's
// Python programs. It skips tb in -short mode and when python3 is missing,
// unless CI is set: CI installs it (make deps), so there it fails.
func Python(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("runs Python; skipped in -short mode")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("python3 is not on PATH but CI is set: make deps installs it, and CI must run this test")
		}
		tb.Skip("python3 is not on PATH: this test runs the handout's Python programs (make deps installs it)")
	}
	return py
}

// Browser returns the path of Chromium (Debian's chromium), for tests that
// open the pages lab writes in a real, headless browser. It skips tb in
// -short mode and when no Chromium is installed, unless CI is set: CI
// installs it (make deps), so there it fails.
func Browser(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("runs a browser; skipped in -short mode")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("chromium is not on PATH but CI is set: make deps installs it (scripts/host-deps.sh chromium), and CI must run this test")
	}
	tb.Skip("chromium is not on PATH: this test opens the pages in a headless browser (install it with: scripts/host-deps.sh chromium)")
	return ""
}

var root struct {
	once sync.Once
	dir  string
	err  error
}

// moduleRoot is the folder holding go.mod, found upwards from the test's
// working folder (its package's folder).
func moduleRoot() (string, error) {
	root.once.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			root.err = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root.dir = dir
				return
			}
			up := filepath.Dir(dir)
			if up == dir {
				root.err = errors.New("no go.mod above the test's folder")
				return
			}
			dir = up
		}
	})
	return root.dir, root.err
}

// BinDir is the folder of the binaries `make build` made: $LAB3_BIN (a
// relative one from the module's root), or the module's bin/.
func BinDir(tb testing.TB) string {
	tb.Helper()
	dir, err := moduleRoot()
	if err != nil {
		tb.Fatalf("find bin/: %v", err)
	}
	if bin := os.Getenv(BinEnv); bin != "" {
		if filepath.IsAbs(bin) {
			return bin
		}
		return filepath.Join(dir, bin)
	}
	return filepath.Join(dir, "bin")
}

// Bin returns the path of the binary name (lab, chat-server, chat-client,
// chat-bench or dnscheck) that `make build` made. A missing one fails the
// test with what to run: the tests never build binaries of their own, so
// that a run builds each once.
func Bin(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(BinDir(tb), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		tb.Fatalf("%s is missing: run make build first (or point %s at a folder holding %s)", p, BinEnv, name)
	}
	return p
}

// Bins returns the folder that holds the named binaries, after checking
// that each is there (see Bin).
func Bins(tb testing.TB, names ...string) string {
	tb.Helper()
	for _, n := range names {
		Bin(tb, n)
	}
	return BinDir(tb)
}
