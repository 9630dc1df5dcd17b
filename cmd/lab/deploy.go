package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newDeployCmd(a *app) *cobra.Command {
	var filesDir, role, binDir string
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Copy chat programs onto the hosts, into /root (the handout's scp step)",
		Long: `Copy programs onto the lab's hosts, into /root.

By default the reference chat-server goes to the webserver and chat-client to
the clients: from --bin when given, else from beside lab (make build's bin/),
else lab itself, which carries both. With --files DIR every
file at the top of DIR (e.g. a student's *.py) goes to the webserver and all
clients; --files FILE copies that one file. --role narrows the hosts to the
server or the clients. To copy one file to one host, or a capture back, use
lab cp.`,
		Example: `  lab deploy
  lab deploy --files ~/labs/03-lab3
  lab deploy --files chatroom_client.py --role client
  lab deploy --files submission/ --role server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if filesDir != "" {
				if err := needFileOrDir("--files", filesDir); err != nil {
					return err
				}
			} else if binDir != "" {
				if err := needDir("--bin", binDir); err != nil {
					return usagef("--bin %s: no such folder; build the chat programs first with: make build", binDir)
				}
			}
			if role != lab.DeployAll && role != lab.DeployServer && role != lab.DeployClient {
				return usagef("--role %q: want all, server or client", role)
			}
			ctx := cmd.Context()
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			var plan []lab.FileCopy
			if filesDir != "" {
				plan, err = lab.PlanDeploy(topo, "", filesDir, role)
			} else {
				plan, err = lab.PlanReference(topo, programs(binDir), role)
			}
			if err != nil {
				return err
			}
			if err := lab.Deploy(ctx, d, topo, plan, a.stdout); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "deployed %d file(s) to lab %s\n", len(plan), a.name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&filesDir, "files", "", "copy this file, or the files in this folder, instead of the reference binaries")
	f.StringVar(&role, "role", lab.DeployAll, "which hosts: all, server (webserver) or client (client1-3)")
	f.StringVar(&binDir, "bin", "", "where the reference chat-server and chat-client are (default: beside lab, else lab itself)")
	return cmd
}
