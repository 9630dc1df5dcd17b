package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
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
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			rep, err := runDNSCheck(ctx, d, topo, opts...)
			var down *runtime.DownError
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

// runDNSCheck runs the checker binary on the lab's clients, with the lab's
// patience (see provision.DNSTimeout).
func runDNSCheck(ctx context.Context, d runtime.Engine, topo topology.Topology, opts ...dnscheck.Option) (dnscheck.Report, error) {
	bin, err := dnscheckBinary(ctx)
	if err != nil {
		return dnscheck.Report{}, err
	}
	return provision.Check(ctx, d, topo, bin, opts...)
}

// dnsGate reports lab up's readiness gate, the check from every client
// that provision.Lab ran (err is its error), as one line. The lab stays up
// when it fails, so the zones can be debugged.
func dnsGate(w io.Writer, topo topology.Topology, res provision.Result, err error) error {
	var ge *provision.GateError
	switch {
	case errors.As(err, &ge):
		passed, failed := ge.Counts()
		fmt.Fprintf(w, "dnscheck: FAIL, %d of %d checks failed from the clients; the lab is up: see lab dnscheck --name %s\n",
			failed, passed+failed, topo.Name)
		// A check failed: 1, as for lab dnscheck (4 is an unreachable engine).
		return exitError{code: 1}
	case err != nil:
		return err
	case res.DNS != nil:
		passed, _ := provision.Counts(*res.DNS)
		fmt.Fprintf(w, "dnscheck: PASS, %d clients resolve %s: %d checks passed in %s\n",
			len(res.DNS.Hosts), topo.Domain(), passed, res.DNS.Elapsed.Round(1e6))
	}
	return nil
}
