package topology

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

//go:generate go run github.com/ntnu-ttm4200/lab3/cmd/lab compose --write --dir ..

// ComposeFile is the compose file's name at the repository root.
const ComposeFile = "compose.yaml"

// ComposeZoneDir is the folder, relative to the repository root, holding the
// zone files the compose file bind-mounts into the DNS server.
func ComposeZoneDir(topo Topology) string {
	return filepath.Join("topology", "zones", fmt.Sprintf("team%d", topo.Team))
}

// Compose renders a compose file that brings up the same topology as Up:
// same container and network names, addresses, labels, capabilities and
// environment. The DNS server bind-mounts ComposeZoneDir instead of receiving
// a copy, so the folder must hold Zones(topo). The output depends only on the
// topology, which is what lets a test hold the committed file to it.
func Compose(topo Topology) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "# Generated from topology.Default() by `lab compose --write` (or `go generate ./topology`).\n")
	fmt.Fprintf(&w, "# Do not edit: a test fails when this file drifts from the generator.\n")
	fmt.Fprintf(&w, "# Needs the images `lab up` builds; then `docker compose up -d` or\n")
	fmt.Fprintf(&w, "# `docker-compose up -d` starts the same lab that `lab up` does.\n")
	fmt.Fprintf(&w, "version: \"2.4\"\n\nservices:\n")
	dnsIP := topo.DNSServer().IPv4
	zones, err := Zones(topo)
	zonesHash := ""
	if err == nil {
		zonesHash = ZonesHash(zones)
	}
	for _, h := range topo.Hosts {
		image := DefaultHostImage
		if h.Role == RoleDNS {
			image = DefaultDNSImage
		}
		fmt.Fprintf(&w, "  %s:\n", h.Name)
		fmt.Fprintf(&w, "    image: %s\n", image)
		fmt.Fprintf(&w, "    container_name: %s\n", topo.ContainerName(h.Name))
		fmt.Fprintf(&w, "    hostname: %s\n", h.Name)
		fmt.Fprintf(&w, "    init: true\n")
		fmt.Fprintf(&w, "    cap_add:\n      - NET_ADMIN\n")
		fmt.Fprintf(&w, "    environment:\n      NAMESERVER: %q\n", dnsIP.String())
		labels := HostLabels(topo, h)
		if h.Role == RoleDNS && zonesHash != "" {
			labels[LabelZones] = zonesHash
		}
		writeLabels(&w, "    ", labels)
		if h.Role == RoleDNS {
			fmt.Fprintf(&w, "    volumes:\n      - ./%s:%s:ro\n", filepath.ToSlash(ComposeZoneDir(topo)), ZoneDir)
		}
		fmt.Fprintf(&w, "    networks:\n      net:\n")
		fmt.Fprintf(&w, "        ipv4_address: %s\n        ipv6_address: %q\n", h.IPv4, h.IPv6.String())
	}
	fmt.Fprintf(&w, "\nnetworks:\n  net:\n")
	fmt.Fprintf(&w, "    name: %s\n", topo.NetworkName())
	fmt.Fprintf(&w, "    driver: bridge\n    enable_ipv6: true\n")
	writeLabels(&w, "    ", LabLabels(topo))
	fmt.Fprintf(&w, "    ipam:\n      config:\n")
	fmt.Fprintf(&w, "        - subnet: %s\n          gateway: %s\n", topo.Subnet4, topo.Gateway4())
	fmt.Fprintf(&w, "        - subnet: %q\n          gateway: %q\n", topo.Subnet6.String(), topo.Gateway6().String())
	return w.Bytes()
}

func writeLabels(w *bytes.Buffer, indent string, labels map[string]string) {
	fmt.Fprintf(w, "%slabels:\n", indent)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(w, "%s  %s: %q\n", indent, k, labels[k])
	}
}

// WriteCompose writes the compose file and its zone folder for topo under
// root (the repository root), replacing stale zone files. It is what
// `lab compose --write` and `go generate ./topology` run.
func WriteCompose(root string, topo Topology) error {
	zones, err := Zones(topo)
	if err != nil {
		return err
	}
	zdir := filepath.Join(root, ComposeZoneDir(topo))
	if err := os.MkdirAll(zdir, 0o755); err != nil {
		return fmt.Errorf("write compose zones: %w", err)
	}
	old, err := os.ReadDir(zdir)
	if err != nil {
		return fmt.Errorf("write compose zones: %w", err)
	}
	for _, e := range old {
		if _, keep := zones[e.Name()]; !keep && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(zdir, e.Name())); err != nil {
				return fmt.Errorf("write compose zones: %w", err)
			}
		}
	}
	names := make([]string, 0, len(zones))
	for n := range zones {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// World-readable: named runs as the bind user inside the container.
		if err := os.WriteFile(filepath.Join(zdir, n), zones[n], 0o644); err != nil {
			return fmt.Errorf("write compose zones: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, ComposeFile), Compose(topo), 0o644); err != nil {
		return fmt.Errorf("write compose file: %w", err)
	}
	return nil
}
