package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/moby/client"
	"golang.org/x/term"
)

// Shell runs cmd interactively in a container, in workdir ("" for the
// image's), on a terminal: in is put in
// raw mode while the command runs and the terminal's size follows window
// changes. It returns the command's exit code.
func (d *Docker) Shell(ctx context.Context, ctr string, cmd []string, workdir string, in *os.File, out io.Writer) (int, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return -1, fmt.Errorf("shell in %s: stdin is not a terminal; use: lab exec HOST -- CMD", ctr)
	}
	w, h, err := term.GetSize(fd)
	if err != nil {
		w, h = 80, 24
	}
	ex, err := d.c.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		Cmd: cmd, WorkingDir: workdir, TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env:         []string{"TERM=" + termName()},
		ConsoleSize: client.ConsoleSize{Height: uint(h), Width: uint(w)},
	})
	if err != nil {
		return -1, fmt.Errorf("shell in %s: %w", ctr, err)
	}
	att, err := d.c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: client.ConsoleSize{Height: uint(h), Width: uint(w)}})
	if err != nil {
		return -1, fmt.Errorf("shell in %s: %w", ctr, err)
	}
	defer att.Close()
	old, err := term.MakeRaw(fd)
	if err != nil {
		return -1, fmt.Errorf("shell in %s: raw terminal: %w", ctr, err)
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

	go func() {
		_, _ = io.Copy(att.Conn, in)
		_ = att.CloseWrite()
	}()
	_, _ = io.Copy(out, att.Reader)
	return d.waitExec(context.WithoutCancel(ctx), ex.ID)
}

func termName() string {
	if t := os.Getenv("TERM"); t != "" {
		return t
	}
	return "xterm"
}
