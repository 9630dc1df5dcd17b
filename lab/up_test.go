package lab

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func upTopo(t *testing.T) topology.Topology {
	return mustTopo(t, "unit", 30, "10.99.1.0/24")
}

// fastPoll keeps the fake's DNS wait from sleeping between tries.
func fastPoll(c *upConfig) { c.pollInterval = time.Millisecond }

func failAfter(stage string, err error) Option {
	return func(c *upConfig) {
		c.afterStage = func(s string) error {
			if s == stage {
				return err
			}
			return nil
		}
	}
}

func TestUpCreatesTheLab(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	st, err := Up(context.Background(), eng, topo, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Changed || !st.Up() {
		t.Errorf("Changed=%v Up()=%v, want both true", st.Changed, st.Up())
	}
	var hosts []string
	for _, h := range st.Hosts {
		hosts = append(hosts, h.Host+"="+h.IPv4+","+h.IPv6+","+h.State)
	}
	want := "dnsserver=10.99.1.2,fd00:0:0:6301::2,running webserver=10.99.1.3,fd00:0:0:6301::3,running client1=10.99.1.11,fd00:0:0:6301::11,running client2=10.99.1.12,fd00:0:0:6301::12,running client3=10.99.1.13,fd00:0:0:6301::13,running"
	if got := strings.Join(hosts, " "); got != want {
		t.Errorf("hosts:\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(st.Hosts[0].Processes, ","); got != "named -g -u bind" {
		t.Errorf("dnsserver runs %q, want named only (init and entrypoint hidden)", got)
	}
	if len(st.Hosts[1].Processes) != 0 {
		t.Errorf("webserver runs %v, want nothing besides init and sleep", st.Hosts[1].Processes)
	}
	zones, _ := topology.Zones(topo)
	for n, b := range zones {
		if eng.copied("unit", "dnsserver", topology.ZoneDir+"/"+n) != string(b) {
			t.Errorf("zone file %s not copied into the DNS server", n)
		}
	}
	spec := eng.spec("unit", "client2")
	if got := strings.Join(spec.Env, ","); got != "NAMESERVER=10.99.1.2" {
		t.Errorf("client2 env = %s, want NAMESERVER of this lab's DNS server", got)
	}
	if spec.Image != topology.DefaultHostImage || spec.Network != "unit_net" || spec.IPv4 != netip.MustParseAddr("10.99.1.12") {
		t.Errorf("client2 spec = %+v", spec)
	}
}

func TestUpTwiceChangesNothing(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	before := len(eng.Calls())
	st, err := Up(context.Background(), eng, topo, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed {
		t.Error("second up reports a change")
	}
	if !strings.Contains(st.Summary, "nothing changed") {
		t.Errorf("summary %q does not say nothing changed", st.Summary)
	}
	if extra := eng.Calls()[before:]; len(extra) != 0 {
		t.Errorf("second up changed Docker: %v", extra)
	}
}

func TestUpStartsAStoppedHost(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	if err := eng.Lab("unit").Kill(context.Background(), "client3"); err != nil {
		t.Fatal(err)
	}
	st, err := Status(context.Background(), eng, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Hosts[4].State; got != "exited (137)" {
		t.Errorf("status of killed client3 = %q, want %q", got, "exited (137)")
	}
	before := len(eng.Calls())
	st, err = Up(context.Background(), eng, topo, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eng.Calls()[before:], ","); got != "start unit-client3" {
		t.Errorf("up did %q, want only: start unit-client3", got)
	}
	if !st.Changed || !st.Up() {
		t.Errorf("Changed=%v Up()=%v", st.Changed, st.Up())
	}
}

func TestUpRefusesConflicts(t *testing.T) {
	topo := upTopo(t)
	tests := []struct {
		name    string
		setup   func(*fakeEngine)
		wantErr string
	}{
		{
			name: "subnet used by another network",
			setup: func(f *fakeEngine) {
				f.AddNetwork(runtime.NetworkInfo{ID: "x", Name: "someone_else", Subnets: []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}})
			},
			wantErr: `subnet 10.99.0.0/16 is already used by Docker network "someone_else"; choose another with --subnet`,
		},
		{
			name: "IPv6 subnet used by another network",
			setup: func(f *fakeEngine) {
				f.AddNetwork(runtime.NetworkInfo{ID: "x", Name: "v6net", Subnets: []netip.Prefix{netip.MustParsePrefix("fd00:0:0:6301::/64")}})
			},
			wantErr: `Docker network "v6net"`,
		},
		{
			name: "foreign network with the lab's network name",
			setup: func(f *fakeEngine) {
				f.AddNetwork(runtime.NetworkInfo{ID: "x", Name: "unit_net"})
			},
			wantErr: "a Docker network named unit_net exists that lab did not create",
		},
		{
			name: "foreign container with a host's name",
			setup: func(f *fakeEngine) {
				f.AddContainer(runtime.ContainerInfo{ID: "y", Name: "unit-webserver", State: "running"})
			},
			wantErr: "a container named unit-webserver exists that lab did not create",
		},
		{
			name: "same lab name, other team",
			setup: func(f *fakeEngine) {
				other := mustTopo(t, "unit", 31, "10.99.2.0/24")
				if _, err := Up(context.Background(), f, other, fastPoll); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "lab unit already exists with a different team or subnet; remove it first with: lab down --name unit",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			tc.setup(eng)
			before := len(eng.Calls())
			_, err := Up(context.Background(), eng, topo, fastPoll)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrConflict containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if extra := eng.Calls()[before:]; len(extra) != 0 {
				t.Errorf("a refused up changed Docker: %v", extra)
			}
		})
	}
}

// TestUpFailureLeavesNothing injects failures at each point after Docker
// objects exist and checks that the lab's labels find nothing afterwards.
func TestUpFailureLeavesNothing(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		opt     func(*fakeEngine) Option
		cancel  string // stage after which ctx is cancelled
		wantErr error
		wantMsg string
	}{
		{name: "container creation fails", opt: func(f *fakeEngine) Option { f.failCreate = "unit-client2"; return nil }, wantMsg: "create container unit-client2: injected failure"},
		{name: "after network", opt: func(*fakeEngine) Option { return failAfter("network", boom) }, wantErr: boom},
		{name: "after create", opt: func(*fakeEngine) Option { return failAfter("create", boom) }, wantErr: boom},
		{name: "after start", opt: func(*fakeEngine) Option { return failAfter("start", boom) }, wantErr: boom},
		{name: "ctx cancelled after network", cancel: "network", wantErr: context.Canceled},
		{name: "ctx cancelled after create", cancel: "create", wantErr: context.Canceled},
		{name: "zones rejected", opt: func(f *fakeEngine) Option {
			f.zonesBroken = "zone team30.com/IN: loaded serial 1\ndb.team30.com:12: unknown RR type 'AAA'\nzone team30.com/IN: not loaded due to errors.\n"
			return nil
		}, wantMsg: "dns server rejected the zones: db.team30.com:12: unknown RR type 'AAA'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := []Option{fastPoll}
			if tc.opt != nil {
				if o := tc.opt(eng); o != nil {
					opts = append(opts, o)
				}
			}
			if tc.cancel != "" {
				opts = append(opts, func(c *upConfig) {
					c.afterStage = func(s string) error {
						if s == tc.cancel {
							cancel()
						}
						return nil
					}
				})
			}
			var progress strings.Builder
			opts = append(opts, WithLogger(textLogger(&progress)))
			_, err := Up(ctx, eng, upTopo(t), opts...)
			if err == nil {
				t.Fatal("up succeeded, want failure")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("err:\n got %q\nwant %q", err, tc.wantMsg)
			}
			if left := eng.Objects("unit"); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if !strings.Contains(progress.String(), "cleaned up") {
				t.Errorf("progress does not report the cleanup:\n%s", progress.String())
			}
		})
	}
}

func TestUpRefusesToSwitchZonesSilently(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "db.team30.com"), []byte("$TTL 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := len(eng.Calls())
	_, err := Up(context.Background(), eng, topo, fastPoll, WithZoneDir(dir))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "serves other zones") {
		t.Fatalf("err = %v, want a conflict about the zones", err)
	}
	if extra := eng.Calls()[before:]; len(extra) != 0 {
		t.Errorf("a refused up changed Docker: %v", extra)
	}
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Errorf("up with the same zones again: %v", err)
	}
}

func TestUpBadZoneDirChangesNothing(t *testing.T) {
	eng := newFakeEngine()
	_, err := Up(context.Background(), eng, upTopo(t), WithZoneDir(filepath.Join(t.TempDir(), "missing")))
	if !errors.Is(err, topology.ErrZoneDir) {
		t.Fatalf("err = %v, want ErrZoneDir", err)
	}
	if len(eng.Calls()) != 0 {
		t.Errorf("Docker was changed: %v", eng.Calls())
	}
}

func TestUpTimingsUseTheInjectedClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(250 * time.Millisecond); return now }
	st, err := Up(context.Background(), newFakeEngine(), upTopo(t), fastPoll, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range st.Timings {
		got = append(got, p.Name+"="+p.Duration.String())
	}
	want := "zones=250ms inspect=250ms network=250ms create+start-dns=250ms hosts+dns-ready=250ms"
	if strings.Join(got, " ") != want {
		t.Errorf("timings:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestDownRemovesEverythingLabelled(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	other := mustTopo(t, "neighbour", 30, "10.99.3.0/24")
	if _, err := Up(context.Background(), eng, other, fastPoll); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateVolume(context.Background(), "unit_data", map[string]string{topology.LabelLab: "unit", topology.LabelManaged: "true"}); err != nil {
		t.Fatal(err)
	}
	r, err := Down(context.Background(), eng, "unit")
	if err != nil {
		t.Fatal(err)
	}
	if r != (Removed{Containers: 5, Networks: 1, Volumes: 1}) {
		t.Errorf("removed %+v, want 5 containers, 1 network, 1 volume", r)
	}
	if left := eng.Objects("unit"); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if n := len(eng.Objects("neighbour")); n != 6 {
		t.Errorf("down of one lab touched another: neighbour has %d objects, want 6", n)
	}
	r, err = Down(context.Background(), eng, "unit")
	if err != nil || r.Total() != 0 {
		t.Errorf("second down: %+v, %v; want nothing removed and no error", r, err)
	}
}

func TestStatusOfAMissingLab(t *testing.T) {
	st, err := Status(context.Background(), newFakeEngine(), "nothing")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Hosts) != 0 || st.Up() {
		t.Errorf("status = %+v, want no hosts", st)
	}
}

func TestDescribeProcesses(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"host at rest", []string{"/sbin/docker-init -- /usr/local/sbin/lab-host-entrypoint", "sleep infinity"}, ""},
		{"dns", []string{"/sbin/docker-init -- /usr/local/sbin/lab-dns-entrypoint", "/usr/sbin/named -g -u bind"}, "named -g -u bind"},
		{"student server and capture", []string{"sleep infinity", "python3 chatroom_server.py", "tcpdump -i eth0 -w chatserver.pcap"}, "python3 chatroom_server.py|tcpdump -i eth0 -w chatserver.pcap"},
		{"entrypoint run by sh", []string{"/bin/sh /usr/local/sbin/lab-host-entrypoint", "/root/chat-server --mode chatroom"}, "chat-server --mode chatroom"},
		{"long command shortened", []string{"python3 " + strings.Repeat("x", 80)}, "python3 " + strings.Repeat("x", 49) + "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(describeProcesses(tc.in), "|"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadRebuildsTheTopology(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	got, err := Load(context.Background(), eng, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	if topology.ConfigHash(got) != topology.ConfigHash(topo) || got.Domain() != "team30.com" || got.Subnet6 != topo.Subnet6 {
		t.Errorf("Load = %+v, want %+v", got, topo)
	}
	if _, err := Load(context.Background(), eng, "absent"); !errors.Is(err, ErrNotUp) {
		t.Errorf("Load of a missing lab: err = %v, want ErrNotUp", err)
	}
}

// TestUpRepairsAHalfMadeLab starts from the states an up killed half-way
// (SIGKILL) leaves behind and checks that the next up finishes the lab
// instead of failing on them.
func TestUpRepairsAHalfMadeLab(t *testing.T) {
	topo := upTopo(t)
	c := newUpConfig(nil)
	zones, _ := topology.Zones(topo)
	network := func(f *fakeEngine) {
		if _, err := f.CreateNetwork(context.Background(), runtime.NetworkSpec{Name: topo.NetworkName(), Subnet4: topo.Subnet4, Subnet6: topo.Subnet6, Labels: topology.LabLabels(topo)}); err != nil {
			t.Fatal(err)
		}
	}
	host := func(f *fakeEngine, name string, withZones bool) {
		h, _ := topo.Host(name)
		if _, err := f.CreateContainer(context.Background(), c.containerSpec(topo, h, topology.ZonesHash(zones))); err != nil {
			t.Fatal(err)
		}
		if withZones {
			_ = f.Lab(topo.Name).CopyFiles(context.Background(), name, zoneFiles(zones))
		}
	}
	tests := []struct {
		name        string
		setup       func(*fakeEngine)
		wantCalls   []string // in this order, among others
		wantSummary string
	}{
		{
			name:        "dns server created, zones never copied",
			setup:       func(f *fakeEngine) { network(f); host(f, "dnsserver", false) },
			wantCalls:   []string{"remove container unit-dnsserver", "create container unit-dnsserver", "copy 3 file(s) to unit-dnsserver:" + topology.ZoneDir, "start unit-dnsserver"},
			wantSummary: "lab unit is up: repaired dnsserver (set-up had not finished); created 5 and started 5 host(s)",
		},
		{
			name: "dns server stopped after a full set-up is only started",
			setup: func(f *fakeEngine) {
				network(f)
				host(f, "dnsserver", true)
			},
			wantCalls:   []string{"start unit-dnsserver"},
			wantSummary: "lab unit is up: created 4 and started 5 host(s)",
		},
		{
			name:        "hosts left without their network",
			setup:       func(f *fakeEngine) { host(f, "dnsserver", true); host(f, "client1", false) },
			wantCalls:   []string{"create network unit_net", "remove container unit-dnsserver", "remove container unit-client1", "create container unit-client1", "start unit-client1"},
			wantSummary: "lab unit is up: repaired dnsserver, client1 (set-up had not finished)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			tc.setup(eng)
			before := len(eng.Calls())
			var progress strings.Builder
			st, err := Up(context.Background(), eng, topo, fastPoll, WithLogger(textLogger(&progress)))
			if err != nil {
				t.Fatalf("up on the half-made lab: %v\n%s", err, progress.String())
			}
			if !st.Up() || !strings.HasPrefix(st.Summary, tc.wantSummary) {
				t.Errorf("Up()=%v summary %q, want it to start with %q", st.Up(), st.Summary, tc.wantSummary)
			}
			calls := eng.Calls()[before:]
			at := 0
			for _, w := range tc.wantCalls {
				i := slices.Index(calls[at:], w)
				if i < 0 {
					t.Fatalf("call %q missing or out of order in %v", w, calls)
				}
				at += i + 1
			}
			if got := eng.copied("unit", "dnsserver", topology.ZoneDir+"/"+topology.ZonesConf); got != string(zones[topology.ZonesConf]) {
				t.Errorf("dns server's %s = %q", topology.ZonesConf, got)
			}
			before = len(eng.Calls())
			if st, err := Up(context.Background(), eng, topo, fastPoll); err != nil || st.Changed || len(eng.Calls()) != before {
				t.Errorf("up after the repair: changed=%v err=%v calls %v", st.Changed, err, eng.Calls()[before:])
			}
		})
	}
}

func TestStatusNamesHostsThatAreDown(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	if err := eng.Lab("unit").Stop(context.Background(), "dnsserver"); err != nil {
		t.Fatal(err)
	}
	_ = eng.RemoveContainer(context.Background(), "unit-client2")
	st, err := Status(context.Background(), eng, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range st.NotRunning() {
		got = append(got, h.String())
	}
	want := []string{
		"dnsserver is stopped (exited (0)): start it with: lab up --name unit",
		"client2 is missing: create it with: lab up --name unit",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if st.Up() {
		t.Error("Up() with hosts down")
	}
}

// textLogger is a progress logger printing lines on w, as lab up does.
func textLogger(w io.Writer) *slog.Logger { return progress.New(w, false) }
