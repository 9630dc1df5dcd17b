package topology

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDefaultTopologyMatchesCourse(t *testing.T) {
	topo := Default()
	want := map[string][2]string{
		"dnsserver": {"10.20.30.2", "fd00::2"},
		"webserver": {"10.20.30.3", "fd00::3"},
		"client1":   {"10.20.30.11", "fd00::11"},
		"client2":   {"10.20.30.12", "fd00::12"},
		"client3":   {"10.20.30.13", "fd00::13"},
	}
	if len(topo.Hosts) != len(want) {
		t.Fatalf("got %d hosts, want %d", len(topo.Hosts), len(want))
	}
	for _, h := range topo.Hosts {
		w, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected host %s", h.Name)
			continue
		}
		if h.IPv4.String() != w[0] || h.IPv6.String() != w[1] {
			t.Errorf("%s: got %s %s, want %s %s", h.Name, h.IPv4, h.IPv6, w[0], w[1])
		}
	}
	if got := topo.Domain(); got != "team30.com" {
		t.Errorf("Domain() = %q", got)
	}
	if got := topo.ReverseZone(); got != "30.20.10.in-addr.arpa" {
		t.Errorf("ReverseZone() = %q", got)
	}
	if got := topo.MailIPv4().String(); got != "10.20.30.4" {
		t.Errorf("MailIPv4() = %s", got)
	}
	if got := topo.MailIPv6().String(); got != "fd00::4" {
		t.Errorf("MailIPv6() = %s", got)
	}
}

func TestNewDerivesAddressesFromSubnet(t *testing.T) {
	topo, err := New("grade-7", 7, netip.MustParsePrefix("10.20.31.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.Subnet6.String(); got != "fd00:0:0:141f::/64" {
		t.Errorf("Subnet6 = %s", got)
	}
	c1, _ := topo.Host("client1")
	if c1.IPv4.String() != "10.20.31.11" || c1.IPv6.String() != "fd00:0:0:141f::11" {
		t.Errorf("client1 = %s %s", c1.IPv4, c1.IPv6)
	}
	if got := topo.ReverseZone(); got != "31.20.10.in-addr.arpa" {
		t.Errorf("ReverseZone() = %q", got)
	}
	if got := topo.Domain(); got != "team7.com" {
		t.Errorf("Domain() = %q", got)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		lab     string
		team    int
		subnet4 string
		subnet6 string
	}{
		{"empty name", "", 30, "10.20.30.0/24", ""},
		{"uppercase name", "Lab", 30, "10.20.30.0/24", ""},
		{"team zero", "lab3", 0, "10.20.30.0/24", ""},
		{"ipv6 as subnet4", "lab3", 30, "fd00::/64", ""},
		{"wrong size", "lab3", 30, "10.20.0.0/16", ""},
		{"ipv4 as subnet6", "lab3", 30, "10.20.30.0/24", "10.0.0.0/24"},
		{"subnet6 too small", "lab3", 30, "10.20.30.0/24", "fd00::/112"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s6 netip.Prefix
			if tc.subnet6 != "" {
				s6 = netip.MustParsePrefix(tc.subnet6)
			}
			_, err := New(tc.lab, tc.team, netip.MustParsePrefix(tc.subnet4), s6)
			if !errors.Is(err, ErrInvalidTopology) {
				t.Fatalf("got %v, want ErrInvalidTopology", err)
			}
		})
	}
}

func TestSaveAndLoadTopology(t *testing.T) {
	dir := t.TempDir()
	want, err := New("grade-1", 7, netip.MustParsePrefix("10.99.7.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(filepath.Join(dir, TopologyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name":"x","team":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrInvalidTopology) {
		t.Errorf("bad file: got %v, want ErrInvalidTopology", err)
	}
}
