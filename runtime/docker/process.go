package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// process is a long-running command inside a container, started by
// spawn: its stdin is attached and its output streams as it arrives.
type process struct {
	d         *Docker
	container string
	execID    string
	pid       int
	att       client.HijackedResponse
	out       *streamBuffer
	done      chan struct{} // closed when the output stream has ended
	stopCtx   func() bool
	stdin     *procStdin

	waitOnce sync.Once
	code     int
	waitErr  error
}

// spawnPrelude makes the shell print its PID and then become the command,
// so that the PID is the command's own and `kill` reaches it.
const spawnPrelude = `echo "$$"; exec "$@"`

// mergedPrelude is spawnPrelude for runtime.SpawnOptions.MergeStderr: the
// command's stderr goes to its stdout on the host, in the order written.
// exec keeps the PID, so signals still reach the program.
const mergedPrelude = `echo "$$"; exec "$@" 2>&1`

// spawn starts cmd in a running container as opts say. Its stdin is
// attached; its output arrives in Output. The process lives until it exits
// or ctx is done, when it is killed.
func (d *Docker) spawn(ctx context.Context, ctr string, cmd []string, opts runtime.SpawnOptions) (*process, error) {
	if len(cmd) == 0 {
		return nil, errors.New("spawn: empty command")
	}
	prelude := spawnPrelude
	if opts.MergeStderr {
		prelude = mergedPrelude
	}
	argv := append([]string{"sh", "-c", prelude, "lab-spawn"}, cmd...)
	ex, err := d.c.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		Cmd: argv, Env: opts.Env, WorkingDir: opts.Workdir, User: opts.User, TTY: opts.TTY,
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("spawn in %s: %w", ctr, Classify(err))
	}
	att, err := d.c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: opts.TTY})
	if err != nil {
		return nil, fmt.Errorf("spawn in %s: %w", ctr, Classify(err))
	}
	p := &process{
		d: d, container: ctr, execID: ex.ID, att: att.HijackedResponse,
		out:  newStreamBuffer(),
		done: make(chan struct{}),
	}
	p.stdin = &procStdin{att: &p.att}
	sniff := &pidSniffer{out: p.out, pid: make(chan int, 1)}
	if opts.Stderr != nil && !opts.MergeStderr && !opts.TTY {
		sniff.errOut = opts.Stderr
	}
	go func() {
		defer close(p.done)
		if opts.TTY {
			// A terminal is one stream, not multiplexed.
			_, _ = io.Copy(sniff.stdout(), att.Reader)
		} else {
			_, _ = stdcopy.StdCopy(sniff.stdout(), sniff.stderr(), att.Reader)
		}
		sniff.finish()
		p.out.close()
	}()
	select {
	case pid, ok := <-sniff.pid:
		if !ok {
			att.Close()
			code, _ := d.waitExec(context.WithoutCancel(ctx), ex.ID)
			return nil, fmt.Errorf("spawn in %s: process exited (%d) before starting: %s", ctr, code, oneLine(sniff.early()))
		}
		p.pid = pid
	case <-ctx.Done():
		p.out.abandon() // nobody will read it
		att.Close()
		return nil, ctx.Err()
	}
	p.stopCtx = context.AfterFunc(ctx, func() {
		// A caller that stopped reading must not keep the copy from
		// Docker blocked, nor Wait with it.
		p.out.abandon()
		kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Signal(kctx, syscall.SIGKILL)
		p.att.Close()
	})
	return p, nil
}

// Stdin is the process's standard input; closing it sends EOF.
func (p *process) Stdin() io.WriteCloser { return p.stdin }

// Output is the process's stdout and stderr, combined (or stdout alone,
// see runtime.SpawnOptions), as they arrive. It
// returns io.EOF once the process has exited and all output is read. Up to
// 1 MiB waits to be read; beyond that the process is held up until the
// caller reads, so a caller must keep reading (Wait waits for the output to
// be read to its end). When the process's context ends, output not yet
// buffered is dropped.
func (p *process) Output() io.Reader { return p.out }

// PID is the process's ID inside the container.
func (p *process) PID() int { return p.pid }

// Signal sends sig to the process, by running kill inside the container.
func (p *process) Signal(ctx context.Context, sig syscall.Signal) error {
	res, err := p.d.exec(ctx, p.container, []string{"kill", "-" + strconv.Itoa(int(sig)), strconv.Itoa(p.pid)}, nil)
	if err != nil {
		return fmt.Errorf("signal %d to pid %d in %s: %w", sig, p.pid, p.container, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("signal %d to pid %d in %s: %s", sig, p.pid, p.container, oneLine(string(res.Stderr)))
	}
	return nil
}

// Wait waits for the process to exit and returns its exit code.
func (p *process) Wait() (int, error) {
	p.waitOnce.Do(func() {
		<-p.done
		if p.stopCtx != nil {
			p.stopCtx()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.code, p.waitErr = p.d.waitExec(ctx, p.execID)
		p.att.Close()
	})
	return p.code, p.waitErr
}

type procStdin struct {
	mu     sync.Mutex
	att    *client.HijackedResponse
	closed bool
}

// Write sends b to the process, or fails once stdin is closed.
func (s *procStdin) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	return s.att.Conn.Write(b)
}

// Close half-closes the connection, which the process reads as EOF.
func (s *procStdin) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.att.CloseWrite()
}

// pidSniffer takes the prelude's PID line off the front of stdout and then
// passes all output through. Only stdout can carry that line: stderr that
// arrives first (Docker copies the two streams independently, so a program's
// start-up log on stderr may overtake the PID line) is held back and
// released, in arrival order, once the PID is known.
type pidSniffer struct {
	mu      sync.Mutex
	out     *streamBuffer
	pid     chan int
	head    []byte // stdout before the PID line ended
	errHead []byte // stderr before the PID was known
	got     bool
	// errOut, when not nil, takes stderr instead of out
	// (runtime.SpawnOptions.Stderr).
	errOut io.Writer
}

// sniffStream is one of the two streams stdcopy demultiplexes.
type sniffStream struct {
	s      *pidSniffer
	stderr bool
}

// Write implements io.Writer for stdcopy.
func (w sniffStream) Write(b []byte) (int, error) {
	w.s.write(b, w.stderr)
	return len(b), nil
}

func (s *pidSniffer) stdout() io.Writer { return sniffStream{s: s} }
func (s *pidSniffer) stderr() io.Writer { return sniffStream{s: s, stderr: true} }

func (s *pidSniffer) write(b []byte, stderr bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got {
		s.emit(b, stderr)
		return
	}
	// What is held back is bounded like the stream it goes to: only the
	// shell's own messages, or a start-up log that overtook the PID line,
	// can come before the PID.
	if stderr {
		s.errHead = appendMax(s.errHead, b, streamMax)
		return
	}
	s.head = appendMax(s.head, b, streamMax)
	i := bytes.IndexByte(s.head, '\n')
	if i < 0 {
		return
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(s.head[:i])))
	if err != nil {
		// Not our prelude's line: the shell failed before printing it;
		// keep it for early().
		return
	}
	s.got = true
	s.pid <- pid
	s.emit(s.errHead, true)
	s.emit(s.head[i+1:], false)
	s.head, s.errHead = nil, nil
}

// emit passes output on: stderr to errOut if there is one, all else to out.
func (s *pidSniffer) emit(b []byte, stderr bool) {
	if stderr && s.errOut != nil {
		if len(b) > 0 {
			_, _ = s.errOut.Write(b)
		}
		return
	}
	s.out.write(b)
}

// appendMax appends as much of b to dst as keeps it within limit bytes.
func appendMax(dst, b []byte, limit int) []byte {
	return append(dst, b[:min(len(b), limit-min(len(dst), limit))]...)
}

func (s *pidSniffer) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.got {
		close(s.pid)
	}
}

func (s *pidSniffer) early() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.head) + string(s.errHead)
}

// streamMax bounds the output of a Process waiting to be read. A program
// that prints faster than its reader reads is held up, as a full pipe would
// hold it up, rather than the output piling up in memory.
const streamMax = 1 << 20

// streamBuffer is a pipe holding at most max bytes: writes block while it
// is full, until the reader drains it; reads block until data arrives or
// the writer closes. Once abandoned, writes return at once and drop their
// data, so the writer cannot be stuck behind a reader that has gone.
type streamBuffer struct {
	mu        sync.Mutex
	cond      *sync.Cond
	buf       bytes.Buffer
	max       int
	closed    bool // the writer is done
	abandoned bool // nobody reads any more
}

func newStreamBuffer() *streamBuffer {
	s := &streamBuffer{max: streamMax}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *streamBuffer) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(b) > 0 {
		for s.buf.Len() >= s.max && !s.abandoned {
			s.cond.Wait()
		}
		if s.abandoned {
			return
		}
		n := min(len(b), s.max-s.buf.Len())
		s.buf.Write(b[:n])
		b = b[n:]
		s.cond.Broadcast()
	}
}

func (s *streamBuffer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.cond.Broadcast()
}

// abandon drops all output written from now on; what is buffered can
// still be read.
func (s *streamBuffer) abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandoned = true
	s.cond.Broadcast()
}

// Read implements io.Reader.
func (s *streamBuffer) Read(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.buf.Len() == 0 && !s.closed {
		s.cond.Wait()
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	n, _ := s.buf.Read(b)
	s.cond.Broadcast() // there is room for the writer
	return n, nil
}

// cappedBuffer keeps the first max bytes written to it and drops the rest;
// writes never fail, so the stream feeding it is read to its end.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

// Write implements io.Writer.
func (c *cappedBuffer) Write(b []byte) (int, error) {
	c.buf.Write(b[:max(0, min(len(b), c.max-c.buf.Len()))])
	return len(b), nil
}

// stopPrograms ends what people and the grader started on a host: every
// process started by an exec (lab exec, lab shell, deploy-and-run), with
// its children, but not the host's own init, entrypoint or DNS server.
// With program set, only the processes whose command line contains it, and
// their children. Each gets SIGTERM, then SIGKILL after two seconds. It
// returns what it stopped.
func (d *Docker) stopPrograms(ctx context.Context, ctr, program string) ([]runtime.Stopped, error) {
	res, err := d.exec(ctx, ctr, []string{"sh", "-c", stopProgramsScript, "lab-stop", program}, nil)
	if err != nil {
		return nil, fmt.Errorf("stop programs in %s: %w", ctr, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("stop programs in %s: %s", ctr, oneLine(string(res.Stderr)))
	}
	return parseStopped(string(res.Stdout)), nil
}

func parseStopped(out string) []runtime.Stopped {
	var st []runtime.Stopped
	for _, line := range strings.Split(out, "\n") {
		pid, cmd, ok := strings.Cut(strings.TrimSpace(line), " ")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			continue
		}
		st = append(st, runtime.Stopped{PID: n, Command: strings.TrimSpace(cmd)})
	}
	sort.Slice(st, func(i, j int) bool { return st[i].PID < st[j].PID })
	return st
}

// stopProgramsScript lists "pid ppid cmdline" for every process but
// itself, keeps those whose ancestry leads to an exec (a process whose
// parent is outside the container, ppid 0, other than PID 1), narrows to
// those matching $1 and their descendants, prints them, and stops them.
var stopProgramsScript = fmt.Sprintf(`
me=$$
procs() {
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = "$me" ] && continue
		s=$(cat "$d/stat" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		c=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)
		[ -z "$c" ] && continue
		echo "$p $2 $c"
	done
}
sel=$(procs | awk -v prog="$1" -v me="$me" '
{ pid=$1; ppid=$2; parent[pid]=ppid; $1=""; $2=""; sub(/^  */, ""); sub(/ *$/, ""); cmd[pid]=$0 }
END {
	for (p in parent) {
		q=p; n=0
		while ((q in parent) && parent[q]!=0 && n<64) { q=parent[q]; n++ }
		if ((q in parent) && parent[q]==0 && q!=1 && q!=me) user[p]=1
	}
	for (p in user) if (prog=="" || index(cmd[p], prog)) sel[p]=1
	changed=1
	while (changed) { changed=0; for (p in user) if (!(p in sel) && (parent[p] in sel)) { sel[p]=1; changed=1 } }
	for (p in sel) print p, cmd[p]
}')
[ -z "$sel" ] && exit 0
echo "$sel"
pids=$(echo "$sel" | awk '{print $1}')
kill -TERM $pids 2>/dev/null
i=0
while [ $i -lt %d ]; do
	sleep 0.1
	alive=""
	for p in $pids; do [ -d "/proc/$p" ] && [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" != Z ] && alive="$alive $p"; done
	[ -z "$alive" ] && exit 0
	i=$((i+1))
done
kill -KILL $alive 2>/dev/null
exit 0
`, int(stopGrace/(100*time.Millisecond)))
