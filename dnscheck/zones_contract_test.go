package dnscheck

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestExpectationsMatchGeneratedZones serves the zones package lab generates
// for the DNS server and checks every derived expectation against them, so
// the generator and the checker cannot drift apart.
func TestExpectationsMatchGeneratedZones(t *testing.T) {
	other, err := lab.New("dnscheck-zones", 7, netip.MustParsePrefix("10.98.1.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	for _, topo := range []lab.Topology{lab.Default(), other} {
		t.Run(topo.Domain(), func(t *testing.T) {
			files, err := lab.Zones(topo)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for name := range files {
				if strings.HasPrefix(name, "db.") {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			var zone strings.Builder
			for _, n := range names {
				zone.Write(files[n])
				zone.WriteString("\n")
			}
			srv := dnstest.NewServer(t, zone.String())
			exps := Expectations(topo)
			for _, r := range Check(context.Background(), srv.Addr, exps, patient...) {
				if !r.Pass {
					t.Errorf("%s: %s: %s", r.Expectation, r.Reason, r.Detail)
				}
			}
			if srv.Queries() != len(exps) {
				t.Errorf("server answered %d queries, want %d", srv.Queries(), len(exps))
			}
		})
	}
}
