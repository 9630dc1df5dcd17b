package traffic

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrNoExchange is returned, wrapped, when the captures hold no exchange of
// Delivery Q2 (a client that connects and then sends a direct message) and
// no window was given.
var ErrNoExchange = errors.New("no new-client exchange found")

// ErrBadBound is returned, wrapped, for a window bound that cannot be parsed
// or does not exist in the captures.
var ErrBadBound = errors.New("bad window bound")

// BoundKind tells how a Bound names its point.
type BoundKind int

// The kinds of Bound.
const (
	BoundTime   BoundKind = iota + 1 // an absolute time
	BoundOffset                      // seconds after the first packet of all captures
	BoundFrame                       // a frame number of one capture file
)

// Bound is one end of a diagram window.
type Bound struct {
	Kind   BoundKind
	Time   time.Time
	Offset time.Duration
	// File is the capture's base name; empty means the first file given.
	File  string
	Frame int
}

// ParseBound reads a --from or --to value: an RFC 3339 time
// ("2026-11-25T19:00:00.25Z"), seconds after the first IP packet of all captures ("12.5s",
// "+12.5" or "12.5"), or a frame ("client1.pcap:17", or "17" for the first
// file given).
func ParseBound(s string) (Bound, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%w %q: want an RFC 3339 time (2026-11-25T19:00:00Z), seconds after the first packet (12.5s) or a frame (client1.pcap:17)", ErrBadBound, s)
	if s == "" {
		return Bound{}, bad
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Bound{Kind: BoundTime, Time: t}, nil
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 1 {
			return Bound{}, bad
		}
		return Bound{Kind: BoundFrame, File: s[:i], Frame: n}, nil
	}
	if n, err := strconv.Atoi(s); err == nil && s[0] != '+' {
		if n < 1 {
			return Bound{}, bad
		}
		return Bound{Kind: BoundFrame, Frame: n}, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(s, "+"), "s"), 64)
	if err != nil || v < 0 || v > 1e9 {
		return Bound{}, bad
	}
	return Bound{Kind: BoundOffset, Offset: time.Duration(v * float64(time.Second))}, nil
}

// String formats b the way ParseBound reads it.
func (b Bound) String() string {
	switch b.Kind {
	case BoundTime:
		return b.Time.Format(time.RFC3339Nano)
	case BoundOffset:
		return strconv.FormatFloat(b.Offset.Seconds(), 'f', -1, 64) + "s"
	case BoundFrame:
		if b.File == "" {
			return strconv.Itoa(b.Frame)
		}
		return b.File + ":" + strconv.Itoa(b.Frame)
	}
	return "?"
}

// resolve turns b into a time on the merged timeline.
func (m *merged) resolve(b Bound) (time.Time, error) {
	switch b.Kind {
	case BoundTime:
		return b.Time, nil
	case BoundOffset:
		if len(m.packets) == 0 {
			return time.Time{}, fmt.Errorf("%w %s: the captures hold no IP packet", ErrBadBound, b)
		}
		return m.packets[0].ref.Time.Add(b.Offset), nil
	case BoundFrame:
		file := b.File
		if file == "" && len(m.files) > 0 {
			file = m.files[0]
		}
		if _, ok := m.first[file]; !ok {
			return time.Time{}, fmt.Errorf("%w %s: no capture named %s among %s", ErrBadBound, b, file, strings.Join(m.files, ", "))
		}
		for _, p := range m.packets {
			if p.ref.File == file && p.ref.Frame == b.Frame {
				return p.ref.Time, nil
			}
			for _, c := range p.copies {
				if c.File == file && c.Frame == b.Frame {
					return p.ref.Time, nil
				}
			}
		}
		return time.Time{}, fmt.Errorf("%w %s: %s has no IP packet with that frame number", ErrBadBound, b, file)
	}
	return time.Time{}, fmt.Errorf("%w: empty bound", ErrBadBound)
}

// Window is the stretch of the captures a diagram shows and why.
type Window struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Client string    `json:"client,omitempty"`
	Auto   bool      `json:"auto"`
	Reason string    `json:"reason"`
}

// conn is one TCP connection from a client to the chat server.
type conn struct {
	client  topology.Host
	src     netip.AddrPort
	dst     netip.AddrPort
	syn     *packet
	synIdx  int
	end     time.Time // first FIN or RST, zero while open
	udpIdx  int       // first direct message after the SYN, -1 if none
	others  int       // other clients connected at the SYN
	prevSyn time.Time // the same client's previous SYN, zero if none
}

// connKey is a TCP connection's client and server ends.
type connKey struct{ src, dst netip.AddrPort }

func (c *conn) on(p *packet) bool {
	if !p.tcp {
		return false
	}
	s := netip.AddrPortFrom(p.src, p.sport)
	d := netip.AddrPortFrom(p.dst, p.dport)
	return (s == c.src && d == c.dst) || (s == c.dst && d == c.src)
}

// dnsGather is how far before the last lookup of the team domain earlier
// queries still count as the same resolution (retries, A and AAAA).
const dnsGather = 2 * time.Second

// selectWindow picks the packets of the diagram: the given bounds, or the
// Delivery Q2 exchange found in the captures.
func selectWindow(m *merged, topo topology.Topology, cfg config) ([]*packet, Window, error) {
	if cfg.from != nil || cfg.to != nil {
		return boundWindow(m, cfg)
	}
	return autoWindow(m, topo, cfg)
}

func boundWindow(m *merged, cfg config) ([]*packet, Window, error) {
	w := Window{Client: cfg.client}
	if len(m.packets) == 0 {
		return nil, w, fmt.Errorf("%w: the captures hold no IP packet", ErrNoExchange)
	}
	w.From, w.To = m.packets[0].ref.Time, m.packets[len(m.packets)-1].ref.Time
	var err error
	if cfg.from != nil {
		if w.From, err = m.resolve(*cfg.from); err != nil {
			return nil, w, err
		}
	}
	if cfg.to != nil {
		if w.To, err = m.resolve(*cfg.to); err != nil {
			return nil, w, err
		}
	}
	if w.To.Before(w.From) {
		return nil, w, fmt.Errorf("%w: --to (%s) is before --from (%s)", ErrBadBound,
			w.To.Format(time.RFC3339Nano), w.From.Format(time.RFC3339Nano))
	}
	var sel []*packet
	for _, p := range m.packets {
		if !p.ref.Time.Before(w.From) && !p.ref.Time.After(w.To) && !p.isNoise() {
			sel = append(sel, p)
		}
	}
	w.Reason = "window given: from " + w.From.Format(time.RFC3339Nano) + " to " + w.To.Format(time.RFC3339Nano)
	return sel, w, nil
}

func autoWindow(m *merged, topo topology.Topology, cfg config) ([]*packet, Window, error) {
	names := newNamer(topo)
	server := topo.WebServer()
	isServer := func(a netip.Addr) bool { return a == server.IPv4 || a == server.IPv6 }
	clientOf := func(a netip.Addr) (topology.Host, bool) {
		h, ok := names.byAddr[a]
		return h, ok && h.Role == topology.RoleClient
	}
	var want *topology.Host
	if cfg.client != "" {
		h, err := clientHost(topo, cfg.client)
		if err != nil {
			return nil, Window{}, err
		}
		want = &h
	}

	// Every connection of a client to the server, in time order.
	var conns []*conn
	open := map[connKey]*conn{}  // connections without FIN or RST yet
	direct := map[string][]int{} // client -> indices of its UDP datagrams to peers
	lastSyn := map[string]time.Time{}
	seen := map[netip.AddrPort]uint32{}
	for i, p := range m.packets {
		if p.tcp && p.flags&(flagSYN|flagACK) == flagSYN && isServer(p.dst) {
			c, ok := clientOf(p.src)
			src := netip.AddrPortFrom(p.src, p.sport)
			if !ok {
				continue
			}
			if seq, dup := seen[src]; dup && seq == p.seq {
				continue // a retransmitted SYN
			}
			seen[src] = p.seq
			nc := &conn{
				client: c, src: src, dst: netip.AddrPortFrom(p.dst, p.dport),
				syn: p, synIdx: i, udpIdx: -1, prevSyn: lastSyn[c.Name],
			}
			conns = append(conns, nc)
			open[connKey{nc.src, nc.dst}] = nc
			lastSyn[c.Name] = p.ref.Time
			continue
		}
		if p.tcp && p.flags&(flagFIN|flagRST) != 0 {
			for _, k := range []connKey{{netip.AddrPortFrom(p.src, p.sport), netip.AddrPortFrom(p.dst, p.dport)},
				{netip.AddrPortFrom(p.dst, p.dport), netip.AddrPortFrom(p.src, p.sport)}} {
				if c, ok := open[k]; ok {
					c.end = p.ref.Time
					delete(open, k)
				}
			}
		}
		// Direct messages, per sending client, in time order.
		if p.udp && p.dns == nil && !isDNSPort(p.sport) && !isDNSPort(p.dport) {
			from, ok1 := clientOf(p.src)
			to, ok2 := clientOf(p.dst)
			if ok1 && ok2 && to.Name != from.Name {
				direct[from.Name] = append(direct[from.Name], i)
			}
		}
	}
	for k, c := range conns {
		var next time.Time
		for _, o := range conns[k+1:] {
			if o.client.Name == c.client.Name {
				next = o.syn.ref.Time
				break
			}
		}
		// The first direct message after the SYN and before the client's
		// next connection.
		ds := direct[c.client.Name]
		if j := sort.SearchInts(ds, c.synIdx+1); j < len(ds) {
			if next.IsZero() || m.packets[ds[j]].ref.Time.Before(next) {
				c.udpIdx = ds[j]
			}
		}
		for _, o := range conns[:k] {
			if o.client.Name != c.client.Name && (o.end.IsZero() || o.end.After(c.syn.ref.Time)) {
				c.others++
			}
		}
	}
	var pick *conn
	for _, c := range conns {
		if c.udpIdx < 0 || (want != nil && c.client.Name != want.Name) {
			continue
		}
		if pick == nil {
			pick = c
		}
		if c.others > 0 {
			pick = c
			break
		}
	}
	if pick == nil {
		who := "no client"
		if want != nil {
			who = want.Name + " never"
		}
		return nil, Window{}, fmt.Errorf("%w: %s connected to %s and then sent a UDP datagram to a peer in these captures: choose the window with --from/--to",
			ErrNoExchange, who, server.Name)
	}

	// The window opens with the client's lookup of the team domain.
	start := pick.synIdx
	domain := topo.Domain()
	isLookup := func(p *packet) bool {
		if p.dns == nil || !p.dns.query {
			return false
		}
		c, ok := clientOf(p.src)
		q := strings.ToLower(p.dns.qname)
		return ok && c.Name == pick.client.Name && (q == domain || strings.HasSuffix(q, "."+domain)) &&
			p.ref.Time.After(pick.prevSyn)
	}
	last := -1
	for i := pick.synIdx - 1; i >= 0; i-- {
		if isLookup(m.packets[i]) {
			last = i
			break
		}
	}
	if last >= 0 {
		start = last
		for i := last - 1; i >= 0 && m.packets[last].ref.Time.Sub(m.packets[i].ref.Time) <= dnsGather; i-- {
			if isLookup(m.packets[i]) {
				start = i
			}
		}
	}
	var sel []*packet
	for _, p := range m.packets[start : pick.udpIdx+1] {
		if !p.isNoise() {
			sel = append(sel, p)
		}
	}
	w := Window{From: m.packets[start].ref.Time, To: m.packets[pick.udpIdx].ref.Time, Client: pick.client.Name, Auto: true}
	// The connection's FIN exchange, when it was captured, closes the story.
	fin := false
	for _, p := range m.packets[pick.udpIdx+1:] {
		if !pick.on(p) {
			continue
		}
		if p.flags&(flagFIN|flagRST) != 0 {
			fin = true
		}
		if fin {
			sel = append(sel, p)
			w.To = p.ref.Time
		}
	}
	opening := "its SYN"
	if last >= 0 {
		opening = "its DNS query for " + domain
	}
	w.Reason = fmt.Sprintf("%s connects to %s and sends one direct message: from %s through its UDP datagram to %s",
		pick.client.Name, server.Name, opening, names.name(m.packets[pick.udpIdx].dst))
	if fin {
		w.Reason += ", then its FIN exchange"
	}
	return sel, w, nil
}
