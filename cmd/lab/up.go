package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
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
			topo, err := upTopology(a.name, team, subnet, subnet6)
			if err != nil {
				return err
			}
			if zoneDir != "" {
				if err := needDir("--zone-dir", zoneDir); err != nil {
					return err
				}
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
				return zoneErrorInFolder(err, zoneDir)
			}
			// ssh and scp from this machine, as in the course's
			// environment. A lab made before the images had sshd still
			// works without it, so this is a warning.
			sshStart := time.Now()
			if path, err := enableSSH(ctx, d, topo); err != nil {
				fmt.Fprintf(a.stderr, "lab: warning: %s\n", oneLine(userMessage(err)))
			} else {
				fmt.Fprintf(a.stderr, "ssh: root@%s with the lab's key: ssh -F %s %s (see: lab ssh-config)\n",
					topo.WebServer().IPv4, path, lab.SSHAlias(topo, topo.WebServer().Name))
			}
			st.Timings = append(st.Timings, lab.Phase{Name: "ssh", Duration: time.Since(sshStart)})
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

// upTopology checks up's flags one by one, so that a bad value is named by
// its flag, and derives the lab's topology from them.
func upTopology(name string, team int, subnet, subnet6 string) (lab.Topology, error) {
	if _, err := lab.New(name, lab.DefaultTeam, lab.DefaultSubnet4, netip.Prefix{}); err != nil {
		return lab.Topology{}, usagef("--name %q: use 1-40 lowercase letters, digits, '-', '_' or '.'", name)
	}
	if _, err := lab.New(name, team, lab.DefaultSubnet4, netip.Prefix{}); err != nil {
		return lab.Topology{}, usagef("--team %d: must be between 1 and 9999", team)
	}
	p4, err := lab.ParseSubnet(subnet)
	if err == nil && (!p4.Addr().Is4() || p4.Bits() != 24) {
		err = lab.ErrInvalidTopology
	}
	if err != nil {
		return lab.Topology{}, usagef("--subnet %q: want an IPv4 /24 in CIDR notation, such as 10.20.30.0/24", subnet)
	}
	var p6 netip.Prefix
	if subnet6 != "" {
		p6, err = lab.ParseSubnet(subnet6)
		if err == nil && (!p6.Addr().Is6() || p6.Bits() != 64) {
			err = lab.ErrInvalidTopology
		}
		if err != nil {
			return lab.Topology{}, usagef("--subnet6 %q: want an IPv6 /64 in CIDR notation, such as fd00::/64", subnet6)
		}
	}
	topo, err := lab.New(name, team, p4, p6)
	if err != nil {
		return lab.Topology{}, usageError{msg: strings.TrimPrefix(err.Error(), lab.ErrInvalidTopology.Error()+": ")}
	}
	return topo, nil
}

// zoneErrorInFolder names the student's own file where the DNS server
// named its copy inside the container (/etc/bind/lab/db.x → DIR/db.x).
func zoneErrorInFolder(err error, zoneDir string) error {
	var ze *lab.ZoneError
	if zoneDir == "" || !errors.As(err, &ze) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), "/etc/bind/lab/", strings.TrimSuffix(zoneDir, "/")+"/")
	return kind(lab.ErrZoneDir, errors.New(msg))
}
