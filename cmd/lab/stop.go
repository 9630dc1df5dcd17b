package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/internal/multicall"
)

func newStopCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "stop HOST [PROGRAM]",
		Short: "Stop the programs running on a host (all you started, or those matching PROGRAM)",
		Long: `Stop what runs on a host besides the host itself: everything started with lab
exec, lab shell or lab capture (a server left running, a client that loops), or
with PROGRAM only the processes whose command line contains it, e.g.
chatroom_server.py or chat-server. Each gets SIGTERM, then SIGKILL after two
seconds. The DNS server's named is never stopped. lab status shows what runs.`,
		Example: `  lab stop webserver
  lab stop webserver chatroom_server.py`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			program := ""
			if len(args) == 2 {
				program = args[1]
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
			stopped, err := hosts.StopPrograms(ctx, args[0], program)
			if err != nil {
				return err
			}
			if len(stopped) == 0 {
				what := "nothing"
				if program != "" {
					what = fmt.Sprintf("no program matching %q", program)
				}
				fmt.Fprintf(a.stdout, "%s: %s was running; nothing stopped (see: lab%s status)\n", args[0], what, a.nameFlag())
				return nil
			}
			for _, p := range stopped {
				if f := strings.Fields(p.Command); len(f) > 0 && path.Base(f[0]) == multicall.LabLog {
					continue // the keeper of a program's output, stopped with it
				}
				fmt.Fprintf(a.stdout, "%s: stopped %s (pid %d)\n", args[0], p.Command, p.PID)
			}
			return nil
		},
	}
}
