package dnstest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
)

const zone = `$TTL 1h
$ORIGIN team30.com.
@	IN	SOA	ns admin 1 1d 2h 4w 3h
@	IN	NS	ns
@	IN	A	10.20.30.3
ns	IN	A	10.20.30.2
www	IN	CNAME	@
_chat._tcp	IN	SRV	0 5 5000 www
`

func ask(t *testing.T, srv *dnstest.Server, name string, qtype uint16, network string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	// ask expects an answer: generous, for a loaded machine.
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, srv.Addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

func summary(r *dns.Msg) string {
	var s []string
	s = append(s, dns.RcodeToString[r.Rcode])
	if r.Truncated {
		s = append(s, "TC")
	}
	for _, rr := range r.Answer {
		s = append(s, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	if len(r.Ns) > 0 {
		s = append(s, "ns:"+dns.TypeToString[r.Ns[0].Header().Rrtype])
	}
	return strings.Join(s, " ")
}

func TestServerAnswers(t *testing.T) {
	tests := []struct {
		name    string
		mode    dnstest.Mode
		qname   string
		qtype   uint16
		network string
		want    string
	}{
		{"record", dnstest.Answer, "team30.com", dns.TypeA, "udp", "NOERROR 10.20.30.3"},
		{"case-insensitive", dnstest.Answer, "NS.Team30.COM", dns.TypeA, "udp", "NOERROR 10.20.30.2"},
		{"CNAME chased", dnstest.Answer, "www.team30.com", dns.TypeA, "udp", "NOERROR team30.com. 10.20.30.3"},
		{"CNAME asked", dnstest.Answer, "www.team30.com", dns.TypeCNAME, "udp", "NOERROR team30.com."},
		{"nodata", dnstest.Answer, "ns.team30.com", dns.TypeAAAA, "udp", "NOERROR ns:SOA"},
		{"nxdomain", dnstest.Answer, "nope.team30.com", dns.TypeA, "udp", "NXDOMAIN ns:SOA"},
		{"empty non-terminal", dnstest.Answer, "_tcp.team30.com", dns.TypeA, "udp", "NOERROR ns:SOA"},
		{"outside its zones", dnstest.Answer, "example.org", dns.TypeA, "udp", "REFUSED"},
		{"refuse", dnstest.Refuse, "team30.com", dns.TypeA, "udp", "REFUSED"},
		{"servfail", dnstest.ServFail, "team30.com", dns.TypeA, "udp", "SERVFAIL"},
		{"nxdomain mode", dnstest.NXDomain, "team30.com", dns.TypeA, "udp", "NXDOMAIN"},
		{"nodata mode", dnstest.NoData, "team30.com", dns.TypeA, "udp", "NOERROR"},
		{"lie A", dnstest.Lie, "team30.com", dns.TypeA, "udp", "NOERROR " + dnstest.LieIPv4},
		{"lie AAAA", dnstest.Lie, "team30.com", dns.TypeAAAA, "udp", "NOERROR " + dnstest.LieIPv6},
		{"lie tells the truth about NS", dnstest.Lie, "team30.com", dns.TypeNS, "udp", "NOERROR ns.team30.com."},
		{"truncate over UDP", dnstest.Truncate, "team30.com", dns.TypeA, "udp", "NOERROR TC"},
		{"truncate answers over TCP", dnstest.Truncate, "team30.com", dns.TypeA, "tcp", "NOERROR 10.20.30.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.NewServer(t, zone)
			srv.SetMode(tt.mode)
			if got := summary(ask(t, srv, tt.qname, tt.qtype, tt.network)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServerTimeoutModeNeverAnswers(t *testing.T) {
	srv := dnstest.NewServer(t, zone)
	srv.SetModeFor("WWW.team30.com", dnstest.Timeout)
	m := new(dns.Msg)
	m.SetQuestion("www.team30.com.", dns.TypeA)
	c := &dns.Client{Timeout: 100 * time.Millisecond}
	if _, _, err := c.Exchange(m, srv.Addr); err == nil {
		t.Error("got an answer from a server told to time out")
	}
	if got := summary(ask(t, srv, "team30.com", dns.TypeA, "udp")); got != "NOERROR 10.20.30.3" {
		t.Errorf("other names: got %q, want a normal answer", got)
	}
	if srv.Queries() != 2 {
		t.Errorf("Queries() = %d, want 2", srv.Queries())
	}
}
