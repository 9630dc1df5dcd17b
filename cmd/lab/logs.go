package main

import (
	"github.com/spf13/cobra"
)

func newLogsCmd(a *app) *cobra.Command {
	var (
		follow bool
		tail   int
	)
	cmd := &cobra.Command{
		Use:   "logs HOST",
		Short: "Show a host's logs (named's output on the dnsserver)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			hosts, err := a.hostAnyState(ctx, d, args[0])
			if err != nil {
				return err
			}
			return hosts.StreamLogs(ctx, args[0], follow, tail, a.stdout, a.stderr)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until Ctrl-C")
	cmd.Flags().IntVar(&tail, "tail", -1, "show only the last N lines (-1: all)")
	return cmd
}
