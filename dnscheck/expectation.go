package dnscheck

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// Expectation is one question with the answer it must get: the records of
// Type at Name are exactly the set Want, or the server answers with Rcode.
type Expectation struct {
	// Name is the owner name, absolute, e.g. "www.team30.com.".
	Name string `json:"name"`
	// Type is the record type in upper case, e.g. "A", "MX", "PTR".
	Type string `json:"type"`
	// Want is the record data, one value per record, in presentation form
	// without owner, TTL and class: "10.20.30.3", "10 mail.team30.com.",
	// "ns.team30.com. admin.team30.com." for an SOA (fields left out, or
	// given as "*", are not compared). Empty with an empty Rcode, or with
	// Rcode NOERROR, means the name must exist without records of Type
	// (NODATA).
	Want []string `json:"want,omitempty"`
	// Rcode is the response code the answer must carry: empty or "NOERROR"
	// for records, "NXDOMAIN" for a name that must not exist.
	Rcode string `json:"rcode,omitempty"`
	// Source says where the expectation came from, e.g. "expect.yaml:12";
	// it is only shown in reports.
	Source string `json:"source,omitempty"`
}

// String is the question and the wanted answer, e.g. "www.team30.com. CNAME
// team30.com.".
func (e Expectation) String() string {
	return e.Name + " " + e.Type + " → " + e.WantString()
}

// WantString is the wanted answer as one line.
func (e Expectation) WantString() string {
	switch {
	case len(e.Want) > 0:
		return strings.Join(e.Want, ", ")
	case e.Rcode != "" && e.Rcode != "NOERROR":
		return e.Rcode
	default:
		return "NODATA"
	}
}

// ErrInvalidExpectation is returned, wrapped, for an expectation that
// cannot be checked: unknown type, malformed name or record data.
var ErrInvalidExpectation = errors.New("invalid expectation")

// soaFields is the number of fields in SOA record data.
const soaFields = 7

// normalize validates e and puts its name and values in the canonical form
// that answers are compared in.
func normalize(e Expectation) (Expectation, error) {
	name := strings.TrimSpace(e.Name)
	if name == "" {
		return e, fmt.Errorf("%w: name is empty", ErrInvalidExpectation)
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return e, fmt.Errorf("%w: name %q is not a domain name", ErrInvalidExpectation, name)
	}
	e.Name = canonicalName(name)
	typ := strings.ToUpper(strings.TrimSpace(e.Type))
	qtype, ok := dns.StringToType[typ]
	if !ok || qtype == dns.TypeANY || qtype == dns.TypeNone {
		return e, fmt.Errorf("%w: %s: unknown record type %q (use A, AAAA, CNAME, MX, NS, SOA, PTR, TXT, SRV, ...)", ErrInvalidExpectation, e.Name, e.Type)
	}
	e.Type = typ
	rcode := strings.ToUpper(strings.TrimSpace(e.Rcode))
	if rcode != "" {
		if _, ok := dns.StringToRcode[rcode]; !ok {
			return e, fmt.Errorf("%w: %s %s: unknown rcode %q (use NOERROR, NXDOMAIN, SERVFAIL or REFUSED)", ErrInvalidExpectation, e.Name, typ, e.Rcode)
		}
		if rcode != "NOERROR" && len(e.Want) > 0 {
			return e, fmt.Errorf("%w: %s %s: rcode %s cannot come with records in want", ErrInvalidExpectation, e.Name, typ, rcode)
		}
	}
	e.Rcode = rcode
	want := make([]string, 0, len(e.Want))
	for _, w := range e.Want {
		v, err := canonicalWant(qtype, e.Name, w)
		if err != nil {
			return e, fmt.Errorf("%w: %s %s: %w", ErrInvalidExpectation, e.Name, typ, err)
		}
		want = append(want, v)
	}
	e.Want = want
	return e, nil
}

// canonicalName lower-cases a domain name and makes it absolute.
func canonicalName(s string) string {
	return dns.Fqdn(strings.ToLower(strings.TrimSpace(s)))
}

// canonicalWant validates one wanted value of type qtype and returns it in
// the form rdataValue gives for a record.
func canonicalWant(qtype uint16, owner, w string) (string, error) {
	w = strings.TrimSpace(w)
	if w == "" {
		return "", errors.New("empty value in want")
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		a, err := netip.ParseAddr(w)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%q is not an IP address", w)
		}
		if qtype == dns.TypeA && !a.Is4() {
			return "", fmt.Errorf("%q is not an IPv4 address (an A record holds one)", w)
		}
		if qtype == dns.TypeAAAA && (!a.Is6() || a.Is4In6()) {
			return "", fmt.Errorf("%q is not an IPv6 address (an AAAA record holds one)", w)
		}
		return a.String(), nil
	case dns.TypeCNAME, dns.TypeNS, dns.TypePTR, dns.TypeDNAME:
		if _, ok := dns.IsDomainName(w); !ok || strings.ContainsAny(w, " \t") {
			return "", fmt.Errorf("%q is not a domain name", w)
		}
		return canonicalName(w), nil
	case dns.TypeSOA:
		return canonicalSOAWant(w)
	case dns.TypeTXT:
		// A TXT value is compared as the text itself, all strings joined.
		return w, nil
	}
	rr, err := dns.NewRR(owner + " 0 IN " + dns.TypeToString[qtype] + " " + w)
	if err != nil || rr == nil {
		return "", fmt.Errorf("%q is not valid %s record data", w, dns.TypeToString[qtype])
	}
	return rdataValue(rr), nil
}

// canonicalSOAWant accepts "MNAME RNAME [SERIAL REFRESH RETRY EXPIRE
// MINIMUM]", where any number may be "*" and trailing fields may be left
// out.
func canonicalSOAWant(w string) (string, error) {
	f := strings.Fields(w)
	if len(f) < 2 || len(f) > soaFields {
		return "", fmt.Errorf("SOA %q: want \"MNAME RNAME\" optionally followed by serial refresh retry expire minimum", w)
	}
	for i, x := range f {
		if i < 2 {
			if _, ok := dns.IsDomainName(x); !ok {
				return "", fmt.Errorf("SOA %q: %q is not a domain name", w, x)
			}
			f[i] = canonicalName(x)
			continue
		}
		if x == "*" {
			continue
		}
		if _, err := strconv.ParseUint(x, 10, 32); err != nil {
			return "", fmt.Errorf("SOA %q: %q is not a number of seconds or *", w, x)
		}
	}
	return strings.Join(f, " "), nil
}

// rdataValue is a record's data in the canonical form of canonicalWant.
func rdataValue(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.A:
		if a, ok := netip.AddrFromSlice(r.A.To4()); ok {
			return a.String()
		}
	case *dns.AAAA:
		if a, ok := netip.AddrFromSlice(r.AAAA.To16()); ok {
			return a.String()
		}
	case *dns.CNAME:
		return canonicalName(r.Target)
	case *dns.NS:
		return canonicalName(r.Ns)
	case *dns.PTR:
		return canonicalName(r.Ptr)
	case *dns.DNAME:
		return canonicalName(r.Target)
	case *dns.MX:
		return fmt.Sprintf("%d %s", r.Preference, canonicalName(r.Mx))
	case *dns.SOA:
		return fmt.Sprintf("%s %s %d %d %d %d %d", canonicalName(r.Ns), canonicalName(r.Mbox),
			r.Serial, r.Refresh, r.Retry, r.Expire, r.Minttl)
	case *dns.TXT:
		return strings.Join(r.Txt, "")
	}
	// Other types compare by their presentation, case-insensitively, as
	// names inside them are.
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String())))
}

// valueMatches reports whether a wanted value matches a record's value;
// only SOA values have wildcards and optional fields.
func valueMatches(qtype uint16, want, got string) bool {
	if qtype != dns.TypeSOA {
		return want == got
	}
	w, g := strings.Fields(want), strings.Fields(got)
	if len(w) > len(g) {
		return false
	}
	for i := range w {
		if w[i] != "*" && w[i] != g[i] {
			return false
		}
	}
	return true
}

// Expectations is what the lab's DNS server must answer for topo: one
// Expectation per topology.Case, the questions derived from the same records
// the lab's zone files are printed from (the lab 2 template, the hosts' own
// names and the reverse zone's PTRs). A case's answer becomes Want: the data
// of its records of the asked type (CNAMEs on the way are followed by Check),
// and for an SOA only "MNAME RNAME", so a student's own serial and timers
// pass. A topology without a DNS server or web server (not made by
// topology.New) has none.
func Expectations(topo topology.Topology) []Expectation {
	cases := topo.Cases()
	if len(cases) == 0 {
		return nil
	}
	out := make([]Expectation, 0, len(cases))
	for _, c := range cases {
		out = append(out, fromCase(c, caseSource(topo, c)))
	}
	return out
}

// fromCase converts one case into an Expectation with the given Source.
func fromCase(c topology.Case, source string) Expectation {
	e := Expectation{Name: canonicalName(c.Qname), Type: dns.TypeToString[c.Qtype], Source: source}
	if c.Rcode != dns.RcodeSuccess {
		e.Rcode = dns.RcodeToString[c.Rcode]
	}
	for _, rr := range c.Answer {
		if rr.Header().Rrtype != c.Qtype {
			continue // a CNAME on the way to the answer
		}
		v := rdataValue(rr)
		if soa, ok := rr.(*dns.SOA); ok {
			v = canonicalName(soa.Ns) + " " + canonicalName(soa.Mbox)
		}
		e.Want = append(e.Want, v)
	}
	return e
}

// caseSource says where a case comes from in reports: "host NAME" for a
// host's own name (or the PTR naming it), else "lab 2 template".
func caseSource(topo topology.Topology, c topology.Case) string {
	for _, h := range topo.Hosts {
		own := canonicalName(h.Name + "." + topo.Domain())
		if canonicalName(c.Qname) == own {
			return "host " + h.Name
		}
		for _, rr := range c.Answer {
			if p, ok := rr.(*dns.PTR); ok && canonicalName(p.Ptr) == own {
				return "host " + h.Name
			}
		}
	}
	return "lab 2 template"
}
