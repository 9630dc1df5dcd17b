package lab_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// The end-to-end tests bring real labs up on the local Docker engine. Each
// uses its own lab name and a 10.99.x.0/24 subnet so that they never meet a
// user's lab or another package's test labs, and each removes its lab in
// t.Cleanup, on failure too. labcontainers.Engine gives them the engine
// and the images (skipping without an engine unless CI is set); they bring
// their labs up with lab.Up itself, the code under test, rather than with
// labcontainers.Run.

func testTopology(t testing.TB, name string, team int, subnet string) topology.Topology {
	t.Helper()
	topo, err := topology.New(name, team, netip.MustParsePrefix(subnet), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// removeOnCleanup downs the lab after the test, with a context of its own.
func removeOnCleanup(t testing.TB, d runtime.Engine, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := lab.Down(ctx, d, name); err != nil {
			t.Errorf("cleanup of lab %s: %v", name, err)
		}
	})
}

// upLab brings a lab up with the built images and removes it after the test.
func upLab(t testing.TB, d runtime.Engine, refs images.Refs, topo topology.Topology, opts ...lab.Option) lab.LabStatus {
	t.Helper()
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := lab.Up(ctx, d, topo, append([]lab.Option{lab.WithImages(refs.DNS, refs.Host)}, opts...)...)
	if err != nil {
		t.Fatalf("up %s: %v", topo.Name, err)
	}
	return st
}

// leftovers lists whatever Docker still holds under the lab's label.
func leftovers(t testing.TB, d runtime.Engine, name string) []string {
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

// run runs cmd on host and returns its output; a failure is fatal.
func run(t testing.TB, hosts runtime.Hosts, host string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := hosts.Exec(ctx, host, cmd, nil)
	if err != nil {
		t.Fatalf("%s: %v: %v", host, cmd, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("%s: %v: exit %d: %s%s", host, cmd, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

func TestE2EHostsAddressesAndResolver(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-hosts", 30, "10.99.11.0/24")
	st := upLab(t, d, refs, topo)
	if !st.Up() || !st.Changed {
		t.Fatalf("status after up: %+v", st)
	}
	for _, h := range topo.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			hosts, ctr := d.Lab(topo.Name), h.Name
			addrs := run(t, hosts, ctr, "ip", "-o", "addr", "show", "dev", "eth0")
			for _, want := range []string{h.IPv4.String() + "/24", h.IPv6.String() + "/64"} {
				if !strings.Contains(addrs, want) {
					t.Errorf("eth0 lacks %s:\n%s", want, addrs)
				}
			}
			if got := strings.TrimSpace(run(t, hosts, ctr, "hostname")); got != h.Name {
				t.Errorf("hostname = %q, want %q", got, h.Name)
			}
			if got, want := run(t, hosts, ctr, "cat", "/etc/resolv.conf"), "nameserver 10.99.11.2\n"; got != want {
				t.Errorf("resolv.conf = %q, want exactly %q", got, want)
			}
			caps := run(t, hosts, ctr, "grep", "CapEff", "/proc/self/status")
			// NET_ADMIN is capability 12: bit 0x1000.
			var eff uint64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(caps, "CapEff:")), "%x", &eff)
			if eff&(1<<12) == 0 {
				t.Errorf("no NET_ADMIN: %s", caps)
			}
		})
	}
}

func TestE2EDNSFromAClient(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-dns", 30, "10.99.12.0/24")
	upLab(t, d, refs, topo)
	hosts, client := d.Lab(topo.Name), "client1"
	tests := []struct {
		name, qtype, want string
	}{
		{"team30.com", "SOA", "ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800"},
		{"team30.com", "NS", "ns.team30.com."},
		{"team30.com", "A", "10.99.12.3"},
		{"team30.com", "AAAA", "fd00:0:0:630c::3"},
		{"team30.com", "MX", "10 mail.team30.com."},
		{"ns.team30.com", "A", "10.99.12.2"},
		{"ns.team30.com", "AAAA", "fd00:0:0:630c::2"},
		{"www.team30.com", "CNAME", "team30.com."},
		{"mail.team30.com", "A", "10.99.12.4"},
		{"mail.team30.com", "AAAA", "fd00:0:0:630c::4"},
		{"dnsserver.team30.com", "A", "10.99.12.2"},
		{"webserver.team30.com", "A", "10.99.12.3"},
		{"client1.team30.com", "A", "10.99.12.11"},
		{"client2.team30.com", "AAAA", "fd00:0:0:630c::12"},
		{"client3.team30.com", "A", "10.99.12.13"},
		{"2.12.99.10.in-addr.arpa", "PTR", "ns.team30.com."},
		{"3.12.99.10.in-addr.arpa", "PTR", "www.team30.com."},
		{"4.12.99.10.in-addr.arpa", "PTR", "mail.team30.com."},
		{"11.12.99.10.in-addr.arpa", "PTR", "client1.team30.com."},
		{"12.12.99.10.in-addr.arpa", "PTR", "client2.team30.com."},
		{"13.12.99.10.in-addr.arpa", "PTR", "client3.team30.com."},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.qtype, func(t *testing.T) {
			// No @server: the client's resolv.conf must lead to our named.
			// Three tries: a loaded machine can delay one answer past 2 s,
			// and these cases check the answer, not its promptness.
			got := strings.TrimSpace(run(t, hosts, client, "dig", "+short", "+time=2", "+tries=3", tc.name, tc.qtype))
			if got != tc.want {
				t.Errorf("dig %s %s = %q, want %q", tc.name, tc.qtype, got, tc.want)
			}
		})
	}
	t.Run("outside the zones is refused at once", func(t *testing.T) {
		// One try with a short timeout: a server that did not answer would
		// show no status at all, so REFUSED proves a prompt answer.
		out := run(t, hosts, client, "dig", "+time=2", "+tries=1", "example.org", "A")
		if !strings.Contains(out, "status: REFUSED") {
			t.Errorf("dig example.org: want status REFUSED:\n%s", out)
		}
	})
	t.Run("hostnames resolve through the resolver", func(t *testing.T) {
		out := run(t, hosts, client, "getent", "hosts", "team30.com")
		if !strings.HasPrefix(out, "10.99.12.3") && !strings.HasPrefix(out, "fd00:0:0:630c::3") {
			t.Errorf("getent hosts team30.com = %q", out)
		}
	})
}

func TestE2ELifecycle(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	ctx := context.Background()
	a := testTopology(t, "e2e-life-a", 12, "10.99.13.0/24")
	b := testTopology(t, "e2e-life-b", 13, "10.99.14.0/24")
	upLab(t, d, refs, a)
	upLab(t, d, refs, b)

	t.Run("two labs side by side answer for their own teams", func(t *testing.T) {
		if got := strings.TrimSpace(run(t, d.Lab(a.Name), "client1", "dig", "+short", "team12.com")); got != "10.99.13.3" {
			t.Errorf("lab a: team12.com = %q", got)
		}
		if got := strings.TrimSpace(run(t, d.Lab(b.Name), "client1", "dig", "+short", "team13.com")); got != "10.99.14.3" {
			t.Errorf("lab b: team13.com = %q", got)
		}
		if got := run(t, d.Lab(b.Name), "client2", "cat", "/etc/resolv.conf"); got != "nameserver 10.99.14.2\n" {
			t.Errorf("lab b resolv.conf = %q", got)
		}
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		before := containerIDs(t, d, a.Name)
		st, err := lab.Up(ctx, d, a, lab.WithImages(refs.DNS, refs.Host))
		if err != nil {
			t.Fatal(err)
		}
		if st.Changed || !strings.Contains(st.Summary, "nothing changed") {
			t.Errorf("second up: changed=%v summary=%q", st.Changed, st.Summary)
		}
		if after := containerIDs(t, d, a.Name); after != before {
			t.Errorf("containers changed:\n%s\n%s", before, after)
		}
	})

	t.Run("a killed host shows its exit code and up restarts it", func(t *testing.T) {
		if err := d.Lab(a.Name).Kill(ctx, "client2"); err != nil {
			t.Fatal(err)
		}
		st, err := lab.Status(ctx, d, a.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostState(st, "client2"); got != "exited (137)" {
			t.Errorf("client2 state = %q, want exited (137)", got)
		}
		st, err = lab.Up(ctx, d, a, lab.WithImages(refs.DNS, refs.Host))
		if err != nil {
			t.Fatal(err)
		}
		if !st.Changed || hostState(st, "client2") != "running" {
			t.Errorf("after up: changed=%v client2=%s", st.Changed, hostState(st, "client2"))
		}
		if got := run(t, d.Lab(a.Name), "client2", "cat", "/etc/resolv.conf"); got != "nameserver 10.99.13.2\n" {
			t.Errorf("restarted client2 resolv.conf = %q", got)
		}
	})

	t.Run("a taken subnet is refused, naming the network", func(t *testing.T) {
		c := testTopology(t, "e2e-life-c", 30, "10.99.13.0/24")
		removeOnCleanup(t, d, c.Name)
		_, err := lab.Up(ctx, d, c, lab.WithImages(refs.DNS, refs.Host))
		if !errors.Is(err, lab.ErrConflict) || !strings.Contains(err.Error(), `"e2e-life-a_net"`) {
			t.Fatalf("err = %v, want a conflict naming e2e-life-a_net", err)
		}
		if left := leftovers(t, d, c.Name); len(left) > 0 {
			t.Errorf("refused up left %v", left)
		}
	})

	t.Run("down twice", func(t *testing.T) {
		r, err := lab.Down(ctx, d, b.Name)
		if err != nil || r.Containers != 5 || r.Networks != 1 {
			t.Fatalf("first down: %+v %v", r, err)
		}
		r, err = lab.Down(ctx, d, b.Name)
		if err != nil || r.Total() != 0 {
			t.Fatalf("second down: %+v %v; want nothing to do", r, err)
		}
		if left := leftovers(t, d, b.Name); len(left) > 0 {
			t.Errorf("left after down: %v", left)
		}
		if st, err := lab.Status(ctx, d, a.Name); err != nil || !st.Up() {
			t.Errorf("down of lab b disturbed lab a: %+v %v", st, err)
		}
	})
}

func containerIDs(t testing.TB, d runtime.Engine, name string) string {
	t.Helper()
	cs, err := d.Containers(context.Background(), map[string]string{topology.LabelLab: name})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.Name+"="+c.ID[:12]+"/"+c.State)
	}
	return strings.Join(ids, " ")
}

func hostState(st lab.LabStatus, host string) string {
	for _, h := range st.Hosts {
		if h.Host == host {
			return h.State
		}
	}
	return "missing"
}

// cancelOn cancels a context when a progress line containing trigger is
// written: an event inside Up, not a point in time.
type cancelOn struct {
	mu      sync.Mutex
	trigger string
	cancel  context.CancelFunc
	buf     bytes.Buffer
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.trigger) {
		c.cancel()
	}
	return len(p), nil
}

func TestE2EInterruptedUpLeavesNothing(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-cancel", 30, "10.99.15.0/24")
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first created container cancels the run: the network and at least
	// one container exist by then.
	progress := &cancelOn{trigger: ": created", cancel: cancel}
	_, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host), lab.WithLogger(textLogger(progress)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(progress.buf.String(), "cleaned up") {
		t.Errorf("progress does not report the cleanup:\n%s", progress.buf.String())
	}
	if left := leftovers(t, d, topo.Name); len(left) > 0 {
		t.Errorf("interrupted up left %v", left)
	}
}

func TestE2EBrokenZoneDirIsReported(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-badzone", 30, "10.99.16.0/24")
	dir := t.TempDir()
	zone := "$TTL 1h\n@ IN SOA ns.team30.com. admin.team30.com. 1 1d 2h 4w 3h\n@ IN NS ns.team30.com.\nns IN A 10.99.16.2\nwww IN AAA fd00::3\n"
	if err := os.WriteFile(dir+"/db.team30.com", []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host), lab.WithZoneDir(dir))
	var ze *lab.ZoneError
	if !errors.As(err, &ze) {
		t.Fatalf("err = %v, want a *lab.ZoneError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "AAA") || strings.Contains(msg, "\n") {
		t.Errorf("error should be one line naming the bad record type:\n%s", msg)
	}
	if left := leftovers(t, d, topo.Name); len(left) > 0 {
		t.Errorf("failed up left %v", left)
	}
}

func TestE2EStudentZoneDir(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-zonedir", 30, "10.99.17.0/24")
	dir := t.TempDir()
	zone := "$TTL 1h\n@ IN SOA ns.team30.com. admin.team30.com. 7 1d 2h 4w 3h\n@ IN NS ns.team30.com.\nns IN A 10.99.17.2\n@ IN A 10.99.17.3\nstudent IN TXT \"mine\"\n"
	conf := "zone \"team30.com\" {\n\ttype master;\n\tfile \"/etc/bind/zones/db.team30.com\";\n};\n"
	for n, b := range map[string]string{"db.team30.com": zone, "named.conf.zones": conf} {
		if err := os.WriteFile(dir+"/"+n, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upLab(t, d, refs, topo, lab.WithZoneDir(dir))
	if got := strings.TrimSpace(run(t, d.Lab(topo.Name), "client3", "dig", "+short", "student.team30.com", "TXT")); got != `"mine"` {
		t.Errorf("student's record = %q", got)
	}
}

// textLogger is a progress logger printing lines on w, as lab up does.
func textLogger(w io.Writer) *slog.Logger { return progress.New(w, false) }
