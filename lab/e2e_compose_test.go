package lab_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// composeCommand is `docker compose` where the plugin exists, else the
// standalone `docker-compose`; lab's compose file works with both.
func composeCommand(t testing.TB) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("neither `docker compose` nor docker-compose is installed")
	}
	t.Skip("neither `docker compose` nor docker-compose is installed, and CI is unset")
	return nil
}

// composeUp writes the compose file and zone folder for topo into a fresh
// folder and runs `compose up -d` there.
func composeUp(t testing.TB, topo topology.Topology) {
	t.Helper()
	dir := t.TempDir()
	if err := topology.WriteCompose(dir, topo); err != nil {
		t.Fatal(err)
	}
	argv := append(composeCommand(t), "-f", filepath.Join(dir, topology.ComposeFile), "-p", topo.Name, "up", "-d")
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// waitDig polls named inside the DNS container, as Up does, until it
// answers the zone's SOA.
func waitDig(t testing.TB, ctx context.Context, d runtime.Engine, topo topology.Topology) {
	t.Helper()
	ctr := topo.DNSServer().Name
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := d.Lab(topo.Name).Exec(ctx, ctr, []string{"dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", topo.Domain(), "SOA"}, nil)
		if err == nil && res.ExitCode == 0 && strings.TrimSpace(string(res.Stdout)) != "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("named in %s never answered", ctr)
		case <-tick.C:
		}
	}
}

// TestE2EComposeBuildsTheSameLab brings a lab up with plain compose from the
// generated file and checks that lab sees exactly what it would have made.
func TestE2EComposeBuildsTheSameLab(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-compose", 30, "10.99.21.0/24")
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	composeUp(t, topo)
	waitDig(t, ctx, d, topo)

	st, err := lab.Status(ctx, d, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Up() || len(st.Hosts) != 5 || st.Domain != "team30.com" || st.Network != topo.NetworkName() {
		t.Fatalf("status of the compose lab: %+v", st)
	}
	hosts, client := d.Lab(topo.Name), "client2"
	if got := run(t, hosts, client, "cat", "/etc/resolv.conf"); got != "nameserver 10.99.21.2\n" {
		t.Errorf("resolv.conf = %q", got)
	}
	if got := strings.TrimSpace(run(t, hosts, client, "dig", "+short", "-x", "10.99.21.13")); got != "client3.team30.com." {
		t.Errorf("PTR of client3 = %q", got)
	}
	if got := strings.TrimSpace(run(t, hosts, client, "hostname")); got != "client2" {
		t.Errorf("hostname = %q", got)
	}

	// Same labels, same config hash: up recognises the compose lab as its own.
	again, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host))
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed {
		t.Errorf("up over the compose lab changed it: %s", again.Summary)
	}

	r, err := lab.Down(ctx, d, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	if r.Containers != 5 || r.Networks != 1 {
		t.Errorf("down removed %+v, want the 5 compose containers and its network", r)
	}
	if left := leftovers(t, d, topo.Name); len(left) > 0 {
		t.Errorf("left after down: %v", left)
	}
}
