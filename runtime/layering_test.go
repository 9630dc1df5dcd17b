package runtime_test

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const module = "github.com/ntnu-ttm4200/lab3"

// engineCode reports whether an import path is the Docker Engine API's
// client or its error kinds: the moby modules, the docker CLI's, and
// containerd's errdefs.
func engineCode(path string) bool {
	return strings.HasPrefix(path, "github.com/moby/") || strings.HasPrefix(path, "github.com/docker/") ||
		path == "github.com/containerd/errdefs" || strings.HasPrefix(path, "github.com/containerd/errdefs/")
}

// Who may speak to Docker. Only runtime/docker imports the engine's code;
// besides it, only the packages that pick the Docker implementation (the
// lab command, the private dockerd of the tests) or build on
// testcontainers-go (which links moby) depend on it at all.
var (
	importsEngine = []string{module + "/runtime/docker"}
	linksEngine   = []string{
		module + "/runtime/docker",
		module + "/cmd/lab",
		module + "/internal/dockerdtest",
		module + "/labcontainers",
	}
	// mustStayClean are named in failures: the model, the scenario
	// language and engine, the checker that runs inside the hosts, the
	// provisioning step every caller shares, and grading.
	mustStayClean = []string{module + "/topology", module + "/scenarios", module + "/internal/multicall/dnscheckcmd", module + "/provision", module + "/grading"}
	// neverDependsOn are packages that must not depend on others at all.
	neverDependsOn = map[string][]string{
		module + "/scenarios": {module + "/grading", module + "/provision", module + "/images", module + "/labcontainers", module + "/lab"},
	}
)

// TestLayering holds the module to its layers with go list: no non-test
// package but runtime/docker imports moby or containerd's errdefs, and no
// package but those that choose Docker links them, topology, scenarios and
// the in-container dnscheck included.
func TestLayering(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type pkgInfo struct{ imports, deps []string }
	pkgs := map[string]pkgInfo{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		pkgs[f[0]] = pkgInfo{imports: strings.Fields(f[1]), deps: strings.Fields(f[2])}
		order = append(order, f[0])
	}
	links := func(pkg string) bool { return slices.ContainsFunc(pkgs[pkg].deps, engineCode) }
	for _, pkg := range order {
		p := pkgs[pkg]
		if !slices.Contains(importsEngine, pkg) {
			for _, imp := range p.imports {
				if engineCode(imp) {
					t.Errorf("%s imports %s: only runtime/docker may; go through package runtime", pkg, imp)
				}
			}
		}
		if !slices.Contains(linksEngine, pkg) && links(pkg) {
			// Name the direct imports that bring Docker code in.
			var through []string
			for _, imp := range p.imports {
				if engineCode(imp) || links(imp) {
					through = append(through, imp)
				}
			}
			t.Errorf("%s links Docker code (through %s): it must not", pkg, strings.Join(through, ", "))
		}
	}
	// The scenario language and engine judge; grading orchestrates and
	// imports them, never the reverse.
	for pkg, banned := range neverDependsOn {
		for _, dep := range pkgs[pkg].deps {
			if slices.Contains(banned, dep) {
				t.Errorf("%s depends on %s: it must not (grading imports scenarios, never the reverse; scenarios judges and brings up nothing)", pkg, dep)
			}
		}
		if _, ok := pkgs[pkg]; !ok {
			t.Errorf("go list did not list %s: the layering test no longer covers it", pkg)
		}
	}
	for _, pkg := range append(mustStayClean, importsEngine...) {
		if _, ok := pkgs[pkg]; !ok {
			t.Errorf("go list did not list %s: the layering test no longer covers it", pkg)
		}
	}
}
