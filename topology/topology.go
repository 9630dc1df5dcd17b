// Package topology is the Lab 3 lab as pure data, with no Docker code: its
// hosts and addresses (Topology, New, Default), the labels that mark it in
// Docker, its DNS records (Topology.Records), the zone files and DNS
// expectations (Topology.Cases) derived from those records, and the
// compose file.
package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// Role names what a host does in the lab.
type Role string

// The roles of the lab's hosts.
const (
	RoleDNS    Role = "dns"    // BIND9, authoritative for the team's domain
	RoleServer Role = "server" // runs the chat server
	RoleClient Role = "client" // runs a chat client
)

// Host is one container of the topology with its fixed addresses.
type Host struct {
	Name string     `json:"name" yaml:"name"`
	Role Role       `json:"role" yaml:"role"`
	IPv4 netip.Addr `json:"ipv4" yaml:"ipv4"`
	IPv6 netip.Addr `json:"ipv6" yaml:"ipv6"`
}

// Topology is everything that identifies one lab instance: its name, the team
// number, its subnets and its hosts. It is pure data, derived by New, so zone
// files, compose files and expectations can all be computed from it without
// Docker.
type Topology struct {
	Name    string       `json:"name" yaml:"name"`
	Team    int          `json:"team" yaml:"team"`
	Subnet4 netip.Prefix `json:"subnet4" yaml:"subnet4"`
	Subnet6 netip.Prefix `json:"subnet6" yaml:"subnet6"`
	Hosts   []Host       `json:"hosts" yaml:"hosts"`
}

// Defaults of the course's lab.
const (
	DefaultName = "lab3"
	DefaultTeam = 30
)

var (
	// DefaultSubnet4 is the course's IPv4 network.
	DefaultSubnet4 = netip.MustParsePrefix("10.20.30.0/24")
	// DefaultSubnet6 is the course's IPv6 network.
	DefaultSubnet6 = netip.MustParsePrefix("fd00::/64")
)

// Host offsets inside the subnet, as the course publishes them. The IPv6
// address reuses the decimal offset's digits as hex digits (10.20.30.11 is
// fd00::11), exactly as the course's compose file does.
const (
	offsetDNS  = 2
	offsetWeb  = 3
	offsetMail = 4
)

var hostOffsets = []struct {
	name   string
	role   Role
	offset int
}{
	{"dnsserver", RoleDNS, offsetDNS},
	{"webserver", RoleServer, offsetWeb},
	{"client1", RoleClient, 11},
	{"client2", RoleClient, 12},
	{"client3", RoleClient, 13},
}

// HostNames are the names of the hosts every lab has, in topology order.
func HostNames() []string {
	names := make([]string, len(hostOffsets))
	for i, h := range hostOffsets {
		names[i] = h.name
	}
	return names
}

// ErrInvalidTopology is returned, wrapped, for any bad topology input.
var ErrInvalidTopology = errors.New("invalid topology")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,39}$`)

// Default returns the course's topology: lab "lab3", team 30, 10.20.30.0/24
// and fd00::/64.
func Default() Topology {
	t, err := New(DefaultName, DefaultTeam, DefaultSubnet4, netip.Prefix{})
	if err != nil {
		panic(err) // the defaults are constants; this cannot fail
	}
	return t
}

// New derives a topology. A zero subnet6 is derived from subnet4: the
// course's fd00::/64 for the course's subnet, and fd00:0:0:XXYY::/64 (the
// second and third octets in hex) for any other, so that parallel labs never
// share an IPv6 network.
func New(name string, team int, subnet4, subnet6 netip.Prefix) (Topology, error) {
	if !nameRE.MatchString(name) {
		return Topology{}, fmt.Errorf("%w: lab name %q: use 1-40 lowercase letters, digits, '-', '_' or '.'", ErrInvalidTopology, name)
	}
	if team < 1 || team > 9999 {
		return Topology{}, fmt.Errorf("%w: team %d: must be between 1 and 9999", ErrInvalidTopology, team)
	}
	if !subnet4.IsValid() || !subnet4.Addr().Is4() || subnet4.Bits() != 24 {
		return Topology{}, fmt.Errorf("%w: subnet %s: must be an IPv4 /24 such as 10.20.30.0/24", ErrInvalidTopology, subnet4)
	}
	subnet4 = subnet4.Masked()
	if !subnet6.IsValid() {
		subnet6 = deriveSubnet6(subnet4)
	}
	if !subnet6.Addr().Is6() || subnet6.Addr().Is4In6() || subnet6.Bits() != 64 {
		return Topology{}, fmt.Errorf("%w: IPv6 subnet %s: must be an IPv6 /64 such as fd00::/64", ErrInvalidTopology, subnet6)
	}
	subnet6 = subnet6.Masked()
	t := Topology{Name: name, Team: team, Subnet4: subnet4, Subnet6: subnet6}
	for _, h := range hostOffsets {
		t.Hosts = append(t.Hosts, Host{
			Name: h.name,
			Role: h.role,
			IPv4: addr4(subnet4, h.offset),
			IPv6: addr6(subnet6, h.offset),
		})
	}
	return t, nil
}

// ParseSubnet parses a --subnet value, with a one-line error.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: subnet %q: want CIDR notation such as 10.20.30.0/24", ErrInvalidTopology, s)
	}
	return p, nil
}

func deriveSubnet6(subnet4 netip.Prefix) netip.Prefix {
	if subnet4 == DefaultSubnet4 {
		return DefaultSubnet6
	}
	b := subnet4.Addr().As4()
	var a [16]byte
	a[0] = 0xfd
	a[6], a[7] = b[1], b[2]
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

func addr4(p netip.Prefix, offset int) netip.Addr {
	b := p.Addr().As4()
	b[3] = byte(offset)
	return netip.AddrFrom4(b)
}

func addr6(p netip.Prefix, offset int) netip.Addr {
	// 11 becomes ::11 (0x11), as in the course's compose file.
	v, err := strconv.ParseUint(strconv.Itoa(offset), 16, 16)
	if err != nil {
		panic(err) // offsets are small constants
	}
	b := p.Addr().As16()
	b[14], b[15] = byte(v>>8), byte(v)
	return netip.AddrFrom16(b)
}

// Domain is the team's zone without the trailing dot, e.g. "team30.com".
func (t Topology) Domain() string { return fmt.Sprintf("team%d.com", t.Team) }

// ReverseZone is the IPv4 reverse zone, e.g. "30.20.10.in-addr.arpa".
func (t Topology) ReverseZone() string {
	b := t.Subnet4.Addr().As4()
	return fmt.Sprintf("%d.%d.%d.in-addr.arpa", b[2], b[1], b[0])
}

// Host returns the host with the given name.
func (t Topology) Host(name string) (Host, bool) {
	for _, h := range t.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// ByRole returns the hosts with the given role, in topology order.
func (t Topology) ByRole(r Role) []Host {
	var out []Host
	for _, h := range t.Hosts {
		if h.Role == r {
			out = append(out, h)
		}
	}
	return out
}

// DNSServer is the host that runs named.
func (t Topology) DNSServer() Host { return t.ByRole(RoleDNS)[0] }

// WebServer is the host the team domain names; it runs the chat server.
func (t Topology) WebServer() Host { return t.ByRole(RoleServer)[0] }

// Clients are the chat client hosts.
func (t Topology) Clients() []Host { return t.ByRole(RoleClient) }

// MailIPv4 is the mail server's address. The mail server is not a container
// in Lab 3, but the lab 2 zone template still names it.
func (t Topology) MailIPv4() netip.Addr { return addr4(t.Subnet4, offsetMail) }

// MailIPv6 is the mail server's IPv6 address; see MailIPv4.
func (t Topology) MailIPv6() netip.Addr { return addr6(t.Subnet6, offsetMail) }

// Gateway4 is the bridge's address on the IPv4 subnet (.1), which Docker
// takes for itself.
func (t Topology) Gateway4() netip.Addr { return addr4(t.Subnet4, 1) }

// Gateway6 is the bridge's address on the IPv6 subnet (::1).
func (t Topology) Gateway6() netip.Addr { return addr6(t.Subnet6, 1) }

// NetworkName is the Docker network the lab's hosts share.
func (t Topology) NetworkName() string { return t.Name + "_net" }

// ContainerName is the Docker container name of a host in this lab.
func (t Topology) ContainerName(host string) string { return t.Name + "-" + host }

// TopologyFile is the name of the file, saved beside captures, that records
// which lab they came from, so that they can be analysed after the lab is
// gone.
const TopologyFile = "topology.json"

// Save writes topo to dir/TopologyFile.
func Save(dir string, topo Topology) error {
	b, err := json.MarshalIndent(topo, "", "  ")
	if err != nil {
		return fmt.Errorf("save topology: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save topology: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TopologyFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save topology: %w", err)
	}
	return nil
}

// Load reads a file written by Save. The hosts are derived
// again from the name, team and subnets, so a hand-edited file cannot
// describe a lab that New would refuse.
func Load(path string) (Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Topology{}, fmt.Errorf("load topology: %w", err)
	}
	var t Topology
	if err := json.Unmarshal(b, &t); err != nil {
		return Topology{}, fmt.Errorf("%w: %s: %v", ErrInvalidTopology, path, err)
	}
	return New(t.Name, t.Team, t.Subnet4, t.Subnet6)
}
