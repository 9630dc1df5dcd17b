package dockerdtest_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/internal/dockerdtest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
)

// The lab's network: a fixed subnet, fixed addresses, dual stack.
var (
	labSubnet4 = netip.MustParsePrefix("10.199.7.0/24")
	labSubnet6 = netip.MustParsePrefix("fd00:0:0:141f::/64")
)

func TestSecondEngineCarriesTheLabAndLeavesTheFirstAlone(t *testing.T) {
	main := mainEngine(t)
	ref := netpeerImage(t, main)
	before := docker0Rules(t)

	// A container of the first engine, to check it outlives the second.
	served := run(t, main, "", "", netip.Addr{}, netip.Addr{}, ref, "serve", "7")
	t.Cleanup(func() { remove(main, served) })

	began := time.Now()
	d := dockerdtest.Start(t)
	t.Logf("Start took %v", time.Since(began).Round(time.Millisecond))
	if !strings.HasPrefix(d.Host, "unix:///tmp/") || len(d.Host) > 100 {
		t.Errorf("Host = %q; want a short unix:///tmp/ URL", d.Host)
	}

	dockerdtest.LoadImages(t, runtimeOf(t), d.Engine, ref)
	second := clientOf(t, d.Host)
	nw, err := second.NetworkCreate(t.Context(), "lab", client.NetworkCreateOptions{
		Driver:     "bridge",
		EnableIPv6: new(true),
		IPAM:       &network.IPAM{Config: []network.IPAMConfig{{Subnet: labSubnet4}, {Subnet: labSubnet6}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := run(t, second, "peer-a", "lab", netip.MustParseAddr("10.199.7.10"), netip.MustParseAddr("fd00:0:0:141f::10"), ref, "serve", "7")
	b := run(t, second, "peer-b", "lab", netip.MustParseAddr("10.199.7.11"), netip.MustParseAddr("fd00:0:0:141f::11"), ref, "serve", "7")
	probe(t, second, b, "10.199.7.10:7")
	probe(t, second, a, "10.199.7.11:7")
	probe(t, second, a, "[fd00:0:0:141f::11]:7")

	// The second engine's network is its own: no bridge, no rule on the host.
	bridge := "br-" + nw.ID[:12]
	if _, err := net.InterfaceByName(bridge); err == nil {
		t.Errorf("the host has the second engine's bridge %s", bridge)
	}
	for _, table := range []string{"filter", "nat"} {
		rules := iptables(t, table)
		if strings.Contains(rules, bridge) || strings.Contains(rules, "10.199.7.") {
			t.Errorf("the host's %s table has rules of the second engine:\n%s", table, rules)
		}
	}
	if _, err := main.ContainerInspect(t.Context(), a, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("the first engine knows the second's container %s", a)
	}

	// An engine that fails mid-run stops answering at once.
	d.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	_, err = second.Ping(ctx, client.PingOptions{})
	cancel()
	if err == nil {
		t.Fatal("the killed engine still answers /_ping")
	}
	t.Logf("after Kill, ping says: %v", err)
	d.Stop()
	checkNothingLeft(t, d.Dir)

	// The first engine still works: its container runs and answers a new one.
	res, err := main.ContainerInspect(t.Context(), served, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Container.State.Running {
		t.Fatalf("the first engine's container stopped: %+v", res.Container.State)
	}
	prober := run(t, main, "", "", netip.Addr{}, netip.Addr{}, ref, "serve", "7")
	t.Cleanup(func() { remove(main, prober) })
	probe(t, main, prober, net.JoinHostPort(res.Container.NetworkSettings.Networks["bridge"].IPAddress.String(), "7"))
	after := docker0Rules(t)
	for _, r := range before {
		if !slices.Contains(after, r) {
			t.Errorf("the first engine's rule %q is gone", r)
		}
	}
}

// TestStartStopLeavesNothing starts and stops a daemon with a running
// container a few times, timing both, and checks that nothing is left,
// nor of a daemon whose test process died.
func TestStartStopLeavesNothing(t *testing.T) {
	main := mainEngine(t)
	ref := netpeerImage(t, main)
	stale := fakeStaleDir(t)

	var starts, stops []time.Duration
	for i := range 3 {
		var dir string
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			began := time.Now()
			d := dockerdtest.Start(t)
			starts = append(starts, time.Since(began))
			dir = d.Dir
			dockerdtest.LoadImages(t, runtimeOf(t), d.Engine, ref)
			second := clientOf(t, d.Host)
			if _, err := second.NetworkCreate(t.Context(), "lab", client.NetworkCreateOptions{
				Driver: "bridge",
				IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: labSubnet4}}},
			}); err != nil {
				t.Fatal(err)
			}
			run(t, second, "peer-a", "lab", netip.MustParseAddr("10.199.7.10"), netip.Addr{}, ref, "serve", "7")
			began = time.Now()
			d.Stop()
			stops = append(stops, time.Since(began))
		})
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s is still there after cleanup (%v)", dir, err)
		}
		checkNothingLeft(t, dir)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the folder %s of a dead test is still there (%v)", stale, err)
	}
	t.Logf("Start took %v (median %v); Stop with one container took %v (median %v)",
		starts, median(starts), stops, median(stops))
}

// BenchmarkStartStop times Start (until /_ping answers) and Stop of an
// idle daemon and reports the medians (start-ms, stop-ms):
//
//	go test ./internal/dockerdtest -run '^$' -bench StartStop -benchtime 7x
func BenchmarkStartStop(b *testing.B) {
	var starts, stops []time.Duration
	for b.Loop() {
		began := time.Now()
		d := dockerdtest.Start(b)
		starts = append(starts, time.Since(began))
		began = time.Now()
		d.Stop()
		stops = append(stops, time.Since(began))
	}
	b.ReportMetric(float64(median(starts).Milliseconds()), "start-ms")
	b.ReportMetric(float64(median(stops).Milliseconds()), "stop-ms")
}

// fakeStaleDir makes a daemon folder whose owner has exited, as a test
// killed by go test -timeout leaves; Start should remove it.
func fakeStaleDir(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "dockerdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

// mainEngine is the machine's Docker engine, which the tests must not
// disturb. Without one the test is skipped, or fails when CI is set.
func mainEngine(t *testing.T) *client.Client {
	t.Helper()
	tier.Docker(t)
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err = c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Docker engine (%v); set CI=1 to make this a failure", err)
		}
		t.Fatalf("Docker engine needed (CI is set): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runtimeOf is the machine's engine as the lab's Docker runtime.
func runtimeOf(t *testing.T) *docker.Docker {
	t.Helper()
	d, err := docker.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// clientOf is a moby client of the engine at host, for what the tests do
// below the lab's runtime.
func clientOf(t *testing.T, host string) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// netpeerImage builds testdata/netpeer, static, into an image of its own on
// the engine (no registry needed) and returns its reference.
func netpeerImage(t *testing.T, c *client.Client) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "netpeer")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/netpeer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build netpeer: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var root bytes.Buffer
	tw := tar.NewWriter(&root)
	if err := tw.WriteHeader(&tar.Header{Name: "netpeer", Mode: 0o755, Size: int64(len(prog)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(prog)
	tw.Close()

	removeStaleImages(t, c)
	ref := fmt.Sprintf("%s:%d-%d", netpeerRepo, os.Getpid(), time.Now().UnixNano())
	res, err := c.ImageImport(t.Context(), client.ImageImportSource{Source: &root, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{`ENTRYPOINT ["/netpeer"]`}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	for dec := json.NewDecoder(res); ; {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		} else if m.Error != nil {
			t.Fatalf("import %s: %v", ref, m.Error)
		}
	}
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return ref
}

const netpeerRepo = "dockerdtest-netpeer"

// removeStaleImages removes the netpeer images of test processes that died
// before their cleanup ran; a tag is PID-NANOS.
func removeStaleImages(t *testing.T, c *client.Client) {
	t.Helper()
	res, err := c.ImageList(t.Context(), client.ImageListOptions{Filters: make(client.Filters).Add("reference", netpeerRepo)})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range res.Items {
		for _, ref := range img.RepoTags {
			tag := strings.TrimPrefix(ref, netpeerRepo+":")
			pid, _ := strconv.Atoi(strings.Split(tag, "-")[0])
			if pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
				_, _ = c.ImageRemove(t.Context(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
		}
	}
}

// run starts a container of image with --init, on netName at the given
// addresses, or on the default network when netName is "".
func run(t *testing.T, c *client.Client, name, netName string, ip4, ip6 netip.Addr, image string, args ...string) string {
	t.Helper()
	opts := client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: image, Cmd: args},
		HostConfig: &container.HostConfig{Init: new(true)},
	}
	if netName != "" {
		opts.HostConfig.NetworkMode = container.NetworkMode(netName)
		opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip4, IPv6Address: ip6}},
		}}
	}
	res, err := c.ContainerCreate(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerStart(t.Context(), res.ID, client.ContainerStartOptions{}); err != nil {
		remove(c, res.ID)
		t.Fatal(err)
	}
	return res.ID
}

func remove(c *client.Client, id string) {
	_, _ = c.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true})
}

// probe runs netpeer probe addr in container id until TCP and UDP echo,
// for up to 15 seconds (the server may still be starting).
func probe(t *testing.T, c *client.Client, id, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, code, err := execIn(t.Context(), c, id, "/netpeer", "probe", addr)
		if err == nil && code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe %s from %.12s: exit %d, %v: %s", addr, id, code, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// execIn runs cmd in a container and returns its output and exit code.
func execIn(ctx context.Context, c *client.Client, id string, cmd ...string) (string, int, error) {
	ex, err := c.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", -1, err
	}
	att, err := c.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", -1, err
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		return out.String(), -1, err
	}
	res, err := c.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return out.String(), -1, err
	}
	return strings.TrimSpace(out.String()), res.ExitCode, nil
}

// iptables is the host's rules in one table, as iptables -S prints them.
func iptables(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command("iptables", "-t", table, "-S").Output()
	if err != nil {
		t.Fatalf("iptables -t %s -S: %v", table, err)
	}
	return string(out)
}

// docker0Rules are the first engine's chains and its default bridge's
// rules, which no other test changes (their networks come and go).
func docker0Rules(t *testing.T) []string {
	t.Helper()
	if _, err := net.InterfaceByName("docker0"); err != nil {
		t.Fatalf("the first engine has no docker0: %v", err)
	}
	var rules []string
	for _, table := range []string{"filter", "nat"} {
		for r := range strings.Lines(iptables(t, table)) {
			if strings.HasPrefix(r, "-N ") || strings.Contains(r, "docker0") {
				rules = append(rules, table+": "+strings.TrimSpace(r))
			}
		}
	}
	return rules
}

// checkNothingLeft fails the test if a process or a mount of the daemon
// in dir remains.
func checkNothingLeft(t *testing.T, dir string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(dir+"/")) {
			t.Errorf("a process of the daemon is left: %s", bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(mounts)) {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			t.Errorf("a mount of the daemon is left: %s", f[4])
		}
	}
}
