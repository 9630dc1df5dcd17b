package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func newUpCmd(a *app) *cobra.Command {
	var (
		team    int
		subnet  string
		subnet6 string
		zoneDir string
		share   string
		timings bool
		asJSON  bool
		logJSON bool
		noCheck bool
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the images if needed and bring the lab up",
		Long: `Build the images if needed, create the lab's network and hosts, and wait until
the DNS server answers for the team's domain. Running it again on a lab that is
up changes nothing and says so. On failure or Ctrl-C nothing is left behind.

With --share DIR, DIR (a folder of this machine) is /shared on every host,
read-write, as in Kathará: edit your programs there with your own editor and
run them in the lab, with no lab cp. The lab keeps it until lab down.`,
		Example: `  lab up
  lab up --share ~/lab3        # then: lab exec -it client1 -- python3 /shared/chatroom_client.py`,
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
			if share != "" {
				if share, err = sharedFolder(share); err != nil {
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

			logger := progress.New(a.stderr, logJSON)
			var labOpts []lab.Option
			if zoneDir != "" {
				labOpts = append(labOpts, lab.WithZoneDir(zoneDir))
			}
			if share != "" {
				labOpts = append(labOpts, lab.WithShare(share))
			}
			// ssh and scp from this machine, as in the course's
			// environment. A lab made before the images had sshd still
			// works without it, so this is a warning. The status shows
			// while the clients are being checked.
			var sshTime time.Duration
			afterUp := func(ctx context.Context, st lab.LabStatus) {
				sshStart := time.Now()
				if path, err := enableSSH(ctx, d, topo); err != nil {
					fmt.Fprintf(a.stderr, "lab: warning: %s\n", oneLine(userMessage(err)))
				} else {
					fmt.Fprintf(a.stderr, "ssh: root@%s with the lab's key: ssh -F %s %s (see: lab ssh-config)\n",
						topo.WebServer().IPv4, path, lab.SSHAlias(topo, topo.WebServer().Name))
				}
				sshTime = time.Since(sshStart)
				if dir, err := lab.SharedFolder(ctx, d, topo.Name); err == nil && dir != "" {
					fmt.Fprintf(a.stderr, "shared: %s is %s on every host, read-write\n", dir, lab.SharedDir)
				}
				if !asJSON {
					fmt.Fprintln(a.stdout, st.Summary)
					printStatus(a.stdout, st)
				}
			}
			opts := []provision.Option{provision.WithLogger(logger), provision.WithLabOptions(labOpts...),
				provision.WithUpTimeout(2 * time.Minute), provision.WithDNSCheckBinary(dnscheckBinary), provision.WithAfterUp(afterUp)}
			if asJSON || noCheck {
				opts = append(opts, provision.WithoutGate())
			}
			res, err := provision.Lab(ctx, d, topo, opts...)
			var perr *provision.Error
			if errors.As(err, &perr) && perr.Stage == provision.StageImages {
				return err
			}
			if errors.As(err, &perr) && perr.Stage == provision.StageUp {
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("%w: %w", errRolledBack, perr.Err)
				}
				return zoneErrorInFolder(perr.Err, zoneDir)
			}
			st := res.Status
			st.Timings = append(st.Timings, lab.Phase{Name: "ssh", Duration: sshTime})
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			gateErr := dnsGate(a.stdout, topo, res, err)
			if !noCheck {
				st.Timings = append(st.Timings, lab.Phase{Name: "dnscheck", Duration: res.DNSCheck})
			}
			if timings {
				fmt.Fprintf(a.stdout, "\ntimings:\n  %-16s %7.3fs\n", "images", res.Images.Seconds())
				for _, p := range st.Timings {
					fmt.Fprintf(a.stdout, "  %-16s %7.3fs\n", p.Name, p.Duration.Seconds())
				}
				fmt.Fprintf(a.stdout, "  %-16s %7.3fs\n", "total", time.Since(start).Seconds())
			}
			return gateErr
		},
	}
	f := cmd.Flags()
	f.IntVar(&team, "team", topology.DefaultTeam, "team number N; the domain is teamN.com")
	f.StringVar(&subnet, "subnet", topology.DefaultSubnet4.String(), "the lab's IPv4 /24; hosts get .2, .3, .11-.13")
	f.StringVar(&subnet6, "subnet6", "", "the lab's IPv6 /64 (default: fd00::/64 for the course's subnet, else derived from --subnet)")
	f.StringVar(&zoneDir, "zone-dir", "", "serve your own lab 2 zone files from this folder (named.conf.zones, or files named db.<zone> / <zone>.zone)")
	f.StringVar(&share, "share", "", "mount this folder of your machine read-write at "+lab.SharedDir+" on every host (never in graded labs)")
	f.BoolVar(&timings, "timings", false, "print how long each phase took")
	f.BoolVar(&asJSON, "json", false, "print the resulting status as JSON (skips the DNS check)")
	f.BoolVar(&logJSON, "log-json", false, "print the progress lines on stderr as JSON objects, one a line")
	f.BoolVar(&noCheck, "no-dnscheck", false, "skip the DNS check from the clients (the gate that named answers stays)")
	return cmd
}

// upTopology checks up's flags one by one, so that a bad value is named by
// its flag, and derives the lab's topology from them.
func upTopology(name string, team int, subnet, subnet6 string) (topology.Topology, error) {
	if _, err := topology.New(name, topology.DefaultTeam, topology.DefaultSubnet4, netip.Prefix{}); err != nil {
		return topology.Topology{}, usagef("--name %q: use 1-40 lowercase letters, digits, '-', '_' or '.'", name)
	}
	if _, err := topology.New(name, team, topology.DefaultSubnet4, netip.Prefix{}); err != nil {
		return topology.Topology{}, usagef("--team %d: must be between 1 and 9999", team)
	}
	p4, err := topology.ParseSubnet(subnet)
	if err == nil && (!p4.Addr().Is4() || p4.Bits() != 24) {
		err = topology.ErrInvalidTopology
	}
	if err != nil {
		return topology.Topology{}, usagef("--subnet %q: want an IPv4 /24 in CIDR notation, such as 10.20.30.0/24", subnet)
	}
	var p6 netip.Prefix
	if subnet6 != "" {
		p6, err = topology.ParseSubnet(subnet6)
		if err == nil && (!p6.Addr().Is6() || p6.Bits() != 64) {
			err = topology.ErrInvalidTopology
		}
		if err != nil {
			return topology.Topology{}, usagef("--subnet6 %q: want an IPv6 /64 in CIDR notation, such as fd00::/64", subnet6)
		}
	}
	topo, err := topology.New(name, team, p4, p6)
	if err != nil {
		return topology.Topology{}, usageError{msg: strings.TrimPrefix(err.Error(), topology.ErrInvalidTopology.Error()+": ")}
	}
	return topo, nil
}

// sharedFolder checks --share's folder and makes it absolute: the engine
// mounts it by its full path, and a missing one is refused here, before
// anything is made, rather than created empty.
func sharedFolder(dir string) (string, error) {
	if err := needDir("--share", dir); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usagef("--share %s: %s", dir, plainOSError(err))
	}
	return abs, nil
}

// zoneErrorInFolder names the student's own file where the DNS server
// named its copy inside the container (/etc/bind/lab/db.x → DIR/db.x).
func zoneErrorInFolder(err error, zoneDir string) error {
	var ze *lab.ZoneError
	if zoneDir == "" || !errors.As(err, &ze) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), "/etc/bind/lab/", strings.TrimSuffix(zoneDir, "/")+"/")
	return kind(topology.ErrZoneDir, errors.New(msg))
}
