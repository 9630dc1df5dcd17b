// Command lab brings the Lab 3 topology up and down and works with its
// hosts: a BIND9 DNS server for the team's domain, the chat server's host
// and three clients, all in Docker, built locally with no registry.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/internal/multicall"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
	"golang.org/x/sys/unix"
)

func main() {
	// Copied into a host as dnscheck, chat-server or chat-client, lab is
	// that program (see internal/multicall).
	if code, ok := multicall.Run(os.Args[0]); ok {
		os.Exit(code)
	}
	// SIGHUP is the terminal closing: what lab started on a host must
	// end then too, as on Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	stopWatching := stopWhenOutputCloses(cancel)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopWatching()
	cancel()
	stop()
	os.Exit(code)
}

// app is what every subcommand shares, passed in explicitly.
type app struct {
	name   string // --name: which lab
	stdin  *os.File
	stdout io.Writer
	stderr io.Writer
	// connectEngine reaches an engine by the name --engine gives it, ""
	// being the environment's ($DOCKER_HOST, else the local one). It is
	// called only by the commands that need an engine, so compose never
	// dials one; run's withEngines replaces Docker with another runtime
	// (a test's fake).
	connectEngine func(ctx context.Context, name string) (runtime.Engine, error)
}

// connect reaches the environment's engine.
func (a *app) connect(ctx context.Context) (runtime.Engine, error) {
	return a.connectEngine(ctx, "")
}

// runOption configures run.
type runOption func(*app)

// withEngines makes every command reach its engines through connect
// instead of Docker: connect(ctx, "") for the environment's engine and
// connect(ctx, E) for each --engine E. An engine that cannot be reached is
// an error that wraps runtime.ErrEngineUnreachable.
func withEngines(connect func(ctx context.Context, name string) (runtime.Engine, error)) runOption {
	return func(a *app) { a.connectEngine = connect }
}

// errRolledBack marks an interrupted lab up, which removed what it had
// created before returning.
var errRolledBack = errors.New("rolled back")

// exitError carries an exit code out of a command without a message: an
// exec'd command's own code, or a status that is not "up".
type exitError struct{ code int }

// Error implements error; run never prints it.
func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Exit codes of every lab command (cmd/lab/README.md, Exit codes). exec
// and shell pass the command's own code through instead.
const (
	exitOK          = 0   // done; every check passed
	exitFailed      = 1   // a check failed, or the command could not do what was asked
	exitUsage       = 2   // bad command line: nothing was done
	exitLabBroken   = 3   // the lab is down or broke, or lab grade could not grade: no verdict
	exitEngine      = 4   // the Docker engine cannot be reached or refuses us
	exitInterrupted = 130 // Ctrl-C, SIGTERM or the terminal closed
)

// run runs lab with args (os.Args[1:]) and returns its exit code; opts
// change what it reaches (withEngines).
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer, opts ...runOption) int {
	a := &app{name: topology.DefaultName, stdin: stdin, stdout: stdout, stderr: stderr, connectEngine: connectDocker}
	for _, o := range opts {
		o(a)
	}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "lab: %s\n", oneLine(userMessage(err)))
	return exitCode(err)
}

// exitCode maps an error that reached the top to the documented codes.
func exitCode(err error) int {
	var ue usageError
	var ce codeError
	switch {
	case errors.Is(err, runtime.ErrEngineUnreachable):
		return exitEngine
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue) || isCobraUsage(err):
		return exitUsage
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, runtime.ErrHostDown), errors.Is(err, lab.ErrNotUp):
		return exitLabBroken
	}
	return exitFailed
}

// userMessage strips the sentinel prefixes that help callers branch but
// read as noise to a person, and turns what Go says into what to do.
func userMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{runtime.ErrEngineUnreachable.Error() + ": ", lab.ErrConflict.Error() + ": ", lab.ErrDeploy.Error() + ": ", lab.ErrNotUp.Error() + ": ", runtime.ErrCopy.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if errors.Is(err, context.Canceled) && !strings.Contains(msg, "cleanup failed") {
		if errors.Is(err, errRolledBack) {
			return "interrupted; nothing was left behind"
		}
		return "interrupted"
	}
	if isCobraUsage(err) {
		// Cobra adds its suggestions after a blank line, one per
		// line; put them on the first.
		first, rest, _ := strings.Cut(msg, "\n")
		var near []string
		for _, l := range strings.Split(rest, "\n") {
			if strings.HasPrefix(l, "\t") {
				near = append(near, strings.TrimSpace(l))
			}
		}
		if len(near) != 0 {
			return first + "; did you mean: " + strings.Join(near, ", ") + "? see: lab --help"
		}
		return first + "; see: lab --help"
	}
	if errors.Is(err, topology.ErrZoneDir) || isZoneError(err) {
		return msg + " (check the zones with named-checkzone, fix them and run lab up again)"
	}
	// What the engine and Go's context say, in words.
	msg = strings.ReplaceAll(msg, "Error response from daemon: ", "")
	msg = strings.ReplaceAll(msg, context.DeadlineExceeded.Error(), "timed out")
	return plainPathErrors(msg, err)
}

// plainPathErrors says in words what a missing or unreadable local file
// means, instead of Go's "open x: no such file or directory".
func plainPathErrors(msg string, err error) string {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return msg
	}
	var plain string
	switch {
	case errors.Is(pe.Err, fs.ErrNotExist):
		plain = pe.Path + " does not exist: check the path"
	case errors.Is(pe.Err, fs.ErrPermission):
		plain = pe.Path + ": permission denied: check who owns it (ls -l)"
	case errors.Is(pe.Err, syscall.ENOTDIR):
		plain = pe.Path + ": a file is in the path where a folder should be"
	case errors.Is(pe.Err, syscall.EISDIR):
		plain = pe.Path + " is a folder, not a file"
	default:
		return msg
	}
	return strings.Replace(msg, pe.Error(), plain, 1)
}

func isZoneError(err error) bool {
	var ze *lab.ZoneError
	return errors.As(err, &ze)
}

// oneLine is s on one line, with nothing a terminal would act on (it may
// be a submission's text): safetext.OneLine.
func oneLine(s string) string { return safetext.OneLine(s) }

// The groups of lab --help.
const (
	groupLab   = "lab"
	groupStaff = "staff"
)

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "lab",
		Short:         "Run the Lab 3 (socket programming) topology in Docker",
		Long:          "lab builds the lab's images locally (no registry needed), brings up the DNS server, webserver and three clients, and works with them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.name, "name", topology.DefaultName, "the lab's name; several labs can coexist under different names and subnets")
	// The staff's tools answer the lab's questions (analyze, diagram)
	// or grade it; --help lists them apart so that students are not sent
	// to them.
	root.AddGroup(
		&cobra.Group{ID: groupLab, Title: "Commands:"},
		&cobra.Group{ID: groupStaff, Title: "Staff tools (for course staff: they grade the lab and print the answers to Milestone 3):"},
	)
	for _, c := range []*cobra.Command{
		newUpCmd(a),
		newDownCmd(a),
		newStatusCmd(a),
		newExecCmd(a),
		newShellCmd(a),
		newLogsCmd(a),
		newDeployCmd(a),
		newComposeCmd(a),
		newDNSCheckCmd(a),
		newCaptureCmd(a),
		newStopCmd(a),
		newCpCmd(a),
		newSSHConfigCmd(a),
		newTerminalsCmd(a),
	} {
		c.GroupID = groupLab
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newAnalyzeCmd(a), newDiagramCmd(a), newGradeCmd(a), newReportCmd(a)} {
		c.GroupID = groupStaff
		c.Short = "[staff] " + c.Short
		c.Long = "[staff] A tool for course staff, not for students.\n\n" + c.Long
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID(groupLab)
	root.SetCompletionCommandGroupID(groupLab)
	root.Version = versionString()
	root.SetVersionTemplate("lab {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	argsError(root)
	return root
}

// connectDocker reaches a Docker engine by name (a URL or a docker
// context's name), "" being the environment's (docker.ConnectEngine).
func connectDocker(ctx context.Context, name string) (runtime.Engine, error) {
	d, err := docker.ConnectEngine(ctx, name)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// loadLab connects to the engine and loads the lab's topology from its
// containers' labels; the caller closes the engine.
func (a *app) loadLab(ctx context.Context) (runtime.Engine, topology.Topology, error) {
	d, err := a.connect(ctx)
	if err != nil {
		return nil, topology.Topology{}, err
	}
	topo, err := lab.Load(ctx, d, a.name)
	if err != nil {
		d.Close()
		return nil, topology.Topology{}, err
	}
	return d, topo, nil
}

// hostUp checks that host of the lab runs, with a helpful error when the
// lab or the host is not there, and returns the lab's hosts.
func (a *app) hostUp(ctx context.Context, d runtime.Engine, host string) (runtime.Hosts, error) {
	return a.hostIn(ctx, d, host, true)
}

// hostAnyState is hostUp for commands that also make sense on a host that
// has stopped, such as logs.
func (a *app) hostAnyState(ctx context.Context, d runtime.Engine, host string) (runtime.Hosts, error) {
	return a.hostIn(ctx, d, host, false)
}

func (a *app) hostIn(ctx context.Context, d runtime.Engine, host string, running bool) (runtime.Hosts, error) {
	st, err := lab.Status(ctx, d, a.name)
	if err != nil {
		return nil, err
	}
	if len(st.Hosts) == 0 {
		return nil, fmt.Errorf("%w: lab %s is not up; start it with: lab up --name %s", lab.ErrNotUp, a.name, a.name)
	}
	var names []string
	for _, h := range st.Hosts {
		if h.Host == host {
			if running && !h.Running {
				return nil, kind(runtime.ErrHostDown, fmt.Errorf("host %s of lab %s is %s; start it again with: lab up --name %s", host, a.name, h.State, a.name))
			}
			return d.Lab(a.name), nil
		}
		names = append(names, h.Host)
	}
	return nil, fmt.Errorf("lab %s has no host %q (hosts: %s)", a.name, host, strings.Join(names, ", "))
}

// stopWhenOutputCloses calls cancel when whoever reads lab's output (a
// pipe, a test harness) goes away, as Ctrl-C would: lab removes what it
// made and ends. Asking for SIGPIPE keeps a write to the closed output
// from killing lab in the middle of removing its labs (Go's default for
// standard output and error); since every broken pipe of the process
// raises it (a student's program that ended, whose stdin a scenario still
// writes to), lab stops only when its own output is the closed end.
func stopWhenOutputCloses(cancel context.CancelFunc) (stop func()) {
	pipes := make(chan os.Signal, 8)
	signal.Notify(pipes, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-pipes:
				if outputClosed(1) || outputClosed(2) {
					cancel()
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(pipes)
		close(done)
	}
}

// outputClosed reports whether the reading end of output fd is gone: the
// kernel says so with POLLERR (a pipe) or POLLHUP (a socket); a file or a
// terminal never does.
func outputClosed(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
}
