package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// Lab is the hosts of the lab called name: host h is the container
// <name>-h, as in runtime/docker.
func (e *Engine) Lab(name string) runtime.Hosts { return labHosts{e: e, lab: name} }

type labHosts struct {
	e   *Engine
	lab string
}

// get finds host's container with e.mu held, or says it is not there.
func (l labHosts) get(host string) (*container, error) {
	name := containerName(l.lab, host)
	c, ok := l.e.find(name)
	if !ok {
		return nil, notFound("no such container: %s", name)
	}
	return c, nil
}

// running finds host's running container, with e.mu held.
func (l labHosts) running(host string) (*container, error) {
	c, err := l.get(host)
	if err != nil {
		return nil, err
	}
	if c.info.State != "running" {
		return nil, errNotRunning(c.info.Name)
	}
	return c, nil
}

// run runs cmd through the engine's ExecFunc.
func (l labHosts) run(ctx context.Context, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	if len(cmd) == 0 {
		return runtime.ExecResult{}, errNoExec
	}
	if l.e.ExecFunc == nil {
		return runtime.ExecResult{ExitCode: 127, Stderr: []byte(strings.Join(cmd, " ") + ": not found")}, nil
	}
	return l.e.ExecFunc(ctx, l.lab, host, cmd, stdin)
}

func (l labHosts) Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	if err := l.e.gone(); err != nil {
		return runtime.ExecResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return runtime.ExecResult{}, err
	}
	l.e.mu.Lock()
	_, err := l.running(host)
	l.e.mu.Unlock()
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec in %s: %w", containerName(l.lab, host), err)
	}
	res, err := l.run(ctx, host, cmd, stdin)
	res.Stdout = capped(res.Stdout)
	res.Stderr = capped(res.Stderr)
	return res, err
}

func capped(b []byte) []byte { return b[:min(len(b), runtime.MaxExecOutput)] }

func (l labHosts) Spawn(ctx context.Context, host string, cmd []string, opts runtime.SpawnOptions) (runtime.Process, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("spawn: empty command")
	}
	l.e.mu.Lock()
	c, err := l.running(host)
	if err != nil {
		l.e.mu.Unlock()
		return nil, fmt.Errorf("spawn in %s: %w", containerName(l.lab, host), err)
	}
	p := c.newProc(cmd)
	l.e.mu.Unlock()
	p.start(ctx, l, host, opts)
	return p, nil
}

func (l labHosts) CopyFiles(ctx context.Context, host string, files []runtime.File) error {
	if err := l.e.gone(); err != nil {
		return err
	}
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	c, err := l.get(host)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", containerName(l.lab, host), err)
	}
	total := 0
	for _, f := range files {
		if !path.IsAbs(f.Path) {
			return fmt.Errorf("copy to %s:%s: destination must be an absolute path", c.info.Name, f.Path)
		}
		if total += len(f.Data); total > runtime.MaxCopy {
			return fmt.Errorf("%w: copy to %s: more than %d MiB at once", runtime.ErrCopy, c.info.Name, runtime.MaxCopy>>20)
		}
	}
	if err := l.e.fail("copy", c.info.Name); err != nil {
		return err
	}
	dir := ""
	if len(files) > 0 {
		dir = path.Dir(path.Clean(files[0].Path))
	}
	for _, f := range files {
		f.Path = path.Clean(f.Path)
		f.Data = bytes.Clone(f.Data)
		c.files[f.Path] = f
	}
	l.e.record("copy %d file(s) to %s:%s", len(files), c.info.Name, dir)
	return nil
}

func (l labHosts) ReadFile(ctx context.Context, host, p string) ([]byte, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	c, err := l.get(host)
	if err != nil {
		return nil, fmt.Errorf("read %s:%s: %w", containerName(l.lab, host), p, err)
	}
	f, ok := c.files[path.Clean(p)]
	if !ok {
		return nil, fmt.Errorf("read %s:%s: %w", c.info.Name, p, notFound("no such file"))
	}
	return bytes.Clone(f.Data), nil
}

// isDir reports whether p is a folder on c: a file lies beneath it.
func (c *container) isDir(p string) bool {
	p = path.Clean(p)
	if p == "/" {
		return true
	}
	for q := range c.files {
		if strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

func (l labHosts) CopyIn(ctx context.Context, host, local, remote string) ([]runtime.File, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	files, err := runtime.CopyInFiles(local, remote, func(remote string) (exists, isDir bool, err error) {
		l.e.mu.Lock()
		defer l.e.mu.Unlock()
		c, err := l.running(host)
		if err != nil {
			return false, false, err
		}
		_, exists = c.files[path.Clean(remote)]
		isDir = c.isDir(remote)
		return exists || isDir, isDir, nil
	})
	if err != nil {
		return nil, err
	}
	if err := l.CopyFiles(ctx, host, files); err != nil {
		return nil, err
	}
	return files, nil
}

func (l labHosts) CopyOut(ctx context.Context, host, remote, local string) ([]string, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	l.e.mu.Lock()
	c, err := l.get(host)
	var files []runtime.File
	if err == nil {
		src := path.Clean(remote)
		for p, f := range c.files {
			if p == src || strings.HasPrefix(p, src+"/") || src == "/" {
				files = append(files, f)
			}
		}
	}
	l.e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s has no %s", runtime.ErrCopy, host, remote)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	src := path.Clean(remote)
	dst := local
	if info, err := os.Stat(local); err == nil && info.IsDir() {
		dst = filepath.Join(local, path.Base(src))
	} else if strings.HasSuffix(local, string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: folder %s does not exist", runtime.ErrCopy, local)
	}
	var written []string
	var total int64
	for _, f := range files {
		if total += int64(len(f.Data)); total > runtime.MaxCopy {
			return written, fmt.Errorf("%w: %s holds more than %d MiB", runtime.ErrCopy, remote, runtime.MaxCopy>>20)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, src), "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return written, fmt.Errorf("%w: %v", runtime.ErrCopy, err)
		}
		mode := os.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(target, f.Data, mode); err != nil {
			return written, fmt.Errorf("%w: write %s: %v", runtime.ErrCopy, target, err)
		}
		// As runtime/docker does: the time the file has on the host, which
		// for one copied in without a time is the copy's, as now is.
		if !f.ModTime.IsZero() {
			if err := os.Chtimes(target, f.ModTime, f.ModTime); err != nil {
				return written, fmt.Errorf("%w: %v", runtime.ErrCopy, err)
			}
		}
		written = append(written, target)
	}
	return written, nil
}

// change applies a state change to host's container under op's name.
func (l labHosts) change(op, host string, f func(c *container) error) error {
	if err := l.e.gone(); err != nil {
		return fmt.Errorf("%s %s: %w", op, host, err)
	}
	l.e.mu.Lock()
	c, err := l.get(host)
	if err == nil {
		err = l.e.fail(op, c.info.Name)
	}
	if err == nil {
		err = f(c)
	}
	if err == nil {
		l.e.record("%s %s", op, c.info.Name)
	}
	var ended []*proc
	if err == nil && c.info.State != "running" {
		ended = c.takeProcs()
	}
	l.e.mu.Unlock()
	for _, p := range ended {
		p.end(137)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, host, err)
	}
	return nil
}

func (l labHosts) Start(ctx context.Context, host string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	started := false
	err := l.change("start", host, func(c *container) error {
		if c.info.State == "running" {
			return nil
		}
		c.info.State, c.info.Status = "running", "Up Less than a second"
		started = true
		return nil
	})
	if err != nil || !started {
		return err
	}
	l.exitIfTold(host)
	return nil
}

// exitIfTold asks Started whether a host that just started exits at once.
func (l labHosts) exitIfTold(host string) {
	if l.e.Started == nil {
		return
	}
	x := l.e.Started(l.lab, host)
	if x == nil {
		return
	}
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	if c, err := l.get(host); err == nil {
		c.exit(x.Code, x.Logs)
	}
}

// exit leaves c exited with code, having logged logs.
func (c *container) exit(code int, logs string) {
	c.info.State, c.info.Status = "exited", fmt.Sprintf("Exited (%d) Less than a second ago", code)
	c.logs += logs
}

func (l labHosts) Stop(ctx context.Context, host string) error {
	return l.change("stop", host, func(c *container) error {
		if c.info.State == "running" {
			c.exit(0, "")
		}
		return nil
	})
}

func (l labHosts) Kill(ctx context.Context, host string) error {
	return l.change("kill", host, func(c *container) error {
		if c.info.State != "running" {
			return errNotRunning(c.info.Name)
		}
		c.exit(137, "")
		return nil
	})
}

// Restart stops and starts a host; a sandboxed host's tmpfs folders come
// back empty.
func (l labHosts) Restart(ctx context.Context, host string) error {
	var ended []*proc
	err := l.change("restart", host, func(c *container) error {
		ended = c.takeProcs()
		if sb := c.spec.Sandbox; sb != nil {
			for p := range c.files {
				for _, t := range sb.Tmpfs {
					if strings.HasPrefix(p, t.Path+"/") {
						delete(c.files, p)
					}
				}
			}
		}
		c.info.State, c.info.Status = "running", "Up Less than a second"
		return nil
	})
	for _, p := range ended {
		p.end(137)
	}
	if err != nil {
		return err
	}
	l.exitIfTold(host)
	return nil
}

func (l labHosts) Disconnect(ctx context.Context, host string) error {
	return l.change("disconnect", host, func(c *container) error {
		if !c.connected {
			return fmt.Errorf("container %s is not connected to network %s", c.info.Name, c.spec.Network)
		}
		c.connected = false
		return nil
	})
}

func (l labHosts) Reconnect(ctx context.Context, host string) error {
	return l.change("reconnect", host, func(c *container) error {
		if c.connected {
			return conflict("endpoint with name %s already exists in network %s", c.info.Name, c.spec.Network)
		}
		if !l.e.hasNetwork(c.spec.Network) {
			return notFound("network %s not found", c.spec.Network)
		}
		c.connected = true
		return nil
	})
}

// Connected reports whether a host of lab is on its network.
func (e *Engine) Connected(lab, host string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.find(containerName(lab, host))
	return ok && c.connected
}

func (l labHosts) Processes(ctx context.Context, host string) ([]string, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	l.e.mu.Lock()
	c, err := l.running(host)
	var spawned []string
	if err == nil {
		for _, pid := range c.pids() {
			spawned = append(spawned, strings.Join(c.procs[pid].cmd, " "))
		}
	}
	l.e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []string
	if l.e.ProcessesFunc != nil {
		out = append(out, l.e.ProcessesFunc(l.lab, host)...)
	}
	return append(out, spawned...), nil
}

func (l labHosts) PIDCount(ctx context.Context, host string) (current, limit uint64, err error) {
	if err := l.e.gone(); err != nil {
		return 0, 0, err
	}
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	c, err := l.get(host)
	if err != nil {
		return 0, 0, err
	}
	if c.info.State == "running" {
		current = uint64(len(c.procs)) + 1 // the init
	}
	if sb := c.spec.Sandbox; sb != nil {
		limit = uint64(sb.PIDs)
	}
	return current, limit, nil
}

func (l labHosts) Logs(ctx context.Context, host string, tail int) ([]byte, error) {
	var buf bytes.Buffer
	err := l.StreamLogs(ctx, host, false, tail, &buf, &buf)
	return buf.Bytes(), err
}

// StreamLogs writes what the host logged; the fake's logs do not grow, so
// follow changes nothing.
func (l labHosts) StreamLogs(ctx context.Context, host string, follow bool, tail int, stdout, stderr io.Writer) error {
	if err := l.e.gone(); err != nil {
		return err
	}
	l.e.mu.Lock()
	c, err := l.get(host)
	logs := ""
	if err == nil {
		logs = c.logs
	}
	l.e.mu.Unlock()
	if err != nil {
		return fmt.Errorf("logs of %s: %w", containerName(l.lab, host), err)
	}
	if tail >= 0 {
		lines := strings.SplitAfter(logs, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		logs = strings.Join(lines[max(0, len(lines)-tail):], "")
	}
	_, err = io.WriteString(stdout, logs)
	return err
}

func (l labHosts) Attach(ctx context.Context, host string, s runtime.Session) (int, error) {
	if err := l.e.gone(); err != nil {
		return -1, err
	}
	if len(s.Cmd) == 0 {
		return -1, errors.New("exec: empty command")
	}
	l.e.mu.Lock()
	_, err := l.running(host)
	l.e.mu.Unlock()
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", containerName(l.lab, host), err)
	}
	in := s.Stdin
	if s.TTY != nil {
		in = s.TTY
	}
	res, err := l.run(ctx, host, s.Cmd, in)
	if err != nil {
		return -1, err
	}
	errOut := s.Stderr
	if s.TTY != nil || errOut == nil {
		errOut = s.Stdout
	}
	if s.Stdout != nil {
		_, _ = s.Stdout.Write(res.Stdout)
		_, _ = errOut.Write(res.Stderr)
	}
	return res.ExitCode, nil
}

func (l labHosts) Shell(ctx context.Context, host string, cmd []string, workdir string, tty *os.File, out io.Writer) (int, error) {
	return l.Attach(ctx, host, runtime.Session{Cmd: cmd, Workdir: workdir, TTY: tty, Stdout: out, Stderr: out})
}

// Detach starts cmd through ExecFunc in the background; it runs, listed
// by Processes, until it returns or StopPrograms ends it.
func (l labHosts) Detach(ctx context.Context, host string, cmd []string, workdir string) error {
	if err := l.e.gone(); err != nil {
		return err
	}
	if len(cmd) == 0 {
		return errNoExec
	}
	l.e.mu.Lock()
	c, err := l.running(host)
	if err != nil {
		l.e.mu.Unlock()
		return fmt.Errorf("exec in %s: %w", containerName(l.lab, host), err)
	}
	p := c.newProc(cmd)
	l.e.mu.Unlock()
	p.start(context.WithoutCancel(ctx), l, host, runtime.SpawnOptions{Workdir: workdir, Stderr: io.Discard})
	go func() { _, _ = io.Copy(io.Discard, p.Output()) }()
	return nil
}

func (l labHosts) StopPrograms(ctx context.Context, host, program string) ([]runtime.Stopped, error) {
	if err := l.e.gone(); err != nil {
		return nil, err
	}
	l.e.mu.Lock()
	c, err := l.running(host)
	var stop []*proc
	if err == nil {
		for _, pid := range c.pids() {
			p := c.procs[pid]
			if program == "" || strings.Contains(strings.Join(p.cmd, " "), program) {
				stop = append(stop, p)
			}
		}
	}
	l.e.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("stop programs in %s: %w", containerName(l.lab, host), err)
	}
	var out []runtime.Stopped
	for _, p := range stop {
		p.end(128 + int(syscall.SIGTERM))
		out = append(out, runtime.Stopped{PID: p.pid, Command: strings.Join(p.cmd, " ")})
	}
	return out, nil
}

// proc is a process Spawn or Detach started: ExecFunc running in the
// background with a pipe for its input and one for its output.
type proc struct {
	c      *container
	pid    int
	cmd    []string
	inR    *io.PipeReader
	inW    *io.PipeWriter
	outR   *io.PipeReader
	outW   *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	code    int
	ended   bool // by a signal or its host's end
	signals []syscall.Signal
}

var _ runtime.Process = (*proc)(nil)

// newProc makes a process on c, with e.mu held.
func (c *container) newProc(cmd []string) *proc {
	c.nextPID++
	p := &proc{c: c, pid: c.nextPID, cmd: cmd, done: make(chan struct{})}
	p.inR, p.inW = io.Pipe()
	p.outR, p.outW = io.Pipe()
	c.procs[p.pid] = p
	return p
}

// pids are c's running processes in order, with e.mu held.
func (c *container) pids() []int {
	var out []int
	for pid := range c.procs {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

// takeProcs removes c's processes from its table, for its end; e.mu is
// held.
func (c *container) takeProcs() []*proc {
	var out []*proc
	for _, pid := range c.pids() {
		out = append(out, c.procs[pid])
	}
	c.procs = map[int]*proc{}
	return out
}

func (p *proc) start(ctx context.Context, l labHosts, host string, opts runtime.SpawnOptions) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.mu.Lock()
	p.cancel = cancel
	ended := p.ended
	p.mu.Unlock()
	if ended {
		cancel()
	}
	// As on an engine, the end of ctx kills the process and drops the
	// output nobody will read.
	stop := context.AfterFunc(ctx, func() {
		p.end(128 + int(syscall.SIGKILL))
		p.outR.CloseWithError(io.EOF)
	})
	go func() {
		defer close(p.done)
		defer stop()
		defer cancel()
		var code int
		var err error
		if l.e.SpawnFunc != nil {
			code, err = l.e.SpawnFunc(runCtx, l.lab, host, p.cmd, p.inR, p.outW)
			p.inR.Close()
		} else {
			var res runtime.ExecResult
			res, err = l.run(runCtx, host, p.cmd, p.inR)
			p.inR.Close()
			switch {
			case opts.MergeStderr || opts.Stderr == nil:
				_, _ = p.outW.Write(append(res.Stdout, res.Stderr...))
			default:
				_, _ = p.outW.Write(res.Stdout)
				_, _ = opts.Stderr.Write(res.Stderr)
			}
			code = res.ExitCode
		}
		p.outW.Close()
		p.mu.Lock()
		if !p.ended {
			p.code = code
			if err != nil {
				p.code = -1
			}
		}
		p.mu.Unlock()
		l.e.mu.Lock()
		if p.c.procs[p.pid] == p {
			delete(p.c.procs, p.pid)
		}
		l.e.mu.Unlock()
	}()
}

func (p *proc) Stdin() io.WriteCloser { return p.inW }
func (p *proc) Output() io.Reader     { return p.outR }
func (p *proc) PID() int              { return p.pid }

// Signal records sig; SIGKILL, SIGTERM, SIGINT and SIGHUP end the process
// with 128+sig.
func (p *proc) Signal(ctx context.Context, sig syscall.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP:
		p.end(128 + int(sig))
	}
	return nil
}

// end ends the process with code: its context is cancelled and its input
// closed.
func (p *proc) end(code int) {
	p.mu.Lock()
	if !p.ended {
		p.ended, p.code = true, code
	}
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.inR.CloseWithError(io.ErrClosedPipe)
}

// Wait waits for ExecFunc to return and the output to be read.
func (p *proc) Wait() (int, error) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, nil
}

// SignalProcess sends sig to the process pid that Spawn or Detach started
// on a host of lab, as kill(1) inside the host would: SIGKILL, SIGTERM,
// SIGINT and SIGHUP end it (Signal). A process that is not there is
// runtime.ErrNotFound.
func (e *Engine) SignalProcess(lab, host string, pid int, sig syscall.Signal) error {
	e.mu.Lock()
	c, ok := e.find(containerName(lab, host))
	var p *proc
	if ok {
		p = c.procs[pid]
	}
	e.mu.Unlock()
	if p == nil {
		return notFound("no process %d on %s", pid, containerName(lab, host))
	}
	return p.Signal(context.Background(), sig)
}
