package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/internal/multicall/lablogcmd"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func newExecCmd(a *app) *cobra.Command {
	var interactive, tty, noTTY, detach bool
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] [-T] [-d] HOST -- CMD [ARG...]",
		Short: "Run a command on a host, in /root; its exit code is lab's",
		Long: `Run a command on a host, in /root (where deploy and cp put files). Its exit code
is lab's.

Typed at a terminal, exec runs the command on a terminal, as -it does (and as
docker compose exec does): what you type reaches it, so interactive programs
(chatroom_client.py, chat-client) work as over ssh, and keys, Ctrl-C, Ctrl-D
and the window size reach them. Piped or redirected, it runs without one.

  -i  forward stdin to the command (piped input is forwarded without -i too)
  -t  run it on a terminal, with stdin forwarded (needs a terminal)
  -T  never run it on a terminal; typed input does not reach it
  -d  start it in the background and return; its output goes to
      lab logs HOST PROGRAM; stop it with: lab stop HOST PROGRAM

When exec ends (the command exits, Ctrl-C, the terminal closes), whatever the
command started on the host ends with it, so nothing is left running there
(except with -d). lab status shows what runs on each host.`,
		Example: `  lab exec client1 -- dig +short team30.com
  lab exec -it client1 -- python3 chatroom_client.py
  lab exec -d webserver -- python3 chatroom_server.py
  lab exec webserver -- tcpdump -i eth0 -w chatserver.pcap`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, argv := args[0], args[1:]
			if dash := cmd.ArgsLenAtDash(); dash != 1 {
				return usagef("usage: lab exec [-i] [-t] [-T] [-d] HOST -- CMD [ARG...]; see: lab exec --help")
			}
			if tty && noTTY {
				return usagef("-t and -T contradict each other: keep one")
			}
			stdinTTY := term.IsTerminal(int(a.stdin.Fd()))
			if tty && !stdinTTY {
				return usagef("-t needs a terminal, and stdin is not one: drop -t (use -i to forward piped input)")
			}
			if detach && (tty || interactive) {
				return usagef("-d runs the command in the background, with no input: drop -i and -t")
			}
			// Typing reaches the command: at a terminal, with no
			// flag that says otherwise, it gets a terminal as -it.
			stdoutTTY := isTerminal(a.stdout)
			if stdinTTY && stdoutTTY && !interactive && !noTTY && !detach {
				tty = true
			}
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			hosts, err := a.hostUp(ctx, d, host)
			if err != nil {
				return err
			}
			if detach {
				logged, err := a.startLogged(ctx, hosts, host, argv)
				if err != nil {
					return err
				}
				prog := shellQuote(lablogcmd.ProgramName(argv))
				output := ""
				if logged {
					output = fmt.Sprintf("; its output: lab%s logs %s %s", a.nameFlag(), host, shellQuote(lablogcmd.LoggedName(argv)))
				}
				fmt.Fprintf(a.stdout, "%s: started %s in the background%s; stop it with: lab%s stop %s %s\n",
					host, shellJoin(argv), output, a.nameFlag(), host, prog)
				return nil
			}
			s := runtime.Session{Cmd: argv, Workdir: lab.DeployDir, Stdout: a.stdout, Stderr: a.stderr}
			switch {
			case tty:
				s.TTY = a.stdin
			case interactive || !stdinTTY:
				// Piped input is forwarded as it always was; a
				// terminal's only with -i, as docker exec does.
				s.Stdin = a.stdin
			}
			if stdinTTY && !interactive && !tty {
				// Said at once, not after the student has typed
				// into nothing.
				fmt.Fprintf(a.stderr, "lab: what you type does not reach the command; for an interactive program use: lab%s exec -it %s -- %s\n",
					a.nameFlag(), host, shellJoin(argv))
			}
			code, err := hosts.Attach(ctx, host, s)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&interactive, "interactive", "i", false, "forward stdin to the command")
	f.BoolVarP(&tty, "tty", "t", false, "run the command on a terminal, stdin forwarded (needs a terminal)")
	f.BoolVarP(&noTTY, "no-tty", "T", false, "never run the command on a terminal, even when typed at one")
	f.BoolVarP(&detach, "detach", "d", false, "start the command in the background and return")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// shellJoin quotes argv for a hint the user can paste into a shell.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		q[i] = shellQuote(s)
	}
	return strings.Join(q, " ")
}

// nameFlag is " --name NAME" for a lab other than the default, for hints
// that show a command to type.
func (a *app) nameFlag() string {
	if a.name == topology.DefaultName {
		return ""
	}
	return " --name " + a.name
}
