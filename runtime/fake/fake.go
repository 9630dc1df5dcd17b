// Package fake is an in-memory runtime.Engine for tests: it keeps
// networks, volumes, containers (their spec, state, files, network
// attachment, logs and processes) and images, and fails as an engine
// would (runtime.ErrNotFound for an unknown host or file,
// runtime.ErrConflict for a name in use or a command on a stopped host).
// What a host's commands do is the test's: Exec and Spawn run ExecFunc,
// and Started decides whether a host keeps running once started.
package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"path"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Engine is the fake engine. Its zero value is not usable: use New. Set
// its hooks before use; they may be called from several goroutines.
type Engine struct {
	// ExecFunc runs cmd on a running host, for Exec, Spawn, Attach and
	// Detach; stdin is nil when there is none. Nil answers every command
	// with exit code 127 and "<cmd>: not found" on stderr.
	ExecFunc func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error)
	// Started, when not nil, is asked once a host has started; an Exit
	// makes it exit at once, with its code and logs (as a DNS server
	// whose zones do not load would).
	Started func(lab, host string) *Exit
	// SpawnFunc, when not nil, runs what Spawn and Detach start instead
	// of ExecFunc, as a process that streams: it reads stdin as the
	// caller writes it and writes its output to out as it goes (stderr
	// too), and returns its exit code. Its ctx ends when the process is
	// signalled or killed, its host stops, or Spawn's context ends; stdin
	// then fails. Without it, Spawn runs ExecFunc and delivers the output
	// once ExecFunc returns.
	SpawnFunc func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (code int, err error)
	// ProcessesFunc, when not nil, lists what runs on a running host
	// besides the processes Spawn and Detach started.
	ProcessesFunc func(lab, host string) []string
	// Fail, when not nil, is asked before each change to the engine: op
	// is "create network", "create container", "create volume", "copy",
	// "start", "stop", "kill", "restart", "disconnect", "reconnect",
	// "remove container", "remove network" or "remove volume", and
	// target the object's name. An error fails the change.
	Fail func(op, target string) error

	name string

	mu     sync.Mutex
	nextID int
	nets   map[string]*network   // by ID
	vols   map[string]*volume    // by name
	ctrs   map[string]*container // by ID
	images map[string]*image     // by ID
	tags   map[string]string     // reference → image ID
	// buildErr fails every build (SetBuildError); buildSize is the size
	// of what a build makes (SetBuildSize).
	buildErr  error
	buildSize int64
	// importErr fails every import after importAfter bytes
	// (SetImportError).
	importErr   error
	importAfter int64
	imageCalls  ImageCalls
	calls       []string
	// dead is set by Die: the engine no longer answers.
	dead atomic.Bool
}

// Exit is how a host ends: its exit code and what it logged.
type Exit struct {
	Code int
	Logs string
}

type network struct {
	info     runtime.NetworkInfo
	internal bool
}

type volume struct {
	labels map[string]string
}

type container struct {
	info      runtime.ContainerInfo
	spec      runtime.ContainerSpec
	files     map[string]runtime.File // by path
	logs      string
	connected bool
	procs     map[int]*proc // by PID, while they run
	nextPID   int
}

type image struct {
	info runtime.ImageInfo
}

var _ runtime.Engine = (*Engine)(nil)

// New returns an empty engine called name.
func New(name string) *Engine {
	return &Engine{
		name:   name,
		nets:   map[string]*network{},
		vols:   map[string]*volume{},
		ctrs:   map[string]*container{},
		images: map[string]*image{},
		tags:   map[string]string{},
	}
}

// Name is the name New was given.
func (e *Engine) Name() string { return e.name }

// Alive is true until Die.
func (e *Engine) Alive(context.Context) bool { return !e.dead.Load() }

// Die makes the engine stop answering, as a machine lost mid-run (its
// daemon killed, its network gone): Alive is false from then on, every
// call fails with an error that is runtime.ErrEngineUnreachable, and the
// processes it ran end, their output cut off.
func (e *Engine) Die() {
	e.dead.Store(true)
	e.mu.Lock()
	var procs []*proc
	for _, c := range e.ctrs {
		procs = append(procs, c.takeProcs()...)
	}
	e.mu.Unlock()
	for _, p := range procs {
		p.outW.CloseWithError(e.gone())
		p.end(137)
	}
}

// gone is the error of every call once the engine died, nil before.
func (e *Engine) gone() error {
	if !e.dead.Load() {
		return nil
	}
	return fmt.Errorf("%w: cannot connect to the fake engine %s: it died", runtime.ErrEngineUnreachable, e.name)
}

// CPUs is 0: the fake does not say.
func (e *Engine) CPUs(context.Context) int { return 0 }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Calls lists the changes made to the engine, in order, e.g. "create
// network lab3_net", "copy 2 file(s) to lab3-dnsserver:/etc/bind/lab",
// "start lab3-client1".
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func (e *Engine) record(format string, args ...any) {
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
}

func (e *Engine) fail(op, target string) error {
	if e.Fail == nil {
		return nil
	}
	return e.Fail(op, target)
}

func (e *Engine) id() string {
	e.nextID++
	return fmt.Sprintf("id%04d", e.nextID)
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{runtime.ErrNotFound}, args...)...)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{runtime.ErrConflict}, args...)...)
}

// Networks lists the networks by name.
func (e *Engine) Networks(ctx context.Context) ([]runtime.NetworkInfo, error) {
	if err := e.gone(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []runtime.NetworkInfo
	for _, n := range e.nets {
		out = append(out, n.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateNetwork creates a network; a name in use is a conflict.
func (e *Engine) CreateNetwork(ctx context.Context, spec runtime.NetworkSpec) (string, error) {
	if err := e.gone(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.fail("create network", spec.Name); err != nil {
		return "", err
	}
	for _, n := range e.nets {
		if n.info.Name == spec.Name {
			return "", conflict("network with name %s already exists", spec.Name)
		}
	}
	id := e.id()
	var subnets []netip.Prefix
	for _, s := range []netip.Prefix{spec.Subnet4, spec.Subnet6} {
		if s.IsValid() {
			subnets = append(subnets, s)
		}
	}
	e.nets[id] = &network{info: runtime.NetworkInfo{ID: id, Name: spec.Name, Subnets: subnets, Labels: maps.Clone(spec.Labels)}, internal: spec.Internal}
	e.record("create network %s", spec.Name)
	return id, nil
}

// AddNetwork puts a network in place as if someone else had made it.
func (e *Engine) AddNetwork(info runtime.NetworkInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if info.ID == "" {
		info.ID = e.id()
	}
	e.nets[info.ID] = &network{info: info}
}

// Internal reports whether the network called name was made internal.
func (e *Engine) Internal(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.nets {
		if n.info.Name == name {
			return n.internal
		}
	}
	return false
}

// RemoveNetwork removes a network by ID or name; one with containers
// attached is a conflict, one already gone is not an error.
func (e *Engine) RemoveNetwork(ctx context.Context, id string) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.nets[id]
	if n == nil {
		for _, m := range e.nets {
			if m.info.Name == id {
				n = m
			}
		}
	}
	if n == nil {
		return nil
	}
	if err := e.fail("remove network", n.info.Name); err != nil {
		return err
	}
	for _, c := range e.ctrs {
		if c.spec.Network == n.info.Name {
			return conflict("network %s has active endpoints", n.info.Name)
		}
	}
	e.record("remove network %s", n.info.Name)
	delete(e.nets, n.info.ID)
	return nil
}

// Volumes lists the names of the volumes carrying the labels, sorted.
func (e *Engine) Volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	if err := e.gone(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for n, v := range e.vols {
		if matches(v.labels, labels) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CreateVolume creates a volume, or finds the one of that name.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	if err := e.gone(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.vols[name]; !ok {
		if err := e.fail("create volume", name); err != nil {
			return "", err
		}
		e.vols[name] = &volume{labels: maps.Clone(labels)}
		e.record("create volume %s", name)
	}
	return Mountpoint(name), nil
}

// Mountpoint is where CreateVolume says a volume's files are.
func Mountpoint(volume string) string { return "/var/lib/docker/volumes/" + volume + "/_data" }

// RemoveVolume removes a volume; one already gone is not an error.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.vols[name]; !ok {
		return nil
	}
	if err := e.fail("remove volume", name); err != nil {
		return err
	}
	delete(e.vols, name)
	e.record("remove volume %s", name)
	return nil
}

// Containers lists the containers carrying the labels, by name.
func (e *Engine) Containers(ctx context.Context, labels map[string]string) ([]runtime.ContainerInfo, error) {
	if err := e.gone(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []runtime.ContainerInfo
	for _, c := range e.ctrs {
		if matches(c.info.Labels, labels) {
			out = append(out, c.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *container) snapshot() runtime.ContainerInfo {
	info := c.info
	info.Labels = maps.Clone(c.info.Labels)
	return info
}

// CreateContainer creates a container, not started, attached to its
// network; a name in use is a conflict. Unlike an engine, it does not
// check that the network exists, so that a test can make a lab whose
// network went away.
func (e *Engine) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := e.gone(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.fail("create container", spec.Name); err != nil {
		return "", err
	}
	if _, ok := e.find(spec.Name); ok {
		return "", conflict("the container name %q is already in use", "/"+spec.Name)
	}
	id := e.id()
	e.ctrs[id] = &container{
		info: runtime.ContainerInfo{ID: id, Name: spec.Name, State: "created", Status: "Created", Labels: maps.Clone(spec.Labels),
			Created: time.Now().Truncate(time.Second)},
		spec:      spec,
		files:     map[string]runtime.File{},
		connected: spec.Network != "",
		procs:     map[int]*proc{},
		nextPID:   100,
	}
	e.record("create container %s", spec.Name)
	return id, nil
}

func (e *Engine) hasNetwork(name string) bool {
	for _, n := range e.nets {
		if n.info.Name == name {
			return true
		}
	}
	return false
}

// AddContainer puts a container in place as if someone else had made it
// (its ID is made up if empty).
func (e *Engine) AddContainer(info runtime.ContainerInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if info.ID == "" {
		info.ID = e.id()
	}
	e.ctrs[info.ID] = &container{info: info, files: map[string]runtime.File{}, procs: map[int]*proc{}, nextPID: 100}
}

// Spec is the spec the container called name was created with.
func (e *Engine) Spec(name string) (runtime.ContainerSpec, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.find(name)
	if !ok {
		return runtime.ContainerSpec{}, false
	}
	return c.spec, true
}

// RemoveContainer removes a container by ID or name, its processes
// killed; one already gone is not an error.
func (e *Engine) RemoveContainer(ctx context.Context, id string) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	c, ok := e.find(id)
	if !ok {
		e.mu.Unlock()
		return nil
	}
	if err := e.fail("remove container", c.info.Name); err != nil {
		e.mu.Unlock()
		return err
	}
	e.record("remove container %s", c.info.Name)
	delete(e.ctrs, c.info.ID)
	procs := c.takeProcs()
	e.mu.Unlock()
	for _, p := range procs {
		p.end(137)
	}
	return nil
}

// Objects lists what is labelled as the lab's: "container <name>",
// "network <name>" and "volume <name>", sorted.
func (e *Engine) Objects(lab string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.ctrs {
		if c.info.Labels[topology.LabelLab] == lab {
			out = append(out, "container "+c.info.Name)
		}
	}
	for _, n := range e.nets {
		if n.info.Labels[topology.LabelLab] == lab {
			out = append(out, "network "+n.info.Name)
		}
	}
	for name, v := range e.vols {
		if v.labels[topology.LabelLab] == lab {
			out = append(out, "volume "+name)
		}
	}
	sort.Strings(out)
	return out
}

// find finds a container by ID or name; e.mu is held.
func (e *Engine) find(nameOrID string) (*container, bool) {
	if c, ok := e.ctrs[nameOrID]; ok {
		return c, true
	}
	for _, c := range e.ctrs {
		if c.info.Name == nameOrID {
			return c, true
		}
	}
	return nil, false
}

// File returns a file CopyFiles (or SetFile) put on a host of lab.
func (e *Engine) File(lab, host, p string) (runtime.File, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.find(containerName(lab, host))
	if !ok {
		return runtime.File{}, false
	}
	f, ok := c.files[path.Clean(p)]
	f.Data = bytes.Clone(f.Data)
	return f, ok
}

// Files lists the paths of the files on a host of lab, sorted.
func (e *Engine) Files(lab, host string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.find(containerName(lab, host))
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(c.files))
}

// SetFile puts a file on a host of lab, as its image or a program would.
func (e *Engine) SetFile(lab, host string, f runtime.File) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.find(containerName(lab, host))
	if !ok {
		return notFound("no such container: %s", containerName(lab, host))
	}
	f.Path = path.Clean(f.Path)
	c.files[f.Path] = f
	return nil
}

// AddLab makes every host of topo a running container on its network, with
// the labels lab.Up gives them (topology.HostLabels), as a lab that is up;
// nothing is copied in. The network is made too unless it exists.
func (e *Engine) AddLab(ctx context.Context, topo topology.Topology) error {
	e.mu.Lock()
	haveNet := e.hasNetwork(topo.NetworkName())
	e.mu.Unlock()
	if !haveNet {
		if _, err := e.CreateNetwork(ctx, runtime.NetworkSpec{Name: topo.NetworkName(), Subnet4: topo.Subnet4, Subnet6: topo.Subnet6,
			Gateway4: topo.Gateway4(), Gateway6: topo.Gateway6(), Labels: topology.LabLabels(topo)}); err != nil {
			return err
		}
	}
	for _, h := range topo.Hosts {
		spec := runtime.ContainerSpec{Name: containerName(topo.Name, h.Name), Hostname: h.Name, Image: topology.DefaultHostImage,
			Labels: topology.HostLabels(topo, h), Network: topo.NetworkName(), IPv4: h.IPv4, IPv6: h.IPv6}
		if h.Role == topology.RoleDNS {
			spec.Image = topology.DefaultDNSImage
		}
		if _, err := e.CreateContainer(ctx, spec); err != nil {
			return err
		}
		if err := e.Lab(topo.Name).Start(ctx, h.Name); err != nil {
			return err
		}
	}
	return nil
}

func containerName(lab, host string) string {
	return topology.Topology{Name: lab}.ContainerName(host)
}

// errNotRunning is what an engine says about a command for a host that
// does not run.
func errNotRunning(name string) error {
	return conflict("container %s is not running", name)
}

var errNoExec = errors.New("exec: empty command")
