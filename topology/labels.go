package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// Labels carried by everything lab creates in Docker, so that down and status
// find a lab by label alone, whether `lab up` or compose created it.
const (
	LabelManaged = "lab3.managed" // always "true"
	LabelLab     = "lab3.lab"     // the lab's name
	LabelHost    = "lab3.host"    // the host's name, on containers
	LabelRole    = "lab3.role"    // the host's role, on containers
	LabelIPv4    = "lab3.ipv4"    // the host's fixed IPv4 address, on containers
	LabelIPv6    = "lab3.ipv6"    // the host's fixed IPv6 address, on containers
	LabelConfig  = "lab3.config"  // hash of the topology the object was made for
	LabelDomain  = "lab3.domain"  // the team's domain, e.g. team30.com
	LabelZones   = "lab3.zones"   // hash of the zone files, on the DNS server
)

// Image references the topology's containers run when nothing else is given.
// The images package tags its builds with these too, for compose.
const (
	DefaultDNSImage  = "lab3/dnsserver:latest"
	DefaultHostImage = "lab3/host:latest"
)

// ConfigHash identifies a topology's shape: the same hash means an existing
// lab already is what up would create.
func ConfigHash(topo Topology) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%s|%s", topo.Name, topo.Team, topo.Subnet4, topo.Subnet6)
	for _, host := range topo.Hosts {
		fmt.Fprintf(h, "|%s,%s,%s,%s", host.Name, host.Role, host.IPv4, host.IPv6)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// ZonesHash identifies a set of zone files (as Zones or ZonesFromDir return
// them), so that up can tell whether a running DNS server serves them.
func ZonesHash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func LabLabels(topo Topology) map[string]string {
	return map[string]string{
		LabelManaged: "true",
		LabelLab:     topo.Name,
		LabelConfig:  ConfigHash(topo),
		LabelDomain:  topo.Domain(),
	}
}

func HostLabels(topo Topology, h Host) map[string]string {
	l := LabLabels(topo)
	l[LabelHost] = h.Name
	l[LabelRole] = string(h.Role)
	l[LabelIPv4] = h.IPv4.String()
	l[LabelIPv6] = h.IPv6.String()
	return l
}
