package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrConflict is returned, wrapped, when something already in Docker stands
// in the way of a lab: a network using its subnet, a foreign container with
// one of its names, or the same lab made for another team or subnet.
var ErrConflict = errors.New("conflict")

// ZoneError reports that the DNS server refused its zone configuration;
// Output is what the zone checker or named said.
type ZoneError struct {
	Output string
}

// Error is one line: the checker's findings (file:line: problem) first, or
// else its last few lines, joined.
func (e *ZoneError) Error() string {
	var lines, located []string
	for _, l := range strings.Split(e.Output, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		lines = append(lines, l)
		if fileLineRE.MatchString(l) {
			located = append(located, l)
		}
	}
	switch {
	case len(located) > 3:
		lines = located[:3]
	case len(located) > 0:
		lines = located
	case len(lines) > 4:
		lines = lines[len(lines)-4:]
	}
	if len(lines) == 0 {
		return "dns server exited before answering, without saying why"
	}
	return "dns server rejected the zones: " + strings.Join(lines, " | ")
}

// fileLineRE matches BIND checkers' "file:line: problem" findings.
var fileLineRE = regexp.MustCompile(`^\S+:\d+: `)

// Up brings the lab described by topo up: one network and one container per
// host, with the DNS server's zones copied in before it starts. It returns
// once named answers for the team's domain. Running it again on a lab that is
// already up changes nothing and says so (Changed is false); stopped hosts
// are started and missing ones created. If Up fails or ctx is cancelled,
// everything this call created is removed again.
func Up(ctx context.Context, eng runtime.Engine, topo topology.Topology, opts ...Option) (st LabStatus, err error) {
	c := newUpConfig(opts)
	hosts := eng.Lab(topo.Name)
	clock := newPhaseClock(c.now)
	if err := c.checkShare(); err != nil {
		return LabStatus{Lab: topo.Name}, err
	}

	zones, err := c.zones(topo)
	if err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	readyZone := readinessZone(topo, zones)
	clock.lap("zones")

	zonesHash := topology.ZonesHash(zones)
	plan, err := planUp(ctx, eng, topo, zones, c.sandboxLabel())
	if err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	if err := c.keepShare(topo, plan.shares); err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	clock.lap("inspect")

	if plan.nothingToDo() {
		if err := c.waitDNS(ctx, eng, topo, readyZone); err != nil {
			return LabStatus{Lab: topo.Name}, err
		}
		clock.lap("dns-ready")
		st, err := Status(ctx, eng, topo.Name)
		st.Summary = fmt.Sprintf("lab %s is already up (%d hosts running); nothing changed", topo.Name, len(st.Hosts))
		st.Timings = clock.phases
		return st, err
	}

	var created createdSet
	defer func() {
		if err == nil {
			return
		}
		// The caller's ctx may be what failed; cleanup needs its own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := created.remove(cctx, eng); cerr != nil {
			err = fmt.Errorf("%w (and cleanup failed: %v)", err, cerr)
			return
		}
		if n := created.count(); n > 0 {
			c.logger.Info(fmt.Sprintf("cleaned up: removed the %d object(s) this run created", n), "lab", topo.Name, "stage", "cleanup", "removed", n)
		}
	}()

	// Mutations run to completion even when ctx is cancelled, so that every
	// object Docker creates is known and can be removed; cancellation is
	// honoured between steps. Each step is short (under a second).
	opCtx, opCancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer opCancel()

	if plan.network == "" {
		c.logger.Info(fmt.Sprintf("network %s: creating (%s, %s)", topo.NetworkName(), topo.Subnet4, topo.Subnet6), "lab", topo.Name, "stage", "network")
		id, err := eng.CreateNetwork(opCtx, runtime.NetworkSpec{
			Name:     topo.NetworkName(),
			Subnet4:  topo.Subnet4,
			Subnet6:  topo.Subnet6,
			Gateway4: topo.Gateway4(),
			Gateway6: topo.Gateway6(),
			Labels:   c.labels(topology.LabLabels(topo)),
			Internal: c.sandbox != nil,
		})
		if err != nil {
			return LabStatus{Lab: topo.Name}, fmt.Errorf("create network %s: %w", topo.NetworkName(), err)
		}
		created.addNetwork(id)
		plan.network = id
	}
	// Hosts whose set-up never finished (an up killed half-way) are made
	// again from scratch.
	for _, h := range plan.recreate {
		name := topo.ContainerName(h.Name)
		c.logger.Info(fmt.Sprintf("%s: its set-up did not finish (%s); recreating it", h.Name, plan.why[h.Name]), "lab", topo.Name, "host", h.Name, "stage", "recreate")
		if err := eng.RemoveContainer(opCtx, name); err != nil {
			return LabStatus{Lab: topo.Name}, fmt.Errorf("remove half-made %s: %w", name, err)
		}
		plan.create = append(plan.create, h)
	}
	resolvConf := ""
	if c.sandbox != nil {
		mp, err := eng.CreateVolume(opCtx, resolvVolume(topo), topology.LabLabels(topo))
		if err != nil {
			return LabStatus{Lab: topo.Name}, err
		}
		if plan.fresh {
			created.addVolume(resolvVolume(topo))
		}
		resolvConf = mp + "/resolv.conf"
	}
	if err := c.stageDone(ctx, "network"); err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	clock.lap("network")

	// Each host is created and started in one go, concurrently, like
	// compose does; named is polled as soon as the DNS server has started,
	// while the other hosts are still starting.
	dnsName := topo.DNSServer().Name
	dnsStarted := make(chan struct{})
	toStart := map[string]bool{}
	for _, n := range plan.startNames() {
		toStart[n] = true
	}
	if !toStart[dnsName] {
		close(dnsStarted)
	}
	creating := map[string]bool{}
	for _, h := range plan.create {
		creating[h.Name] = true
	}
	createHost := func(h topology.Host) (string, error) {
		spec := c.sandboxSpec(c.containerSpec(topo, h, zonesHash), topo, h, resolvConf)
		id, err := eng.CreateContainer(opCtx, spec)
		if err != nil {
			return "", fmt.Errorf("create container %s: %w", spec.Name, err)
		}
		created.addContainer(id)
		if h.Role == topology.RoleDNS {
			if err := hosts.CopyFiles(opCtx, h.Name, zoneFiles(zones)); err != nil {
				return "", fmt.Errorf("copy zones into %s: %w", spec.Name, err)
			}
		}
		c.logger.Info(fmt.Sprintf("%s: created", h.Name), "lab", topo.Name, "host", h.Name, "stage", "create")
		return id, c.hook("create")
	}
	// A sandboxed host's resolv.conf is a file in a volume the DNS server
	// holds; it must exist before such a host is created, so the DNS server
	// comes first.
	dnsHost := topo.DNSServer()
	dnsMade := false
	if c.sandbox != nil && (creating[dnsHost.Name] || len(plan.create) > 0) {
		if creating[dnsHost.Name] {
			if _, err := createHost(dnsHost); err != nil {
				return LabStatus{Lab: topo.Name}, err
			}
			dnsMade = true
		}
		resolv := []runtime.File{{Path: resolvDir + "/resolv.conf", Mode: 0o644, Data: []byte("nameserver " + dnsHost.IPv4.String() + "\n")}}
		if err := hosts.CopyFiles(opCtx, dnsName, resolv); err != nil {
			return LabStatus{Lab: topo.Name}, fmt.Errorf("write the hosts' resolv.conf: %w", err)
		}
	}
	var starting errgroup.Group
	for _, h := range topo.Hosts {
		if !toStart[h.Name] {
			continue
		}
		starting.Go(func() error {
			if creating[h.Name] && !(h.Role == topology.RoleDNS && dnsMade) {
				if _, err := createHost(h); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := hosts.Start(opCtx, h.Name); err != nil {
				return fmt.Errorf("start %s: %w", topo.ContainerName(h.Name), err)
			}
			if h.Name == dnsName {
				close(dnsStarted)
			}
			return nil
		})
	}
	hostsDone := make(chan error, 1)
	go func() { hostsDone <- starting.Wait() }()
	// waitHosts returns the hosts' result, receiving it at most once.
	var hostsErr error
	hostsFinished := false
	waitHosts := func() error {
		if !hostsFinished {
			hostsErr, hostsFinished = <-hostsDone, true
		}
		return hostsErr
	}

	select {
	case <-dnsStarted:
	case err := <-hostsDone:
		hostsErr, hostsFinished = err, true
	}
	if hostsFinished && hostsErr != nil {
		return LabStatus{Lab: topo.Name}, hostsErr
	}
	clock.lap("create+start-dns")

	dnsErr := c.waitDNS(ctx, eng, topo, readyZone)
	if err := waitHosts(); err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	if dnsErr != nil {
		return LabStatus{Lab: topo.Name}, dnsErr
	}
	c.logger.Info(fmt.Sprintf("dns: named answers for %s", readyZone), "lab", topo.Name, "stage", "dns", "zone", readyZone)
	if err := c.stageDone(ctx, "start"); err != nil {
		return LabStatus{Lab: topo.Name}, err
	}
	clock.lap("hosts+dns-ready")

	st, err = Status(ctx, eng, topo.Name)
	if err != nil {
		return st, err
	}
	st.Changed = true
	switch {
	case len(plan.recreate) > 0:
		var names []string
		for _, h := range plan.recreate {
			names = append(names, h.Name)
		}
		st.Summary = fmt.Sprintf("lab %s is up: repaired %s (set-up had not finished); created %d and started %d host(s)",
			topo.Name, strings.Join(names, ", "), len(plan.create), len(plan.start)+len(plan.create))
	case len(plan.create) == len(topo.Hosts):
		st.Summary = fmt.Sprintf("lab %s is up: %d hosts on %s, %s", topo.Name, len(topo.Hosts), topo.NetworkName(), topo.Domain())
	default:
		st.Summary = fmt.Sprintf("lab %s is up: created %d and started %d host(s)", topo.Name, len(plan.create), len(plan.start)+len(plan.create))
	}
	st.Timings = clock.phases
	return st, nil
}

func (c *upConfig) zones(topo topology.Topology) (map[string][]byte, error) {
	if c.zoneDir != "" {
		return topology.ZonesFromDir(c.zoneDir)
	}
	return topology.Zones(topo)
}

// stageDone is the point between steps where Up notices cancellation (and
// where tests inject failures).
func (c *upConfig) stageDone(ctx context.Context, name string) error {
	if err := c.hook(name); err != nil {
		return err
	}
	return ctx.Err()
}

// hook runs the tests' failure injection, if any; it may be called from
// several goroutines at once.
func (c *upConfig) hook(name string) error {
	if c.afterStage == nil {
		return nil
	}
	return c.afterStage(name)
}

// containerSpec is what Up creates for host h in an interactive lab.
func (c *upConfig) containerSpec(topo topology.Topology, h topology.Host, zonesHash string) runtime.ContainerSpec {
	image := c.hostImage
	labels := topology.HostLabels(topo, h)
	if h.Role == topology.RoleDNS {
		image = c.dnsImage
		labels[topology.LabelZones] = zonesHash
	}
	spec := runtime.ContainerSpec{
		Name:     topo.ContainerName(h.Name),
		Hostname: h.Name,
		Image:    image,
		Env:      []string{"NAMESERVER=" + topo.DNSServer().IPv4.String()},
		Labels:   labels,
		Network:  topo.NetworkName(),
		IPv4:     h.IPv4,
		IPv6:     h.IPv6,
	}
	if c.share != "" && c.sandbox == nil {
		spec.Binds = map[string]string{c.share: SharedDir}
		labels[LabelShare] = c.share
	}
	return spec
}

// keepShare settles the shared folder of a lab that exists already
// (existing: its hosts' LabelShare values): an Up without WithShare keeps
// the one its hosts have, so that hosts it makes again get it too, and an
// Up that asks for another is refused, as the hosts' mounts cannot change.
func (c *upConfig) keepShare(topo topology.Topology, existing map[string]bool) error {
	if len(existing) == 0 || c.sandbox != nil {
		return nil
	}
	redo := fmt.Sprintf("remove it first with: lab down --name %s", topo.Name)
	if len(existing) > 1 {
		return fmt.Errorf("%w: lab %s's hosts share different folders; %s", ErrConflict, topo.Name, redo)
	}
	var have string
	for dir := range existing {
		have = dir
	}
	switch {
	case c.share == "" || c.share == have:
		c.share = have
		return nil
	case have == "":
		return fmt.Errorf("%w: lab %s is up without a shared folder; to share %s, %s, then lab up --share %s", ErrConflict, topo.Name, c.share, redo, c.share)
	}
	return fmt.Errorf("%w: lab %s is up sharing %s at %s; to share %s instead, %s, then lab up --share %s", ErrConflict, topo.Name, have, SharedDir, c.share, redo, c.share)
}

// SharedFolder is the folder of the engine's machine that the lab called
// name mounts at SharedDir on its hosts (WithShare), "" if none.
func SharedFolder(ctx context.Context, eng runtime.Engine, name string) (string, error) {
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		return "", fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	for _, c := range cs {
		if dir := c.Labels[LabelShare]; dir != "" {
			return dir, nil
		}
	}
	return "", nil
}

// sandboxSpec adapts spec to a sandboxed lab: the chat hosts are confined
// and get their resolv.conf from resolvConf (a file on the engine's
// machine, in the volume the DNS server holds at resolvDir), as their
// read-only root file system keeps the entrypoint from writing it.
func (c *upConfig) sandboxSpec(spec runtime.ContainerSpec, topo topology.Topology, h topology.Host, resolvConf string) runtime.ContainerSpec {
	spec.Labels = c.labels(spec.Labels)
	switch {
	case c.sandbox == nil:
	case h.Role == topology.RoleDNS:
		spec.Volumes = map[string]string{resolvVolume(topo): resolvDir}
	default:
		sb := *c.sandbox
		spec.Sandbox = &sb
		spec.ResolvConf = resolvConf
		spec.Env = []string{"HOME=" + DeployDir}
		spec.Labels[runtime.LabelBlock] = topo.Gateway4().String() + "," + topo.Gateway6().String()
	}
	return spec
}

// labels adds the sandbox's label, if any, to l.
func (c *upConfig) labels(l map[string]string) map[string]string {
	if c.sandbox != nil {
		l[LabelSandbox] = c.sandbox.Label()
	}
	return l
}

func (c *upConfig) sandboxLabel() string {
	if c.sandbox == nil {
		return ""
	}
	return c.sandbox.Label()
}

// zoneFiles are the zone files (name → content) as Up copies them into
// the DNS server's ZoneDir, in name order.
func zoneFiles(zones map[string][]byte) []runtime.File {
	var files []runtime.File
	for _, name := range slices.Sorted(maps.Keys(zones)) {
		files = append(files, runtime.File{Path: topology.ZoneDir + "/" + name, Mode: 0o644, Data: zones[name]})
	}
	return files
}

// readinessZone is the zone whose SOA proves named is serving: the team's
// domain, unless a student's zone folder does not declare it.
func readinessZone(topo topology.Topology, zones map[string][]byte) string {
	declared := topology.DeclaredZones(zones[topology.ZonesConf])
	for _, z := range declared {
		if z == topo.Domain() {
			return z
		}
	}
	if len(declared) > 0 {
		return declared[0]
	}
	return topo.Domain()
}

// waitDNS polls named from inside the DNS container, so no traffic crosses
// from the host into the lab's network, until it answers the zone's SOA. If
// the container exits (zone check failed), its last output is the error.
func (c *upConfig) waitDNS(ctx context.Context, eng runtime.Engine, topo topology.Topology, zone string) error {
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	dns := topo.DNSServer().Name
	name := topo.ContainerName(dns)
	hosts := eng.Lab(topo.Name)
	cmd := []string{"dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", zone, "SOA"}
	tick := time.NewTicker(c.pollInterval)
	defer tick.Stop()
	last := "no answer yet"
	for {
		res, err := hosts.Exec(ctx, dns, cmd, nil)
		if err == nil && res.ExitCode == 0 && len(bytes.TrimSpace(res.Stdout)) > 0 {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
		}
		zerr, err := c.dnsExited(ctx, eng, topo, name)
		if err != nil {
			return err
		}
		if zerr != nil {
			return zerr
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("dns server %s did not answer for %s in time (last: %s); see: lab logs dnsserver", name, zone, oneLine(last))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// dnsExited returns a *ZoneError when the DNS container is no longer
// running, carrying the tail of its logs.
func (c *upConfig) dnsExited(ctx context.Context, eng runtime.Engine, topo topology.Topology, name string) (*ZoneError, error) {
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: topo.Name, topology.LabelHost: topo.DNSServer().Name})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	}
	if len(cs) == 1 && cs[0].State == "running" {
		return nil, nil
	}
	if len(cs) == 1 && cs[0].State == "created" {
		return nil, nil
	}
	logs, _ := eng.Lab(topo.Name).Logs(ctx, topo.DNSServer().Name, 20)
	return &ZoneError{Output: string(logs)}, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// upPlan is what Up found in Docker and what it has to do.
type upPlan struct {
	network string // existing network's ID, "" to create
	fresh   bool   // no object of the lab exists yet
	create  []topology.Host
	start   []topology.Host // existing but not running
	// recreate are hosts whose set-up did not finish, to remove and create
	// again; why says what was wrong with each.
	recreate []topology.Host
	why      map[string]string
	// shares are the LabelShare values of the lab's existing hosts ("" for
	// a host without a shared folder).
	shares map[string]bool
}

func (p upPlan) nothingToDo() bool {
	return p.network != "" && len(p.create) == 0 && len(p.start) == 0 && len(p.recreate) == 0
}

// startNames are the hosts to start.
func (p upPlan) startNames() []string {
	var names []string
	for _, h := range append(append(append([]topology.Host{}, p.create...), p.start...), p.recreate...) {
		names = append(names, h.Name)
	}
	return names
}

// planUp compares Docker's state with topo and refuses anything it must not
// touch: foreign objects with the lab's names, a subnet in use elsewhere, or
// the same lab name made for a different topology or sandbox. A half-made
// lab (an up killed half-way) is repaired: a DNS server that is not running
// and lacks its zone files, and hosts left without their network, are made
// again.
func planUp(ctx context.Context, eng runtime.Engine, topo topology.Topology, zones map[string][]byte, sandbox string) (upPlan, error) {
	p := upPlan{why: map[string]string{}, shares: map[string]bool{}}
	zonesHash := topology.ZonesHash(zones)
	hash := topology.ConfigHash(topo)
	sandboxRedo := fmt.Sprintf("lab %s already exists with other sandbox settings (grading labs are sandboxed, interactive ones not); remove it first with: lab down --name %s", topo.Name, topo.Name)
	redo := fmt.Sprintf("lab %s already exists with a different team or subnet; remove it first with: lab down --name %s", topo.Name, topo.Name)

	nets, err := eng.Networks(ctx)
	if err != nil {
		return p, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range nets {
		if n.Name == topo.NetworkName() {
			if n.Labels[topology.LabelLab] != topo.Name {
				return p, fmt.Errorf("%w: a Docker network named %s exists that lab did not create; remove it (docker network rm %s) or use another --name", ErrConflict, n.Name, n.Name)
			}
			if n.Labels[topology.LabelConfig] != hash {
				return p, fmt.Errorf("%w: %s", ErrConflict, redo)
			}
			if n.Labels[LabelSandbox] != sandbox {
				return p, fmt.Errorf("%w: %s", ErrConflict, sandboxRedo)
			}
			p.network = n.ID
			continue
		}
		for _, s := range n.Subnets {
			if s.Overlaps(topo.Subnet4) || s.Overlaps(topo.Subnet6) {
				return p, fmt.Errorf("%w: subnet %s is already used by Docker network %q; choose another with --subnet or remove that network", ErrConflict, s, n.Name)
			}
		}
	}

	all, err := eng.Containers(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("list containers: %w", err)
	}
	byName := map[string]runtime.ContainerInfo{}
	for _, c := range all {
		byName[c.Name] = c
		if c.Labels[topology.LabelLab] == topo.Name && c.Labels[topology.LabelConfig] != hash {
			return p, fmt.Errorf("%w: %s", ErrConflict, redo)
		}
		if c.Labels[topology.LabelLab] == topo.Name && c.Labels[LabelSandbox] != sandbox {
			return p, fmt.Errorf("%w: %s", ErrConflict, sandboxRedo)
		}
		if c.Labels[topology.LabelLab] == topo.Name {
			p.shares[c.Labels[LabelShare]] = true
		}
	}
	p.fresh = p.network == ""
	for _, h := range topo.Hosts {
		c, ok := byName[topo.ContainerName(h.Name)]
		switch {
		case !ok:
			p.create = append(p.create, h)
		case c.Labels[topology.LabelLab] != topo.Name:
			return p, fmt.Errorf("%w: a container named %s exists that lab did not create; remove it (docker rm -f %s) or use another --name", ErrConflict, c.Name, c.Name)
		case h.Role == topology.RoleDNS && c.Labels[topology.LabelZones] != zonesHash:
			return p, fmt.Errorf("%w: lab %s's DNS server serves other zones than this up asks for (changed files or another --zone-dir); to switch, run: lab down --name %s, then lab up again", ErrConflict, topo.Name, topo.Name)
		case p.network == "":
			p.fresh = false
			p.recreate = append(p.recreate, h)
			p.why[h.Name] = "its network " + topo.NetworkName() + " is missing"
		case c.State == "running":
		case h.Role == topology.RoleDNS:
			// named exits without its zones, so a DNS server that is not
			// running may never have received them.
			if why := missingZones(ctx, eng.Lab(topo.Name), h.Name, zones); why != "" {
				p.recreate = append(p.recreate, h)
				p.why[h.Name] = why
				continue
			}
			p.start = append(p.start, h)
		default:
			p.start = append(p.start, h)
		}
	}
	return p, nil
}

// missingZones says what is wrong with the zone files in a DNS server's
// container ("" when they are the ones Up would copy).
func missingZones(ctx context.Context, hosts runtime.Hosts, dns string, zones map[string][]byte) string {
	got := map[string][]byte{}
	for _, name := range slices.Sorted(maps.Keys(zones)) {
		b, err := hosts.ReadFile(ctx, dns, topology.ZoneDir+"/"+name)
		if err != nil {
			return "zone file " + name + " is missing"
		}
		got[name] = b
	}
	if topology.ZonesHash(got) != topology.ZonesHash(zones) {
		return "its zone files differ from the ones it was made with"
	}
	return ""
}

// createdSet records what one Up created, so a failure removes exactly that.
type createdSet struct {
	mu         sync.Mutex
	network    string
	volume     string
	containers []string
}

func (s *createdSet) addNetwork(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.network = id
}

func (s *createdSet) addVolume(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volume = name
}

func (s *createdSet) addContainer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.containers = append(s.containers, id)
}

func (s *createdSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.containers)
	if s.network != "" {
		n++
	}
	if s.volume != "" {
		n++
	}
	return n
}

func (s *createdSet) remove(ctx context.Context, eng runtime.Engine) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	var g errgroup.Group
	var emu sync.Mutex
	for _, id := range s.containers {
		g.Go(func() error {
			if err := eng.RemoveContainer(ctx, id); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", shortID(id), err))
				emu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if s.network != "" {
		if err := eng.RemoveNetwork(ctx, s.network); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", shortID(s.network), err))
		}
	}
	if s.volume != "" {
		if err := eng.RemoveVolume(ctx, s.volume); err != nil {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", s.volume, err))
		}
	}
	return joinErrors(errs)
}

// joinErrors keeps several errors on one line, for the CLI's one-line rule.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%w; %s", errs[0], strings.Join(msgs[1:], "; "))
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// phaseClock measures Up's phases with an injected clock.
type phaseClock struct {
	now    func() time.Time
	last   time.Time
	phases []Phase
}

func newPhaseClock(now func() time.Time) *phaseClock {
	return &phaseClock{now: now, last: now()}
}

func (p *phaseClock) lap(name string) {
	t := p.now()
	p.phases = append(p.phases, Phase{Name: name, Duration: t.Sub(p.last)})
	p.last = t
}
