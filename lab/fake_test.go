package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
)

// fakeEngine is an in-memory Engine. Its DNS server answers once started,
// unless zonesBroken makes it exit with a checker's message, as the real
// entrypoint does.
type fakeEngine struct {
	mu          sync.Mutex
	nets        map[string]NetworkInfo    // by ID
	ctrs        map[string]*fakeContainer // by ID
	vols        map[string]map[string]string
	nextID      int
	failCreate  string // container name whose creation fails
	zonesBroken string
	copied      map[string]map[string][]byte // container name → path → content
	internal    []bool                       // Internal of each network created
	calls       []string
}

type fakeContainer struct {
	info ContainerInfo
	spec ContainerSpec
	logs string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		nets:   map[string]NetworkInfo{},
		ctrs:   map[string]*fakeContainer{},
		vols:   map[string]map[string]string{},
		copied: map[string]map[string][]byte{},
	}
}

func (f *fakeEngine) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) id() string {
	f.nextID++
	return fmt.Sprintf("id%04d", f.nextID)
}

func (f *fakeEngine) find(nameOrID string) (*fakeContainer, bool) {
	if c, ok := f.ctrs[nameOrID]; ok {
		return c, true
	}
	for _, c := range f.ctrs {
		if c.info.Name == nameOrID {
			return c, true
		}
	}
	return nil, false
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeEngine) Networks(ctx context.Context) ([]NetworkInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []NetworkInfo
	for _, n := range f.nets {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeEngine) CreateNetwork(ctx context.Context, spec NetworkSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nets {
		if n.Name == spec.Name {
			return "", errors.New("network exists")
		}
	}
	id := f.id()
	f.nets[id] = NetworkInfo{ID: id, Name: spec.Name, Subnets: []netip.Prefix{spec.Subnet4, spec.Subnet6}, Labels: spec.Labels}
	f.internal = append(f.internal, spec.Internal)
	f.record("create network %s", spec.Name)
	return id, nil
}

func (f *fakeEngine) RemoveNetwork(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.ctrs {
		if c.spec.Network == f.nets[id].Name {
			return errors.New("network has active endpoints")
		}
	}
	f.record("remove network %s", f.nets[id].Name)
	delete(f.nets, id)
	return nil
}

func (f *fakeEngine) Containers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ContainerInfo
	for _, c := range f.ctrs {
		if matches(c.info.Labels, labels) {
			out = append(out, c.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeEngine) CreateContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec.Name == f.failCreate {
		return "", errors.New("injected failure")
	}
	if _, ok := f.find(spec.Name); ok {
		return "", errors.New("name in use")
	}
	id := f.id()
	f.ctrs[id] = &fakeContainer{
		info: ContainerInfo{ID: id, Name: spec.Name, State: "created", Status: "Created", Labels: spec.Labels},
		spec: spec,
	}
	f.record("create container %s", spec.Name)
	return id, nil
}

func (f *fakeEngine) CopyFiles(ctx context.Context, ctr, dir string, files map[string][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return errors.New("no such container")
	}
	if f.copied[c.info.Name] == nil {
		f.copied[c.info.Name] = map[string][]byte{}
	}
	for n, b := range files {
		f.copied[c.info.Name][dir+"/"+n] = b
	}
	f.record("copy %d file(s) to %s:%s", len(files), c.info.Name, dir)
	return nil
}

func (f *fakeEngine) Start(ctx context.Context, ctr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return errors.New("no such container")
	}
	f.record("start %s", c.info.Name)
	if c.spec.Labels[LabelRole] == string(RoleDNS) && f.zonesBroken != "" {
		c.info.State, c.info.Status = "exited", "Exited (1) 1 second ago"
		c.logs = f.zonesBroken
		return nil
	}
	if _, ok := f.copied[c.info.Name][ZoneDir+"/"+ZonesConf]; c.spec.Labels[LabelRole] == string(RoleDNS) && !ok {
		// As named does when an up was killed before the zones were copied.
		c.info.State, c.info.Status = "exited", "Exited (1) 1 second ago"
		c.logs = "/etc/bind/named.conf:12: open: /etc/bind/lab/named.conf.zones: file not found\n"
		return nil
	}
	c.info.State, c.info.Status = "running", "Up 1 second"
	return nil
}

func (f *fakeEngine) RemoveContainer(ctx context.Context, ctr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return nil
	}
	f.record("remove container %s", c.info.Name)
	delete(f.ctrs, c.info.ID)
	delete(f.copied, c.info.Name)
	return nil
}

func (f *fakeEngine) ReadFile(ctx context.Context, ctr, path string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return nil, errors.New("no such container")
	}
	b, ok := f.copied[c.info.Name][path]
	if !ok {
		return nil, fmt.Errorf("read %s:%s: no such file", ctr, path)
	}
	return b, nil
}

func (f *fakeEngine) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vols[name]; !ok {
		f.vols[name] = labels
		f.record("create volume %s", name)
	}
	return "/var/lib/docker/volumes/" + name + "/_data", nil
}

func (f *fakeEngine) Volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n, l := range f.vols {
		if matches(l, labels) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeEngine) RemoveVolume(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vols, name)
	return nil
}

func (f *fakeEngine) Exec(ctx context.Context, ctr string, cmd []string, stdin io.Reader) (ExecResult, error) {
	if err := ctx.Err(); err != nil {
		return ExecResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok || c.info.State != "running" {
		return ExecResult{}, fmt.Errorf("container %s is not running", ctr)
	}
	if cmd[0] == "dig" {
		return ExecResult{Stdout: []byte("ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800\n")}, nil
	}
	return ExecResult{ExitCode: 127, Stderr: []byte(strings.Join(cmd, " ") + ": not found")}, nil
}

func (f *fakeEngine) Logs(ctx context.Context, ctr string, tail int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return nil, errors.New("no such container")
	}
	return []byte(c.logs), nil
}

func (f *fakeEngine) Processes(ctx context.Context, ctr string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.find(ctr)
	if !ok {
		return nil, errors.New("no such container")
	}
	if c.spec.Labels[LabelRole] == string(RoleDNS) {
		return []string{"/sbin/docker-init -- /usr/local/sbin/lab-dns-entrypoint", "/usr/sbin/named -g -u bind"}, nil
	}
	return []string{"/sbin/docker-init -- /usr/local/sbin/lab-host-entrypoint", "sleep infinity"}, nil
}

// objects lists everything labelled as the lab's, for leftover checks.
func (f *fakeEngine) objects(lab string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.ctrs {
		if c.info.Labels[LabelLab] == lab {
			out = append(out, "container "+c.info.Name)
		}
	}
	for _, n := range f.nets {
		if n.Labels[LabelLab] == lab {
			out = append(out, "network "+n.Name)
		}
	}
	sort.Strings(out)
	return out
}
