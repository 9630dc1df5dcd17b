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
)

// TestUpRepairsAKilledUp makes, directly in Docker, what an up killed with
// SIGKILL right after creating the DNS server leaves: the network and a DNS
// container without its zones. The next up must bring the lab up anyway.
func TestUpRepairsAKilledUp(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := topology(t, fmt.Sprintf("sbxfix%d", os.Getpid()), 30, sandboxSubnet(100))
	removeOnCleanup(t, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	zones, err := lab.Zones(topo)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{
		lab.LabelManaged: "true", lab.LabelLab: topo.Name, lab.LabelConfig: lab.ConfigHash(topo), lab.LabelDomain: topo.Domain(),
	}
	if _, err := d.CreateNetwork(ctx, lab.NetworkSpec{Name: topo.NetworkName(), Subnet4: topo.Subnet4, Subnet6: topo.Subnet6,
		Gateway4: topo.Gateway4(), Gateway6: topo.Gateway6(), Labels: labels}); err != nil {
		t.Fatal(err)
	}
	dns := topo.DNSServer()
	hl := map[string]string{lab.LabelHost: dns.Name, lab.LabelRole: string(dns.Role), lab.LabelIPv4: dns.IPv4.String(),
		lab.LabelIPv6: dns.IPv6.String(), lab.LabelZones: lab.ZonesHash(zones)}
	for k, v := range labels {
		hl[k] = v
	}
	if _, err := d.CreateContainer(ctx, lab.ContainerSpec{Name: topo.ContainerName(dns.Name), Hostname: dns.Name, Image: refs.DNS,
		Env: []string{"NAMESERVER=" + dns.IPv4.String()}, Labels: hl, Network: topo.NetworkName(), IPv4: dns.IPv4, IPv6: dns.IPv6}); err != nil {
		t.Fatal(err)
	}

	var progress strings.Builder
	st, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host), lab.WithProgress(&progress))
	if err != nil {
		t.Fatalf("up on the half-made lab: %v\n%s", err, progress.String())
	}
	if !st.Up() || !strings.Contains(st.Summary, "repaired dnsserver") {
		t.Errorf("Up()=%v, summary %q", st.Up(), st.Summary)
	}
	if !strings.Contains(progress.String(), "dnsserver: its set-up did not finish (zone file ") {
		t.Errorf("progress does not say what was repaired:\n%s", progress.String())
	}
	res, err := d.Exec(ctx, topo.ContainerName("client1"), []string{"dig", "+short", topo.Domain()}, nil)
	if err != nil || strings.TrimSpace(string(res.Stdout)) != topo.WebServer().IPv4.String() {
		t.Errorf("client1 resolves %s to %q (%v)", topo.Domain(), res.Stdout, err)
	}
	st, err = lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host))
	if err != nil || st.Changed {
		t.Errorf("up after the repair: changed=%v, %v", st.Changed, err)
	}
}
