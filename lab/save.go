package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// Bounds on what SaveWork copies out; a file past them is named in
// SavedHost.Skipped and left behind.
const (
	MaxSavedFile = 32 << 20  // one file
	MaxSavedHost = 256 << 20 // all of one host's files
)

// CaptureFolder is the folder, below a host's folder, where SaveWork puts
// the files of a capture lab capture start was running.
const CaptureFolder = "lab-capture"

// SavedDir is where lab down saves a lab's work: saved/ in its state
// folder (StateDir), one folder a host.
func SavedDir(name string) string { return filepath.Join(StateDir(name), "saved") }

// SavedHost is what SaveWork saved from one host.
type SavedHost struct {
	Host string `json:"host"`
	Dir  string `json:"dir"` // the host's folder
	// Files are the files saved, below Dir: the captures first, then the
	// files from /root by path.
	Files []string `json:"files"`
	Bytes int64    `json:"bytes"`
	// Skipped are the files too large to save (MaxSavedFile,
	// MaxSavedHost).
	Skipped []WorkFile `json:"skipped,omitempty"`
}

// SaveWork saves the work FindWork found on the lab called name into dir,
// in a folder for each host that has some. On each such host it first
// stops the captures, gracefully, so that their files are complete: the
// one lab capture start runs as lab capture stop does, its file going to
// CaptureFolder; any other tcpdump with SIGTERM, after which the files
// under /root are looked for again. It then copies the files out, each
// at its path below /root with its modification time. A file saved there
// before with other content is kept, renamed name.~N~. A file that has
// gone meanwhile is not an error. opts are FindWork's.
//
// On error some files may be saved, and the lab is as it was but for its
// stopped captures.
func SaveWork(ctx context.Context, eng runtime.Engine, name string, work []HostWork, dir string, opts ...WorkOption) ([]SavedHost, error) {
	cfg := newWorkConfig(opts)
	if !slices.ContainsFunc(work, HostWork.Lost) {
		return nil, nil
	}
	// Before any capture is stopped: a folder that cannot be made
	// changes nothing.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("save the work of lab %s: %w", name, err)
	}
	defer giveToSudoUser(dir)
	var out []SavedHost
	for _, w := range work {
		if !w.Lost() {
			continue
		}
		s, err := saveHost(ctx, eng, name, w, filepath.Join(dir, w.Host), cfg)
		if err != nil {
			return out, fmt.Errorf("save the work on %s: %w", w.Host, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// saveHost saves one host's work into its folder.
func saveHost(ctx context.Context, eng runtime.Engine, name string, w HostWork, hostDir string, cfg workConfig) (SavedHost, error) {
	s := SavedHost{Host: w.Host, Dir: hostDir}
	hosts := eng.Lab(name)
	files := w.Files
	if len(w.Captures) > 0 {
		saved, err := stopCaptures(ctx, eng, name, w, hostDir)
		if err != nil {
			return s, err
		}
		for _, f := range saved {
			s.Files = append(s.Files, f.rel)
			s.Bytes += f.size
		}
		// The stopped tcpdumps have just closed their files.
		if files, err = changedFiles(ctx, hosts, w.Host, w.Since, cfg); err != nil {
			return s, err
		}
	}
	for _, f := range files {
		if f.Size > MaxSavedFile || s.Bytes+f.Size > MaxSavedHost {
			s.Skipped = append(s.Skipped, f)
			continue
		}
		data, err := hosts.ReadFile(ctx, w.Host, f.Path)
		if errors.Is(err, runtime.ErrNotFound) {
			continue
		}
		if err != nil {
			return s, err
		}
		if err := saveFile(filepath.Join(hostDir, filepath.FromSlash(f.Rel())), data, f); err != nil {
			return s, err
		}
		s.Files = append(s.Files, f.Rel())
		s.Bytes += int64(len(data))
	}
	return s, nil
}

type savedCapture struct {
	rel  string
	size int64
}

// stopCaptures stops the tcpdumps on w's host: the lab's own capture as
// lab capture stop does, its file copied into CaptureFolder, and any
// other with SIGTERM, on which tcpdump flushes and closes its file.
func stopCaptures(ctx context.Context, eng runtime.Engine, name string, w HostWork, hostDir string) ([]savedCapture, error) {
	var out []savedCapture
	if slices.ContainsFunc(w.Captures, IsLabCapture) {
		c, err := traffic.RunningCapture(eng, captureTopology(ctx, eng, name), []string{w.Host})
		if err != nil {
			return nil, err
		}
		files, err := c.Stop(ctx, filepath.Join(hostDir, CaptureFolder))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out = append(out, savedCapture{rel: CaptureFolder + "/" + filepath.Base(f.Path), size: int64(f.Bytes)})
		}
	}
	if slices.ContainsFunc(w.Captures, func(c string) bool { return !IsLabCapture(c) }) {
		if _, err := eng.Lab(name).StopPrograms(ctx, w.Host, "tcpdump"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// captureTopology is the lab's topology for stopping its captures, which
// need only its name and its hosts' names and roles, the same in every
// lab: a lab too broken to load (its DNS server gone) still has its
// captures stopped.
func captureTopology(ctx context.Context, eng runtime.Engine, name string) topology.Topology {
	topo, err := Load(ctx, eng, name)
	if err != nil {
		topo = topology.Default()
		topo.Name = name
	}
	return topo
}

// saveFile writes data at target with f's permissions (executable or not)
// and modification time, keeping a different file already there as
// target.~N~.
func saveFile(target string, data []byte, f WorkFile) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if err := keepOld(target, data); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if f.Mode&0o111 != 0 {
		perm = 0o755
	}
	if err := writeFileAtomic(target, data, perm); err != nil {
		return err
	}
	return os.Chtimes(target, f.ModTime, f.ModTime)
}

// keepOld renames the file at target, if it holds other than data, to
// the first free target.~N~, as cp --backup=numbered does.
func keepOld(target string, data []byte) error {
	old, err := os.ReadFile(target)
	if errors.Is(err, os.ErrNotExist) || err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err != nil {
		return err
	}
	for n := 1; ; n++ {
		backup := target + ".~" + strconv.Itoa(n) + "~"
		if _, err := os.Lstat(backup); errors.Is(err, os.ErrNotExist) {
			return os.Rename(target, backup)
		}
	}
}
