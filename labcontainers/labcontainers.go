// Package labcontainers is a testcontainers-go module for the Lab 3
// topology: Run brings the five-host lab up from the images package images
// builds, on a testcontainers network with the lab's fixed addresses, waits
// with testcontainers wait strategies until DNS answers from the clients,
// and exposes every host as a testcontainers.Container (exec, copy, logs).
//
// The lab is the one lab.Up makes, through testcontainers: lab.Up decides
// what each host is (image, init, labels, addresses, zones, sandbox) and
// this package creates and starts what it asks for with testcontainers-go,
// so nothing about a host is written twice and `lab status`, `lab down`
// and the scenario engine see a lab like any other.
package labcontainers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Lab is a running lab made by Run. Each host is a testcontainers.Container.
type Lab struct {
	// Topology is the lab's name, team, subnets and hosts.
	Topology topology.Topology
	// Refs are the images the hosts run.
	Refs images.Refs
	// Network is the lab's Docker network (<name>_net).
	Network *testcontainers.DockerNetwork
	// DNSServer, WebServer and Clients are the hosts by role; Host finds
	// one by name.
	DNSServer testcontainers.Container
	WebServer testcontainers.Container
	Clients   []testcontainers.Container

	hosts     map[string]testcontainers.Container
	docker    *docker.Docker
	ownDocker bool
	once      sync.Once
	termErr   error
}

// Host returns the container of the host called name ("client2").
func (l *Lab) Host(name string) (testcontainers.Container, bool) {
	c, ok := l.hosts[name]
	return c, ok
}

// Docker is the lab's engine connection, for the packages that work on a
// lab through the runtime: grading.NewLabRuntime, dnscheck.RunLab,
// traffic, lab.Deploy (its hosts are Docker().Lab(Topology.Name)). It
// stays open until Terminate.
func (l *Lab) Docker() *docker.Docker { return l.docker }

// ErrLabExists is returned, wrapped, when a lab of the requested name is
// already in Docker: Run always makes a lab of its own.
var ErrLabExists = errors.New("lab exists")

// Run brings a lab up and returns once DNS answers from every client. opts
// are this package's Options and any testcontainers customizers, which
// apply to every host (testcontainers.WithLogger, WithLogConsumers, …).
//
// As testcontainers' Run functions do, Run returns the lab together with
// an error when it failed after creating something, so that a deferred
// Terminate (or CleanupLab, called before the error check) removes it.
func Run(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (*Lab, error) {
	s, customizers := newSettings(opts)
	d, own := s.docker, false
	if d == nil {
		var err error
		if d, err = docker.Connect(ctx); err != nil {
			return nil, err
		}
		own = true
	}
	closeOnError := func(err error) (*Lab, error) {
		if own {
			d.Close()
		}
		return nil, err
	}
	if s.name == "" {
		s.name = "tc-" + randomHex(4)
	}
	if err := refuseExisting(ctx, d, s.name); err != nil {
		return closeOnError(err)
	}

	var labOpts []lab.Option
	if s.zoneDir != "" {
		labOpts = append(labOpts, lab.WithZoneDir(s.zoneDir))
	}
	if s.sandbox != nil {
		labOpts = append(labOpts, lab.WithSandbox(*s.sandbox))
	}
	// A subnet that another network took in the meantime is a conflict;
	// the next free one is tried, as lab grade does.
	nextTopo := func(ctx context.Context, _ int) (topology.Topology, error) {
		subnet := s.subnet
		if !subnet.IsValid() {
			var err error
			if subnet, err = freeSubnet(ctx, d); err != nil {
				return topology.Topology{}, err
			}
		}
		return topology.New(s.name, s.team, subnet, netip.Prefix{})
	}
	topo, err := nextTopo(ctx, 0)
	if err != nil {
		return closeOnError(err)
	}
	var eng *engine
	popts := []provision.Option{provision.WithoutGate(), provision.WithLogger(s.logger),
		provision.WithImages(images.Refs{DNS: s.dnsImage, Host: s.hostImage}), provision.WithImageOptions(s.imageOpts...),
		provision.WithLabOptions(labOpts...),
		provision.WithEngine(func() runtime.Engine { eng = newEngine(d, customizers); return eng })}
	if !s.subnet.IsValid() {
		popts = append(popts, provision.WithRetry(provision.Retry{Attempts: 5, Next: nextTopo, If: subnetTaken}))
	}
	res, err := provision.Lab(ctx, d, topo, popts...)
	var perr *provision.Error
	if errors.As(err, &perr) && perr.Stage == provision.StageImages {
		return closeOnError(fmt.Errorf("build the lab's images: %w", perr.Err))
	}
	if err != nil {
		// lab.Up removed whatever it created.
		return closeOnError(fmt.Errorf("run lab %s: %w", s.name, err))
	}
	topo, refs := res.Topology, res.Refs

	l := &Lab{Topology: topo, Refs: refs, Network: eng.network, docker: d, ownDocker: own,
		hosts: make(map[string]testcontainers.Container, len(topo.Hosts))}
	for _, h := range topo.Hosts {
		if m := eng.host(topo.Name, h.Name); m != nil {
			l.hosts[h.Name] = m.ctr
			continue
		}
		// lab.Up found the host already there: another Run of the same
		// name got in between the check above and Up. The lab is not
		// this call's to return, or to remove; only what it made goes.
		for _, m := range eng.containers {
			_ = testcontainers.TerminateContainer(m.ctr)
		}
		return closeOnError(fmt.Errorf("%w: lab %s was made by someone else while Run was starting it", ErrLabExists, s.name))
	}
	l.DNSServer = l.hosts[topo.DNSServer().Name]
	l.WebServer = l.hosts[topo.WebServer().Name]
	for _, h := range topo.Clients() {
		l.Clients = append(l.Clients, l.hosts[h.Name])
	}

	strategy := s.wait
	if strategy == nil {
		dns := ForDNS(topo.Domain())
		if s.zoneDir != "" {
			dns = dns.WithAnyReply()
		}
		strategy = dns
	}
	var g errgroup.Group
	for i, h := range topo.Clients() {
		g.Go(func() error {
			if err := strategy.WaitUntilReady(ctx, l.Clients[i]); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return l, fmt.Errorf("run lab %s: %w", s.name, err)
	}
	return l, nil
}

// Terminate removes the lab: its containers (through testcontainers), its
// network and whatever else carries its label (a sandboxed lab's volume).
// It closes the engine connection Run opened. Calling it again returns the
// first call's result.
func (l *Lab) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if l == nil {
		return nil
	}
	l.once.Do(func() {
		var (
			mu   sync.Mutex
			errs []error
			g    errgroup.Group
		)
		for _, h := range l.Topology.Hosts {
			c := l.hosts[h.Name]
			if c == nil {
				continue
			}
			g.Go(func() error {
				if err := c.Terminate(ctx, opts...); err != nil && !isNotFound(err) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("terminate %s: %w", h.Name, err))
					mu.Unlock()
				}
				return nil
			})
		}
		_ = g.Wait()
		if l.Network != nil {
			if err := l.Network.Remove(ctx); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("remove network %s: %w", l.Network.Name, err))
			}
		}
		// Anything else labelled as the lab's (a volume, a container a
		// test made) goes too.
		if _, err := lab.Down(ctx, l.docker, l.Topology.Name); err != nil {
			errs = append(errs, err)
		}
		if l.ownDocker {
			l.docker.Close()
		}
		l.termErr = errors.Join(errs...)
		if l.termErr != nil {
			l.termErr = fmt.Errorf("terminate lab %s: %w", l.Topology.Name, l.termErr)
		}
	})
	return l.termErr
}

// refuseExisting fails when anything in Docker already belongs to a lab
// called name: Run must not adopt, or later remove, a lab it did not make.
func refuseExisting(ctx context.Context, d runtime.Engine, name string) error {
	cs, err := d.Containers(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		return fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	nets, err := d.Networks(ctx)
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	taken := len(cs) > 0
	for _, n := range nets {
		if n.Labels[topology.LabelLab] == name || n.Name == name+"_net" {
			taken = true
		}
	}
	if taken {
		return fmt.Errorf("%w: a lab called %s is already in Docker; Run makes its own: pick another name, or remove it with: lab down --name %s", ErrLabExists, name, name)
	}
	return nil
}

// subnetPool is where Run puts labs by default: 10.90.0.0-10.95.255.0,
// apart from the course's 10.20.30.0/24, lab grade's 10.100-249 and the
// fixed subnets of the project's own end-to-end tests (10.97-99).
var subnetPool = struct{ first, count int }{first: 90, count: 6}

// freeSubnet picks a random /24 of the pool that no Docker network uses.
func freeSubnet(ctx context.Context, d runtime.Engine) (netip.Prefix, error) {
	nets, err := d.Networks(ctx)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets {
		used = append(used, n.Subnets...)
	}
	return pickSubnet(used, randomInt)
}

// pickSubnet returns a /24 of the pool that overlaps none of used, starting
// at a random one so that concurrent callers rarely pick the same.
func pickSubnet(used []netip.Prefix, rnd func(n int) int) (netip.Prefix, error) {
	total := subnetPool.count * 256
	start := rnd(total)
	for i := range total {
		k := (start + i) % total
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(subnetPool.first + k/256), byte(k % 256), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free subnet in 10.%d.0.0-10.%d.255.0: pass one with WithSubnet", subnetPool.first, subnetPool.first+subnetPool.count-1)
}

// subnetTaken says whether Up failed because the subnet was in use.
func subnetTaken(err error) bool {
	return errors.Is(err, lab.ErrConflict) && strings.Contains(err.Error(), "is already used by Docker network") ||
		strings.Contains(err.Error(), "overlaps")
}

// isNotFound says whether testcontainers' (the moby client's) error is
// about something already gone.
func isNotFound(err error) bool { return errors.Is(docker.Classify(err), runtime.ErrNotFound) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return int(time.Now().UnixNano() % int64(n))
	}
	return int(v.Int64())
}
