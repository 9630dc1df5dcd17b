package grading

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// CPUPressure reads how busy a machine's CPUs are: the share of the last
// ten seconds in which some runnable task waited for a CPU (Linux PSI,
// /proc/pressure/cpu "some avg10"), from 0 to 1.
type CPUPressure func() (float64, error)

// LocalCPUPressure reads this machine's /proc/pressure/cpu. It fails where
// the kernel keeps no pressure stall information.
func LocalCPUPressure() (float64, error) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, err
	}
	return parsePressure(string(b))
}

// parsePressure reads the "some" line's avg10 of a PSI file.
func parsePressure(s string) (float64, error) {
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "some ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if v, ok := strings.CutPrefix(f, "avg10="); ok {
				p, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, fmt.Errorf("cpu pressure: %q: %w", f, err)
				}
				return p / 100, nil
			}
		}
	}
	return 0, errors.New("cpu pressure: no \"some avg10=\" field")
}

// The governor's thresholds and pace. The grader's own labs at the
// default --parallel on two cores keep "some" pressure at 50-85% while
// every program gets its CPU in time (measured); above pressureHigh the machine is short of CPU: one fewer
// scenario may run at once, until it falls below pressureLow, when one
// more may again. Pressure is a ten-second average,
// so the allowance moves at most once every governorStep, for a change to
// show in the reading before the next.
const (
	pressureHigh = 0.92
	pressureLow  = 0.80
	governorStep = 5 * time.Second
	governorPoll = 250 * time.Millisecond
)

// governor paces the scenarios that run at once on one engine by the CPU
// the engine's machine actually gets. --parallel and --labs set how many
// may run at most; the governor lets fewer run while the machine is busy,
// whether with the grader's own labs or with other work, so that no
// student's program is starved into a wrong verdict. One always may run,
// so grading goes on however busy the machine stays.
type governor struct {
	read  CPUPressure
	max   int
	log   func(msg string, pressure float64, running, allowed int)
	clock func() time.Time

	mu      sync.Mutex
	cond    chan struct{} // closed and replaced when a slot is released
	running int
	solo    int // runs waiting for the machine to themselves, or on it
	allowed int
	moved   time.Time     // when allowed last changed
	waited  time.Duration // all the time scenarios waited for the machine
}

// newGovernor lets up to max scenarios run at once, fewer while read
// says the CPUs are contended. A nil read never holds one back.
func newGovernor(read CPUPressure, max int, log func(msg string, pressure float64, running, allowed int)) *governor {
	return &governor{read: read, max: max, allowed: max, log: log, clock: time.Now, cond: make(chan struct{})}
}

// acquire waits for the machine to have room for one more scenario, and
// returns the function that gives the room back.
func (g *governor) acquire(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	start := g.clock()
	said := false
	for {
		g.mu.Lock()
		p, perr := g.pressure()
		if perr == nil {
			g.adjust(p)
		}
		if g.solo == 0 && (g.running == 0 || g.running < g.allowed) {
			g.running++
			running, allowed, took := g.running, g.allowed, g.clock().Sub(start)
			if said {
				g.waited += took
			}
			g.mu.Unlock()
			if said && g.log != nil {
				g.log(fmt.Sprintf("the machine has room again after %.1fs", took.Seconds()), p, running, allowed)
			}
			return g.release, nil
		}
		if !said && g.log != nil {
			g.log(fmt.Sprintf("waiting for the machine: CPU pressure %.0f%% over 10 s; %d of at most %d scenarios running", p*100, g.running, g.max), p, g.running, g.allowed)
		}
		said = true
		ch := g.cond
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-time.After(governorPoll):
		}
	}
}

// acquireAlone waits until no other scenario runs on the machine, keeping
// new ones from starting meanwhile, and returns the function that gives
// the machine back: the last run of a check starved twice has the
// engine's machine to itself, as a student's laptop would be.
func (g *governor) acquireAlone(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	start := g.clock()
	g.mu.Lock()
	g.solo++
	for g.running > 0 {
		ch := g.cond
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			g.mu.Lock()
			g.solo--
			g.wake()
			g.mu.Unlock()
			return nil, ctx.Err()
		case <-ch:
		case <-time.After(governorPoll):
		}
		g.mu.Lock()
	}
	g.running++
	g.waited += g.clock().Sub(start)
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.solo--
		g.running--
		g.wake()
	}, nil
}

func (g *governor) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	g.wake()
}

// wake tells the waiters that room was given back. It holds g.mu.
func (g *governor) wake() {
	close(g.cond)
	g.cond = make(chan struct{})
}

// pressure reads the machine; a machine that cannot say is not held back.
func (g *governor) pressure() (float64, error) {
	if g.read == nil {
		return 0, errors.New("no reading")
	}
	return g.read()
}

// adjust moves the allowance one step towards what the pressure says,
// at most once every governorStep. It holds g.mu.
func (g *governor) adjust(p float64) {
	now := g.clock()
	if now.Sub(g.moved) < governorStep {
		return
	}
	switch {
	case p >= pressureHigh && g.allowed > 1:
		g.allowed--
		g.moved = now
	case p <= pressureLow && g.allowed < g.max:
		g.allowed++
		g.moved = now
	}
}

// calm waits, at most limit, until the machine's CPU pressure is down to
// pressureLow or no other scenario runs: a check that failed while a
// program was starved runs again only once the machine has room.
func (g *governor) calm(ctx context.Context, limit time.Duration) {
	if g == nil || g.read == nil {
		return
	}
	deadline := time.After(limit)
	for {
		g.mu.Lock()
		running := g.running
		g.mu.Unlock()
		if p, err := g.read(); err != nil || p <= pressureLow || running == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-time.After(governorPoll):
		}
	}
}

// totalWait is how long scenarios have waited for the machine in all.
func (g *governor) totalWait() time.Duration {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waited
}

// SocketTableSysctls are the settings that give each network namespace
// made afterwards (each lab host) small socket tables of its own. Without
// them every host shares the kernel's global TCP table (262,144 buckets on
// a 24 GiB machine), which each reading of a host's sockets
// (/proc/net/tcp, as the grader's agent reads it dozens of times a
// second) walks whole: measured on one full grade of students/faithful,
// the agents took 27 of 58 CPU-seconds with the global tables and 6 of 42
// with these. They change nothing else: a namespace with more connections
// than buckets still works, more slowly. make deps sets them.
const SocketTableSysctls = "net.ipv4.tcp_child_ehash_entries=1024 net.ipv4.udp_child_hash_entries=256"

// sharedSocketTables returns a hint when engine d is on this machine and
// new network namespaces share the kernel's global TCP table, "" otherwise.
func sharedSocketTables(d runtime.Engine) string {
	if d == nil || !strings.HasPrefix(d.Name(), "unix://") {
		return ""
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_child_ehash_entries")
	if err != nil || strings.TrimSpace(string(b)) != "0" {
		return ""
	}
	return "this machine's lab hosts share the kernel's global socket tables, so the grader's readings of their sockets cost about four times the CPU they need; before grading, run: sudo sysctl -w " + SocketTableSysctls + " (make deps does; not persistent)"
}
