package dnscheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// DefaultBinaryPath is where RunLab puts the dnscheck binary in each client,
// so students can also run it by hand.
const DefaultBinaryPath = "/usr/local/bin/dnscheck"

// sandboxBinaryPath is where the binary goes on a sandboxed host, whose
// root file system is read-only: in the grader's tool folder (lab.ToolDir,
// which this package, linked into the in-container checker, does not
// import; a test holds the two together).
const sandboxBinaryPath = "/opt/lab3/bin/dnscheck"

// WithExpectations makes RunLab check exps instead of Expectations(topo).
func WithExpectations(exps []Expectation) Option {
	return func(c *config) { c.exps = exps }
}

// WithClients makes RunLab check only the named hosts instead of every
// client, e.g. WithClients("client2").
func WithClients(names ...string) Option {
	return func(c *config) { c.clients = names }
}

// WithBinaryPath sets where RunLab puts the binary in the containers.
func WithBinaryPath(path string) Option {
	return func(c *config) { c.binaryPath = path }
}

// RunLab copies binary (the static cmd/dnscheck, see Binary) into every
// client of topo on eng, runs it in all of them at once against the
// expectations, and gathers their reports. Each client checks through its
// own resolv.conf and directly at the lab's DNS server. A client where the
// binary cannot run gets a FindingRun. The error is for input RunLab
// refuses, before it touches any container, and a *runtime.DownError
// naming the DNS server or clients that are stopped or missing (nothing is
// checked then: every query would only time out).
func RunLab(ctx context.Context, eng runtime.Engine, topo topology.Topology, binary []byte, opts ...Option) (Report, error) {
	cfg := newConfig(opts)
	start := cfg.now()
	if len(binary) == 0 {
		return Report{}, fmt.Errorf("%w: the binary is empty: run make build (bin/dnscheck)", ErrNoBinary)
	}
	if cfg.binaryPath == "" {
		cfg.binaryPath = DefaultBinaryPath
	}
	if len(topo.ByRole(topology.RoleDNS)) == 0 {
		return Report{}, fmt.Errorf("%w: the topology has no DNS server: make it with topology.New", topology.ErrInvalidTopology)
	}
	exps := cfg.exps
	if exps == nil {
		exps = Expectations(topo)
	}
	if len(exps) == 0 {
		return Report{}, fmt.Errorf("%w: no expectations to check", ErrInvalidExpectation)
	}
	for i, e := range exps {
		if _, err := normalize(e); err != nil {
			return Report{}, fmt.Errorf("expectation %d: %w", i+1, err)
		}
	}
	var stdin bytes.Buffer
	if err := WriteExpectations(&stdin, exps); err != nil {
		return Report{}, err
	}
	hosts, err := pickHosts(topo, cfg.clients)
	if err != nil {
		return Report{}, err
	}
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: topo.Name})
	if err != nil {
		return Report{}, fmt.Errorf("list the hosts of lab %s: %w", topo.Name, err)
	}
	names := []string{topo.DNSServer().Name}
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	if down := runtime.HostsDown(topo.Name, cs, names); len(down) > 0 {
		return Report{}, &runtime.DownError{Hosts: down}
	}
	lab := eng.Lab(topo.Name)
	server := topo.DNSServer().IPv4.String()
	rep := Report{Lab: topo.Name, Domain: topo.Domain(), Server: server, Hosts: make([]HostReport, len(hosts))}

	// A stuck exec must not hang the check: every query has its tries, and
	// copying and starting the binary get a generous allowance on top.
	limit := time.Duration(cfg.retries+1)*cfg.timeout*2 + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Hosts[i] = runHost(ctx, lab, h.Name, server, binary, stdin.Bytes(), cfg)
		}()
	}
	wg.Wait()
	rep.Elapsed = cfg.now().Sub(start)
	return rep, nil
}

func pickHosts(topo topology.Topology, names []string) ([]topology.Host, error) {
	if len(names) == 0 {
		c := topo.Clients()
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: the topology has no clients", topology.ErrInvalidTopology)
		}
		return c, nil
	}
	var out []topology.Host
	for _, n := range names {
		h, ok := topo.Host(n)
		if !ok {
			var all []string
			for _, h := range topo.Hosts {
				all = append(all, h.Name)
			}
			return nil, fmt.Errorf("unknown host %q: the lab's hosts are %s", n, strings.Join(all, ", "))
		}
		out = append(out, h)
	}
	return out, nil
}

func runHost(ctx context.Context, lab runtime.Hosts, host, server string, binary, stdin []byte, cfg config) HostReport {
	failed := func(format string, args ...any) HostReport {
		return HostReport{Host: host, Direct: server, Findings: []Finding{{Kind: FindingRun, Detail: fmt.Sprintf(format, args...)}}}
	}
	path := cfg.binaryPath
	copyTo := func(path string) error {
		return lab.CopyFiles(ctx, host, []runtime.File{{Path: path, Mode: 0o755, Data: binary}})
	}
	err := copyTo(path)
	if err != nil && path == DefaultBinaryPath && strings.Contains(strings.ToLower(err.Error()), "read-only") {
		// A sandboxed host: only its tmpfs mounts are writable.
		path = sandboxBinaryPath
		err = copyTo(path)
	}
	if err != nil {
		return failed("copy dnscheck into %s: %v: is the lab up? (lab status)", host, err)
	}
	cmd := []string{path, "--expect-json", "-", "--direct", server, "--host", host,
		"--timeout", cfg.timeout.String(), "--retries", fmt.Sprint(cfg.retries), "--port", fmt.Sprint(cfg.port), "--json"}
	res, err := lab.Exec(ctx, host, cmd, bytes.NewReader(stdin))
	if err != nil {
		return failed("run dnscheck in %s: %v", host, err)
	}
	if res.ExitCode != 0 && res.ExitCode != 1 {
		msg := firstLine(res.Stderr)
		if res.ExitCode == 126 || res.ExitCode == 127 {
			msg += " (was bin/dnscheck built with CGO_ENABLED=0 for this machine's architecture?)"
		}
		return failed("dnscheck in %s exited %d: %s", host, res.ExitCode, msg)
	}
	var got Report
	if err := json.Unmarshal(res.Stdout, &got); err != nil || len(got.Hosts) != 1 {
		return failed("dnscheck in %s printed no report (%v): %s", host, err, firstLine(res.Stderr))
	}
	return got.Hosts[0]
}
