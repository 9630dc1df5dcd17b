package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the lab's hosts: addresses, state and what runs there",
		Long:  "Show the lab's hosts. Exits 0 when every host runs, 3 when the lab is down or a host is not running (the table says which).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := a.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			st, err := lab.Status(cmd.Context(), d, a.name)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if len(st.Hosts) == 0 {
				fmt.Fprintf(a.stdout, "lab %s is not up (start it with: lab up --name %s)\n", a.name, a.name)
			} else {
				fmt.Fprintf(a.stdout, "lab %s: %s on %s\n", st.Lab, st.Domain, st.Network)
				if st.Shared != "" {
					fmt.Fprintf(a.stdout, "shared: %s is /shared on every host\n", st.Shared)
				}
				printStatus(a.stdout, st)
				for _, h := range st.NotRunning() {
					fmt.Fprintln(a.stdout, h)
				}
			}
			if !st.Up() {
				return exitError{code: 3}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func printStatus(w io.Writer, st lab.LabStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tIPV4\tIPV6\tSTATE\tRUNS")
	for _, h := range st.Hosts {
		runs := strings.Join(h.Processes, ", ")
		if runs == "" {
			runs = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Host, h.IPv4, h.IPv6, h.State, runs)
	}
	tw.Flush()
}
