package main

import "github.com/ntnu-ttm4200/lab3/internal/version"

// buildVersion is set at link time (-ldflags "-X main.buildVersion=v1.2");
// without it the version comes from the build's module and VCS information.
var buildVersion string

// versionString says which build this is (see package version).
func versionString() string { return version.String(buildVersion) }
