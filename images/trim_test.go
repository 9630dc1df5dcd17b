package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrimRemovesCachesDocsAndLocales(t *testing.T) {
	root := t.TempDir()
	files := map[string]bool{ // path: kept after trim
		"var/lib/apt/lists/deb_dists_bookworm_InRelease":    false,
		"var/cache/apt/pkgcache.bin":                        false,
		"var/cache/apt/archives/bash_5.2_amd64.deb":         false,
		"var/log/dpkg.log":                                  false,
		"var/log/apt/history.log":                           false,
		"var/cache/debconf/config.dat-old":                  false,
		"var/cache/debconf/config.dat":                      true,
		"var/lib/dpkg/status-old":                           false,
		"var/lib/dpkg/status":                               true,
		"usr/share/doc/bash/copyright":                      true,
		"usr/share/doc/bash/README.gz":                      false,
		"usr/share/doc/bash/examples/x":                     false,
		"usr/share/man/man1/bash.1.gz":                      false,
		"usr/share/info/dir":                                false,
		"usr/share/lintian/overrides/bash":                  false,
		"usr/share/locale/de/LC_MESSAGES/bash.mo":           false,
		"usr/share/locale/en_GB/LC_MESSAGES/bash.mo":        true,
		"usr/share/locale/en/LC_MESSAGES/x.mo":              true,
		"usr/share/locale/locale.alias":                     true,
		"usr/lib/python3.11/__pycache__/os.cpython-311.pyc": false,
		"usr/lib/python3.11/os.py":                          true,
		"usr/bin/python3":                                   true,
		"etc/bind/named.conf":                               true,
	}
	for name := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := trim(root); err != nil {
		t.Fatal(err)
	}
	for name, kept := range files {
		_, err := os.Lstat(filepath.Join(root, name))
		if got := err == nil; got != kept {
			t.Errorf("%s: kept = %v, want %v", name, got, kept)
		}
	}
	for _, dir := range []string{"var/lib/apt/lists", "usr/share/doc/bash", "usr/share/man"} {
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("folder %s should stay: %v", dir, err)
		}
	}
	nodoc, err := os.ReadFile(filepath.Join(root, "etc/dpkg/dpkg.cfg.d/lab3-nodoc"))
	if err != nil || !strings.Contains(string(nodoc), "path-exclude /usr/share/doc/*") {
		t.Errorf("dpkg exclude config: %q, %v", nodoc, err)
	}
}

func TestTrimNeverLeavesTheRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	victim := filepath.Join(outside, "pkg", "README")
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An absolute symlink in a root filesystem means a path in the host.
	if err := os.MkdirAll(filepath.Join(root, "usr/share"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "usr/share/doc")); err != nil {
		t.Fatal(err)
	}
	err := trim(root)
	if err == nil || !strings.Contains(err.Error(), "resolves outside") {
		t.Errorf("trim err = %v, want a refusal", err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("trim removed a file outside the root: %v", err)
	}
}
