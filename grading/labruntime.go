package grading

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// LabRuntime is the hosts of a real lab (runtime.Hosts, by host name)
// with what grading adds on top: the grader's agent on each host
// (Observer), dnscheck in the hosts (CheckDNS), and a host restarted and
// given the submission again when it cannot be reset. It speaks to the
// engine only through package runtime.
type LabRuntime struct {
	runtime.Hosts
	eng    runtime.Engine
	topo   topology.Topology
	dnsBin func(ctx context.Context) ([]byte, error)
	agents agents // observers of the hosts' state, for pacing
	// restage puts the submission back on a host that had to be
	// restarted.
	restage func(ctx context.Context, host string) error
}

// RuntimeOption configures NewLabRuntime.
type RuntimeOption func(*LabRuntime)

// WithRestage says how to give a chat host the submission again: a host
// that cannot be reset between scenarios (its processes or memory
// exhausted) is restarted, which empties a sandboxed host's tmpfs, and
// restaged.
func WithRestage(restage func(ctx context.Context, host string) error) RuntimeOption {
	return func(r *LabRuntime) { r.restage = restage }
}

// NewLabRuntime returns the hosts of the lab topo on eng. dnsBin supplies
// the static dnscheck binary for CheckDNS (nil: CheckDNS says
// ErrNoDNSCheck, and the dnscheck step falls back to getent).
func NewLabRuntime(eng runtime.Engine, topo topology.Topology, dnsBin func(ctx context.Context) ([]byte, error), opts ...RuntimeOption) *LabRuntime {
	r := &LabRuntime{Hosts: eng.Lab(topo.Name), eng: eng, topo: topo, dnsBin: dnsBin}
	for _, o := range opts {
		o(r)
	}
	return r
}

// restartHost restarts a chat host's container, which ends every process
// there and empties its tmpfs mounts, and stages the submission again.
func (r *LabRuntime) restartHost(ctx context.Context, host string) error {
	if err := r.known(host); err != nil {
		return err
	}
	if err := r.Restart(ctx, host); err != nil {
		return err
	}
	if r.restage == nil {
		return nil
	}
	return r.restage(ctx, host)
}

// exhausted says whether the programs on host have filled its process
// table (all but a few of its pids limit), which leaves the grader unable to
// start a command there, or hold so many sockets that the grader does not
// read its connections (scenarios.ErrFlooded).
func (r *LabRuntime) exhausted(ctx context.Context, host string) (string, error) {
	if err := r.known(host); err != nil {
		return "", err
	}
	cur, limit, err := r.PIDCount(ctx, host)
	if err != nil {
		return "", err
	}
	if limit > 0 && cur+exhaustedSlack >= limit {
		return fmt.Sprintf("the submission's programs filled %s's process table (%d processes and threads, the limit is %d), so the grader could not run its checks there", host, cur, limit), nil
	}
	if _, err := r.Observe(ctx, host, nil); errors.Is(err, scenarios.ErrFlooded) {
		return "the submission's programs flooded the host: " + strings.TrimPrefix(err.Error(), "observe "+host+": "), nil
	}
	return "", nil
}

// exhaustedSlack is how few free process slots count as a full table: the
// grader needs two or three for one command.
const exhaustedSlack = 4

// CheckDNS runs dnscheck in the hosts for the team domain's A and AAAA
// records and returns its typed report; it is a DNSCheck, for
// WithDNSChecker. A report whose only failures are silence
// (provision.Unanswered) comes with an error: the machine, not the
// submission.
func (r *LabRuntime) CheckDNS(ctx context.Context, hosts []string) (dnscheck.Report, error) {
	if r.dnsBin == nil {
		return dnscheck.Report{}, scenarios.ErrNoDNSCheck
	}
	bin, err := r.dnsBin(ctx)
	if err != nil {
		return dnscheck.Report{}, fmt.Errorf("%w: %v", scenarios.ErrNoDNSCheck, err)
	}
	apex := r.topo.Domain() + "."
	var exps []dnscheck.Expectation
	for _, e := range dnscheck.Expectations(r.topo) {
		if e.Name == apex && (e.Type == "A" || e.Type == "AAAA") {
			exps = append(exps, e)
		}
	}
	rep, err := provision.Check(ctx, r.eng, r.topo, bin, dnscheck.WithExpectations(exps), dnscheck.WithClients(hosts...))
	if err != nil {
		return dnscheck.Report{}, err
	}
	if provision.Unanswered(rep) {
		// The graded lab's DNS server and resolv.conf are the grader's own,
		// and Up saw named answer: silence now is a machine too loaded to
		// answer in time, not the submission's doing.
		return rep, fmt.Errorf("the lab's DNS server gave no answer in %d tries of %s: the machine is overloaded", provision.DNSRetries+1, provision.DNSTimeout)
	}
	return rep, nil
}

// DNSCheckBinary returns a loader of the dnscheck binary for
// NewLabRuntime that reads or builds it once (see dnscheck.Binary; root
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

// known fails for a host the lab does not have.
func (r *LabRuntime) known(host string) error {
	if _, ok := r.topo.Host(host); !ok {
		return fmt.Errorf("lab %s has no host %q", r.topo.Name, host)
	}
	return nil
}

// oneLine joins a command's output into one line, for a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Throttled is how long host has been held back by its own CPU quota
// since it started: the cgroup's throttled time (cgroup v1
// cpu/cpu.stat throttled_time, v2 cpu.stat throttled_usec). A sandboxed
// host may use a whole CPU, so only a submission that runs more than one
// CPU's worth at once is throttled: its wait is its own doing, not the
// machine's (scenarios.Throttler).
func (r *LabRuntime) Throttled(ctx context.Context, host string) (time.Duration, error) {
	if err := r.known(host); err != nil {
		return 0, err
	}
	res, err := r.Exec(ctx, host, []string{"cat", "/sys/fs/cgroup/cpu/cpu.stat", "/sys/fs/cgroup/cpu.stat"}, nil)
	if err != nil {
		return 0, fmt.Errorf("read %s's CPU throttling: %w", host, err)
	}
	return parseThrottled(string(res.Stdout))
}

// parseThrottled reads the throttled time of a cgroup's cpu.stat.
func parseThrottled(s string) (time.Duration, error) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "throttled_time": // v1, nanoseconds
			return time.Duration(n), nil
		case "throttled_usec": // v2
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, errors.New("cpu.stat has no throttled time")
}
