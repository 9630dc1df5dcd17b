package lab

import (
	"context"
	"errors"
	"fmt"
	"github.com/ntnu-ttm4200/lab3/folder"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// DeployDir is where deploy puts programs on a host: root's home, the
// handout's "~".
const DeployDir = "/root"

// ErrDeploy is returned, wrapped, when deploy's input is unusable.
var ErrDeploy = errors.New("cannot deploy")

// FileCopy is one file deploy puts on one host.
type FileCopy struct {
	Host string      // the host's name, e.g. webserver
	Src  string      // where the file came from, for messages
	Dst  string      // absolute path on the host
	Mode os.FileMode // the file's permissions on the host
	Data []byte
	// ModTime is the local file's modification time, kept on the host
	// (scp -p's); zero for the time of the copy.
	ModTime time.Time
}

// Which hosts a deployment targets.
const (
	DeployAll    = "all"
	DeployServer = "server"
	DeployClient = "client"
)

// maxDeployFile bounds each of our reference binaries, which make build
// puts in binDir: what one copy into a host may move. A student's files
// (--files) have folder.Read's limits.
const maxDeployFile = runtime.MaxCopy

// PlanDeploy decides what deploy copies where. With filesDir empty it takes
// the reference chat-server (for the webserver) and chat-client (for the
// clients) from binDir (see PlanReference). Otherwise filesDir names one
// file, or a folder whose every regular, non-hidden file at the top is
// taken; they go to the webserver and all clients, keeping their
// executable bit. A folder is read as folder.Read reads it, and a single
// file with the same limits, so a link, a special file or too much data is
// refused and nothing is deployed. role ("all", "server" or "client")
// narrows the hosts.
func PlanDeploy(topo topology.Topology, binDir, filesDir, role string) ([]FileCopy, error) {
	if filesDir == "" {
		return PlanReference(topo, ProgramsIn(binDir), role)
	}
	servers, clients, err := deployHosts(topo, role)
	if err != nil {
		return nil, err
	}
	var plan []FileCopy
	files, err := folder.ReadPath(filesDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeploy, err)
	}
	hosts := append(append([]topology.Host{}, servers...), clients...)
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s holds no files to copy", ErrDeploy, filesDir)
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		src := filepath.Join(filesDir, f.Name)
		if filepath.Base(filesDir) == f.Name && !isDir(filesDir) {
			src = filesDir
		}
		for _, h := range hosts {
			plan = append(plan, FileCopy{Host: h.Name, Src: src, Dst: path.Join(DeployDir, f.Name), Mode: mode, Data: f.Data, ModTime: f.ModTime})
		}
	}
	return plan, nil
}

// PlanReference plans the reference chat-server for the webserver and
// chat-client for the clients (as role narrows them), reading each with
// load, by name, which also says where it came from.
func PlanReference(topo topology.Topology, load func(name string) (data []byte, src string, err error), role string) ([]FileCopy, error) {
	servers, clients, err := deployHosts(topo, role)
	if err != nil {
		return nil, err
	}
	var plan []FileCopy
	for _, set := range []struct {
		hosts []topology.Host
		name  string
	}{{servers, "chat-server"}, {clients, "chat-client"}} {
		if len(set.hosts) == 0 {
			continue
		}
		data, src, err := load(set.name)
		if err != nil && !errors.Is(err, ErrDeploy) {
			err = fmt.Errorf("%w: %v", ErrDeploy, err)
		}
		if err != nil {
			return nil, err
		}
		if len(data) > maxDeployFile {
			return nil, fmt.Errorf("%w: %s is %d bytes, more than the %d a program may have", ErrDeploy, src, len(data), maxDeployFile)
		}
		var mtime time.Time
		if info, err := os.Stat(src); err == nil && info.Size() == int64(len(data)) {
			mtime = info.ModTime()
		}
		for _, h := range set.hosts {
			plan = append(plan, FileCopy{Host: h.Name, Src: src, Dst: path.Join(DeployDir, set.name), Mode: 0o755, Data: data, ModTime: mtime})
		}
	}
	return plan, nil
}

// ProgramsIn reads the reference programs from dir (make build's bin/), by
// name, for PlanReference.
func ProgramsIn(dir string) func(name string) (data []byte, src string, err error) {
	return func(name string) ([]byte, string, error) {
		src := filepath.Join(dir, name)
		data, err := readDeployFile(src)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%s not found: build it first with: make build", src)
		}
		return data, src, err
	}
}

// deployHosts are the webserver and the clients as role narrows them.
func deployHosts(topo topology.Topology, role string) (servers, clients []topology.Host, err error) {
	if role == "" {
		role = DeployAll
	}
	if role != DeployAll && role != DeployServer && role != DeployClient {
		return nil, nil, fmt.Errorf("%w: role %q: want all, server or client", ErrDeploy, role)
	}
	if role != DeployClient {
		servers = []topology.Host{topo.WebServer()}
	}
	if role != DeployServer {
		clients = topo.Clients()
	}
	return servers, clients, nil
}

func readDeployFile(src string) ([]byte, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxDeployFile {
		return nil, fmt.Errorf("%w: %s is %d MB; lab programs are far smaller", ErrDeploy, src, info.Size()>>20)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeploy, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDeployFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeploy, err)
	}
	if len(data) > maxDeployFile {
		return nil, fmt.Errorf("%w: %s grew past %d MB while it was read: run make build once, then deploy", ErrDeploy, src, maxDeployFile>>20)
	}
	return data, nil
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// Deploy carries out a plan from PlanDeploy on the lab topo, one copy per
// file, reporting one line per file on progress.
func Deploy(ctx context.Context, eng runtime.Engine, topo topology.Topology, plan []FileCopy, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	hosts := eng.Lab(topo.Name)
	for _, f := range plan {
		if err := hosts.CopyFiles(ctx, f.Host, []runtime.File{{Path: f.Dst, Mode: f.Mode, Data: f.Data, Src: f.Src, ModTime: f.ModTime}}); err != nil {
			return fmt.Errorf("deploy %s to %s: %w", f.Src, f.Host, err)
		}
		fmt.Fprintf(progress, "%s: %s (%d bytes)\n", f.Host, f.Dst, len(f.Data))
	}
	return nil
}

// RemotePath is where a host path given to lab cp points: relative paths
// and "" are under DeployDir (/root), like scp's "host:".
func RemotePath(p string) string {
	if p == "" {
		return DeployDir + "/"
	}
	if path.IsAbs(p) {
		return p
	}
	trail := strings.HasSuffix(p, "/")
	p = path.Join(DeployDir, p)
	if trail {
		p += "/"
	}
	return p
}
