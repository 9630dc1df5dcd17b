package runtime

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// The errors every implementation reports, wrapped, so that callers branch
// with errors.Is and never on an engine's own error types.
var (
	// ErrNotFound: the container, host, network, volume, image or file
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the engine refuses because something is in the way or
	// in use (a name taken, an image a container uses).
	ErrConflict = errors.New("conflict")
	// ErrEngineUnreachable: no engine answers, or it refuses this user.
	ErrEngineUnreachable = errors.New("docker engine unreachable")
	// ErrCopy: a copy's source or destination is unusable (CopyIn,
	// CopyOut).
	ErrCopy = errors.New("cannot copy")
	// ErrHostDown is returned, wrapped in a *DownError, when a command
	// needs a host that is stopped or missing.
	ErrHostDown = errors.New("host is not running")
)

// Describe is the container's state as lab status shows it: "running",
// "exited (137)", "created", "restarting", …
func (c ContainerInfo) Describe() string {
	if m := exitedRE.FindStringSubmatch(c.Status); m != nil {
		return "exited (" + m[1] + ")"
	}
	if c.State == "" {
		return "unknown"
	}
	return c.State
}

var exitedRE = regexp.MustCompile(`^Exited \((-?\d+)\)`)

// HostDown is a host of a lab that is not running, or has no container.
type HostDown struct {
	Lab   string
	Host  string
	State string // as ContainerInfo.Describe shows it, or "missing"
}

// String says in one line what is wrong and how to fix it, e.g.
// "dnsserver is stopped (exited (137)): start it with: lab up".
func (h HostDown) String() string {
	up := "lab up"
	if h.Lab != "" && h.Lab != topology.DefaultName {
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

// HostsDown says which of the named hosts of lab are not running, given the
// lab's containers (as Engine.Containers lists them); nil when all run.
func HostsDown(lab string, cs []ContainerInfo, hosts []string) []HostDown {
	state := map[string]ContainerInfo{}
	for _, c := range cs {
		if c.Labels[topology.LabelLab] == lab {
			state[c.Labels[topology.LabelHost]] = c
		}
	}
	var out []HostDown
	for _, h := range hosts {
		c, ok := state[h]
		switch {
		case !ok:
			out = append(out, HostDown{Lab: lab, Host: h, State: "missing"})
		case c.State != "running":
			out = append(out, HostDown{Lab: lab, Host: h, State: c.Describe()})
		}
	}
	return out
}
