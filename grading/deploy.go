package grading

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// chatHosts are the hosts that run chat programs.
func chatHosts(topo topology.Topology) []string {
	out := []string{topo.WebServer().Name}
	for _, h := range topo.Clients() {
		out = append(out, h.Name)
	}
	return out
}

// deploy stages the submission on every chat host.
func deploy(ctx context.Context, d runtime.Engine, topo topology.Topology, sub scenarios.Submission) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, host := range chatHosts(topo) {
		g.Go(func() error { return deployHost(gctx, d, topo, host, sub) })
	}
	return g.Wait()
}

// deployHost stages the submission's files in StageDir and its binaries in
// BinDir on one host, in one archive (unpacked inside the host when its
// root file system is read-only). Its data files (captures, notebook, PDF)
// stay out: the programs never read them, and copying tens of MiB into
// every host before each scenario would only slow grading down.
func deployHost(ctx context.Context, d runtime.Engine, topo topology.Topology, host string, sub scenarios.Submission) error {
	hosts := d.Lab(topo.Name)
	if res, err := hosts.Exec(ctx, host, []string{"mkdir", "-p", scenarios.StageDir, scenarios.BinDir}, nil); err != nil || res.ExitCode != 0 {
		if err == nil {
			err = errors.New(oneLine(string(res.Stderr)))
		}
		return fmt.Errorf("deploy to %s: %w", host, err)
	}
	var files []runtime.File
	for _, set := range []struct {
		dir   string
		files map[string]scenarios.File
	}{{scenarios.StageDir, sub.Files}, {scenarios.BinDir, sub.Bins}} {
		names := make([]string, 0, len(set.files))
		for n := range set.files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f := set.files[n]
			files = append(files, runtime.File{Src: n, Path: path.Join(set.dir, n), Mode: f.Mode, Data: f.Data})
		}
	}
	if len(files) == 0 {
		return nil
	}
	if err := hosts.CopyFiles(ctx, host, files); err != nil {
		return fmt.Errorf("deploy to %s: %w", host, err)
	}
	return nil
}
