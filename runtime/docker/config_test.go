package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func TestContainerConfigOfASandboxedHost(t *testing.T) {
	sb := lab.DefaultSandbox()
	cfg, hc, _ := containerConfig(runtime.ContainerSpec{Name: "g-client1", Image: topology.DefaultHostImage, Network: "g_net",
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
		{"nano CPUs", hc.NanoCPUs, int64(1_000_000_000)},
		{"CPU shares", hc.CPUShares, int64(512)},
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
	_, hc, _ := containerConfig(runtime.ContainerSpec{Name: "lab3-client1", Image: topology.DefaultHostImage, Network: "lab3_net"})
	if strings.Join(hc.CapAdd, ",") != "NET_ADMIN" || len(hc.CapDrop) != 0 || hc.ReadonlyRootfs ||
		hc.Memory != 0 || hc.PidsLimit != nil || hc.NanoCPUs != 0 || len(hc.Tmpfs) != 0 || len(hc.Mounts) != 0 {
		t.Errorf("an interactive host is confined: %+v", hc)
	}
}

// TestContainerLogsAreBounded: every host's log in the engine is capped,
// whatever the engine's default driver (unbounded json-file on a default
// install).
func TestContainerLogsAreBounded(t *testing.T) {
	for _, sb := range []*runtime.Sandbox{nil, {Memory: 1 << 28}} {
		_, hc, _ := containerConfig(runtime.ContainerSpec{Name: "lab3-client1", Image: topology.DefaultHostImage, Network: "lab3_net", Sandbox: sb})
		if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "1m" || hc.LogConfig.Config["max-file"] != "2" {
			t.Errorf("sandboxed %v: log config %+v, want json-file of at most 2 × 1m", sb != nil, hc.LogConfig)
		}
	}
}

// TestBlockScriptCutsTheGatewayOff: a sandboxed host's routes make the
// gateway, its /64's subnet-router anycast address and everything off the
// subnet unreachable, and its filter drops the link's broadcast,
// multicast, link-local and ICMP packets of any user but root.
func TestBlockScriptCutsTheGatewayOff(t *testing.T) {
	s := blockScript("10.20.30.1", "fd00:20:30::1")
	for _, want := range []string{
		"ip route replace prohibit 10.20.30.1/32",
		"ip -6 route replace prohibit fd00:20:30::1/128",
		"ip -6 route replace prohibit fd00:20:30::/128",
		"meta skuid != 0 fib daddr type { broadcast, multicast } drop",
		"meta skuid != 0 ip6 daddr { ff00::/8, fe80::/10 } drop",
		"meta skuid != 0 meta l4proto { icmp, ipv6-icmp } drop",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("blockScript lacks %q:\n%s", want, s)
		}
	}
}
