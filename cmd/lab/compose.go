package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/topology"
)

func newComposeCmd(a *app) *cobra.Command {
	var (
		write bool
		dir   string
	)
	cmd := &cobra.Command{
		Use:   "compose",
		Short: "Print (or --write) the compose file for the course's default lab",
		Long: `Print compose.yaml for the course's default lab (team 30, 10.20.30.0/24), generated
from the same topology lab up uses. With --write, write compose.yaml and its zone
folder (topology/zones/team30/) under --dir, the repository root. A unit test fails
when the committed files drift from this output. --name is refused: other labs
are made with lab up --name NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flags().Lookup("name"); f != nil && f.Changed && a.name != topology.DefaultName {
				// The compose file is the course's own lab, checked in
				// and pinned by a test; other labs are made by lab up.
				return usagef("compose writes the course's lab (%s, team 30, 10.20.30.0/24) only, so --name %s does not apply; for a lab of another name use: lab up --name %s", topology.DefaultName, a.name, a.name)
			}
			topo := topology.Default()
			if !write {
				_, err := a.stdout.Write(topology.Compose(topo))
				return err
			}
			if err := topology.WriteCompose(dir, topo); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s and %s/\n", filepath.Join(dir, topology.ComposeFile), filepath.Join(dir, topology.ComposeZoneDir(topo)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&write, "write", false, "write the files instead of printing the compose file")
	cmd.Flags().StringVar(&dir, "dir", ".", "the repository root to write into")
	return cmd
}
