// Package lablogcmd is lab-log, the program that keeps what a background
// program prints: lab exec -d copies lab into a host as lab-log and starts
//
//	lab-log FILE -- CMD [ARG...]
//
// which runs CMD with its output, stdout and stderr together, appended to
// FILE, for lab logs HOST PROGRAM. The log is bounded: past MaxBytes, FILE
// becomes FILE.1 (replacing the one before) and FILE starts again, so a
// program that floods its output keeps at most twice MaxBytes on the host,
// its latest output included (a crash's traceback comes last). Python's
// output is unbuffered (PYTHONUNBUFFERED=1), so that what a program
// printed shows at once, as it would on a terminal. A line before and after
// each run says when it started and how it ended. SIGTERM, SIGINT and
// SIGHUP are passed on to CMD, and lab-log exits as CMD did.
//
// Run as
//
//	lab-log CMD [ARG...]
//
// (lab terminals types this on the webserver, and lab puts lab-log on the
// hosts' PATH for students to type too), it shows the output on its own
// terminal as well and keeps it in Dir, under the name lab logs takes for
// CMD (LogFile). CMD reads lab-log's input. The terminal's own signals
// (Ctrl-C, Ctrl-\, a hang-up) reach CMD from the terminal, as they reach
// every program of its foreground job; lab-log outlives them, so that it
// keeps CMD's last words, and passes on only SIGTERM.
package lablogcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxBytes is how large a log grows before it is rotated.
const MaxBytes = 1 << 20

// Dir is where the logs are kept on a host.
const Dir = "/var/log/lab"

// dir is Dir, or a test's folder.
var dir = Dir

// ProgramName is the name lab stop takes for the program argv runs: the
// script an interpreter runs (python3 -u chatroom_server.py is
// chatroom_server.py), otherwise the program itself.
func ProgramName(argv []string) string {
	switch path.Base(argv[0]) {
	case "python3", "python", "sh", "bash", "node", "perl":
		for _, a := range argv[1:] {
			if !strings.HasPrefix(a, "-") {
				return a
			}
		}
	}
	return argv[0]
}

// LoggedName is the name lab logs takes for the program argv runs: its
// ProgramName, or the program itself when that is a command line
// (sh -c 'exit 4').
func LoggedName(argv []string) string {
	name := ProgramName(argv)
	if strings.ContainsAny(name, " \t\n") {
		return path.Base(argv[0])
	}
	return path.Base(name)
}

// LogFile is the log of the program a user names to lab logs (a
// LoggedName): its base name, in characters safe in a file name, in Dir.
func LogFile(name string) string { return Dir + "/" + logBase(name) }

// logBase is the log's file name in Dir of the program name names.
func logBase(name string) string {
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
	if name == "" || name == "." || name == ".." {
		name = "program"
	}
	return name + ".log"
}

// Exit statuses of lab-log itself; otherwise it exits as CMD did.
const (
	exitUsage    = 2
	exitNotFound = 127
)

// Main runs lab-log with os.Args.
func Main() int { return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) }

// Run runs lab-log with args (after the program's name); what it cannot
// put in the log goes to stderr. In the form without FILE, CMD reads
// stdin and its output goes to stdout as well.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "--" {
		fmt.Fprintln(stderr, "usage: lab-log [FILE --] CMD [ARG...]")
		return exitUsage
	}
	file, argv, tee := "", args, true
	if len(args) >= 2 && args[1] == "--" {
		if len(args) == 2 {
			fmt.Fprintln(stderr, "usage: lab-log [FILE --] CMD [ARG...]")
			return exitUsage
		}
		file, argv, tee = args[0], args[2:], false
	} else {
		file = filepath.Join(dir, logBase(LoggedName(argv)))
	}
	w, err := Open(file, MaxBytes)
	if err != nil {
		fmt.Fprintf(stderr, "lab-log: %v\n", err)
		return 1
	}
	defer w.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = w
	// The signals the child's terminal sends its whole job, which lab-log
	// outlives in the form with a terminal; the rest it passes on.
	forward := map[os.Signal]bool{syscall.SIGTERM: true, syscall.SIGINT: true, syscall.SIGHUP: true}
	if tee {
		cmd.Stdout = teeWriter{log: w, out: stdout}
		cmd.Stdin = stdin
		forward = map[os.Signal]bool{syscall.SIGTERM: true}
	}
	cmd.Stderr = cmd.Stdout
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	fmt.Fprintf(w, "--- lab: %s started %s\n", time.Now().Format(time.DateTime), strings.Join(argv, " "))
	// Signals arrive before Start returns too: keep them for the child.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(w, "--- lab: %v\n", err)
		fmt.Fprintf(stderr, "lab-log: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return 1
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if forward[s] {
					_ = cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	code := cmd.ProcessState.ExitCode()
	how := fmt.Sprintf("exited with code %d", code)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = "was killed by " + unix.SignalName(ws.Signal())
		code = 128 + int(ws.Signal())
	} else if err != nil && code < 0 {
		how = err.Error()
		code = 1
	}
	fmt.Fprintf(w, "--- lab: %s %s %s\n", time.Now().Format(time.DateTime), argv[0], how)
	return code
}

// teeWriter writes to the log and to lab-log's own output; a terminal that
// went away loses nothing from the log.
type teeWriter struct {
	log *Writer
	out io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.out.Write(p)
	return t.log.Write(p)
}

// Writer appends to a log file and rotates it at a size: what it holds
// past max moves to the file's name with ".1" appended, replacing what
// was there. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// Open opens (or creates) the log at path, appending, for a Writer that
// rotates it past max bytes.
func Open(path string, max int64) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{path: path, max: max, f: f, size: st.Size()}, nil
}

// Write appends p, rotating first when the log is full. A write never
// fails the program that prints: output the log cannot take is dropped.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if w.size >= w.max {
			w.rotate()
		}
		if w.f == nil {
			return n, nil
		}
		chunk := p
		if room := w.max - w.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		m, err := w.f.Write(chunk)
		w.size += int64(m)
		if err != nil {
			return n, nil
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// rotate moves the full log aside and starts an empty one; on a failure
// the log stops (w.f nil) rather than grow without bound.
func (w *Writer) rotate() {
	w.f.Close()
	w.f = nil
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return
	}
	w.f, w.size = f, 0
}

// Close closes the log.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
