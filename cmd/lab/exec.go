package main

import (
	"io"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newExecCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "exec HOST -- CMD [ARG...]",
		Short: "Run a command on a host, in /root; its exit code is lab's",
		Example: `  lab exec client1 -- dig +short team30.com
  lab exec webserver -- ss -tlnp`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, argv := args[0], args[1:]
			if dash := cmd.ArgsLenAtDash(); dash != 1 {
				return usageError("usage: lab exec HOST -- CMD [ARG...]")
			}
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			ctr, err := a.container(ctx, d, host)
			if err != nil {
				return err
			}
			// A terminal's stdin is not forwarded: a command that reads
			// it would wait for input nobody knows to type. Use lab shell.
			var in io.Reader
			if !term.IsTerminal(int(a.stdin.Fd())) {
				in = a.stdin
			}
			code, err := d.ExecStream(ctx, ctr, argv, lab.DeployDir, in, a.stdout, a.stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
}

// usageError is a misuse of a command, reported as it is.
type usageError string

// Error implements error.
func (e usageError) Error() string { return string(e) }
