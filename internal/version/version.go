// Package version says which build of a lab3 binary is running, for the
// --version flag of every command.
package version

import (
	"runtime"
	"runtime/debug"
)

// String is the build's version: release (or, when empty, the module
// version Go recorded), the commit it was built from when Go recorded one
// ("+modified" for a dirty tree), and the Go toolchain. release is what a
// binary was given at link time (-ldflags "-X main.buildVersion=v1.2").
func String(release string) string {
	v := release
	rev, dirty := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		if dirty {
			rev += "+modified"
		}
		v += " commit " + rev
	}
	return v + " " + runtime.Version()
}
