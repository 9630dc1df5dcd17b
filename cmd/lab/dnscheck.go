package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/lab"
)

func newDNSCheckCmd(a *app) *cobra.Command {
	var (
		asJSON  bool
		expect  string
		clients []string
	)
	cmd := &cobra.Command{
		Use:   "dnscheck",
		Short: "Check team-domain resolution from inside every client",
		Long: `Copy a static DNS checker onto each client and run it there, so that a broken
resolv.conf or route on one client is caught. Every expectation (the lab 2
template records, the hosts' own names and every PTR, or the records of
--expect FILE) is asked twice: through the client's resolv.conf and directly
at the lab's DNS server. Exits 0 only if everything passes; a stopped or
missing DNS server or client is named in one line and exits 3.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var opts []dnscheck.Option
			if expect != "" {
				exps, err := dnscheck.LoadExpectations(expect)
				if err != nil {
					return err
				}
				opts = append(opts, dnscheck.WithExpectations(exps))
			}
			if len(clients) > 0 {
				opts = append(opts, dnscheck.WithClients(clients...))
			}
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			topo, err := lab.Load(ctx, d, a.name)
			if err != nil {
				return err
			}
			rep, err := runDNSCheck(ctx, d, topo, opts...)
			var down *lab.DownError
			if errors.As(err, &down) {
				// One line per host instead of a timeout per query.
				for _, h := range down.Hosts {
					fmt.Fprintln(a.stdout, h)
				}
				return exitError{code: 3}
			}
			if err != nil {
				return err
			}
			if asJSON {
				err = dnscheck.WriteJSON(a.stdout, rep)
			} else {
				err = dnscheck.WriteText(a.stdout, rep)
			}
			if err != nil {
				return err
			}
			if !rep.Pass() {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&expect, "expect", "", "check the records of this YAML file instead of the lab's template")
	f.StringSliceVar(&clients, "client", nil, "check only these hosts (default: every client)")
	return cmd
}

// runDNSCheck runs the checker binary on the lab's clients.
func runDNSCheck(ctx context.Context, d *lab.Docker, topo lab.Topology, opts ...dnscheck.Option) (dnscheck.Report, error) {
	bin, err := dnscheckBinary(ctx)
	if err != nil {
		return dnscheck.Report{}, err
	}
	opts = append([]dnscheck.Option{dnscheck.WithTimeout(labDNSTimeout), dnscheck.WithRetries(labDNSRetries)}, opts...)
	return dnscheck.RunLab(ctx, d, topo, bin, opts...)
}

// lab up's gate and lab dnscheck wait longer than the checker's own
// default (1 s, one retry). The server they ask is the lab's own named,
// whatever zones it serves: a zone it cannot load gets SERVFAIL, a name
// outside them REFUSED, and a stopped server is named before any query. So
// silence is a machine too loaded to answer in time (a busy CI runner, a
// laptop building images), not a broken server, and only silence waits.
// The same values as a graded lab's check.
const (
	labDNSTimeout = 3 * time.Second
	labDNSRetries = 2
)

// dnsGate is lab up's readiness gate: the check from every client, reported
// as one line. The lab stays up when it fails, so the zones can be debugged.
func dnsGate(ctx context.Context, w io.Writer, d *lab.Docker, topo lab.Topology) error {
	rep, err := runDNSCheck(ctx, d, topo)
	if err != nil {
		return fmt.Errorf("dnscheck: %w", err)
	}
	passed, failed := 0, 0
	for _, h := range rep.Hosts {
		p, f := h.Counts()
		passed += p
		failed += f
	}
	if rep.Pass() {
		fmt.Fprintf(w, "dnscheck: PASS, %d clients resolve %s: %d checks passed in %s\n",
			len(rep.Hosts), topo.Domain(), passed, rep.Elapsed.Round(1e6))
		return nil
	}
	fmt.Fprintf(w, "dnscheck: FAIL, %d of %d checks failed from the clients; the lab is up: see lab dnscheck --name %s\n",
		failed, passed+failed, topo.Name)
	// A check failed: 1, as for lab dnscheck (4 is an unreachable engine).
	return exitError{code: 1}
}
