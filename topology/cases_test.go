package topology

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestCasesAgreeWithZoneFiles parses the generated zone files back and
// answers every Case from them as an authoritative server would (records of
// the type at the name, else a CNAME and its target's records, else NODATA
// or NXDOMAIN). Each case's answer must be exactly that record set, and
// every record set in the files must be asked by some case, so an edit to
// either the printer or Cases that makes them disagree fails here.
func TestCasesAgreeWithZoneFiles(t *testing.T) {
	for _, topo := range []Topology{Default(), mustTopo(t, "cases", 7, "10.98.1.0/24")} {
		t.Run(topo.Domain(), func(t *testing.T) {
			files, err := Zones(topo)
			if err != nil {
				t.Fatal(err)
			}
			var zone []dns.RR
			for _, z := range DeclaredZones(files[ZonesConf]) {
				b, ok := files["db."+z]
				if !ok {
					t.Fatalf("%s declares %s, but there is no db.%s", ZonesConf, z, z)
				}
				zone = append(zone, parseZone(t, dns.Fqdn(z), b)...)
			}
			cases := topo.Cases()
			asked := map[string]bool{}
			for _, c := range cases {
				q := c.Qname + " " + dns.TypeToString[c.Qtype]
				if asked[q] {
					t.Errorf("%s is asked twice", q)
				}
				asked[q] = true
				rcode, answer := resolve(zone, c.Qname, c.Qtype)
				if c.Rcode != rcode {
					t.Errorf("%s: case wants %s, the zone files give %s", q, dns.RcodeToString[c.Rcode], dns.RcodeToString[rcode])
				}
				if got, want := rrStrings(answer), rrStrings(c.Answer); !slices.Equal(got, want) {
					t.Errorf("%s: case answers\n  %s\nthe zone files answer\n  %s", q, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
				}
			}
			for _, rr := range zone {
				q := rr.Header().Name + " " + dns.TypeToString[rr.Header().Rrtype]
				if !asked[q] {
					t.Errorf("zone files hold %s, but no case asks %s", rr, q)
				}
			}
			if len(cases) != 2*len(topo.Hosts)+20 {
				t.Errorf("%d cases, want %d", len(cases), 2*len(topo.Hosts)+20)
			}
		})
	}
}

// TestCasesWithoutRecords: a topology New did not make has no records and
// no cases, rather than a panic.
func TestCasesWithoutRecords(t *testing.T) {
	var topo Topology
	if fwd, rev := topo.Records(); len(fwd.Records)+len(rev.Records) != 0 {
		t.Errorf("zero topology has records %v %v", fwd, rev)
	}
	if c := topo.Cases(); c != nil {
		t.Errorf("zero topology has cases %v", c)
	}
	if _, err := Zones(topo); err == nil {
		t.Error("Zones of a zero topology: no error")
	}
}

// resolve answers qname/qtype from zone, following CNAMEs for other types.
func resolve(zone []dns.RR, qname string, qtype uint16) (int, []dns.RR) {
	var answer []dns.RR
	for range 8 {
		var exists bool
		var cname *dns.CNAME
		var set []dns.RR
		for _, rr := range zone {
			h := rr.Header()
			if !strings.EqualFold(h.Name, qname) {
				continue
			}
			exists = true
			if h.Rrtype == qtype {
				set = append(set, rr)
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		switch {
		case len(set) > 0:
			return dns.RcodeSuccess, append(answer, set...)
		case cname != nil && qtype != dns.TypeCNAME:
			answer = append(answer, cname)
			qname = cname.Target
		case exists || len(answer) > 0:
			return dns.RcodeSuccess, answer // NODATA
		default:
			return dns.RcodeNameError, nil
		}
	}
	return dns.RcodeServerFailure, nil // CNAME loop
}

func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.String()
	}
	slices.Sort(out)
	return out
}
