package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// ttyPrelude sizes the session's terminal ($1 rows, $2 columns) and then
// becomes the command.
const ttyPrelude = `stty rows "$1" cols "$2" 2>/dev/null; shift 2; exec "$@"`

// stopGrace is how long processes get between SIGTERM and SIGKILL when a
// session ends.
const stopGrace = 2 * time.Second

// attach runs s.Cmd in a running container and returns its exit code.
// When the command ends, or ctx does (Ctrl-C, SIGTERM, the terminal
// closing), every process it started that still runs in the container is
// stopped: SIGTERM, then SIGKILL after two seconds. Nothing it started is
// left running on the host.
func (d *Docker) attach(ctx context.Context, ctr string, s runtime.Session) (int, error) {
	if len(s.Cmd) == 0 {
		return -1, errors.New("exec: empty command")
	}
	id := newSessionID()
	opts := client.ExecCreateOptions{
		Cmd: s.Cmd, WorkingDir: s.Workdir,
		AttachStdout: true, AttachStderr: true, AttachStdin: s.Stdin != nil || s.TTY != nil,
		Env: []string{runtime.SessionEnv + "=" + id},
	}
	var fd int
	if s.TTY != nil {
		fd = int(s.TTY.Fd())
		if !term.IsTerminal(fd) {
			return -1, fmt.Errorf("exec in %s: stdin is not a terminal; drop -t (use -i to forward piped input)", ctr)
		}
		w, h, err := term.GetSize(fd)
		if err != nil {
			w, h = 80, 24
		}
		opts.TTY = true
		opts.ConsoleSize = client.ConsoleSize{Height: uint(h), Width: uint(w)}
		// Engines before API 1.42 ignore ConsoleSize, and a resize sent
		// after the start may come after the program's first look at
		// its size: set it on the terminal before the program starts.
		opts.Cmd = append([]string{"sh", "-c", ttyPrelude, "lab-tty", strconv.Itoa(h), strconv.Itoa(w)}, s.Cmd...)
		opts.Env = append(opts.Env, "TERM="+termName())
	}
	ex, err := d.c.ExecCreate(ctx, ctr, opts)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", ctr, Classify(err))
	}
	// Whatever happens from here on, what the command started ends with
	// the session.
	defer d.endSession(ctx, ctr, id)
	att, err := d.c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: opts.TTY, ConsoleSize: opts.ConsoleSize})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()

	in := s.Stdin
	if s.TTY != nil {
		in = s.TTY
		old, err := term.MakeRaw(fd)
		if err != nil {
			return -1, fmt.Errorf("exec in %s: raw terminal: %w", ctr, err)
		}
		defer func() { _ = term.Restore(fd, old) }()
		resize := func() {
			if w, h, err := term.GetSize(fd); err == nil {
				_, _ = d.c.ExecResize(ctx, ex.ID, client.ExecResizeOptions{Height: uint(h), Width: uint(w)})
			}
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				resize()
			}
		}()
		resize()
	}
	if in != nil {
		go func() {
			_, _ = io.Copy(att.Conn, in)
			_ = att.CloseWrite()
		}()
	}
	if s.TTY != nil {
		_, err = io.Copy(s.Stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(s.Stdout, s.Stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, fmt.Errorf("exec in %s: read output: %w", ctr, err)
	}
	// The output ends when the command exits, and the engine records the
	// exit within moments. It also ends when the engine hangs up a TTY
	// session whose input is gone (a terminal that closed) while the
	// command runs on: then the session ends here, as on a hang-up.
	wctx, cancel := context.WithTimeout(ctx, exitGrace)
	code, err := d.waitExec(wctx, ex.ID)
	cancel()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		d.endSession(ctx, ctr, id)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return d.waitExec(wctx, ex.ID)
	}
	return code, err
}

// exitGrace is how long attach waits, once the output has ended, for the
// engine to report the command's exit.
const exitGrace = 2 * time.Second

// shell runs cmd interactively in a container on the terminal in, as
// attach does with a TTY, and returns its exit code.
func (d *Docker) shell(ctx context.Context, ctr string, cmd []string, workdir string, in *os.File, out io.Writer) (int, error) {
	if !term.IsTerminal(int(in.Fd())) {
		return -1, fmt.Errorf("shell in %s: stdin is not a terminal; use: lab exec HOST -- CMD", ctr)
	}
	return d.attach(ctx, ctr, runtime.Session{Cmd: cmd, Workdir: workdir, TTY: in, Stdout: out, Stderr: out})
}

// detach starts cmd in a running container and returns at once, leaving
// it running with no input; its output goes nowhere. stopPrograms ends it.
// host names the container's host in messages.
func (d *Docker) detach(ctx context.Context, ctr, host string, cmd []string, workdir string) error {
	ex, err := d.c.ExecCreate(ctx, ctr, client.ExecCreateOptions{Cmd: cmd, WorkingDir: workdir})
	if err != nil {
		return fmt.Errorf("exec in %s: %w", ctr, Classify(err))
	}
	if _, err := d.c.ExecStart(ctx, ex.ID, client.ExecStartOptions{Detach: true}); err != nil {
		if strings.Contains(err.Error(), "executable file not found") || strings.Contains(err.Error(), "no such file or directory") {
			return fmt.Errorf("%s: no such program on %s: check the name, or copy it there first with: lab cp", cmd[0], host)
		}
		return fmt.Errorf("exec in %s: %w", ctr, err)
	}
	// A command that cannot start (not found) fails within moments; say
	// so rather than leave the caller believing it runs.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := d.c.ExecInspect(wctx, ex.ID, client.ExecInspectOptions{})
		if wctx.Err() != nil && ctx.Err() == nil {
			return nil // still running: started
		}
		if err != nil {
			return fmt.Errorf("exec in %s: %w", ctr, err)
		}
		if !res.Running {
			if res.ExitCode != 0 {
				return fmt.Errorf("exec in %s: %s exited %d at once; run it without -d to see why", ctr, cmd[0], res.ExitCode)
			}
			return nil
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		case <-tick.C:
		}
	}
}

// endSession stops every process of the container still tagged with the
// session's id, with a context of its own: it runs when the caller's has
// been cancelled too.
func (d *Docker) endSession(ctx context.Context, ctr, id string) {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = d.exec(kctx, ctr, []string{"sh", "-c", endSessionScript, "lab-end-session", runtime.SessionEnv + "=" + id}, nil)
}

// endSessionScript lists the processes whose environment holds $1 (the
// session's tag, inherited by every child), sends them SIGHUP (the
// terminal is gone: an interactive shell ignores SIGTERM but not this)
// and SIGTERM, and SIGKILL to any left after the grace period. One grep
// reads every environment, NUL-separated: a tr and a grep per process
// cost seconds where each exec is slow (a FUSE storage driver), and the
// grace period then ran out before the SIGKILL.
var endSessionScript = fmt.Sprintf(`
list() {
	grep -lzxF "$1" /proc/[0-9]*/environ 2>/dev/null | sed 's#^/proc/##; s#/environ$##'
}
p=$(list "$1")
[ -z "$p" ] && exit 0
kill -HUP $p 2>/dev/null
kill -TERM $p 2>/dev/null
i=0
while [ $i -lt %d ]; do
	sleep 0.1
	p=$(list "$1")
	[ -z "$p" ] && exit 0
	i=$((i+1))
done
kill -KILL $p 2>/dev/null
exit 0
`, int(stopGrace/(100*time.Millisecond)))

func newSessionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func termName() string {
	if t := os.Getenv("TERM"); t != "" {
		return t
	}
	return "xterm"
}
