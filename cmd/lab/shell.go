package main

import (
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newShellCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "shell HOST",
		Short: "Open an interactive shell on a host, in /root (where deploy puts programs)",
		Long: `Open bash on a host, in /root, on your terminal: the handout's "ssh into the
container". When the shell ends, or the terminal holding it closes, every
program started from it ends too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !term.IsTerminal(int(a.stdin.Fd())) {
				return usagef("lab shell needs a terminal, and stdin is not one; to run a command use: lab exec %s -- CMD", args[0])
			}
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			hosts, err := a.hostUp(ctx, d, args[0])
			if err != nil {
				return err
			}
			code, err := hosts.Shell(ctx, args[0], []string{"bash", "-l"}, lab.DeployDir, a.stdin, a.stdout)
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
