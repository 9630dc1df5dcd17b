package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrNotUp is returned, wrapped, when a lab has no containers.
var ErrNotUp = errors.New("lab is not up")

// Load reconstructs the topology of a running lab from its containers'
// labels, so that commands given only --name (exec, deploy, scenarios) know
// its hosts, domain and addresses.
func Load(ctx context.Context, eng runtime.Engine, name string) (topology.Topology, error) {
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: name, topology.LabelHost: "dnsserver"})
	if err != nil {
		return topology.Topology{}, fmt.Errorf("list containers of lab %s: %w", name, err)
	}
	if len(cs) == 0 {
		return topology.Topology{}, fmt.Errorf("%w: lab %s has no DNS server container; start it with: lab up --name %s", ErrNotUp, name, name)
	}
	l := cs[0].Labels
	team, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(l[topology.LabelDomain], "team"), ".com"))
	if err != nil {
		return topology.Topology{}, fmt.Errorf("lab %s: bad %s label %q on %s", name, topology.LabelDomain, l[topology.LabelDomain], cs[0].Name)
	}
	v4, err4 := netip.ParseAddr(l[topology.LabelIPv4])
	v6, err6 := netip.ParseAddr(l[topology.LabelIPv6])
	if err4 != nil || err6 != nil {
		return topology.Topology{}, fmt.Errorf("lab %s: bad address labels on %s", name, cs[0].Name)
	}
	p4, _ := v4.Prefix(24)
	p6, _ := v6.Prefix(64)
	topo, err := topology.New(name, team, p4, p6)
	if err != nil {
		return topology.Topology{}, err
	}
	if got := topology.ConfigHash(topo); got != l[topology.LabelConfig] {
		return topology.Topology{}, fmt.Errorf("lab %s: its labels do not describe a topology this version of lab makes (config %s, derived %s); recreate it with: lab down --name %s && lab up --name %s", name, l[topology.LabelConfig], got, name, name)
	}
	return topo, nil
}
