// Package dnstest runs a small authoritative DNS server on 127.0.0.1 for
// tests, answering from a zone in master-file text, and able to misbehave on
// demand: never answer, refuse, fail, deny names, drop records, lie or
// truncate. Compare net/http/httptest and CoreDNS's dnstest.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// Mode is how the server answers.
type Mode int

// The server's behaviours.
const (
	// Answer answers from the zone, as an authoritative server does.
	Answer Mode = iota
	// Timeout never answers.
	Timeout
	// Refuse answers REFUSED.
	Refuse
	// ServFail answers SERVFAIL.
	ServFail
	// NXDomain answers NXDOMAIN whatever the name.
	NXDomain
	// NoData answers NOERROR with no records whatever the question.
	NoData
	// Lie answers A and AAAA questions with LieIPv4 and LieIPv6 instead of
	// the zone's addresses; other types are answered truthfully.
	Lie
	// Truncate sets the TC bit on every UDP answer and leaves out its
	// records, so clients must ask again over TCP, which answers normally.
	Truncate
)

// The addresses a lying server gives (documentation ranges).
const (
	LieIPv4 = "192.0.2.66"
	LieIPv6 = "2001:db8::66"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is the host:port it listens on, over both UDP and TCP.
	Addr string

	mu        sync.Mutex
	mode      Mode
	overrides map[string]Mode
	records   []dns.RR
	zones     []string
	queries   atomic.Int64
	tcp       atomic.Int64
}

// NewServer starts a server on a free port of 127.0.0.1 that answers from
// zone (master file text, one or more $ORIGIN sections, each with an SOA)
// and stops it when the test ends.
func NewServer(tb testing.TB, zone string) *Server {
	tb.Helper()
	return NewServerAt(tb, "127.0.0.1:0", zone)
}

// NewServerAt is NewServer on a given loopback address, e.g.
// "127.0.0.2:5353", so that two servers can share a port as two name
// servers in a resolv.conf do; port 0 picks a free one.
func NewServerAt(tb testing.TB, addr, zone string) *Server {
	tb.Helper()
	s := &Server{overrides: map[string]Mode{}}
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rr.Header().Name = strings.ToLower(rr.Header().Name)
		s.records = append(s.records, rr)
		if soa, isSOA := rr.(*dns.SOA); isSOA {
			s.zones = append(s.zones, soa.Hdr.Name)
		}
	}
	if err := zp.Err(); err != nil {
		tb.Fatalf("dnstest: parse zone: %v", err)
	}
	pc, l := listenPair(tb, addr)
	s.Addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			tb.Fatalf("dnstest: serve: %v", err)
		}
		tb.Cleanup(func() { _ = srv.Shutdown() })
	}
	return s
}

// listenPair opens UDP and TCP on the same port of addr.
func listenPair(tb testing.TB, addr string) (net.PacketConn, net.Listener) {
	tb.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			tb.Fatalf("dnstest: listen udp: %v", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		lastErr = err
		pc.Close()
	}
	tb.Fatalf("dnstest: no port free for both UDP and TCP: %v", lastErr)
	return nil, nil
}

// ClosedAddr returns a 127.0.0.1 UDP address nothing listens on, so queries
// to it meet "connection refused", as when named is not running.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("dnstest: listen udp: %v", err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// SetMode changes how the server answers every name without an override.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetModeFor changes how the server answers one name (case-insensitive,
// with or without the trailing dot).
func (s *Server) SetModeFor(name string, m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[dns.Fqdn(strings.ToLower(name))] = m
}

// Queries is how many questions the server has received, over UDP and TCP.
func (s *Server) Queries() int { return int(s.queries.Load()) }

// TCPQueries is how many of them came over TCP.
func (s *Server) TCPQueries() int { return int(s.tcp.Load()) }

// ServeDNS answers one question according to the mode; it implements
// dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)
	if overTCP {
		s.tcp.Add(1)
	}
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	qname := strings.ToLower(q.Name)
	s.mu.Lock()
	mode, ok := s.overrides[qname]
	if !ok {
		mode = s.mode
	}
	s.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	switch mode {
	case Timeout:
		return
	case Refuse:
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
	case ServFail:
		m.Authoritative = false
		m.Rcode = dns.RcodeServerFailure
	case NXDomain:
		m.Rcode = dns.RcodeNameError
	case NoData:
	case Truncate:
		if !overTCP {
			m.Truncated = true
			break
		}
		s.answer(m, qname, q.Qtype)
	case Lie:
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA {
			s.lie(m, qname, q.Qtype)
			break
		}
		s.answer(m, qname, q.Qtype)
	default:
		s.answer(m, qname, q.Qtype)
	}
	_ = w.WriteMsg(m)
}

// answer fills m from the zone as an authoritative, non-recursive server
// does: records, a CNAME chain, NODATA, NXDOMAIN, or REFUSED outside its
// zones.
func (s *Server) answer(m *dns.Msg, qname string, qtype uint16) {
	zone := s.zoneOf(qname)
	if zone == "" {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		return
	}
	name := qname
	for range 8 {
		var cname *dns.CNAME
		found := false
		for _, rr := range s.records {
			h := rr.Header()
			if h.Name != name {
				continue
			}
			found = true
			if h.Rrtype == qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		switch {
		case len(m.Answer) > 0 && (cname == nil || qtype == dns.TypeCNAME):
			return
		case cname != nil && qtype != dns.TypeCNAME:
			m.Answer = append(m.Answer, dns.Copy(cname))
			name = strings.ToLower(cname.Target)
			if s.zoneOf(name) == "" {
				return
			}
			continue
		case !found && !s.hasBelow(name) && name == qname:
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, s.soa(zone)...)
		return
	}
}

// lie answers with the documentation addresses, as a hijacked resolver
// would.
func (s *Server) lie(m *dns.Msg, qname string, qtype uint16) {
	hdr := dns.RR_Header{Name: qname, Rrtype: qtype, Class: dns.ClassINET, Ttl: 60}
	if qtype == dns.TypeA {
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(LieIPv4)})
		return
	}
	m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.ParseIP(LieIPv6)})
}

// zoneOf is the longest zone that name is in, or "".
func (s *Server) zoneOf(name string) string {
	best := ""
	for _, z := range s.zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

// hasBelow reports whether some record's owner is under name, which makes
// name an empty non-terminal rather than nonexistent.
func (s *Server) hasBelow(name string) bool {
	for _, rr := range s.records {
		if n := rr.Header().Name; n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}

func (s *Server) soa(zone string) []dns.RR {
	for _, rr := range s.records {
		if rr.Header().Rrtype == dns.TypeSOA && rr.Header().Name == zone {
			return []dns.RR{dns.Copy(rr)}
		}
	}
	return nil
}

// String names the mode, for test names.
func (m Mode) String() string {
	names := []string{"answer", "timeout", "refuse", "servfail", "nxdomain", "nodata", "lie", "truncate"}
	if int(m) < len(names) {
		return names[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}
