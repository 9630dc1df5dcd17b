// Package docker is the Docker implementation of package runtime, over the
// moby client: the only package of the lab that speaks the Docker Engine
// API. A lab's hosts are the containers <lab>-<host> on the network
// <lab>_net (topology.Topology.ContainerName and NetworkName).
package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// connectTimeout bounds Connect's ping, so a missing engine is reported at
// once instead of after the HTTP client's long default.
const connectTimeout = 1500 * time.Millisecond

// Docker is a Docker engine, through the moby client. It implements
// runtime.Engine.
type Docker struct {
	c    *client.Client
	name string // as given to ConnectEngine
}

var _ runtime.Engine = (*Docker)(nil)

// Connect reaches the Docker engine named by the environment (DOCKER_HOST,
// or the local socket), negotiating the API version, and fails within about
// two seconds with a one-line, actionable error if nothing answers
// (runtime.ErrEngineUnreachable).
func Connect(ctx context.Context) (*Docker, error) {
	return connectWith(ctx, client.FromEnv)
}

// connectWith makes a client with opts and pings its engine.
func connectWith(ctx context.Context, opts ...client.Opt) (*Docker, error) {
	c, err := client.New(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v; check DOCKER_HOST", runtime.ErrEngineUnreachable, err)
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		host := c.DaemonHost()
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, engineError(err, host)
	}
	return &Docker{c: c}, nil
}

// engineError is Connect's one line for a ping that failed: permission
// denied on the socket (the user is not in the docker group) apart from an
// engine that is not there. The moby client reports the first as text,
// without wrapping os.ErrPermission, so the text is checked too.
func engineError(err error, host string) error {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(strings.ToLower(err.Error()), "permission denied") {
		return fmt.Errorf("%w: permission denied on %s: join the docker group (sudo usermod -aG docker $USER, then log out and in again) or run lab with sudo", runtime.ErrEngineUnreachable, host)
	}
	return fmt.Errorf("%w: cannot reach the Docker engine at %s: is dockerd running? (start it with: sudo systemctl start docker)", runtime.ErrEngineUnreachable, host)
}

// Close releases the connection to the engine.
func (d *Docker) Close() error { return d.c.Close() }

// kindError keeps the engine's message and lets errors.Is find the
// runtime's sentinel (runtime.ErrNotFound, runtime.ErrConflict) as well as
// the engine's own error.
type kindError struct {
	err, kind error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// Classify marks the engine's not-found and conflict errors with the
// runtime's sentinels (runtime.ErrNotFound, runtime.ErrConflict), keeping
// their messages, so that no caller needs containerd's errdefs: every
// error of this package is marked, and Classify marks those of another
// moby client (testcontainers-go's, in package labcontainers).
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return &kindError{err: err, kind: runtime.ErrNotFound}
	case cerrdefs.IsConflict(err):
		return &kindError{err: err, kind: runtime.ErrConflict}
	}
	return err
}

func labelFilter(labels map[string]string) client.Filters {
	f := client.Filters{}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		f.Add("label", k+"="+labels[k])
	}
	return f
}

// Networks lists every network with its subnets, so Up can refuse a subnet
// that is already taken.
func (d *Docker) Networks(ctx context.Context) ([]runtime.NetworkInfo, error) {
	res, err := d.c.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.NetworkInfo, 0, len(res.Items))
	for _, n := range res.Items {
		ni := runtime.NetworkInfo{ID: n.ID, Name: n.Name, Labels: n.Labels}
		for _, c := range n.IPAM.Config {
			if c.Subnet.IsValid() {
				ni.Subnets = append(ni.Subnets, c.Subnet)
			}
		}
		out = append(out, ni)
	}
	return out, nil
}

// CreateNetwork creates a dual-stack bridge network, internal if the spec
// says so.
func (d *Docker) CreateNetwork(ctx context.Context, spec runtime.NetworkSpec) (string, error) {
	ipv6 := true
	res, err := d.c.NetworkCreate(ctx, spec.Name, client.NetworkCreateOptions{
		Driver:     "bridge",
		Internal:   spec.Internal,
		EnableIPv6: &ipv6,
		IPAM:       IPAM(spec),
		Labels:     spec.Labels,
	})
	if err != nil {
		return "", Classify(err)
	}
	return res.ID, nil
}

// IPAM is the address configuration CreateNetwork gives spec's network,
// for code that creates the lab's network through another client (package
// labcontainers, through testcontainers-go).
func IPAM(spec runtime.NetworkSpec) *network.IPAM {
	return &network.IPAM{Config: []network.IPAMConfig{
		{Subnet: spec.Subnet4, Gateway: spec.Gateway4},
		{Subnet: spec.Subnet6, Gateway: spec.Gateway6},
	}}
}

// RemoveNetwork removes a network; one that is already gone is not an error.
func (d *Docker) RemoveNetwork(ctx context.Context, id string) error {
	if _, err := d.c.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return Classify(err)
	}
	return nil
}

// Containers lists containers, running or not, carrying all the given labels;
// nil lists every container.
func (d *Docker) Containers(ctx context.Context, labels map[string]string) ([]runtime.ContainerInfo, error) {
	res, err := d.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.ContainerInfo, 0, len(res.Items))
	for _, c := range res.Items {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, runtime.ContainerInfo{ID: c.ID, Name: name, State: string(c.State), Status: c.Status, Labels: c.Labels,
			Created: time.Unix(c.Created, 0)})
	}
	return out, nil
}

// CreateContainer creates (but does not start) a lab host: fixed addresses
// on the lab network, NET_ADMIN, and an init so that stopping is immediate;
// a sandboxed host is confined instead (see containerConfig).
func (d *Docker) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	cfg, hc, nc := containerConfig(spec)
	res, err := d.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name, Config: cfg, HostConfig: hc, NetworkingConfig: nc,
	})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", &kindError{err: fmt.Errorf("image %s is missing: build the images first (lab up builds them)", spec.Image), kind: runtime.ErrNotFound}
		}
		return "", Classify(err)
	}
	return res.ID, nil
}

// ContainerConfig is what CreateContainer asks Docker for when it creates
// spec, for code that creates the lab's containers through another client
// (package labcontainers, through testcontainers-go) and must make exactly
// the same hosts.
func ContainerConfig(spec runtime.ContainerSpec) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	return containerConfig(spec)
}

// ContainerModifiers make a container request of another client
// (testcontainers-go's ConfigModifier, HostConfigModifier and
// EndpointSettingsModifier) create what CreateContainer creates for spec:
// cfg replaces the configuration but keeps the labels and environment the
// client set before it runs (its own and its caller's, after spec's), host
// replaces the host configuration and endpoints adds the lab network's
// endpoint with the host's fixed addresses.
func ContainerModifiers(spec runtime.ContainerSpec) (cfg func(*container.Config), host func(*container.HostConfig), endpoints func(map[string]*network.EndpointSettings)) {
	c, hc, nc := containerConfig(spec)
	cfg = func(x *container.Config) {
		labels, env := x.Labels, x.Env
		*x = *c
		x.Labels = labels
		x.Env = append(slices.Clone(c.Env), env...)
	}
	host = func(x *container.HostConfig) { *x = *hc }
	endpoints = func(eps map[string]*network.EndpointSettings) { maps.Copy(eps, nc.EndpointsConfig) }
	return cfg, host, endpoints
}

// hostLogs bounds what a host's own output (its main process's, not the
// programs exec starts) keeps in the engine, whatever the engine's default
// log driver and size: 2 files of 1 MiB. A program of a submission that
// writes there fills 2 MiB at most.
var hostLogs = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "2"}}

// containerConfig is what CreateContainer asks Docker for. A sandboxed
// host gets the sandbox's memory (without swap), process and CPU limits,
// only runtime.GraderCapabilities (for root; programs started through
// Sandbox.Command have none), no-new-privileges, a read-only root file
// system with the sandbox's tmpfs mounts, and spec.ResolvConf as its
// read-only /etc/resolv.conf.
func containerConfig(spec runtime.ContainerSpec) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	init := true
	cfg := &container.Config{
		Hostname: spec.Hostname,
		Image:    spec.Image,
		Env:      spec.Env,
		Labels:   spec.Labels,
	}
	hc := &container.HostConfig{
		Init:        &init,
		CapAdd:      []string{"NET_ADMIN"},
		NetworkMode: container.NetworkMode(spec.Network),
		LogConfig:   hostLogs,
	}
	for _, vol := range slices.Sorted(maps.Keys(spec.Volumes)) {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: spec.Volumes[vol]})
	}
	// A bind mount, unlike -v, fails on a missing folder instead of
	// making one.
	for _, dir := range slices.Sorted(maps.Keys(spec.Binds)) {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: dir, Target: spec.Binds[dir]})
	}
	if sb := spec.Sandbox; sb != nil {
		pids := sb.PIDs
		hc.CapAdd = append([]string(nil), runtime.GraderCapabilities...)
		hc.CapDrop = []string{"ALL"}
		hc.SecurityOpt = []string{"no-new-privileges"}
		hc.ReadonlyRootfs = true
		hc.Tmpfs = tmpfsOptions(*sb)
		hc.ShmSize = sb.Shm
		hc.Resources = container.Resources{Memory: sb.Memory, MemorySwap: sb.Memory, PidsLimit: &pids, NanoCPUs: sb.NanoCPUs, CPUShares: sb.CPUShares}
		// No unprivileged ICMP sockets (Docker allows them to every
		// group): the submission cannot ping its way to the bridge. A
		// bounded TIME_WAIT (runtime.MaxTimeWait).
		hc.Sysctls = map[string]string{
			"net.ipv4.ping_group_range":   "1 0",
			"net.ipv4.tcp_max_tw_buckets": strconv.Itoa(runtime.MaxTimeWait),
		}
		if spec.ResolvConf != "" {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: spec.ResolvConf, Target: "/etc/resolv.conf", ReadOnly: true})
		}
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		spec.Network: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: spec.IPv4, IPv6Address: spec.IPv6}},
	}}
	return cfg, hc, nc
}

// tmpfsOptions returns the sandbox's mounts in the form HostConfig.Tmpfs
// takes.
func tmpfsOptions(s runtime.Sandbox) map[string]string {
	out := map[string]string{}
	for _, t := range s.Tmpfs {
		opts := []string{fmt.Sprintf("size=%d", t.Size)}
		switch {
		case t.Owned:
			opts = append(opts, "mode=0700", fmt.Sprintf("uid=%d", s.UID), fmt.Sprintf("gid=%d", s.GID))
		case t.Shared:
			opts = append(opts, "mode=1777")
		default:
			opts = append(opts, "mode=0755")
		}
		if t.Exec {
			opts = append(opts, "exec")
		}
		out[t.Path] = strings.Join(opts, ",")
	}
	return out
}

// CreateVolume creates a named volume, or finds the one of that name, and
// returns where its files are on the engine's machine.
func (d *Docker) CreateVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	res, err := d.c.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels})
	if err != nil {
		return "", fmt.Errorf("create volume %s: %w", name, Classify(err))
	}
	return res.Volume.Mountpoint, nil
}

// RemoveContainer removes a container, running or not, with its anonymous
// volumes; one that is already gone is not an error.
func (d *Docker) RemoveContainer(ctx context.Context, ctr string) error {
	_, err := d.c.ContainerRemove(ctx, ctr, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return Classify(err)
	}
	return nil
}

// Volumes lists the names of the volumes carrying all the given labels.
func (d *Docker) Volumes(ctx context.Context, labels map[string]string) ([]string, error) {
	res, err := d.c.VolumeList(ctx, client.VolumeListOptions{Filters: labelFilter(labels)})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range res.Items {
		out = append(out, v.Name)
	}
	return out, nil
}

// RemoveVolume removes a volume; one that is already gone is not an error.
func (d *Docker) RemoveVolume(ctx context.Context, name string) error {
	_, err := d.c.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return Classify(err)
	}
	return nil
}

func (d *Docker) copyTar(ctx context.Context, ctr string, archive *bytes.Buffer) error {
	data := archive.Bytes()
	// A sandboxed host's root file system is read-only, and Docker cannot
	// copy into its tmpfs mounts: unpack inside the host. Ask first rather
	// than try: Docker refuses such a copy before it has read the archive
	// and, on a busy machine, closes the connection while the archive is
	// still being sent, so the refusal arrives as a broken pipe.
	res, err := d.c.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", ctr, Classify(err))
	}
	if hc := res.Container.HostConfig; hc != nil && hc.ReadonlyRootfs {
		return d.untar(ctx, ctr, data)
	}
	_, err = d.c.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(data)})
	if err != nil && strings.Contains(err.Error(), "read-only") {
		return d.untar(ctx, ctr, data) // a root made read-only otherwise
	}
	return Classify(err)
}

// untar unpacks a tar archive at / inside a running container, as root.
func (d *Docker) untar(ctx context.Context, ctr string, data []byte) error {
	res, err := d.exec(ctx, ctr, []string{"tar", "-x", "-f", "-", "-C", "/"}, bytes.NewReader(data))
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("unpack in %s: tar exited %d: %s", ctr, res.ExitCode, oneLine(string(res.Stderr)))
	}
	return nil
}

// readFile reads one regular file out of a container.
func (d *Docker) readFile(ctx context.Context, ctr, src string) ([]byte, error) {
	res, err := d.c.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return nil, fmt.Errorf("read %s:%s: %w", ctr, src, Classify(err))
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %s:%s: %w", ctr, src, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("read %s:%s: not a regular file", ctr, src)
	}
	if hdr.Size > runtime.MaxCopy {
		return nil, fmt.Errorf("%w: read %s:%s: more than %d MiB", runtime.ErrCopy, ctr, src, runtime.MaxCopy>>20)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("read %s:%s: %w", ctr, src, err)
	}
	return b, nil
}

// start starts a container; one already running is left alone. A
// sandboxed host is then cut off from everything outside its subnet (see
// runtime.LabelBlock) before start returns, so before any program runs
// there.
func (d *Docker) start(ctx context.Context, ctr string) error {
	if _, err := d.c.ContainerStart(ctx, ctr, client.ContainerStartOptions{}); err != nil {
		return Classify(err)
	}
	return d.block(ctx, ctr)
}

// restart stops a container (killing it after a second) and starts it
// again with the same addresses, re-applying a sandboxed host's routes. The
// contents of its tmpfs mounts are lost.
func (d *Docker) restart(ctx context.Context, ctr string) error {
	timeout := 1
	if _, err := d.c.ContainerRestart(ctx, ctr, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart %s: %w", ctr, Classify(err))
	}
	return d.block(ctx, ctr)
}

// block applies a sandboxed host's prohibit routes; other hosts carry no
// runtime.LabelBlock and are left alone.
func (d *Docker) block(ctx context.Context, ctr string) error {
	res, err := d.c.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", ctr, Classify(err))
	}
	if res.Container.Config == nil {
		return nil
	}
	gws, ok := res.Container.Config.Labels[runtime.LabelBlock]
	if !ok {
		return nil
	}
	gw4, gw6, _ := strings.Cut(gws, ",")
	out, err := d.exec(ctx, ctr, []string{"sh", "-c", blockScript(gw4, gw6)}, nil)
	if err != nil {
		return fmt.Errorf("cut %s off from the gateway: %w", ctr, err)
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("cut %s off from the gateway: %s", ctr, oneLine(string(out.Stderr)))
	}
	return nil
}

// blockScript makes everything off the lab's subnet unreachable from a
// sandboxed host, the host's own address on the bridge (the gateway)
// included: prohibit routes fail a connect at once (EACCES) instead of
// letting it time out. Routes more specific than the default leave Docker's
// own default route alone, so disconnect and reconnect keep working, and
// routes without a device survive them.
//
// Routes cannot stop what the kernel sends without asking them (a
// broadcast or multicast from a socket bound to the host's address) nor
// the link-local addresses, by which the grading machine's bridge answers
// on every port. A packet filter (nftables, in the host's own network
// namespace, where only the host's root may change it) drops every
// broadcast, multicast, link-local and ICMP packet a program of anyone but
// root sends (a send fails with EPERM; a reject would answer a TCP connect
// with a refusal, as if a listener had been reached); the kernel's own
// neighbour discovery, the grader's captures (root) and its probes (unicast
// to the lab's hosts) pass.
func blockScript(gw4, gw6 string) string {
	// The subnet-router anycast address of the gateway's /64 (its
	// interface ID all zeros) is the bridge's too where the machine
	// forwards IPv6.
	anycast := ""
	if a, err := netip.ParseAddr(gw6); err == nil && a.Is6() {
		if p, err := a.Prefix(64); err == nil && p.Addr() != a {
			anycast = "\nip -6 route replace prohibit " + p.Addr().String() + "/128"
		}
	}
	return fmt.Sprintf(`set -e
ip route replace prohibit 0.0.0.0/1
ip route replace prohibit 128.0.0.0/1
ip route replace prohibit %s/32
ip -6 route replace prohibit ::/1
ip -6 route replace prohibit 8000::/1
ip -6 route replace prohibit %s/128%s
nft -f - <<'EOF'
table inet lab3_sandbox
delete table inet lab3_sandbox
table inet lab3_sandbox {
	chain out {
		type filter hook output priority 0; policy accept;
		meta skuid != 0 fib daddr type { broadcast, multicast } drop
		meta skuid != 0 ip daddr { 224.0.0.0/4, 255.255.255.255 } drop
		meta skuid != 0 ip6 daddr { ff00::/8, fe80::/10 } drop
		meta skuid != 0 meta l4proto { icmp, ipv6-icmp } drop
	}
}
EOF`, gw4, gw6, anycast)
}

// stop stops a container gracefully (its init forwards SIGTERM).
func (d *Docker) stop(ctx context.Context, ctr string) error {
	_, err := d.c.ContainerStop(ctx, ctr, client.ContainerStopOptions{})
	return Classify(err)
}

// kill kills a container with SIGKILL, as a crash would.
func (d *Docker) kill(ctx context.Context, ctr string) error {
	_, err := d.c.ContainerKill(ctx, ctr, client.ContainerKillOptions{Signal: "KILL"})
	return Classify(err)
}

// exec runs cmd in a running container and returns its exit code and
// output. stdin, if not nil, is the command's standard input, closed at EOF.
// Of stdout and of stderr, the first runtime.MaxExecOutput bytes are kept;
// the rest is read and dropped, so a command that prints without end costs
// no more.
func (d *Docker) exec(ctx context.Context, ctr string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	out, errb := &cappedBuffer{max: runtime.MaxExecOutput}, &cappedBuffer{max: runtime.MaxExecOutput}
	code, err := d.execStream(ctx, ctr, cmd, "", stdin, out, errb)
	return runtime.ExecResult{ExitCode: code, Stdout: out.buf.Bytes(), Stderr: errb.buf.Bytes()}, err
}

// execStream runs cmd in a running container, in workdir ("" for the
// image's), streaming its output to stdout and stderr as it arrives, and
// returns its exit code.
func (d *Docker) execStream(ctx context.Context, ctr string, cmd []string, workdir string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ex, err := d.c.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		Cmd: cmd, WorkingDir: workdir, AttachStdout: true, AttachStderr: true, AttachStdin: stdin != nil,
	})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", ctr, Classify(err))
	}
	att, err := d.c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", ctr, Classify(err))
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	if stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, stdin)
			_ = att.CloseWrite()
		}()
	}
	if _, err := stdcopy.StdCopy(stdout, stderr, att.Reader); err != nil && ctx.Err() == nil {
		return -1, fmt.Errorf("exec in %s: read output: %w", ctr, err)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return d.waitExec(ctx, ex.ID)
}

// waitExec returns an exec's exit code. The output stream has ended when it
// is called, so the engine records the exit within moments.
func (d *Docker) waitExec(ctx context.Context, id string) (int, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := d.c.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("inspect exec: %w", Classify(err))
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-tick.C:
		}
	}
}

// streamLogs copies a container's logs to stdout and stderr; with follow it
// keeps streaming until the container stops or ctx ends. tail < 0 means all.
func (d *Docker) streamLogs(ctx context.Context, ctr string, follow bool, tail int, stdout, stderr io.Writer) error {
	t := "all"
	if tail >= 0 {
		t = fmt.Sprint(tail)
	}
	rc, err := d.c.ContainerLogs(ctx, ctr, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: t})
	if err != nil {
		return fmt.Errorf("logs of %s: %w", ctr, Classify(err))
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of %s: %w", ctr, err)
	}
	return nil
}

// processes lists the command lines of the processes running in a
// container.
func (d *Docker) processes(ctx context.Context, ctr string) ([]string, error) {
	res, err := d.c.ContainerTop(ctx, ctr, client.ContainerTopOptions{})
	if err != nil {
		return nil, Classify(err)
	}
	col := len(res.Titles) - 1
	for i, t := range res.Titles {
		if t == "CMD" || t == "COMMAND" {
			col = i
		}
	}
	var out []string
	for _, p := range res.Processes {
		if col >= 0 && col < len(p) {
			out = append(out, p[col])
		}
	}
	return out, nil
}

// pidCount returns how many processes and threads a container holds and
// the most it may hold (0: no limit), as its cgroup counts them. It needs
// no process inside the container, so it answers when a fork bomb has
// filled the container's process table.
func (d *Docker) pidCount(ctx context.Context, ctr string) (current, limit uint64, err error) {
	res, err := d.c.ContainerStats(ctx, ctr, client.ContainerStatsOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("stats of %s: %w", ctr, Classify(err))
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, 0, fmt.Errorf("stats of %s: %w", ctr, err)
	}
	return st.PidsStats.Current, st.PidsStats.Limit, nil
}

// disconnect removes a container from a network (forcibly), as if its
// cable were pulled.
func (d *Docker) disconnect(ctx context.Context, ctr, net, host string) error {
	_, err := d.c.NetworkDisconnect(ctx, net, client.NetworkDisconnectOptions{Container: ctr, Force: true})
	if err != nil {
		return fmt.Errorf("disconnect %s: %w", host, Classify(err))
	}
	return nil
}

// reconnect puts a container back on a network with the fixed addresses
// its labels (topology.LabelIPv4, LabelIPv6) record.
func (d *Docker) reconnect(ctx context.Context, ctr, net, host string) error {
	res, err := d.c.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("reconnect %s: %w", host, Classify(err))
	}
	var labels map[string]string
	if res.Container.Config != nil {
		labels = res.Container.Config.Labels
	}
	v4, err4 := netip.ParseAddr(labels[topology.LabelIPv4])
	v6, err6 := netip.ParseAddr(labels[topology.LabelIPv6])
	if err4 != nil || err6 != nil {
		return fmt.Errorf("reconnect %s: its container %s carries no address labels (%s, %s)", host, ctr, topology.LabelIPv4, topology.LabelIPv6)
	}
	_, err = d.c.NetworkConnect(ctx, net, client.NetworkConnectOptions{
		Container: ctr,
		EndpointConfig: &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: v4, IPv6Address: v6},
		},
	})
	if err != nil {
		return fmt.Errorf("reconnect %s: %w", host, Classify(err))
	}
	return nil
}

// Addresses returns the addresses a host of lab has on the lab's network,
// as the engine sees them.
func (d *Docker) Addresses(ctx context.Context, lab, host string) (v4, v6 netip.Addr, err error) {
	topo := topology.Topology{Name: lab}
	ctr, net := topo.ContainerName(host), topo.NetworkName()
	res, err := d.c.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return v4, v6, Classify(err)
	}
	if res.Container.NetworkSettings == nil {
		return v4, v6, fmt.Errorf("%s has no network settings", ctr)
	}
	ep, ok := res.Container.NetworkSettings.Networks[net]
	if !ok || ep == nil {
		return v4, v6, fmt.Errorf("%s is not on network %s", ctr, net)
	}
	return ep.IPAddress, ep.GlobalIPv6Address, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
