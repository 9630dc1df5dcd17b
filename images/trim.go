package images

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// trimRule removes what matches a glob under the root filesystem, except
// the names keep accepts.
type trimRule struct {
	glob string
	keep func(base string) bool
	why  string
}

var trims = []trimRule{
	{glob: "var/lib/apt/lists/*", why: "apt lists"},
	{glob: "var/cache/apt/*.bin", why: "apt caches"},
	{glob: "var/cache/apt/archives/*.deb", why: "downloaded packages"},
	{glob: "var/cache/debconf/*-old", why: "debconf backups"},
	{glob: "var/lib/dpkg/*-old", why: "dpkg backups"},
	{glob: "var/log/*.log", why: "install logs"},
	{glob: "var/log/apt/*", why: "apt logs"},
	{glob: "usr/share/doc/*/*", keep: isCopyright, why: "docs except copyright"},
	{glob: "usr/share/man/*", why: "manual pages"},
	{glob: "usr/share/info/*", why: "info pages"},
	{glob: "usr/share/lintian/*", why: "lintian overrides"},
	{glob: "usr/share/locale/*", keep: isEnglishLocale, why: "locales except C and English"},
	{glob: "etc/ssh/ssh_host_*", why: "ssh host keys made at build time: each lab brings its own"},
}

func isCopyright(base string) bool { return base == "copyright" }

func isEnglishLocale(base string) bool {
	return base == "C" || strings.HasPrefix(base, "C.") || base == "en" ||
		strings.HasPrefix(base, "en_") || strings.HasPrefix(base, "en@") || base == "locale.alias"
}

// trimRules describes the trim for the input hash.
func trimRules() []string {
	out := make([]string, 0, len(trims)+1)
	for _, r := range trims {
		out = append(out, r.glob+" ("+r.why+")")
	}
	return append(out, "**/__pycache__")
}

// noDocConfig keeps packages that students install later from bringing the
// trimmed files back.
const noDocConfig = `# Written by lab3's image build: keep the image small.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/en*
path-include /usr/share/locale/locale.alias
`

// trim removes caches, docs and unneeded locales from the root filesystem
// at root and installs the dpkg excludes that keep them out.
func trim(root string) error {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	if root, err = filepath.Abs(root); err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	for _, r := range trims {
		matches, err := filepath.Glob(filepath.Join(root, r.glob))
		if err != nil {
			return fmt.Errorf("trim %s: %w", r.glob, err)
		}
		for _, m := range matches {
			if r.keep != nil && r.keep(filepath.Base(m)) {
				continue
			}
			if err := removeInside(root, m); err != nil {
				return err
			}
		}
	}
	if err := removePycache(root); err != nil {
		return err
	}
	dir := filepath.Join(root, "etc/dpkg/dpkg.cfg.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lab3-nodoc"), []byte(noDocConfig), 0o644); err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	return nil
}

// removeInside removes path, but only if its parent folder, with every
// symlink resolved, is still inside root: an absolute symlink in a root
// filesystem points into the host.
func removeInside(root, path string) error {
	parent, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("trim %s: %w", path, err)
	}
	if parent != root && !strings.HasPrefix(parent, root+string(filepath.Separator)) {
		return fmt.Errorf("trim %s: resolves outside %s", path, root)
	}
	if err := os.RemoveAll(filepath.Join(parent, filepath.Base(path))); err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	return nil
}

// removePycache removes Python's byte-code caches; python3 rebuilds them on
// demand.
func removePycache(root string) error {
	var found []string
	usr := filepath.Join(root, "usr")
	err := filepath.WalkDir(usr, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == usr && os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			found = append(found, p)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("trim __pycache__: %w", err)
	}
	for _, p := range found {
		if err := removeInside(root, p); err != nil {
			return err
		}
	}
	return nil
}
