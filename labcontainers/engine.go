package labcontainers

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/testcontainers/testcontainers-go"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// engine is the runtime.Engine that Run hands to lab.Up: the network and
// the containers are created and started through testcontainers-go,
// everything else (inspecting, copying the zones, removing on failure)
// goes to the lab's own Docker runtime. lab.Up thus decides what the lab
// is, once, for `lab up`, `lab grade` and this package alike.
type engine struct {
	*docker.Docker
	customizers []testcontainers.ContainerCustomizer

	mu         sync.Mutex
	network    *testcontainers.DockerNetwork
	containers map[string]*made // by container name
}

// made is a host this engine created through testcontainers.
type made struct {
	lab, host string
	ctr       testcontainers.Container
	blocked   bool // sandboxed: its routes are cut when it starts
}

func newEngine(d *docker.Docker, customizers []testcontainers.ContainerCustomizer) *engine {
	return &engine{Docker: d, customizers: customizers, containers: map[string]*made{}}
}

// host is the container this engine made for host of lab, if any.
func (e *engine) host(lab, host string) *made {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.containers {
		if m.lab == lab && m.host == host {
			return m
		}
	}
	return nil
}

// CreateNetwork creates the lab's network as a testcontainers network. It
// must carry the lab's own name (<lab>_net: the runtime's Disconnect and
// Reconnect address it so), which network.New cannot give, hence the older
// request form.
func (e *engine) CreateNetwork(ctx context.Context, spec runtime.NetworkSpec) (string, error) {
	ipv6 := true
	//nolint:staticcheck // network.New names networks itself; the lab's is fixed.
	n, err := testcontainers.GenericNetwork(ctx, testcontainers.GenericNetworkRequest{
		NetworkRequest: testcontainers.NetworkRequest{
			Name:       spec.Name,
			Driver:     "bridge",
			Internal:   spec.Internal,
			EnableIPv6: &ipv6,
			IPAM:       docker.IPAM(spec),
			Labels:     maps.Clone(spec.Labels),
		},
	})
	if err != nil {
		return "", reaperHint(err)
	}
	dn, ok := n.(*testcontainers.DockerNetwork)
	if !ok {
		return "", fmt.Errorf("create network %s: testcontainers returned a %T, not a Docker network", spec.Name, n)
	}
	e.mu.Lock()
	e.network = dn
	e.mu.Unlock()
	return dn.ID, nil
}

// CreateContainer creates a host through testcontainers, not started, with
// exactly the configuration the Docker runtime gives it
// (docker.ContainerModifiers) plus testcontainers' labels and the caller's
// customizers.
func (e *engine) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	req, err := hostRequest(spec, e.customizers)
	if err != nil {
		return "", err
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if err != nil {
		// A container made before the failure is not Up's to remove: Up
		// only knows the IDs it was given.
		if terr := testcontainers.TerminateContainer(ctr); terr != nil {
			err = fmt.Errorf("%w (and removing it failed: %v)", err, terr)
		}
		return "", reaperHint(err)
	}
	e.mu.Lock()
	e.containers[spec.Name] = &made{lab: spec.Labels[topology.LabelLab], host: spec.Labels[topology.LabelHost], ctr: ctr,
		blocked: spec.Labels[runtime.LabelBlock] != ""}
	e.mu.Unlock()
	return ctr.GetContainerID(), nil
}

// hostRequest is the testcontainers request for one host of the lab.
func hostRequest(spec runtime.ContainerSpec, customizers []testcontainers.ContainerCustomizer) (testcontainers.GenericContainerRequest, error) {
	cfg, hc, eps := docker.ContainerModifiers(spec)
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:  spec.Image,
			Name:   spec.Name,
			Labels: maps.Clone(spec.Labels),
			// testcontainers fills in its labels and the caller's
			// environment before these run; they are kept.
			ConfigModifier:           cfg,
			HostConfigModifier:       hc,
			EndpointSettingsModifier: eps,
		},
	}
	for _, c := range customizers {
		if err := c.Customize(&req); err != nil {
			return req, fmt.Errorf("customize %s: %w", spec.Name, err)
		}
	}
	return req, nil
}

// Lab is the Docker runtime's hosts of the lab, but for Start, which goes
// through testcontainers for the hosts this engine made.
func (e *engine) Lab(name string) runtime.Hosts {
	return labHosts{Hosts: e.Docker.Lab(name), e: e, lab: name}
}

type labHosts struct {
	runtime.Hosts
	e   *engine
	lab string
}

// Start starts a host through testcontainers (its lifecycle hooks and any
// wait strategy a customizer set run then). A sandboxed host also gets its
// routes to the gateway cut, which the Docker runtime's Start does on a
// host that is already running.
func (h labHosts) Start(ctx context.Context, host string) error {
	m := h.e.host(h.lab, host)
	if m == nil {
		return h.Hosts.Start(ctx, host)
	}
	if err := m.ctr.Start(ctx); err != nil {
		return err
	}
	if m.blocked {
		return h.Hosts.Start(ctx, host)
	}
	return nil
}

// CreateVolume adds testcontainers' labels, so that the reaper, where it
// runs, removes a sandboxed lab's volume too.
func (e *engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	l := maps.Clone(labels)
	testcontainers.AddGenericLabels(l)
	return e.Docker.CreateVolume(ctx, name, l)
}

// RemoveContainer is lab.Up cleaning up after a failure.
func (e *engine) RemoveContainer(ctx context.Context, id string) error {
	if err := e.Docker.RemoveContainer(ctx, id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, m := range e.containers {
		if m.ctr.GetContainerID() == id || name == id {
			delete(e.containers, name)
		}
	}
	return nil
}

// RemoveNetwork is lab.Up cleaning up after a failure.
func (e *engine) RemoveNetwork(ctx context.Context, id string) error {
	if err := e.Docker.RemoveNetwork(ctx, id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.network != nil && e.network.ID == id {
		e.network = nil
	}
	return nil
}

// reaperHint explains a reaper that cannot start: on a machine without a
// registry its image cannot be pulled.
func reaperHint(err error) error {
	if err != nil && strings.Contains(err.Error(), "reaper") {
		return fmt.Errorf("%w: testcontainers' reaper (Ryuk) could not start; where its image cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true (Terminate and CleanupLab remove the lab anyway)", err)
	}
	return err
}
