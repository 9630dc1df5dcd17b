package lab

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// LabStatus is the state of one lab: its hosts and, after Up, what Up did.
type LabStatus struct {
	Lab     string       `json:"lab"`
	Domain  string       `json:"domain,omitempty"`
	Network string       `json:"network,omitempty"`
	Hosts   []HostStatus `json:"hosts"`
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
func Status(ctx context.Context, eng Engine, name string) (LabStatus, error) {
	st := LabStatus{Lab: name}
	cs, err := eng.Containers(ctx, map[string]string{LabelLab: name})
	if err != nil {
		return st, fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	nets, err := eng.Networks(ctx)
	if err != nil {
		return st, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		if n.Labels[LabelLab] == name {
			st.Network = n.Name
			st.Domain = n.Labels[LabelDomain]
		}
	}
	st.Hosts = make([]HostStatus, len(cs))
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range cs {
		hs := HostStatus{
			Host:      c.Labels[LabelHost],
			Role:      c.Labels[LabelRole],
			Container: c.Name,
			IPv4:      c.Labels[LabelIPv4],
			IPv6:      c.Labels[LabelIPv6],
			State:     describeState(c),
			Running:   c.State == "running",
		}
		if st.Domain == "" {
			st.Domain = c.Labels[LabelDomain]
		}
		st.Hosts[i] = hs
		if !hs.Running {
			continue
		}
		g.Go(func() error {
			procs, err := eng.Processes(gctx, c.Name)
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
		for _, h := range hostOffsets {
			if !have[h.name] {
				st.Missing = append(st.Missing, h.name)
			}
		}
	}
	sort.SliceStable(st.Hosts, func(i, j int) bool { return hostRank(st.Hosts[i].Host) < hostRank(st.Hosts[j].Host) })
	return st, nil
}

func hostRank(name string) string {
	for i, h := range hostOffsets {
		if h.name == name {
			return fmt.Sprintf("0%03d", i)
		}
	}
	return "1" + name
}

var exitedRE = regexp.MustCompile(`^Exited \((-?\d+)\)`)

// describeState turns Docker's state into what status shows: "running",
// "exited (137)", "created", "restarting", …
func describeState(c ContainerInfo) string {
	if m := exitedRE.FindStringSubmatch(c.Status); m != nil {
		return "exited (" + m[1] + ")"
	}
	if c.State == "" {
		return "unknown"
	}
	return c.State
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

// ErrHostDown is returned, wrapped in a *DownError, when a command needs a
// host that is stopped or missing.
var ErrHostDown = errors.New("host is not running")

// HostDown is a host of a lab that is not running, or has no container.
type HostDown struct {
	Lab   string
	Host  string
	State string // as Status shows it: "exited (137)", "created", …, or "missing"
}

// String says in one line what is wrong and how to fix it, e.g.
// "dnsserver is stopped (exited (137)): start it with: lab up".
func (h HostDown) String() string {
	up := "lab up"
	if h.Lab != "" && h.Lab != DefaultName {
		up += " --name " + h.Lab
	}
	switch {
	case h.State == "missing":
		return fmt.Sprintf("%s is missing: create it with: %s", h.Host, up)
	case h.State == "created":
		return fmt.Sprintf("%s was created but never started: start it with: %s", h.Host, up)
	case strings.HasPrefix(h.State, "exited"):
		return fmt.Sprintf("%s is stopped (%s): start it with: %s", h.Host, h.State, up)
	}
	return fmt.Sprintf("%s is not running (%s): start it with: %s", h.Host, h.State, up)
}

// DownError reports the hosts a command needed that are not running.
type DownError struct {
	Hosts []HostDown
}

// Error names each host, joined on one line; print Hosts for one line each.
func (e *DownError) Error() string {
	msgs := make([]string, len(e.Hosts))
	for i, h := range e.Hosts {
		msgs[i] = h.String()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap makes errors.Is(err, ErrHostDown) true.
func (e *DownError) Unwrap() error { return ErrHostDown }

// NotRunning lists the lab's hosts that are not running or are missing, in
// topology order.
func (s LabStatus) NotRunning() []HostDown {
	var out []HostDown
	for _, h := range s.Hosts {
		if !h.Running {
			out = append(out, HostDown{Lab: s.Lab, Host: h.Host, State: h.State})
		}
	}
	for _, m := range s.Missing {
		out = append(out, HostDown{Lab: s.Lab, Host: m, State: "missing"})
	}
	sort.SliceStable(out, func(i, j int) bool { return hostRank(out[i].Host) < hostRank(out[j].Host) })
	return out
}

// HostsDown says which of the named hosts of lab are not running, given the
// lab's containers (as Containers lists them); nil when all run.
func HostsDown(lab string, cs []ContainerInfo, hosts []string) []HostDown {
	state := map[string]ContainerInfo{}
	for _, c := range cs {
		if c.Labels[LabelLab] == lab {
			state[c.Labels[LabelHost]] = c
		}
	}
	var out []HostDown
	for _, h := range hosts {
		c, ok := state[h]
		switch {
		case !ok:
			out = append(out, HostDown{Lab: lab, Host: h, State: "missing"})
		case c.State != "running":
			out = append(out, HostDown{Lab: lab, Host: h, State: describeState(c)})
		}
	}
	return out
}
