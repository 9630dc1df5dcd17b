package topology

import "github.com/miekg/dns"

// Case is one question the lab's DNS server must answer, and the answer, in
// the style of CoreDNS's test.Case: the records of Answer, in any order, and
// the response code Rcode (dns.RcodeSuccess, dns.RcodeNameError, ...).
type Case struct {
	Qname  string // absolute, e.g. "www.team30.com."
	Qtype  uint16 // dns.TypeA, dns.TypeMX, ...
	Rcode  int
	Answer []dns.RR
}

// Cases derives the questions a correct DNS server for the lab answers from
// the same records its zone files are printed from (Records), so the two
// cannot disagree: one case per owner name and type in each zone, in zone
// order, with that record set as the answer; and after each CNAME, its owner
// asked for A and AAAA, answered by the CNAME followed by the target's
// records, as a server answers. A topology without records has no cases.
func (t Topology) Cases() []Case {
	fwd, rev := t.Records()
	var out []Case
	for _, z := range []Zone{fwd, rev} {
		for _, set := range rrsets(z.Records) {
			h := set[0].Header()
			out = append(out, Case{Qname: h.Name, Qtype: h.Rrtype, Rcode: dns.RcodeSuccess, Answer: set})
			cname, ok := set[0].(*dns.CNAME)
			if !ok {
				continue
			}
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
				if target := z.Lookup(cname.Target, qtype); len(target) > 0 {
					out = append(out, Case{Qname: h.Name, Qtype: qtype, Rcode: dns.RcodeSuccess,
						Answer: append([]dns.RR{cname}, target...)})
				}
			}
		}
	}
	return out
}

// rrsets groups adjacent records of the same owner and type.
func rrsets(rrs []dns.RR) [][]dns.RR {
	var out [][]dns.RR
	for _, rr := range rrs {
		if n := len(out); n > 0 {
			last := out[n-1][0].Header()
			if last.Rrtype == rr.Header().Rrtype && dns.CanonicalName(last.Name) == dns.CanonicalName(rr.Header().Name) {
				out[n-1] = append(out[n-1], rr)
				continue
			}
		}
		out = append(out, []dns.RR{rr})
	}
	return out
}
