package lab

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// composeFile is the part of compose.yaml that must agree with Up.
type composeFile struct {
	Services map[string]struct {
		Image         string            `yaml:"image"`
		ContainerName string            `yaml:"container_name"`
		Hostname      string            `yaml:"hostname"`
		Init          bool              `yaml:"init"`
		CapAdd        []string          `yaml:"cap_add"`
		Environment   map[string]string `yaml:"environment"`
		Labels        map[string]string `yaml:"labels"`
		Volumes       []string          `yaml:"volumes"`
		Networks      map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
			IPv6 string `yaml:"ipv6_address"`
		} `yaml:"networks"`
	} `yaml:"services"`
	Networks map[string]struct {
		Name       string            `yaml:"name"`
		EnableIPv6 bool              `yaml:"enable_ipv6"`
		Labels     map[string]string `yaml:"labels"`
		IPAM       struct {
			Config []struct {
				Subnet  string `yaml:"subnet"`
				Gateway string `yaml:"gateway"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

// TestComposeCreatesWhatUpCreates parses the generated compose file and
// compares each service with the container spec Up would create.
func TestComposeCreatesWhatUpCreates(t *testing.T) {
	for _, topo := range []topology.Topology{topology.Default(), mustTopo(t, "other", 7, "10.99.7.0/24")} {
		t.Run(topo.Name, func(t *testing.T) {
			var cf composeFile
			if err := yaml.Unmarshal(topology.Compose(topo), &cf); err != nil {
				t.Fatalf("compose file is not YAML: %v", err)
			}
			cfg := newUpConfig(nil)
			zones, err := topology.Zones(topo)
			if err != nil {
				t.Fatal(err)
			}
			if len(cf.Services) != len(topo.Hosts) {
				t.Fatalf("compose has %d services, topology %d hosts", len(cf.Services), len(topo.Hosts))
			}
			for _, h := range topo.Hosts {
				spec := cfg.containerSpec(topo, h, topology.ZonesHash(zones))
				s, ok := cf.Services[h.Name]
				if !ok {
					t.Errorf("no service %s", h.Name)
					continue
				}
				if s.Image != spec.Image || s.ContainerName != spec.Name || s.Hostname != spec.Hostname {
					t.Errorf("%s: image/name/hostname = %s/%s/%s, up uses %s/%s/%s", h.Name, s.Image, s.ContainerName, s.Hostname, spec.Image, spec.Name, spec.Hostname)
				}
				if !s.Init || len(s.CapAdd) != 1 || s.CapAdd[0] != "NET_ADMIN" {
					t.Errorf("%s: init=%v cap_add=%v, want init and NET_ADMIN", h.Name, s.Init, s.CapAdd)
				}
				var env []string
				for k, v := range s.Environment {
					env = append(env, k+"="+v)
				}
				if strings.Join(env, ",") != strings.Join(spec.Env, ",") {
					t.Errorf("%s: environment %v, up uses %v", h.Name, env, spec.Env)
				}
				if diff := mapDiff(spec.Labels, s.Labels); diff != "" {
					t.Errorf("%s: labels (-up +compose):\n%s", h.Name, diff)
				}
				n := s.Networks["net"]
				if n.IPv4 != spec.IPv4.String() || n.IPv6 != spec.IPv6.String() {
					t.Errorf("%s: addresses %s %s, up uses %s %s", h.Name, n.IPv4, n.IPv6, spec.IPv4, spec.IPv6)
				}
				wantVol := h.Role == topology.RoleDNS
				if gotVol := len(s.Volumes) == 1 && strings.HasSuffix(s.Volumes[0], ":"+topology.ZoneDir+":ro"); gotVol != wantVol {
					t.Errorf("%s: volumes %v; want the zone folder on the DNS server only", h.Name, s.Volumes)
				}
			}
			net := cf.Networks["net"]
			if net.Name != topo.NetworkName() || !net.EnableIPv6 {
				t.Errorf("network %q ipv6=%v, want %q with IPv6", net.Name, net.EnableIPv6, topo.NetworkName())
			}
			if diff := mapDiff(topology.LabLabels(topo), net.Labels); diff != "" {
				t.Errorf("network labels (-up +compose):\n%s", diff)
			}
			var subnets []string
			for _, c := range net.IPAM.Config {
				subnets = append(subnets, c.Subnet+" via "+c.Gateway)
			}
			want := []string{topo.Subnet4.String() + " via " + topo.Gateway4().String(), topo.Subnet6.String() + " via " + topo.Gateway6().String()}
			if strings.Join(subnets, ",") != strings.Join(want, ",") {
				t.Errorf("network subnets %v, want %v", subnets, want)
			}
		})
	}
}

func mustTopo(t testing.TB, name string, team int, subnet string) topology.Topology {
	t.Helper()
	topo, err := topology.New(name, team, netip.MustParsePrefix(subnet), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func keysOf[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func mapDiff(want, got map[string]string) string {
	var b strings.Builder
	for _, k := range keysOf(want) {
		if g, ok := got[k]; !ok || g != want[k] {
			b.WriteString("-" + k + "=" + want[k] + "\n")
			if ok {
				b.WriteString("+" + k + "=" + g + "\n")
			}
		}
	}
	for _, k := range keysOf(got) {
		if _, ok := want[k]; !ok {
			b.WriteString("+" + k + "=" + got[k] + "\n")
		}
	}
	return b.String()
}
