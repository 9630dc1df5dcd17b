package dnscheck

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestExpectationsPassOnGeneratedZones serves the zone files topology
// generates and checks every expectation against them over DNS. topology's
// own test holds Cases to the zone files record for record; this one holds
// the conversion of cases into expectations (CNAME following, SOA fields,
// rcodes) to what Check sees from a server answering from those files.
func TestExpectationsPassOnGeneratedZones(t *testing.T) {
	other, err := topology.New("dnscheck-zones", 7, netip.MustParsePrefix("10.98.1.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	for _, topo := range []topology.Topology{topology.Default(), other} {
		t.Run(topo.Domain(), func(t *testing.T) {
			files, err := topology.Zones(topo)
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
			}
			srv := dnstest.NewServer(t, zone.String())
			exps := Expectations(topo)
			if len(exps) != len(topo.Cases()) {
				t.Errorf("%d expectations from %d cases", len(exps), len(topo.Cases()))
			}
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

// TestExpectationSources keeps the Source that reports show: the host a
// name or PTR belongs to, else the template.
func TestExpectationSources(t *testing.T) {
	got := map[string]string{}
	for _, e := range Expectations(topology.Default()) {
		got[e.Name+" "+e.Type] = e.Source
	}
	for q, want := range map[string]string{
		"team30.com. SOA":               "lab 2 template",
		"www.team30.com. A":             "lab 2 template",
		"2.30.20.10.in-addr.arpa. PTR":  "lab 2 template",
		"dnsserver.team30.com. A":       "host dnsserver",
		"client2.team30.com. AAAA":      "host client2",
		"13.30.20.10.in-addr.arpa. PTR": "host client3",
		"30.20.10.in-addr.arpa. NS":     "lab 2 template",
	} {
		if got[q] != want {
			t.Errorf("%s: source %q, want %q", q, got[q], want)
		}
	}
}
