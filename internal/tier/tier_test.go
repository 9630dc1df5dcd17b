package tier

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makeList reads a variable of the Makefile, with its continuation lines,
// as a list of words.
func makeList(t *testing.T, makefile, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*:=((?:[^\n]*\\\n)*[^\n]*)`).FindStringSubmatch(makefile)
	if m == nil {
		t.Fatalf("the Makefile sets no %s", name)
	}
	return strings.Fields(strings.ReplaceAll(m[1], "\\\n", " "))
}

// TestSmokeTestsExist: every name in the Makefile's SMOKE_TESTS is a test
// function of one of SMOKE_PKGS. A renamed test would otherwise drop out
// of make test without a word (go test -run matches nothing silently).
func TestSmokeTestsExist(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	names := makeList(t, string(b), "SMOKE_TESTS")
	pkgs := makeList(t, string(b), "SMOKE_PKGS")
	if len(names) == 0 || len(pkgs) == 0 {
		t.Fatalf("SMOKE_TESTS %q, SMOKE_PKGS %q: want both set", names, pkgs)
	}
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)
	for _, pkg := range pkgs {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*_test.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("SMOKE_PKGS names %s, which has no test files (%v)", pkg, err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range funcRE.FindAllStringSubmatch(string(src), -1) {
				defined[m[1]] = true
			}
		}
	}
	for _, n := range names {
		if !defined[n] {
			t.Errorf("SMOKE_TESTS names %s, which no test file of %s defines", n, strings.Join(pkgs, " "))
		}
	}
}

func TestBinFailsWithWhatToRun(t *testing.T) {
	t.Setenv(BinEnv, t.TempDir())
	ft := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		Bin(ft, "lab")
	}()
	if !strings.Contains(ft.fatal, "run make build first") {
		t.Errorf("Bin on an empty folder said %q, want it to say to run make build", ft.fatal)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lab"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(BinEnv, dir)
	if got := Bin(t, "lab"); got != filepath.Join(dir, "lab") {
		t.Errorf("Bin = %s, want %s", got, filepath.Join(dir, "lab"))
	}
}

// fakeTB records a Fatalf and stops the caller as testing does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic("fatal")
}

func TestDockerSkipsInTheUnitTier(t *testing.T) {
	var skipped bool
	t.Run("unit", func(t *testing.T) {
		t.Setenv(Env, "unit")
		defer func() { skipped = t.Skipped() }()
		Docker(t)
	})
	if !skipped {
		t.Errorf("Docker did not skip with %s=unit", Env)
	}
	for _, tier := range []string{"smoke", "e2e", ""} {
		t.Run("tier="+tier, func(t *testing.T) {
			if testing.Short() {
				t.Skip("-short skips every Docker test")
			}
			t.Setenv(Env, tier)
			ran := false
			t.Run("inner", func(t *testing.T) {
				Docker(t)
				ran = true
			})
			if !ran {
				t.Errorf("Docker skipped with %s=%q", Env, tier)
			}
		})
	}
}
