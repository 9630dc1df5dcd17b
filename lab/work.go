package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// HostWork is what removing a lab would destroy on one of its hosts: the
// captures running there and the files under /root (DeployDir) created or
// changed since the host was made.
type HostWork struct {
	Host string `json:"host"`
	// Since is when the engine made the host: a file changed after it
	// is work.
	Since time.Time `json:"since"`
	// Captures are the command lines of the tcpdumps running there.
	Captures []string `json:"captures,omitempty"`
	// Files are the files that are work, by path.
	Files []WorkFile `json:"files,omitempty"`
	// Unseen, when not empty, says why the host could not be looked at:
	// "it is exited (137)", "it did not answer within 15s", or the error
	// met. What it holds is unknown.
	Unseen string `json:"unseen,omitempty"`
}

// Lost reports whether removing the host would destroy work.
func (w HostWork) Lost() bool { return len(w.Captures)+len(w.Files) > 0 }

// WorkFile is one file of a host's work.
type WorkFile struct {
	Path    string      `json:"path"` // absolute, under DeployDir
	Size    int64       `json:"size"`
	Mode    os.FileMode `json:"mode"` // its permissions
	ModTime time.Time   `json:"mod_time"`
}

// Rel is the file's path below DeployDir, where SaveWork puts it below a
// host's folder.
func (f WorkFile) Rel() string { return strings.TrimPrefix(f.Path, DeployDir+"/") }

// WorkOption configures FindWork and SaveWork.
type WorkOption func(*workConfig)

type workConfig struct {
	copies *localCopies
}

// ExceptCopiesOf makes files whose content is that of one of these local
// files not work: the programs lab deploy copies in (chat-server,
// chat-client, lab itself), which are as new as their copy. A path that
// does not exist is ignored. A file is read and hashed only when a host
// holds one of its size.
func ExceptCopiesOf(paths ...string) WorkOption {
	return func(c *workConfig) { c.copies = newLocalCopies(paths) }
}

func newWorkConfig(opts []WorkOption) workConfig {
	var c workConfig
	for _, o := range opts {
		o(&c)
	}
	if c.copies == nil {
		c.copies = newLocalCopies(nil)
	}
	return c
}

// lookTimeout bounds the look at one host, so that a host that hangs
// delays lab down by this much at most, and does not keep it from
// removing the lab.
const lookTimeout = 15 * time.Second

// FindWork looks on every host of the lab called name, at once, for what
// removing the lab would destroy (HostWork), and returns one HostWork a
// host in topology order. A host it cannot look at (stopped, failing, or
// not answering within lookTimeout) has Unseen set. It changes nothing.
//
// A file is work when it is a regular file under /root modified after its
// host was made, except caches, shell and editor histories and root's
// .ssh, which no one hands in. A file lab cp copied in keeps its source's
// modification time, so it counts only once changed on the host or when
// its source had changed since up; the programs lab deploy copies in are
// recognised by their content (ExceptCopiesOf). Telling every other copy
// from work would take a record of each copy: FindWork errs on the side
// of a copy saved twice.
func FindWork(ctx context.Context, eng runtime.Engine, name string, opts ...WorkOption) ([]HostWork, error) {
	cfg := newWorkConfig(opts)
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		return nil, fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	var ctrs []runtime.ContainerInfo
	for _, c := range cs {
		if c.Labels[topology.LabelHost] != "" {
			ctrs = append(ctrs, c)
		}
	}
	slices.SortStableFunc(ctrs, func(a, b runtime.ContainerInfo) int {
		return strings.Compare(hostRank(a.Labels[topology.LabelHost]), hostRank(b.Labels[topology.LabelHost]))
	})
	out := make([]HostWork, len(ctrs))
	hosts := eng.Lab(name)
	var g errgroup.Group
	for i, c := range ctrs {
		out[i] = HostWork{Host: c.Labels[topology.LabelHost], Since: c.Created}
		if c.State != "running" {
			out[i].Unseen = "it is " + c.Describe()
			continue
		}
		g.Go(func() error {
			lctx, cancel := context.WithTimeout(ctx, lookTimeout)
			defer cancel()
			if err := lookAt(lctx, hosts, &out[i], cfg); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				out[i].Captures, out[i].Files = nil, nil
				out[i].Unseen = oneLine(err.Error())
				if errors.Is(err, context.DeadlineExceeded) {
					out[i].Unseen = fmt.Sprintf("it did not answer within %s", lookTimeout)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// lookAt fills in w's captures and files.
func lookAt(ctx context.Context, hosts runtime.Hosts, w *HostWork, cfg workConfig) error {
	procs, err := hosts.Processes(ctx, w.Host)
	if err != nil {
		return err
	}
	w.Captures = captures(procs)
	w.Files, err = changedFiles(ctx, hosts, w.Host, w.Since, cfg)
	return err
}

// captures picks the tcpdumps out of a host's command lines.
func captures(procs []string) []string {
	var out []string
	for _, p := range procs {
		if f := strings.Fields(p); len(f) > 0 && path.Base(f[0]) == "tcpdump" {
			out = append(out, p)
		}
	}
	return out
}

// IsLabCapture reports whether a tcpdump's command line is one lab capture
// start runs, whose file lab capture stop copies out.
func IsLabCapture(cmd string) bool { return strings.Contains(cmd, " -w "+traffic.CaptureDir+"/") }

// listFiles lists the regular files under /root, each as its
// modification time, size, permissions and path below /root, ended by a
// NUL. It does not leave /root's file system, so a folder mounted from
// elsewhere is not looked into; ~/.cache, which may be large, is left out.
var listFiles = []string{"find", DeployDir, "-xdev", "-path", DeployDir + "/.cache", "-prune", "-o",
	"-type", "f", "-printf", `%T@ %s %m %P\0`}

// changedFiles lists the files under /root that are work (see FindWork).
func changedFiles(ctx context.Context, hosts runtime.Hosts, host string, since time.Time, cfg workConfig) ([]WorkFile, error) {
	res, err := hosts.Exec(ctx, host, listFiles, nil)
	if err != nil {
		return nil, err
	}
	// find exits 1 when a file went away under it, as one a running
	// program replaces may: what it did list still counts.
	if res.ExitCode != 0 && len(res.Stdout) == 0 {
		return nil, fmt.Errorf("find %s: exit status %d: %s", DeployDir, res.ExitCode, oneLine(string(res.Stderr)))
	}
	files, err := parseFileList(res.Stdout)
	if err != nil {
		return nil, err
	}
	var out []WorkFile
	for _, f := range files {
		if f.ModTime.After(since) && !notWork(f.Rel()) {
			out = append(out, f)
		}
	}
	out, err = cfg.copies.drop(ctx, hosts, host, out)
	slices.SortFunc(out, func(a, b WorkFile) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}

// parseFileList reads listFiles' output.
func parseFileList(b []byte) ([]WorkFile, error) {
	var out []WorkFile
	for rec := range bytes.SplitSeq(b, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		f := strings.SplitN(string(rec), " ", 4)
		if len(f) != 4 || f[3] == "" {
			return nil, fmt.Errorf("find %s: unexpected line %q", DeployDir, rec)
		}
		mod, err1 := parseUnixTime(f[0])
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		mode, err3 := strconv.ParseUint(f[2], 8, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("find %s: unexpected line %q", DeployDir, rec)
		}
		out = append(out, WorkFile{Path: DeployDir + "/" + f[3], Size: size, Mode: os.FileMode(mode).Perm(), ModTime: mod})
	}
	return out, nil
}

// parseUnixTime reads find's %T@: seconds since 1970, a point and up to
// ten digits of the second, without going through a float.
func parseUnixTime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, ns), nil
}

// notWork reports whether a path below /root holds what no one would miss:
// caches, histories, and the .ssh folder lab up fills.
func notWork(rel string) bool {
	parts := strings.Split(rel, "/")
	switch parts[0] {
	case ".cache", ".ssh":
		return true
	}
	if slices.Contains(parts[:len(parts)-1], "__pycache__") {
		return true
	}
	switch parts[len(parts)-1] {
	case ".bash_history", ".python_history", ".lesshst", ".viminfo", ".wget-hsts":
		return true
	}
	return false
}

// localCopies are local files whose copies on a host are not work
// (ExceptCopiesOf), hashed when first needed.
type localCopies struct {
	mu    sync.Mutex
	files []localCopy
}

type localCopy struct {
	path   string
	size   int64
	sum    string // sha256, hex; "" until hashed
	failed bool   // it could not be read
}

func newLocalCopies(paths []string) *localCopies {
	c := &localCopies{}
	for _, p := range paths {
		// An empty file would make every empty file a copy.
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Size() > 0 {
			c.files = append(c.files, localCopy{path: p, size: info.Size()})
		}
	}
	return c
}

// sums are the hashes of the local files of size n.
func (c *localCopies) sums(n int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i := range c.files {
		f := &c.files[i]
		if f.size != n || f.failed {
			continue
		}
		if f.sum == "" {
			s, err := hashFile(f.path)
			if err != nil {
				f.failed = true
				continue
			}
			f.sum = s
		}
		out = append(out, f.sum)
	}
	return out
}

// drop removes from files those that are copies of a local file, hashing
// on the host only the files of a local file's size.
func (c *localCopies) drop(ctx context.Context, hosts runtime.Hosts, host string, files []WorkFile) ([]WorkFile, error) {
	want := map[string][]string{} // path on the host → hashes it may have
	var paths []string
	for _, f := range files {
		if sums := c.sums(f.Size); len(sums) > 0 {
			want[f.Path] = sums
			paths = append(paths, f.Path)
		}
	}
	if len(paths) == 0 {
		return files, nil
	}
	res, err := hosts.Exec(ctx, host, append([]string{"sha256sum", "-z", "--"}, paths...), nil)
	if err != nil {
		return nil, err
	}
	same := map[string]bool{}
	// A file sha256sum could not read stays work.
	for rec := range bytes.SplitSeq(res.Stdout, []byte{0}) {
		sum, p, ok := strings.Cut(string(rec), "  ")
		if ok && slices.Contains(want[p], sum) {
			same[p] = true
		}
	}
	return slices.DeleteFunc(files, func(f WorkFile) bool { return same[f.Path] }), nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
