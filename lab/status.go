package lab

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// LabStatus is the state of one lab: its hosts and, after Up, what Up did.
type LabStatus struct {
	Lab     string `json:"lab"`
	Domain  string `json:"domain,omitempty"`
	Network string `json:"network,omitempty"`
	// Shared is the folder of lab up --share, mounted at /shared on
	// every host.
	Shared string       `json:"shared,omitempty"`
	Hosts  []HostStatus `json:"hosts"`
	// Missing are the hosts of the topology that have no container.
	Missing []string `json:"missing,omitempty"`
	// Changed is false when Up found the lab already as requested.
	Changed bool `json:"changed"`
	// Summary says in a few words what Up did.
	Summary string `json:"summary,omitempty"`
	// Timings are Up's phases in order, for --timings.
	Timings []Phase `json:"timings,omitempty"`
}

// HostStatus is the state of one host.
type HostStatus struct {
	Host      string   `json:"host"`
	Role      string   `json:"role"`
	Container string   `json:"container"`
	IPv4      string   `json:"ipv4"`
	IPv6      string   `json:"ipv6"`
	State     string   `json:"state"` // "running", "exited (137)", "created", …
	Running   bool     `json:"running"`
	Processes []string `json:"processes"` // what runs there besides init, e.g. "named -g -u bind"
}

// Phase is how long one step of Up took.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}

// Up reports whether every host of the lab is running.
func (s LabStatus) Up() bool {
	if len(s.Hosts) == 0 || len(s.Missing) > 0 {
		return false
	}
	for _, h := range s.Hosts {
		if !h.Running {
			return false
		}
	}
	return true
}

// Status reports the state of the lab called name, found by label, whether
// `lab up` or compose created it. A lab that does not exist has no hosts.
func Status(ctx context.Context, eng runtime.Engine, name string) (LabStatus, error) {
	st := LabStatus{Lab: name}
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		return st, fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	nets, err := eng.Networks(ctx)
	if err != nil {
		return st, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		if n.Labels[topology.LabelLab] == name {
			st.Network = n.Name
			st.Domain = n.Labels[topology.LabelDomain]
		}
	}
	st.Hosts = make([]HostStatus, len(cs))
	hosts := eng.Lab(name)
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range cs {
		hs := HostStatus{
			Host:      c.Labels[topology.LabelHost],
			Role:      c.Labels[topology.LabelRole],
			Container: c.Name,
			IPv4:      c.Labels[topology.LabelIPv4],
			IPv6:      c.Labels[topology.LabelIPv6],
			State:     c.Describe(),
			Running:   c.State == "running",
		}
		if st.Domain == "" {
			st.Domain = c.Labels[topology.LabelDomain]
		}
		if dir := c.Labels[LabelShare]; dir != "" {
			st.Shared = dir
		}
		st.Hosts[i] = hs
		if !hs.Running {
			continue
		}
		g.Go(func() error {
			procs, err := hosts.Processes(gctx, c.Labels[topology.LabelHost])
			if err != nil {
				// A host that stops between list and top is reported by
				// its state on the next status; it is not an error.
				return nil
			}
			st.Hosts[i].Processes = describeProcesses(procs)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	if len(cs) > 0 {
		have := map[string]bool{}
		for _, h := range st.Hosts {
			have[h.Host] = true
		}
		for _, name := range topology.HostNames() {
			if !have[name] {
				st.Missing = append(st.Missing, name)
			}
		}
	}
	sort.SliceStable(st.Hosts, func(i, j int) bool { return hostRank(st.Hosts[i].Host) < hostRank(st.Hosts[j].Host) })
	return st, nil
}

func hostRank(name string) string {
	for i, h := range topology.HostNames() {
		if h == name {
			return fmt.Sprintf("0%03d", i)
		}
	}
	return "1" + name
}

// describeProcesses drops the plumbing every host runs (the init, the
// entrypoint's sleep, ps itself) and keeps what the lab put there, shortened
// to the program's base name and its arguments.
func describeProcesses(cmds []string) []string {
	out := []string{}
	for _, c := range cmds {
		f := strings.Fields(c)
		if len(f) == 0 {
			continue
		}
		prog := f[0]
		if i := strings.LastIndexByte(prog, '/'); i >= 0 {
			prog = prog[i+1:]
		}
		switch {
		case prog == "docker-init" || prog == "tini" || prog == "init":
			continue
		case prog == "sleep" && len(f) == 2 && f[1] == "infinity":
			continue
		case strings.HasPrefix(prog, "lab-") && strings.HasSuffix(prog, "-entrypoint"):
			continue
		case (prog == "sh" || prog == "bash") && len(f) >= 2 && strings.HasSuffix(f[1], "-entrypoint"):
			continue
		case prog == "lab-log":
			continue // what keeps a background program's output; the program shows itself
		case prog == "sshd:" && strings.Contains(c, "[listener]"):
			continue // the sshd lab up starts (EnableSSH); a login shows as sshd: root@pts/0
		}
		f[0] = prog
		s := strings.Join(f, " ")
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		out = append(out, s)
	}
	return out
}

// NotRunning lists the lab's hosts that are not running or are missing, in
// topology order.
func (s LabStatus) NotRunning() []runtime.HostDown {
	var out []runtime.HostDown
	for _, h := range s.Hosts {
		if !h.Running {
			out = append(out, runtime.HostDown{Lab: s.Lab, Host: h.Host, State: h.State})
		}
	}
	for _, m := range s.Missing {
		out = append(out, runtime.HostDown{Lab: s.Lab, Host: m, State: "missing"})
	}
	sort.SliceStable(out, func(i, j int) bool { return hostRank(out[i].Host) < hostRank(out[j].Host) })
	return out
}
