package lab

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func TestContainerConfigOfASandboxedHost(t *testing.T) {
	sb := DefaultSandbox()
	cfg, hc, _ := containerConfig(ContainerSpec{Name: "g-client1", Image: DefaultHostImage, Network: "g_net",
		Env: []string{"HOME=/root"}, Sandbox: &sb, ResolvConf: "/var/lib/docker/volumes/g_resolv/_data/resolv.conf"})
	if cfg.User != "" {
		t.Errorf("container user = %q, want root (the grader's commands run as root; Command drops to %s)", cfg.User, sb.User())
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"memory", hc.Memory, int64(256 << 20)},
		{"memory+swap", hc.MemorySwap, int64(256 << 20)},
		{"pids", *hc.PidsLimit, int64(128)},
		{"nano CPUs", hc.NanoCPUs, int64(500_000_000)},
		{"read-only root", hc.ReadonlyRootfs, true},
		{"cap drop", strings.Join(hc.CapDrop, ","), "ALL"},
		{"cap add", strings.Join(hc.CapAdd, ","), "CHOWN,DAC_OVERRIDE,FOWNER,KILL,SETUID,SETGID,SETPCAP,SYS_PTRACE,NET_ADMIN,NET_RAW"},
		{"security", strings.Join(hc.SecurityOpt, ","), "no-new-privileges"},
		{"shm", hc.ShmSize, int64(16 << 20)},
		{"init", *hc.Init, true},
		{"/root", hc.Tmpfs["/root"], "size=67108864,mode=0700,uid=1000,gid=1000,exec"},
		{"/opt/lab3", hc.Tmpfs["/opt/lab3"], "size=67108864,mode=0755,exec"},
		{"/tmp", hc.Tmpfs["/tmp"], "size=16777216,mode=1777"},
		{"/var/tmp", hc.Tmpfs["/var/tmp"], "size=33554432,mode=1777"},
		{"/run", hc.Tmpfs["/run"], "size=8388608,mode=0755"},
		{"tmpfs count", len(hc.Tmpfs), 5},
		{"mounts", hc.Mounts, []mount.Mount{{Type: mount.TypeBind, Source: "/var/lib/docker/volumes/g_resolv/_data/resolv.conf", Target: "/etc/resolv.conf", ReadOnly: true}}},
	}
	for _, c := range checks {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func equalAny(a, b any) bool {
	if ma, ok := a.([]mount.Mount); ok {
		mb := b.([]mount.Mount)
		return slices.EqualFunc(ma, mb, func(x, y mount.Mount) bool {
			return x.Type == y.Type && x.Source == y.Source && x.Target == y.Target && x.ReadOnly == y.ReadOnly
		})
	}
	return a == b
}

func TestContainerConfigOfAnInteractiveHost(t *testing.T) {
	_, hc, _ := containerConfig(ContainerSpec{Name: "lab3-client1", Image: DefaultHostImage, Network: "lab3_net"})
	if strings.Join(hc.CapAdd, ",") != "NET_ADMIN" || len(hc.CapDrop) != 0 || hc.ReadonlyRootfs ||
		hc.Memory != 0 || hc.PidsLimit != nil || hc.NanoCPUs != 0 || len(hc.Tmpfs) != 0 || len(hc.Mounts) != 0 {
		t.Errorf("an interactive host is confined: %+v", hc)
	}
}

func TestSandboxCommandDropsToTheUser(t *testing.T) {
	got := strings.Join(DefaultSandbox().Command([]string{"python3", "server.py"}), " ")
	want := "setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- python3 server.py"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestUpSandboxed(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	sb := DefaultSandbox()
	st, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(sb))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Up() {
		t.Fatalf("lab not up: %+v", st)
	}
	if len(eng.internal) != 1 || !eng.internal[0] {
		t.Errorf("network internal = %v, want true", eng.internal)
	}
	if _, ok := eng.vols["unit_resolv"]; !ok {
		t.Error("no resolv.conf volume")
	}
	if got := string(eng.copied["unit-dnsserver"][resolvDir+"/resolv.conf"]); got != "nameserver 10.99.1.2\n" {
		t.Errorf("resolv.conf = %q", got)
	}
	// The file must be there before any chat host is created.
	idx := func(call string) int { return slices.Index(eng.calls, call) }
	copyResolv := idx("copy 1 file(s) to unit-dnsserver:" + resolvDir)
	if copyResolv < 0 || copyResolv > idx("create container unit-webserver") || idx("create container unit-dnsserver") > copyResolv {
		t.Errorf("calls out of order: %v", eng.calls)
	}
	dns, _ := eng.find("unit-dnsserver")
	if dns.spec.Sandbox != nil || dns.spec.Volumes["unit_resolv"] != resolvDir {
		t.Errorf("dns server spec = %+v, want unconfined with the resolv.conf volume", dns.spec)
	}
	for _, h := range []string{"webserver", "client1", "client2", "client3"} {
		c, _ := eng.find("unit-" + h)
		s := c.spec
		if s.Sandbox == nil || s.Sandbox.Label() != sb.Label() {
			t.Errorf("%s is not sandboxed: %+v", h, s)
		}
		if s.ResolvConf != "/var/lib/docker/volumes/unit_resolv/_data/resolv.conf" {
			t.Errorf("%s resolv.conf from %q", h, s.ResolvConf)
		}
		if strings.Join(s.Env, ",") != "HOME=/root" {
			t.Errorf("%s env = %v, want only HOME (NAMESERVER would make the entrypoint write the read-only resolv.conf)", h, s.Env)
		}
		if s.Labels[LabelBlock] != "10.99.1.1,fd00:0:0:6301::1" || s.Labels[LabelSandbox] != sb.Label() {
			t.Errorf("%s labels = %v", h, s.Labels)
		}
	}
	// Interactive up on a graded lab (or the other way round) is refused.
	_, err = Up(context.Background(), eng, topo, fastPoll)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "other sandbox settings") {
		t.Errorf("unsandboxed up on a sandboxed lab: err = %v, want a conflict", err)
	}
	before := len(eng.calls)
	if _, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(sb)); err != nil {
		t.Fatal(err)
	}
	if extra := eng.calls[before:]; len(extra) != 0 {
		t.Errorf("second sandboxed up changed Docker: %v", extra)
	}
	r, err := Down(context.Background(), eng, topo.Name)
	if err != nil || r != (Removed{Containers: 5, Networks: 1, Volumes: 1}) {
		t.Errorf("down = %+v, %v; want 5 containers, 1 network, the volume", r, err)
	}
}

func TestUpSandboxedFailureRemovesTheVolume(t *testing.T) {
	eng := newFakeEngine()
	eng.failCreate = "unit-client3"
	if _, err := Up(context.Background(), eng, upTopo(t), fastPoll, WithSandbox(DefaultSandbox())); err == nil {
		t.Fatal("up succeeded")
	}
	if left := eng.objects("unit"); len(left) != 0 || len(eng.vols) != 0 {
		t.Errorf("left behind: %v, volumes %v", left, eng.vols)
	}
}
