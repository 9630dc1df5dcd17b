package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newLogsCmd(a *app) *cobra.Command {
	var (
		follow bool
		tail   int
	)
	cmd := &cobra.Command{
		Use:   "logs HOST [PROGRAM]",
		Short: "Show what a host's background programs printed, or the host's own logs",
		Long: `Show what a program started with lab exec -d printed (stdout and stderr, in
order, with a line when it started and when it ended and how), or without
PROGRAM the host's own logs (named's output on the dnsserver).

PROGRAM is what lab stop takes: the script an interpreter runs
(chatroom_server.py) or the program (chat-server). A program's log is kept on
its host, bounded: past 1 MiB the older half is dropped, never the latest
output, so a crash's traceback is always there.`,
		Example: `  lab exec -d webserver -- python3 chatroom_server.py
  lab logs webserver chatroom_server.py
  lab logs -f webserver chatroom_server.py
  lab logs dnsserver`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			host := args[0]
			if len(args) == 2 {
				hosts, err := a.hostUp(ctx, d, host)
				if err != nil {
					return err
				}
				return a.showProgramLog(ctx, hosts, host, args[1], follow, tail)
			}
			hosts, err := a.hostAnyState(ctx, d, host)
			if err != nil {
				return err
			}
			if err := hosts.StreamLogs(ctx, host, follow, tail, a.stdout, a.stderr); err != nil {
				return err
			}
			if progs := programLogs(ctx, hosts, host); len(progs) != 0 {
				fmt.Fprintf(a.stderr, "lab: programs started with exec -d keep their output apart: lab%s logs %s PROGRAM (%s)\n",
					a.nameFlag(), host, strings.Join(progs, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until Ctrl-C")
	cmd.Flags().IntVar(&tail, "tail", -1, "show only the last N lines (-1: all)")
	return cmd
}
