package labcontainers

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// specFor is what lab.Up asks the engine to create for host in topo.
func specFor(t *testing.T, topo topology.Topology, host string, sandbox bool) runtime.ContainerSpec {
	t.Helper()
	h, ok := topo.Host(host)
	if !ok {
		t.Fatalf("no host %s", host)
	}
	spec := runtime.ContainerSpec{
		Name: topo.ContainerName(h.Name), Hostname: h.Name, Image: topology.DefaultHostImage,
		Env:     []string{"NAMESERVER=" + topo.DNSServer().IPv4.String()},
		Labels:  map[string]string{topology.LabelManaged: "true", topology.LabelLab: topo.Name, topology.LabelHost: h.Name},
		Network: topo.NetworkName(), IPv4: h.IPv4, IPv6: h.IPv6,
	}
	if sandbox {
		sb := lab.DefaultSandbox()
		spec.Sandbox = &sb
		spec.ResolvConf = "/var/lib/docker/volumes/x_resolv/_data/resolv.conf"
	}
	return spec
}

// create does to req what testcontainers does before it asks Docker to
// create the container: its labels and environment first, then the
// request's modifiers.
func create(req testcontainers.GenericContainerRequest) (*container.Config, *container.HostConfig, map[string]*network.EndpointSettings) {
	labels := maps.Clone(req.Labels)
	testcontainers.AddGenericLabels(labels)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(req.Env)) {
		env = append(env, k+"="+req.Env[k])
	}
	cfg := &container.Config{Image: req.Image, Labels: labels, Env: env}
	hc := &container.HostConfig{Tmpfs: req.Tmpfs}
	eps := map[string]*network.EndpointSettings{}
	req.ConfigModifier(cfg)
	req.HostConfigModifier(hc)
	req.EndpointSettingsModifier(eps)
	return cfg, hc, eps
}

// TestHostRequestMakesWhatUpMakes holds the testcontainers request to
// docker.ContainerConfig: the same host, whoever creates it.
func TestHostRequestMakesWhatUpMakes(t *testing.T) {
	topo := topology.Default()
	for _, tc := range []struct {
		host    string
		sandbox bool
	}{{"dnsserver", false}, {"client2", false}, {"webserver", true}} {
		t.Run(fmt.Sprintf("%s sandbox=%v", tc.host, tc.sandbox), func(t *testing.T) {
			spec := specFor(t, topo, tc.host, tc.sandbox)
			req, err := hostRequest(spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			if req.Name != spec.Name || req.Image != spec.Image || req.Started {
				t.Errorf("request: name %q image %q started %v", req.Name, req.Image, req.Started)
			}
			wantCfg, wantHC, wantNC := docker.ContainerConfig(spec)
			cfg, hc, eps := create(req)
			if hc.Init == nil || !*hc.Init {
				t.Error("no init process (HostConfig.Init)")
			}
			if !reflect.DeepEqual(hc, wantHC) {
				t.Errorf("host config:\n-%+v\n+%+v", wantHC, hc)
			}
			if !reflect.DeepEqual(eps, wantNC.EndpointsConfig) {
				t.Errorf("endpoints:\n-%+v\n+%+v", wantNC.EndpointsConfig, eps)
			}
			for k, v := range spec.Labels {
				if cfg.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
				}
			}
			if cfg.Labels["org.testcontainers"] != "true" {
				t.Errorf("testcontainers' labels are missing: %v", cfg.Labels)
			}
			cfg.Labels = wantCfg.Labels
			if !reflect.DeepEqual(cfg, wantCfg) {
				t.Errorf("config:\n-%+v\n+%+v", wantCfg, cfg)
			}
		})
	}
}

func TestHostRequestKeepsTheCallersCustomizers(t *testing.T) {
	topo := topology.Default()
	spec := specFor(t, topo, "client1", false)
	req, err := hostRequest(spec, []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(map[string]string{"LAB_SEND_GAP": "0.1"}),
		testcontainers.WithLabels(map[string]string{"course": "ttm4200"}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.ShmSize = 1 << 20 }),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, hc, _ := create(req)
	if want := []string{"NAMESERVER=10.20.30.2", "LAB_SEND_GAP=0.1"}; !slices.Equal(cfg.Env, want) {
		t.Errorf("env %q, want %q", cfg.Env, want)
	}
	if cfg.Labels["course"] != "ttm4200" || cfg.Labels[topology.LabelHost] != "client1" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if hc.ShmSize != 1<<20 || hc.Init == nil || !*hc.Init {
		t.Errorf("host config: shm %d, init %v", hc.ShmSize, hc.Init)
	}

	failing := testcontainers.CustomizeRequestOption(func(*testcontainers.GenericContainerRequest) error { return errors.New("boom") })
	if _, err := hostRequest(spec, []testcontainers.ContainerCustomizer{failing}); err == nil || err.Error() != "customize lab3-client1: boom" {
		t.Errorf("err = %v", err)
	}
}

func TestOptionsAreSeparatedFromCustomizers(t *testing.T) {
	logs := testcontainers.WithEnv(map[string]string{"A": "1"})
	s, rest := newSettings([]testcontainers.ContainerCustomizer{
		WithName("tc-x"), logs, WithTeam(7), WithSubnet(netip.MustParsePrefix("10.91.3.0/24")),
		WithImages("dns:1", "host:1"), Option(nil),
	})
	if s.name != "tc-x" || s.team != 7 || s.subnet.String() != "10.91.3.0/24" || s.dnsImage != "dns:1" || s.hostImage != "host:1" {
		t.Errorf("settings %+v", s)
	}
	if len(rest) != 1 {
		t.Errorf("customizers left for the hosts: %d, want 1", len(rest))
	}
	if d, _ := newSettings(nil); d.team != topology.DefaultTeam || d.name != "" || d.logger == nil {
		t.Errorf("defaults %+v", d)
	}
}

func TestPickSubnet(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name  string
		used  []netip.Prefix
		start int
		want  string
	}{
		{"first of the pool", nil, 0, "10.90.0.0/24"},
		{"random start", nil, 256 + 7, "10.91.7.0/24"},
		{"skips a used /24", []netip.Prefix{p("10.91.7.0/24")}, 256 + 7, "10.91.8.0/24"},
		{"skips a wider network", []netip.Prefix{p("10.90.0.0/16")}, 3, "10.91.0.0/24"},
		{"wraps around", []netip.Prefix{p("10.95.255.0/24")}, 6*256 - 1, "10.90.0.0/24"},
		{"ignores IPv6 and other ranges", []netip.Prefix{p("fd00::/64"), p("10.20.30.0/24")}, 0, "10.90.0.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickSubnet(tc.used, func(int) int { return tc.start })
			if err != nil || got.String() != tc.want {
				t.Errorf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	_, err := pickSubnet([]netip.Prefix{p("10.88.0.0/13")}, func(int) int { return 0 })
	if err == nil || err.Error() != "no free subnet in 10.90.0.0-10.95.255.0: pass one with WithSubnet" {
		t.Errorf("full pool: err = %v", err)
	}
}

func TestSubnetTaken(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w: subnet 10.90.1.0/24 is already used by Docker network \"foo_net\"; choose another with --subnet or remove that network", lab.ErrConflict), true},
		{fmt.Errorf("%w: lab x already exists with a different team or subnet; remove it first with: lab down --name x", lab.ErrConflict), false},
		{errors.New("create network x_net: Pool overlaps with other one on this address space"), true},
		{fmt.Errorf("%w: a Docker network named x_net exists that lab did not create", lab.ErrConflict), false},
		{errors.New("dns server rejected the zones"), false},
	} {
		if got := subnetTaken(tc.err); got != tc.want {
			t.Errorf("subnetTaken(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
