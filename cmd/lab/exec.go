package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func newExecCmd(a *app) *cobra.Command {
	var interactive, tty, detach bool
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] [-d] HOST -- CMD [ARG...]",
		Short: "Run a command on a host, in /root; its exit code is lab's",
		Long: `Run a command on a host, in /root (where deploy and cp put files). Its exit code
is lab's.

  -i  forward stdin to the command (piped input is forwarded without -i too)
  -t  run it on a terminal, with stdin forwarded (-it, as docker exec): interactive
      programs (chatroom_client.py, chat-client) work as over ssh; keys, Ctrl-C,
      Ctrl-D and the window size reach them
  -d  start it in the background and return; stop it with: lab stop HOST PROGRAM

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
				return usagef("usage: lab exec [-i] [-t] [-d] HOST -- CMD [ARG...]; see: lab exec --help")
			}
			stdinTTY := term.IsTerminal(int(a.stdin.Fd()))
			if tty && !stdinTTY {
				return usagef("-t needs a terminal, and stdin is not one: drop -t (use -i to forward piped input)")
			}
			if detach && (tty || interactive) {
				return usagef("-d runs the command in the background, with no input: drop -i and -t")
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
				if err := hosts.Detach(ctx, host, argv, lab.DeployDir); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s: started %s in the background; stop it with: lab%s stop %s %s\n",
					host, strings.Join(argv, " "), a.nameFlag(), host, programName(argv))
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
			code, err := hosts.Attach(ctx, host, s)
			hint := stdinTTY && !interactive && !tty &&
				(errors.Is(err, context.Canceled) || (err == nil && code != 0))
			if hint {
				defer fmt.Fprintf(a.stderr, "lab: the command got no input from your terminal; for an interactive program use: lab%s exec -it %s -- %s\n",
					a.nameFlag(), host, argv[0])
			}
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
	f.BoolVarP(&detach, "detach", "d", false, "start the command in the background and return")
	return cmd
}

// programName is what names a command among a host's processes for lab
// stop: the script an interpreter runs (chatroom_server.py), else the
// program (tcpdump, ./chat-server).
func programName(argv []string) string {
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

// nameFlag is " --name NAME" for a lab other than the default, for hints
// that show a command to type.
func (a *app) nameFlag() string {
	if a.name == topology.DefaultName {
		return ""
	}
	return " --name " + a.name
}
