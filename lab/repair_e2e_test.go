package lab_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// sandboxSubnet gives each test process its own 10.97.x.0/24, apart from
// the other end-to-end tests' 10.99.x.
func sandboxSubnet(offset int) string {
	return fmt.Sprintf("10.97.%d.0/24", (os.Getpid()+offset)%250)
}

// TestUpRepairsAKilledUp makes, directly in Docker, what an up killed with
// SIGKILL right after creating the DNS server leaves: the network and a DNS
// container without its zones. The next up must bring the lab up anyway.
func TestUpRepairsAKilledUp(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, fmt.Sprintf("sbxfix%d", os.Getpid()), 30, sandboxSubnet(100))
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	zones, err := topology.Zones(topo)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{
		topology.LabelManaged: "true", topology.LabelLab: topo.Name, topology.LabelConfig: topology.ConfigHash(topo), topology.LabelDomain: topo.Domain(),
	}
	if _, err := d.CreateNetwork(ctx, runtime.NetworkSpec{Name: topo.NetworkName(), Subnet4: topo.Subnet4, Subnet6: topo.Subnet6,
		Gateway4: topo.Gateway4(), Gateway6: topo.Gateway6(), Labels: labels}); err != nil {
		t.Fatal(err)
	}
	dns := topo.DNSServer()
	hl := map[string]string{topology.LabelHost: dns.Name, topology.LabelRole: string(dns.Role), topology.LabelIPv4: dns.IPv4.String(),
		topology.LabelIPv6: dns.IPv6.String(), topology.LabelZones: topology.ZonesHash(zones)}
	for k, v := range labels {
		hl[k] = v
	}
	if _, err := d.CreateContainer(ctx, runtime.ContainerSpec{Name: topo.ContainerName(dns.Name), Hostname: dns.Name, Image: refs.DNS,
		Env: []string{"NAMESERVER=" + dns.IPv4.String()}, Labels: hl, Network: topo.NetworkName(), IPv4: dns.IPv4, IPv6: dns.IPv6}); err != nil {
		t.Fatal(err)
	}

	var progress strings.Builder
	st, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host), lab.WithLogger(textLogger(&progress)))
	if err != nil {
		t.Fatalf("up on the half-made lab: %v\n%s", err, progress.String())
	}
	if !st.Up() || !strings.Contains(st.Summary, "repaired dnsserver") {
		t.Errorf("Up()=%v, summary %q", st.Up(), st.Summary)
	}
	if !strings.Contains(progress.String(), "dnsserver: its set-up did not finish (zone file ") {
		t.Errorf("progress does not say what was repaired:\n%s", progress.String())
	}
	res, err := d.Lab(topo.Name).Exec(ctx, "client1", []string{"dig", "+short", topo.Domain()}, nil)
	if err != nil || strings.TrimSpace(string(res.Stdout)) != topo.WebServer().IPv4.String() {
		t.Errorf("client1 resolves %s to %q (%v)", topo.Domain(), res.Stdout, err)
	}
	st, err = lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host))
	if err != nil || st.Changed {
		t.Errorf("up after the repair: changed=%v, %v", st.Changed, err)
	}
}
