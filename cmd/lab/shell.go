package main

import (
	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newShellCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "shell HOST",
		Short: "Open an interactive shell on a host, in /root (where deploy puts programs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			ctr, err := a.container(ctx, d, args[0])
			if err != nil {
				return err
			}
			code, err := d.Shell(ctx, ctr, []string{"bash", "-l"}, lab.DeployDir, a.stdin, a.stdout)
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
