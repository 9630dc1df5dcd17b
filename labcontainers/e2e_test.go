package labcontainers_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// The end-to-end tests bring real labs up on the local Docker engine, each
// under a name of its own starting with tc- and on a free subnet Run picks,
// so that they meet neither a user's lab nor other packages' test labs.

// run executes cmd in c and returns its standard output; a failure or a
// non-zero exit fails the test.
func run(t *testing.T, c testcontainers.Container, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, r, err := c.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", cmd, code, out)
	}
	return string(out)
}

// leftovers lists what Docker still holds under the lab's label.
func leftovers(t *testing.T, d runtime.Engine, name string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	cs, err := d.Containers(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+c.Name)
	}
	nets, err := d.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Labels[topology.LabelLab] == name {
			out = append(out, "network "+n.Name)
		}
	}
	vols, err := d.Volumes(ctx, map[string]string{topology.LabelLab: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		out = append(out, "volume "+v)
	}
	return out
}

// TestRunBringsUpTheLab checks every host of a lab Run made: what lab.Up
// would have made (hostname, addresses, init, labels, resolver), reachable
// through testcontainers for exec, copy and logs, and seen by lab's own
// tooling as a lab like any other.
func TestRunBringsUpTheLab(t *testing.T) {
	l := labcontainers.NewLab(t, labcontainers.WithName("tc-e2e-run"), labcontainers.WithTeam(7))
	topo := l.Topology
	ctx := context.Background()
	if topo.Domain() != "team7.com" || l.Network == nil || l.Network.Name != topo.NetworkName() {
		t.Fatalf("topology %+v, network %+v", topo, l.Network)
	}
	for _, h := range topo.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			c, ok := l.Host(h.Name)
			if !ok {
				t.Fatal("no container")
			}
			in, err := c.Inspect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if in.Config.Hostname != h.Name || in.Name != "/"+topo.ContainerName(h.Name) {
				t.Errorf("hostname %q, name %q", in.Config.Hostname, in.Name)
			}
			if in.HostConfig.Init == nil || !*in.HostConfig.Init {
				t.Error("no init process")
			}
			for k, want := range map[string]string{topology.LabelManaged: "true", topology.LabelLab: topo.Name, topology.LabelHost: h.Name,
				topology.LabelRole: string(h.Role), topology.LabelIPv4: h.IPv4.String(), "org.testcontainers": "true"} {
				if got := in.Config.Labels[k]; got != want {
					t.Errorf("label %s = %q, want %q", k, got, want)
				}
			}
			ep := in.NetworkSettings.Networks[topo.NetworkName()]
			if ep == nil || ep.IPAddress != h.IPv4 || ep.GlobalIPv6Address != h.IPv6 {
				t.Errorf("endpoint %+v, want %s and %s", ep, h.IPv4, h.IPv6)
			}
			if got, want := run(t, c, "cat", "/etc/resolv.conf"), "nameserver "+topo.DNSServer().IPv4.String()+"\n"; got != want {
				t.Errorf("resolv.conf = %q, want %q", got, want)
			}
		})
	}

	t.Run("DNS from a client", func(t *testing.T) {
		got := strings.TrimSpace(run(t, l.Clients[2], "dig", "+short", "www.team7.com", "A"))
		if !strings.HasSuffix(got, topo.WebServer().IPv4.String()) {
			t.Errorf("www.team7.com A from client3: %q, want it to end in %s", got, topo.WebServer().IPv4)
		}
	})

	t.Run("copy in and out", func(t *testing.T) {
		if err := l.Clients[0].CopyToContainer(ctx, []byte("hello\n"), "/root/note.txt", 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := l.Clients[0].CopyFileFromContainer(ctx, "/root/note.txt")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, _ := io.ReadAll(r); string(b) != "hello\n" {
			t.Errorf("read back %q", b)
		}
	})

	t.Run("logs", func(t *testing.T) {
		r, err := l.DNSServer.Logs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, _ := io.ReadAll(r); !strings.Contains(string(b), "running") {
			t.Errorf("named's log lacks \"running\":\n%s", b)
		}
	})

	t.Run("lab status sees it", func(t *testing.T) {
		st, err := lab.Status(ctx, l.Docker(), topo.Name)
		if err != nil || !st.Up() || len(st.Hosts) != len(topo.Hosts) {
			t.Errorf("status %+v, %v", st, err)
		}
		loaded, err := lab.Load(ctx, l.Docker(), topo.Name)
		if err != nil || loaded.Subnet4 != topo.Subnet4 || loaded.Team != 7 {
			t.Errorf("load: %+v, %v", loaded, err)
		}
	})
}

// TestTerminateLeavesNothing runs a sandboxed lab, which has a volume too,
// and terminates it explicitly.
func TestTerminateLeavesNothing(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := labcontainers.Run(ctx, labcontainers.WithName("tc-e2e-terminate"), labcontainers.WithDocker(d),
		labcontainers.WithImages(refs.DNS, refs.Host), labcontainers.WithSandbox(lab.DefaultSandbox()))
	labcontainers.CleanupLab(t, l)
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox holds: read-only root, no way to the gateway.
	code, _, err := l.WebServer.Exec(ctx, []string{"touch", "/x"})
	if err != nil || code == 0 {
		t.Errorf("touch / on a sandboxed host: exit %d, %v; want a failure", code, err)
	}
	if got := run(t, l.Clients[0], "ip", "route"); !strings.Contains(got, "prohibit "+l.Topology.Gateway4().String()) {
		t.Errorf("routes of a sandboxed client lack the gateway's prohibit route:\n%s", got)
	}
	if len(leftovers(t, d, l.Topology.Name)) != 7 { // 5 containers, network, volume
		t.Errorf("before: %v", leftovers(t, d, l.Topology.Name))
	}
	if err := l.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, d, l.Topology.Name); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if err := l.Terminate(ctx); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
}

func TestRunRefusesAnExistingLab(t *testing.T) {
	l := labcontainers.NewLab(t, labcontainers.WithName("tc-e2e-twice"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	again, err := labcontainers.Run(ctx, labcontainers.WithName("tc-e2e-twice"), labcontainers.WithDocker(l.Docker()),
		labcontainers.WithImages(l.Refs.DNS, l.Refs.Host))
	labcontainers.CleanupLab(t, again)
	if !errors.Is(err, labcontainers.ErrLabExists) || again != nil {
		t.Fatalf("second Run: %v, %v; want ErrLabExists and no lab", again, err)
	}
	if st, err := lab.Status(ctx, l.Docker(), "tc-e2e-twice"); err != nil || !st.Up() {
		t.Errorf("the first lab was touched: %+v, %v", st, err)
	}
}

// TestRunReportsBrokenZones serves a zone folder named cannot load: Run
// fails with lab's one-line *lab.ZoneError and leaves nothing behind.
func TestRunReportsBrokenZones(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	dir := t.TempDir()
	zone := "$TTL 3600\n@ IN SOA ns.team30.com. admin.team30.com. ( 1 3600 900 604800 86400 )\n@ IN NS ns.team30.com.\nns IN A not-an-address\n"
	if err := os.WriteFile(filepath.Join(dir, "db.team30.com"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := labcontainers.Run(ctx, labcontainers.WithName("tc-e2e-zone"), labcontainers.WithDocker(d),
		labcontainers.WithImages(refs.DNS, refs.Host), labcontainers.WithZoneDir(dir))
	labcontainers.CleanupLab(t, l)
	var zerr *lab.ZoneError
	if !errors.As(err, &zerr) || !strings.Contains(err.Error(), "db.team30.com") || !strings.Contains(err.Error(), "bad dotted quad") {
		t.Fatalf("err = %v, want a *lab.ZoneError naming db.team30.com and its bad dotted quad", err)
	}
	if left := leftovers(t, d, "tc-e2e-zone"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
