// Package dockerdtest starts a private Docker engine for a test: a second
// dockerd with its own containerd, API socket, data root and exec root, in
// its own network namespace. It stands in for a second machine in tests
// that spread work over several engines (lab grade --engine).
//
// The network namespace is what keeps the machine's engine undisturbed. In
// the machine's namespace a second dockerd would, with --iptables, flush
// and rebuild the DOCKER chains the first one owns; without it, its
// bridges' traffic meets the FORWARD policy (DROP here) and is lost; and
// --bridge=none deletes the machine's docker0. In its own namespace it
// keeps its iptables, bridges and routes to itself, so it runs with
// Docker's defaults and its subnets may overlap the machine engine's. Its
// containers reach each other but not the machine, nor the machine them:
// use the API (exec, cp, logs), as for a remote engine.
package dockerdtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/mountinfo"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	labrt "github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
)

// Daemon is a running private dockerd.
type Daemon struct {
	// Host is its API address, unix://DIR/docker.sock, for
	// docker.ConnectEngine, docker -H or lab's --engine.
	Host string
	// Dir is its folder: the socket, dockerd.log, data/ (the data root)
	// and exec/ (the exec root, with containerd's socket and state).
	Dir string
	// Engine talks to it (the lab's Docker runtime); it is closed at
	// cleanup.
	Engine *docker.Docker

	tb     testing.TB
	cmd    *exec.Cmd
	exited chan struct{} // closed once dockerd has exited and been reaped
	shown  bool          // the log's tail is in the test's log already
}

// Option changes how Start runs dockerd.
type Option func(*config)

type config struct {
	flags   []string
	timeout time.Duration
}

// Flags adds flags to dockerd's command line, e.g. "--storage-driver=vfs".
func Flags(args ...string) Option {
	return func(c *config) { c.flags = append(c.flags, args...) }
}

// StartTimeout bounds the wait for the daemon to answer /_ping (60s).
func StartTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

const (
	// dirPrefix names the daemons' folders; Start removes those of test
	// processes that died without cleaning up.
	dirPrefix = "/tmp/dockerdtest-"
	// namespace is the containerd namespace, which names the shims.
	namespace = "dockerdtest"
	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 30 * time.Second
)

// Start starts a private dockerd for the test and returns it once it
// answers /_ping. It is stopped, and its folder removed, in tb.Cleanup.
// Without root or a dockerd binary the test is skipped, or fails when the
// CI environment variable is set.
func Start(tb testing.TB, opts ...Option) *Daemon {
	tb.Helper()
	tier.Docker(tb)
	cfg := config{timeout: 60 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/dockerd")
	}
	switch {
	case os.Geteuid() != 0:
		skipOrFail(tb, "a private dockerd needs root")
	case err != nil:
		skipOrFail(tb, "a private dockerd needs the dockerd binary (Debian: apt-get install docker.io)")
	}
	sweep(tb)

	dir, err := os.MkdirTemp("/tmp", filepath.Base(dirPrefix)+"*")
	if err != nil {
		tb.Fatalf("dockerdtest: %v", err)
	}
	d := &Daemon{Host: "unix://" + dir + "/docker.sock", Dir: dir, tb: tb, exited: make(chan struct{})}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		tb.Fatalf("dockerdtest: %v", err)
	}
	// An explicit config file, so that /etc/docker/daemon.json (whose
	// data-root would clash with --data-root) is not read.
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		tb.Fatalf("dockerdtest: %v", err)
	}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		tb.Fatalf("dockerdtest: %v", err)
	}
	defer logf.Close()

	d.cmd = exec.Command(bin, append([]string{
		"--config-file=" + dir + "/daemon.json",
		"--host=" + d.Host,
		"--data-root=" + dir + "/data",
		"--exec-root=" + dir + "/exec",
		"--pidfile=" + dir + "/docker.pid",
		"--containerd-namespace=" + namespace,
		"--containerd-plugins-namespace=" + namespace + "-plugins",
		"--bridge=none",
		"--shutdown-timeout=3",
	}, cfg.flags...)...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// dockerd runs iptables, runc and containerd from PATH.
	d.cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/sbin:/usr/sbin:/sbin")
	// Its own process group keeps ^C off it; Pdeathsig stops it should
	// the test binary die (the thread that starts it lives as long).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	tb.Cleanup(d.cleanup)
	if err := d.start(); err != nil {
		if errors.Is(err, unix.EPERM) && os.Getenv("CI") == "" {
			tb.Skipf("dockerdtest: cannot make a network namespace here: %v", err)
		}
		tb.Fatalf("dockerdtest: start dockerd: %v", err)
	}

	deadline := time.Now().Add(cfg.timeout)
	for {
		// ConnectEngine pings, and gives up on a silent engine within
		// a couple of seconds.
		d.Engine, err = docker.ConnectEngine(context.Background(), d.Host)
		if err == nil {
			return d
		}
		select {
		case <-d.exited:
			d.shown = true
			tb.Fatalf("dockerdtest: dockerd exited (%v) before answering; its log ends:\n%s", d.cmd.ProcessState, d.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.shown = true
			tb.Fatalf("dockerdtest: dockerd did not answer within %v (%v); its log ends:\n%s", cfg.timeout, err, d.logTail())
		}
	}
}

// start runs dockerd in a new network namespace with its loopback up. The
// namespace is made on a locked thread that dockerd inherits; the thread
// waits for dockerd, so that Pdeathsig fires only when the test binary
// dies, and is then discarded, never unlocked.
func (d *Daemon) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			started <- fmt.Errorf("unshare network namespace: %w", err)
			close(d.exited)
			return
		}
		if err := loopbackUp(); err != nil {
			started <- err
			close(d.exited)
			return
		}
		if err := d.cmd.Start(); err != nil {
			started <- err
			close(d.exited)
			return
		}
		started <- nil
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	return <-started
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err == nil {
		err = unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr)
	}
	if err == nil {
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		err = unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	}
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	return nil
}

// Stop stops the daemon: SIGTERM, which stops its containers and its
// containerd, then SIGKILL if it has not exited within 30s. Whatever it
// left (after Kill too) goes: its processes, containers, shims and mounts.
// Its folder stays until cleanup. Stop may be called more than once.
func (d *Daemon) Stop() {
	d.tb.Helper()
	if d.running() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(stopTimeout):
			d.tb.Errorf("dockerdtest: dockerd did not stop within %v of SIGTERM; killing it", stopTimeout)
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	if err := reap(d.Dir); err != nil {
		d.tb.Errorf("dockerdtest: %v", err)
	}
}

// Kill stops the daemon abruptly, as an engine that fails mid-run: SIGKILL
// to dockerd and its containerd. Its API socket then refuses connections;
// its containers and their shims keep running until Stop or cleanup.
func (d *Daemon) Kill() {
	d.tb.Helper()
	if !d.running() {
		return
	}
	var pids []int
	for _, p := range processes(d.Dir) {
		if p.name == "containerd" {
			pids = append(pids, p.pid)
		}
	}
	_ = d.cmd.Process.Kill()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	<-d.exited
	if err := waitGone(pids, 10*time.Second); err != nil {
		d.tb.Errorf("dockerdtest: kill: %v", err)
	}
}

func (d *Daemon) running() bool {
	select {
	case <-d.exited:
		return false
	default:
		return d.cmd.Process != nil
	}
}

// cleanup stops the daemon and removes its folder; the log's tail goes to
// the test's log when the test failed.
func (d *Daemon) cleanup() {
	d.Stop()
	if d.Engine != nil {
		_ = d.Engine.Close()
	}
	if d.tb.Failed() && !d.shown {
		d.tb.Logf("dockerdtest: log of dockerd at %s ends:\n%s", d.Host, d.logTail())
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		d.tb.Errorf("dockerdtest: %v", err)
	}
}

// logTail is the last 30 lines of dockerd's log.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(filepath.Join(d.Dir, "dockerd.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// skipOrFail skips the test, or fails it when CI is set: CI never skips.
func skipOrFail(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "" {
		tb.Skipf("dockerdtest: %s; skipped as CI is unset", why)
	}
	tb.Fatalf("dockerdtest: %s (CI is set, so this is a failure)", why)
}

// sweep removes the folders, processes and mounts of daemons whose test
// process died before its cleanup ran (go test -timeout, a kill).
func sweep(tb testing.TB) {
	dirs, _ := filepath.Glob(dirPrefix + "*")
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			// Being made now, or left empty by a crash: wait a minute.
			if fi, serr := os.Stat(dir); serr != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		} else if pid, _ := strconv.Atoi(string(b)); pid > 0 && unix.Kill(pid, 0) != unix.ESRCH {
			continue // its test is still running
		}
		if err := reap(dir); err != nil {
			tb.Logf("dockerdtest: leftovers of an earlier test: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("dockerdtest: leftovers of an earlier test: %v", err)
		}
	}
}

// reap kills and removes whatever a daemon in dir left running: dockerd,
// containerd and shims (whose command lines name dir), the containers
// (through runc, whose state is under the exec root), the shims' sockets,
// and mounts under dir. It does nothing where nothing is left.
func reap(dir string) error {
	var errs []error
	var pids []int
	for _, p := range processes(dir) {
		if unix.Kill(p.pid, unix.SIGKILL) == nil {
			pids = append(pids, p.pid)
		}
	}
	if err := waitGone(pids, 10*time.Second); err != nil {
		errs = append(errs, err)
	}

	roots, _ := filepath.Glob(filepath.Join(dir, "exec", "runtime-runc", "*"))
	for _, root := range roots {
		ids, _ := os.ReadDir(root)
		for _, id := range ids {
			out, err := exec.Command("runc", "--root", root, "delete", "--force", id.Name()).CombinedOutput()
			if _, serr := os.Stat(filepath.Join(root, id.Name())); err != nil && serr == nil {
				errs = append(errs, fmt.Errorf("runc delete %s: %v: %s", id.Name(), err, bytes.TrimSpace(out)))
			}
			// containerd 1.6 names a shim's socket so.
			sock := filepath.Join(dir, "exec", "containerd", "containerd.sock", filepath.Base(root), id.Name())
			_ = os.Remove(fmt.Sprintf("/run/containerd/s/%x", sha256.Sum256([]byte(sock))))
		}
	}

	if err := mountinfo.Unmount(dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean up after dockerd in %s: %w", dir, errors.Join(errs...))
	}
	return nil
}

type process struct {
	pid  int
	name string // base name of argv[0]
}

// processes lists the processes whose command line names a path in dir.
func processes(dir string) []process {
	ents, _ := os.ReadDir("/proc")
	var ps []process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(dir+"/")) {
			continue
		}
		argv0, _, _ := bytes.Cut(b, []byte{0})
		ps = append(ps, process{pid: pid, name: filepath.Base(string(argv0))})
	}
	return ps
}

// waitGone waits until the processes have exited (zombies count as gone).
func waitGone(pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids = slices.DeleteFunc(pids, func(pid int) bool {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				return true
			}
			// pid (comm) S ...: the state follows the last ')'.
			i := bytes.LastIndexByte(b, ')')
			return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
		})
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still running %v after SIGKILL", pids, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LoadImages copies images from one engine to another, streaming a save
// of from into a load of to, as "docker save | docker -H ... load" does.
// Any failure is fatal.
func LoadImages(tb testing.TB, from, to labrt.Images, refs ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Minute)
	defer cancel()
	if err := images.Copy(ctx, from, to, refs); err != nil {
		tb.Fatalf("dockerdtest: %v", err)
	}
}
