package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newDownCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove every container, network and volume of the lab",
		Long:  "Remove everything labelled as the lab's (lab3.lab=<name>), whether lab up or compose created it. Removing a lab that is not there is not an error.",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.down(cmd.Context()) },
	}
}

// down removes the lab and says what went.
func (a *app) down(ctx context.Context) error {
	d, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := lab.Down(ctx, d, a.name)
	if err != nil {
		return err
	}
	if r.Total() == 0 {
		fmt.Fprintf(a.stdout, "lab %s is not up; nothing to remove\n", a.name)
		return nil
	}
	fmt.Fprintf(a.stdout, "lab %s removed: %d container(s), %d network(s), %d volume(s)\n", a.name, r.Containers, r.Networks, r.Volumes)
	return nil
}
