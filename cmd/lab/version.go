package main

import (
	"runtime"
	"runtime/debug"
)

// buildVersion is set at link time (-ldflags "-X main.buildVersion=v1.2");
// without it the version comes from the build's module and VCS information.
var buildVersion string

// version says which build this is: the release or module version, the
// commit it was built from when Go recorded one, and the Go toolchain.
func version() string {
	v := buildVersion
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
