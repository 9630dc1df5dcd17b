package scenarios

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/lab"
)

// dockerRuntime is the Runtime of a real lab: hosts are the topology's
// containers in Docker.
type dockerRuntime struct {
	d      *lab.Docker
	topo   lab.Topology
	dnsBin func(ctx context.Context) ([]byte, error)
	agents agents // observers of the hosts' state, for pacing
	// sandbox, when not nil, is how the lab's chat hosts are confined:
	// Spawn runs programs as its user, and restage puts the submission
	// back on a host that had to be restarted.
	sandbox *lab.Sandbox
	restage func(ctx context.Context, host string) error
}

// RuntimeOption configures NewDockerRuntime.
type RuntimeOption func(*dockerRuntime)

// SandboxedHosts says the lab was brought up with lab.WithSandbox(sb):
// Spawn starts the submission's programs as sb's user without
// capabilities, and a chat host that cannot be reset between scenarios
// (its processes or memory exhausted) is restarted and given the
// submission again with restage.
func SandboxedHosts(sb lab.Sandbox, restage func(ctx context.Context, host string) error) RuntimeOption {
	return func(r *dockerRuntime) { r.sandbox, r.restage = &sb, restage }
}

// NewDockerRuntime returns the Runtime of the lab topo, reached through d.
// dnsBin supplies the static dnscheck binary (nil: the dnscheck step falls
// back to getent).
func NewDockerRuntime(d *lab.Docker, topo lab.Topology, dnsBin func(ctx context.Context) ([]byte, error), opts ...RuntimeOption) Runtime {
	r := &dockerRuntime{d: d, topo: topo, dnsBin: dnsBin}
	for _, o := range opts {
		o(r)
	}
	return r
}

// restartHost restarts a chat host's container, which ends every process
// there and empties its tmpfs mounts, and stages the submission again.
func (r *dockerRuntime) restartHost(ctx context.Context, host string) error {
	ctr, err := r.container(host)
	if err != nil {
		return err
	}
	if err := r.d.Restart(ctx, ctr); err != nil {
		return err
	}
	if r.restage == nil {
		return nil
	}
	return r.restage(ctx, host)
}

// exhausted says whether the programs on host have filled its process
// table (all but a few of its pids limit), which leaves the grader unable to
// start a command there.
func (r *dockerRuntime) exhausted(ctx context.Context, host string) (string, error) {
	ctr, err := r.container(host)
	if err != nil {
		return "", err
	}
	cur, limit, err := r.d.PIDCount(ctx, ctr)
	if err != nil || limit == 0 || cur+exhaustedSlack < limit {
		return "", err
	}
	return fmt.Sprintf("the submission's programs filled %s's process table (%d processes and threads, the limit is %d), so the grader could not run its checks there", host, cur, limit), nil
}

// exhaustedSlack is how few free process slots count as a full table: the
// grader needs two or three for one command.
const exhaustedSlack = 4

// CheckDNS runs dnscheck in the hosts for the team domain's A and AAAA
// records.
func (r *dockerRuntime) CheckDNS(ctx context.Context, hosts []string) (bool, string, error) {
	if r.dnsBin == nil {
		return false, "", ErrNoDNSCheck
	}
	bin, err := r.dnsBin(ctx)
	if err != nil {
		return false, "", fmt.Errorf("%w: %v", ErrNoDNSCheck, err)
	}
	apex := r.topo.Domain() + "."
	var exps []dnscheck.Expectation
	for _, e := range dnscheck.Expectations(r.topo) {
		if e.Name == apex && (e.Type == "A" || e.Type == "AAAA") {
			exps = append(exps, e)
		}
	}
	rep, err := dnscheck.RunLab(ctx, r.d, r.topo, bin, dnscheck.WithExpectations(exps), dnscheck.WithClients(hosts...),
		dnscheck.WithTimeout(gradeDNSTimeout), dnscheck.WithRetries(gradeDNSRetries))
	if err != nil {
		return false, "", err
	}
	var b strings.Builder
	_ = dnscheck.WriteText(&b, rep)
	if unanswered(rep) {
		// The graded lab's DNS server and resolv.conf are the grader's own,
		// and Up saw named answer: silence now is a machine too loaded to
		// answer in time, not the submission's doing.
		return false, b.String(), fmt.Errorf("the lab's DNS server gave no answer in %d tries of %s: the machine is overloaded", gradeDNSRetries+1, gradeDNSTimeout)
	}
	return rep.Pass(), b.String(), nil
}

// A graded lab's dnscheck waits longer than an interactive one (1 s, one
// retry): on a machine busy with other labs a query can wait seconds for
// the CPU, and a point must not depend on that.
const (
	gradeDNSTimeout = 3 * time.Second
	gradeDNSRetries = 2
)

// unanswered reports whether a failed dnscheck failed only because queries
// went unanswered or the check could not run, never on an answer.
func unanswered(rep dnscheck.Report) bool {
	failed := false
	for _, h := range rep.Hosts {
		for _, res := range h.Results {
			if res.Pass {
				continue
			}
			if res.Reason != dnscheck.ReasonTimeout {
				return false
			}
			failed = true
		}
		for _, f := range h.Findings {
			switch {
			case f.Warning:
			case f.Kind == dnscheck.FindingRun:
				failed = true
			case f.Kind != dnscheck.FindingMismatch:
				return false
			}
		}
	}
	return failed
}

// DNSCheckBinary returns a loader of the dnscheck binary for
// NewDockerRuntime that reads or builds it once (see dnscheck.Binary; root
// "" is the module of the working directory).
func DNSCheckBinary(root string) func(ctx context.Context) ([]byte, error) {
	return LoadOnce(func(ctx context.Context) ([]byte, error) { return dnscheck.Binary(ctx, root) })
}

// LoadOnce makes load, e.g. of the dnscheck binary for WithDNSCheck, run
// once, on the first call's context; every call returns that result, so a
// class of submissions reads (or builds) the binary once.
func LoadOnce(load func(ctx context.Context) ([]byte, error)) func(ctx context.Context) ([]byte, error) {
	var (
		once sync.Once
		bin  []byte
		err  error
	)
	return func(ctx context.Context) ([]byte, error) {
		once.Do(func() { bin, err = load(ctx) })
		return bin, err
	}
}

func (r *dockerRuntime) container(host string) (string, error) {
	if _, ok := r.topo.Host(host); !ok {
		return "", fmt.Errorf("lab %s has no host %q", r.topo.Name, host)
	}
	return r.topo.ContainerName(host), nil
}

func (r *dockerRuntime) Spawn(ctx context.Context, host string, cmd, env []string, workdir string) (Process, error) {
	ctr, err := r.container(host)
	if err != nil {
		return nil, err
	}
	// Merge stderr into stdout inside the container: Docker delivers the
	// two streams separately, so a program that logs to stderr at once
	// could overtake lab.Spawn's PID line on stdout, and a transcript would
	// interleave the streams out of order. One stream keeps both in order.
	// exec keeps the PID, so signals still reach the program.
	wrapped := append([]string{"sh", "-c", `exec "$@" 2>&1`, "lab3"}, cmd...)
	if r.sandbox != nil {
		// The submission's programs run as the sandbox's user, without
		// capabilities; the grader's own commands stay root.
		wrapped = r.sandbox.Command(wrapped)
	}
	p, err := r.d.Spawn(ctx, ctr, wrapped, env, workdir)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (r *dockerRuntime) Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (ExecResult, error) {
	ctr, err := r.container(host)
	if err != nil {
		return ExecResult{}, err
	}
	res, err := r.d.Exec(ctx, ctr, cmd, stdin)
	return ExecResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr}, err
}

func (r *dockerRuntime) Host(ctx context.Context, host string, action HostAction) error {
	ctr, err := r.container(host)
	if err != nil {
		return err
	}
	switch action {
	case HostStop:
		return r.d.Stop(ctx, ctr)
	case HostKill:
		return r.d.Kill(ctx, ctr)
	case HostStart:
		return r.d.Start(ctx, ctr)
	case HostDisconnect:
		return r.d.Disconnect(ctx, r.topo, host)
	case HostReconnect:
		return r.d.Reconnect(ctx, r.topo, host)
	}
	return fmt.Errorf("host %s: unknown action %q", host, action)
}
