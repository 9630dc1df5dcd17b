package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
)

func newUpCmd(a *app) *cobra.Command {
	var (
		team    int
		subnet  string
		subnet6 string
		zoneDir string
		timings bool
		asJSON  bool
		noCheck bool
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the images if needed and bring the lab up",
		Long: `Build the images if needed, create the lab's network and hosts, and wait until
the DNS server answers for the team's domain. Running it again on a lab that is
up changes nothing and says so. On failure or Ctrl-C nothing is left behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p4, err := lab.ParseSubnet(subnet)
			if err != nil {
				return err
			}
			var p6 netip.Prefix
			if subnet6 != "" {
				if p6, err = lab.ParseSubnet(subnet6); err != nil {
					return err
				}
			}
			topo, err := lab.New(a.name, team, p4, p6)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			start := time.Now()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()

			imgStart := time.Now()
			refs, err := images.Ensure(ctx, d.Client(), images.WithProgress(a.stderr))
			if err != nil {
				return fmt.Errorf("images: %w", err)
			}
			imgTime := time.Since(imgStart)

			opts := []lab.Option{lab.WithProgress(a.stderr), lab.WithImages(refs.DNS, refs.Host)}
			if zoneDir != "" {
				opts = append(opts, lab.WithZoneDir(zoneDir))
			}
			upCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			st, err := lab.Up(upCtx, d, topo, opts...)
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("%w: %w", errRolledBack, err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintln(a.stdout, st.Summary)
			printStatus(a.stdout, st)
			var gateErr error
			if !noCheck {
				checkStart := time.Now()
				gateErr = dnsGate(ctx, a.stdout, d, topo)
				st.Timings = append(st.Timings, lab.Phase{Name: "dnscheck", Duration: time.Since(checkStart)})
			}
			if timings {
				fmt.Fprintf(a.stdout, "\ntimings:\n  %-16s %7.3fs\n", "images", imgTime.Seconds())
				for _, p := range st.Timings {
					fmt.Fprintf(a.stdout, "  %-16s %7.3fs\n", p.Name, p.Duration.Seconds())
				}
				fmt.Fprintf(a.stdout, "  %-16s %7.3fs\n", "total", time.Since(start).Seconds())
			}
			return gateErr
		},
	}
	f := cmd.Flags()
	f.IntVar(&team, "team", lab.DefaultTeam, "team number N; the domain is teamN.com")
	f.StringVar(&subnet, "subnet", lab.DefaultSubnet4.String(), "the lab's IPv4 /24; hosts get .2, .3, .11-.13")
	f.StringVar(&subnet6, "subnet6", "", "the lab's IPv6 /64 (default: fd00::/64 for the course's subnet, else derived from --subnet)")
	f.StringVar(&zoneDir, "zone-dir", "", "serve your own lab 2 zone files from this folder (named.conf.zones, or files named db.<zone> / <zone>.zone)")
	f.BoolVar(&timings, "timings", false, "print how long each phase took")
	f.BoolVar(&asJSON, "json", false, "print the resulting status as JSON (skips the DNS check)")
	f.BoolVar(&noCheck, "no-dnscheck", false, "skip the DNS check from the clients (the gate that named answers stays)")
	return cmd
}
