// Package dnscheckcmd is the dnscheck program, so that cmd/dnscheck and lab
// itself (copied into a host under the name dnscheck) run the same code. It
// checks, from the host it runs on, that the lab's DNS server answers the
// team's domain: every expectation through the server in resolv.conf and
// directly at the lab's DNS server. `lab dnscheck` copies it into each
// client and runs it there; it is built static (CGO_ENABLED=0) so it runs
// in any container.
//
// Usage:
//
//	dnscheck [--expect-json FILE|-] [--expect FILE.yaml] [--team N] [--subnet CIDR]
//	         [--direct ADDR] [--resolv PATH] [--port N] [--host NAME] [--timeout D] [--retries N] [--json]
//
// Exit status: 0 when everything passes, 1 when a check fails, 2 for bad
// input.
package dnscheckcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/internal/version"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// Main runs the program on the process's arguments and streams and returns
// its exit status.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// run is the whole program, with its streams passed in so tests can drive
// it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dnscheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	var (
		expectJSON = fs.String("expect-json", "", "read expectations as JSON from `FILE` (- for standard input)")
		expectYAML = fs.String("expect", "", "read expectations from a YAML expect `FILE`")
		team       = fs.Int("team", topology.DefaultTeam, "team `number`: without --expect*, check the lab 2 template of teamN.com")
		subnet     = fs.String("subnet", topology.DefaultSubnet4.String(), "the lab's IPv4 `CIDR`, for the template and the default --direct")
		direct     = fs.String("direct", "", "the lab DNS server's `ADDR`ess (default: .2 of --subnet)")
		resolv     = fs.String("resolv", dnscheck.DefaultResolvConf, "the resolv.conf `PATH` whose first nameserver is checked")
		host       = fs.String("host", "", "`NAME` of this host in the report (default: the hostname)")
		timeout    = fs.Duration("timeout", dnscheck.DefaultTimeout, "wait this `duration` for each answer")
		port       = fs.Uint("port", 53, "DNS `port` of servers given without one, resolv.conf's included")
		retries    = fs.Int("retries", dnscheck.DefaultRetries, "send a timed-out query `n` more times")
		asJSON     = fs.Bool("json", false, "print the report as JSON")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dnscheck [flags]\nChecks the lab's DNS answers through resolv.conf and directly at the lab's DNS server.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, "dnscheck", version.String(""))
		return exitPass
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "dnscheck: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q: all input is given by flags (see --help)", fs.Arg(0))
	}
	if *expectJSON != "" && *expectYAML != "" {
		return usage("give --expect-json or --expect, not both")
	}
	if *timeout <= 0 || *retries < 0 {
		return usage("--timeout must be positive and --retries at least 0")
	}
	if *port == 0 || *port > 65535 {
		return usage("--port %d: want 1-65535", *port)
	}
	prefix, err := topology.ParseSubnet(*subnet)
	if err != nil {
		return usage("%v", err)
	}
	topo, err := topology.New(topology.DefaultName, *team, prefix, netip.Prefix{})
	if err != nil {
		return usage("%v", err)
	}
	exps, err := loadExpectations(*expectJSON, *expectYAML, stdin, topo)
	if err != nil {
		return usage("%v", err)
	}
	if *direct == "" {
		*direct = topo.DNSServer().IPv4.String()
	}
	if _, err := dnscheck.ServerAddr(*direct); err != nil {
		return usage("--direct: %v", err)
	}
	if *host == "" {
		*host, _ = os.Hostname()
	}

	start := time.Now()
	hr := dnscheck.CheckHost(ctx, *host, exps, *direct, *resolv,
		dnscheck.WithTimeout(*timeout), dnscheck.WithRetries(*retries), dnscheck.WithPort(uint16(*port)))
	rep := dnscheck.Report{Hosts: []dnscheck.HostReport{hr}, Server: hr.Direct, Elapsed: time.Since(start)}
	if *expectJSON == "" && *expectYAML == "" {
		rep.Domain = topo.Domain()
	}
	write := dnscheck.WriteText
	if *asJSON {
		write = dnscheck.WriteJSON
	}
	if err := write(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "dnscheck: %v\n", err)
		return exitUsage
	}
	if !rep.Pass() {
		return exitFail
	}
	return exitPass
}

func loadExpectations(jsonPath, yamlPath string, stdin io.Reader, topo topology.Topology) ([]dnscheck.Expectation, error) {
	switch {
	case yamlPath != "":
		return dnscheck.LoadExpectations(yamlPath)
	case jsonPath == "-":
		return dnscheck.DecodeExpectations(stdin)
	case jsonPath != "":
		f, err := os.Open(jsonPath)
		if err != nil {
			return nil, fmt.Errorf("--expect-json: %w", err)
		}
		defer f.Close()
		exps, err := dnscheck.DecodeExpectations(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.TrimSpace(jsonPath), err)
		}
		return exps, nil
	}
	return dnscheck.Expectations(topo), nil
}
