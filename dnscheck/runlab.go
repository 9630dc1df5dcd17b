package dnscheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// Runner is what RunLab needs from the container engine: put a file into a
// container and run a command there. *lab.Docker satisfies it.
type Runner interface {
	Exec(ctx context.Context, container string, cmd []string, stdin io.Reader) (lab.ExecResult, error)
	CopyFile(ctx context.Context, container, dst string, mode os.FileMode, data []byte) error
}

// StateLister is what RunLab uses, when its Runner also offers it, to name
// a stopped or missing host before checking anything. *lab.Docker
// satisfies it.
type StateLister interface {
	Containers(ctx context.Context, labels map[string]string) ([]lab.ContainerInfo, error)
}

// DefaultBinaryPath is where RunLab puts the dnscheck binary in each client,
// so students can also run it by hand.
const DefaultBinaryPath = "/usr/local/bin/dnscheck"

// sandboxBinaryPath is where the binary goes on a sandboxed host, whose
// root file system is read-only.
const sandboxBinaryPath = lab.ToolDir + "/bin/dnscheck"

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
// client of topo, runs it in all of them at once against the expectations,
// and gathers their reports. Each client checks through its own resolv.conf
// and directly at the lab's DNS server. A client where the binary cannot run
// gets a FindingRun. The error is for input RunLab refuses, before it
// touches any container, and, when r is also a StateLister, a
// *lab.DownError naming the DNS server or clients that are stopped or
// missing (nothing is checked then: every query would only time out).
func RunLab(ctx context.Context, r Runner, topo lab.Topology, binary []byte, opts ...Option) (Report, error) {
	cfg := newConfig(opts)
	start := cfg.now()
	if len(binary) == 0 {
		return Report{}, fmt.Errorf("%w: the binary is empty: run make build (bin/dnscheck)", ErrNoBinary)
	}
	if cfg.binaryPath == "" {
		cfg.binaryPath = DefaultBinaryPath
	}
	if len(topo.ByRole(lab.RoleDNS)) == 0 {
		return Report{}, fmt.Errorf("%w: the topology has no DNS server: make it with lab.New", lab.ErrInvalidTopology)
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
	if sl, ok := r.(StateLister); ok {
		cs, err := sl.Containers(ctx, map[string]string{lab.LabelLab: topo.Name})
		if err != nil {
			return Report{}, fmt.Errorf("list the hosts of lab %s: %w", topo.Name, err)
		}
		names := []string{topo.DNSServer().Name}
		for _, h := range hosts {
			names = append(names, h.Name)
		}
		if down := lab.HostsDown(topo.Name, cs, names); len(down) > 0 {
			return Report{}, &lab.DownError{Hosts: down}
		}
	}
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
			rep.Hosts[i] = runHost(ctx, r, topo.ContainerName(h.Name), h.Name, server, binary, stdin.Bytes(), cfg)
		}()
	}
	wg.Wait()
	rep.Elapsed = cfg.now().Sub(start)
	return rep, nil
}

func pickHosts(topo lab.Topology, names []string) ([]lab.Host, error) {
	if len(names) == 0 {
		c := topo.Clients()
		if len(c) == 0 {
			return nil, fmt.Errorf("%w: the topology has no clients", lab.ErrInvalidTopology)
		}
		return c, nil
	}
	var out []lab.Host
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

func runHost(ctx context.Context, r Runner, container, host, server string, binary, stdin []byte, cfg config) HostReport {
	failed := func(format string, args ...any) HostReport {
		return HostReport{Host: host, Direct: server, Findings: []Finding{{Kind: FindingRun, Detail: fmt.Sprintf(format, args...)}}}
	}
	path := cfg.binaryPath
	err := r.CopyFile(ctx, container, path, 0o755, binary)
	if err != nil && path == DefaultBinaryPath && strings.Contains(strings.ToLower(err.Error()), "read-only") {
		// A sandboxed host: only its tmpfs mounts are writable.
		path = sandboxBinaryPath
		err = r.CopyFile(ctx, container, path, 0o755, binary)
	}
	if err != nil {
		return failed("copy dnscheck into %s: %v: is the lab up? (lab status)", container, err)
	}
	cmd := []string{path, "--expect-json", "-", "--direct", server, "--host", host,
		"--timeout", cfg.timeout.String(), "--retries", fmt.Sprint(cfg.retries), "--port", fmt.Sprint(cfg.port), "--json"}
	res, err := r.Exec(ctx, container, cmd, bytes.NewReader(stdin))
	if err != nil {
		return failed("run dnscheck in %s: %v", container, err)
	}
	if res.ExitCode != 0 && res.ExitCode != 1 {
		msg := firstLine(res.Stderr)
		if res.ExitCode == 126 || res.ExitCode == 127 {
			msg += " (was bin/dnscheck built with CGO_ENABLED=0 for this machine's architecture?)"
		}
		return failed("dnscheck in %s exited %d: %s", container, res.ExitCode, msg)
	}
	var got Report
	if err := json.Unmarshal(res.Stdout, &got); err != nil || len(got.Hosts) != 1 {
		return failed("dnscheck in %s printed no report (%v): %s", container, err, firstLine(res.Stderr))
	}
	return got.Hosts[0]
}

// The Docker implementation is the Runner RunLab is written for.
var _ Runner = (*lab.Docker)(nil)
