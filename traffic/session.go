package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrNoSession is returned, wrapped, when the captures show no chat
// session at all: no lookup of a team domain and no connection to a server.
var ErrNoSession = errors.New("no chat session in the captures")

// Session is what a set of Milestone 3 captures shows about the lab they
// were taken in, inferred from the packets alone: the team domain and the
// address it resolved to (the chat server), the chat port, the clients that
// connected, and for each file the host it was taken on. Grading uses it to
// read the answers from the student's own lab, whatever its addresses.
type Session struct {
	// Topology is the lab the captures come from: the course's layout on
	// the subnet the captures show (the web server at .3), or, when the
	// addresses do not follow that layout, the observed addresses.
	Topology topology.Topology `json:"topology"`
	// Team is the team number of the domain the clients looked up; 0 when
	// no lookup was captured.
	Team int `json:"team,omitempty"`
	// Lookup is a captured DNS answer for the team domain.
	Lookup *FrameRef `json:"lookup,omitempty"`
	// Server is the chat server: the address and TCP port clients connected to.
	Server Endpoint `json:"server"`
	// Clients are the addresses that opened a connection to Server.
	Clients []netip.Addr   `json:"clients"`
	Files   []CaptureFacts `json:"files"`
	// shared counts, for each pair of file indexes, the packets both hold.
	shared map[[2]int]int
}

// CaptureFacts is what one capture file shows.
type CaptureFacts struct {
	File   string    `json:"file"`
	Frames int       `json:"frames"`
	IP     int       `json:"ip_packets"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	// Hosted counts the IP packets between host addresses: all but the
	// link's background (IPv6 router solicitations and multicast listener
	// reports from link-local addresses, broadcasts), which every host on
	// the link sees whoever captures.
	Hosted int `json:"hosted_packets"`
	// Local is the address in (nearly) every hosted packet: the host the
	// capture was taken on. LocalHost names it after Session.Topology.
	Local     netip.Addr `json:"local"`
	LocalHost string     `json:"local_host,omitempty"`
	// LocalShare is the fraction of hosted packets that involve Local.
	LocalShare float64 `json:"local_share"`
	// Lookup is the first DNS query or answer for the team domain.
	Lookup *FrameRef `json:"lookup,omitempty"`
	// SYN is the first connection request to the chat server.
	SYN *FrameRef `json:"syn,omitempty"`
	// Chat counts TCP segments with data to or from the chat server's port.
	Chat int `json:"chat_segments"`
	// P2P is the first UDP datagram between two clients (not DNS).
	P2P *FrameRef `json:"p2p,omitempty"`

	addrs   map[netip.Addr]int
	answers []teamAnswer
	syns    []synSeen
	udp     []udpSeen
	payload map[netip.AddrPort]int
	hashes  map[uint64]struct{}
	queries []dnsSeen
}

type teamAnswer struct {
	team   int
	server netip.Addr
	dns    netip.Addr
	ref    FrameRef
}

type synSeen struct {
	src, dst netip.Addr
	dport    uint16
	ref      FrameRef
}

type udpSeen struct {
	src, dst netip.Addr
	ref      FrameRef
}

type dnsSeen struct {
	team int
	ref  FrameRef
}

// Bounds on what Inspect keeps per file, so that a huge capture costs a
// bounded amount of memory; a Lab 3 session is a few hundred packets.
const (
	maxKept   = 256
	maxHashes = 1 << 18
)

var teamDomainRE = regexp.MustCompile(`(?i)^team([0-9]{1,4})\.com\.?$`)

// Inspect reads the captures once each and infers the session they hold.
// It fails only when a file cannot be read as a capture, or when no file
// shows a chat server (ErrNoSession); everything else is for Session.Check.
func Inspect(ctx context.Context, files []string) (Session, error) {
	if len(files) == 0 {
		return Session{}, fmt.Errorf("inspect: %w", ErrNoFiles)
	}
	if err := distinct(files); err != nil {
		return Session{}, fmt.Errorf("inspect: %w", err)
	}
	s := Session{shared: map[[2]int]int{}}
	for i, path := range files {
		cf := CaptureFacts{File: filepath.Base(path), addrs: map[netip.Addr]int{},
			payload: map[netip.AddrPort]int{}, hashes: map[uint64]struct{}{}}
		st, err := walk(ctx, path, i, func(f *frame) error {
			inspectFrame(&cf, f)
			return nil
		})
		if err != nil {
			return Session{}, fmt.Errorf("inspect: %w", err)
		}
		cf.Frames, cf.IP = st.frames, st.ip
		s.Files = append(s.Files, cf)
	}
	if err := s.infer(); err != nil {
		return Session{}, fmt.Errorf("inspect %s: %w", fileList(files), err)
	}
	for i := range s.Files {
		for j := i + 1; j < len(s.Files); j++ {
			a, b := s.Files[i].hashes, s.Files[j].hashes
			if len(b) < len(a) {
				a, b = b, a
			}
			n := 0
			for h := range a {
				if _, ok := b[h]; ok {
					n++
				}
			}
			s.shared[[2]int{i, j}] = n
		}
	}
	return s, nil
}

func inspectFrame(cf *CaptureFacts, f *frame) {
	if cf.First.IsZero() {
		cf.First = f.ts
	}
	cf.Last = f.ts
	if hostAddr(f.src) && hostAddr(f.dst) {
		cf.Hosted++
		cf.addrs[f.src]++
		if f.dst != f.src {
			cf.addrs[f.dst]++
		}
	}
	if len(cf.hashes) < maxHashes && f.transport {
		k := keyOf(f)
		cf.hashes[hashKey(k)] = struct{}{}
	}
	ref := FrameRef{File: cf.File, Frame: f.num, Time: f.ts}
	switch {
	case f.isTCP():
		if f.flags&(flagSYN|flagACK) == flagSYN && len(cf.syns) < maxKept {
			cf.syns = append(cf.syns, synSeen{src: f.src, dst: f.dst, dport: f.dport, ref: ref})
		}
		if len(f.payload) > 0 && len(cf.payload) < maxKept {
			cf.payload[netip.AddrPortFrom(f.src, f.sport)]++
			cf.payload[netip.AddrPortFrom(f.dst, f.dport)]++
		}
	case f.isUDP() && (isDNSPort(f.sport) || isDNSPort(f.dport)):
		var d layers.DNS
		if d.DecodeFromBytes(f.payload, gopacket.NilDecodeFeedback) != nil || len(d.Questions) == 0 {
			return
		}
		m := teamDomainRE.FindStringSubmatch(string(d.Questions[0].Name))
		if m == nil {
			return
		}
		team, _ := strconv.Atoi(m[1])
		if len(cf.queries) < maxKept {
			cf.queries = append(cf.queries, dnsSeen{team: team, ref: ref})
		}
		if !d.QR {
			return
		}
		for _, a := range d.Answers {
			if a.Type == layers.DNSTypeA && len(cf.answers) < maxKept {
				cf.answers = append(cf.answers, teamAnswer{team: team, server: addrFrom(a.IP), dns: f.src, ref: ref})
			}
		}
	case f.isUDP() && len(cf.udp) < maxKept:
		cf.udp = append(cf.udp, udpSeen{src: f.src, dst: f.dst, ref: ref})
	}
}

// hostAddr reports whether a is a host's own address, not the link's
// background: link-local, multicast, broadcast, loopback or unspecified.
func hostAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLinkLocalUnicast() &&
		!a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func hashKey(k packetKey) uint64 {
	b := make([]byte, 0, 64)
	b = append(b, k.src.AsSlice()...)
	b = append(b, k.dst.AsSlice()...)
	b = append(b, k.proto, byte(k.sport>>8), byte(k.sport), byte(k.dport>>8), byte(k.dport),
		byte(k.seq>>24), byte(k.seq>>16), byte(k.seq>>8), byte(k.seq),
		byte(k.ack>>24), byte(k.ack>>16), byte(k.ack>>8), byte(k.ack), k.flags,
		byte(k.plen>>8), byte(k.plen), byte(k.ipID>>8), byte(k.ipID))
	return fnv64a(b) ^ k.phash*31
}

// infer finds the team, the chat server and the clients across all files,
// then the host each file was taken on.
func (s *Session) infer() error {
	// The chat server is the address the team domain resolved to, as most
	// answers say; failing that, the address most connections went to.
	votes := map[teamAnswer]int{}
	first := map[teamAnswer]FrameRef{}
	for _, f := range s.Files {
		for _, a := range f.answers {
			k := teamAnswer{team: a.team, server: a.server, dns: a.dns}
			votes[k]++
			if _, ok := first[k]; !ok {
				first[k] = a.ref
			}
		}
	}
	var best teamAnswer
	for k, n := range votes {
		if n > votes[best] || n == votes[best] && k.server.Less(best.server) {
			best = k
		}
	}
	synVotes := map[netip.AddrPort]int{}
	for _, f := range s.Files {
		for _, sy := range f.syns {
			if !best.server.IsValid() || sy.dst == best.server {
				synVotes[netip.AddrPortFrom(sy.dst, sy.dport)]++
			}
		}
	}
	var server netip.AddrPort
	for k, n := range synVotes {
		if n > synVotes[server] || n == synVotes[server] && k.Port() < server.Port() {
			server = k
		}
	}
	switch {
	case best.server.IsValid():
		s.Team = best.team
		ref := first[best]
		s.Lookup = &ref
		s.Server = Endpoint{IP: best.server, Port: server.Port()}
	case server.IsValid():
		s.Server = Endpoint{IP: server.Addr(), Port: server.Port()}
	default:
		return fmt.Errorf("%w: no DNS answer for a teamN.com domain and no TCP connection request; capture from before the chat server starts until after the direct message", ErrNoSession)
	}
	clients := map[netip.Addr]bool{}
	for _, f := range s.Files {
		for _, sy := range f.syns {
			if sy.dst == s.Server.IP && (s.Server.Port == 0 || sy.dport == s.Server.Port) {
				clients[sy.src] = true
			}
		}
	}
	for a := range clients {
		s.Clients = append(s.Clients, a)
	}
	sort.Slice(s.Clients, func(i, j int) bool { return s.Clients[i].Less(s.Clients[j]) })
	s.Topology = inferTopology(s.Team, s.Server.IP, best.dns, s.Clients)
	names := newNamer(s.Topology)
	s.Server.Host = names.name(s.Server.IP)
	for i := range s.Files {
		f := &s.Files[i]
		for a, n := range f.addrs {
			if n > f.addrs[f.Local] || n == f.addrs[f.Local] && a.Less(f.Local) {
				f.Local = a
			}
		}
		if f.Hosted > 0 {
			f.LocalShare = float64(f.addrs[f.Local]) / float64(f.Hosted)
		}
		f.LocalHost = names.name(f.Local)
		if len(f.queries) > 0 {
			for _, q := range f.queries {
				if s.Team == 0 || q.team == s.Team {
					r := q.ref
					f.Lookup = &r
					break
				}
			}
		}
		for _, sy := range f.syns {
			if sy.dst == s.Server.IP && sy.dport == s.Server.Port {
				r := sy.ref
				f.SYN = &r
				break
			}
		}
		f.Chat = f.payload[netip.AddrPortFrom(s.Server.IP, s.Server.Port)]
		for _, u := range f.udp {
			if clients[u.src] && clients[u.dst] && u.src != u.dst {
				r := u.ref
				f.P2P = &r
				break
			}
		}
	}
	return nil
}

// inferTopology returns the course's layout on the web server's /24 when
// the web server sits at its usual .3; otherwise a topology of the
// addresses seen, in the course's host names.
func inferTopology(team int, server, dns netip.Addr, clients []netip.Addr) topology.Topology {
	t := team
	if t == 0 {
		t = topology.DefaultTeam
	}
	if server.Is4() && server.As4()[3] == 3 {
		p := netip.PrefixFrom(server, 24).Masked()
		if topo, err := topology.New("captured", t, p, netip.Prefix{}); err == nil {
			return topo
		}
	}
	topo := topology.Topology{Name: "captured", Team: t}
	if server.Is4() {
		topo.Subnet4 = netip.PrefixFrom(server, 24).Masked()
	}
	topo.Hosts = append(topo.Hosts, topology.Host{Name: "dnsserver", Role: topology.RoleDNS, IPv4: dns})
	topo.Hosts = append(topo.Hosts, topology.Host{Name: "webserver", Role: topology.RoleServer, IPv4: server})
	for i, c := range clients {
		topo.Hosts = append(topo.Hosts, topology.Host{Name: fmt.Sprintf("client%d", i+1), Role: topology.RoleClient, IPv4: c})
	}
	return topo
}

// Shared is how many packets the captures a and b (base names) both hold:
// the same packet seen on both ends. Two captures of one session share the
// packets between their hosts; captures of different sessions share none.
func (s Session) Shared(a, b string) int {
	i, j := s.index(a), s.index(b)
	if i < 0 || j < 0 || i == j {
		return 0
	}
	if i > j {
		i, j = j, i
	}
	return s.shared[[2]int{i, j}]
}

// File returns the facts of the capture with the given base name.
func (s Session) File(name string) (CaptureFacts, bool) {
	if i := s.index(name); i >= 0 {
		return s.Files[i], true
	}
	return CaptureFacts{}, false
}

func (s Session) index(name string) int {
	for i, f := range s.Files {
		if f.File == name {
			return i
		}
	}
	return -1
}

// Problem is one way the captures fall short of Task 3.1, with the file
// (and frame, when one packet shows it) the finding comes from.
type Problem struct {
	File   string    `json:"file"`
	Frame  *FrameRef `json:"frame,omitempty"`
	Detail string    `json:"detail"`
}

func (p Problem) String() string {
	if p.Frame != nil {
		return fmt.Sprintf("%s: %s (%s)", p.File, p.Detail, p.Frame)
	}
	return p.File + ": " + p.Detail
}

// Check judges the captures against Task 3.1: each file was taken on the
// host its name says (chatserver.pcap on the web server, clientN.pcap on
// clientN of the inferred lab), holds what that host saw of the session
// (client1's connection to the chat port, chat data, the direct UDP
// message, the team domain's lookup), and shares packets with the other
// files, so that all are of one session. team, when not 0, is the team
// whose domain the submission's programs resolve.
func (s Session) Check(team int) []Problem {
	var out []Problem
	add := func(file string, ref *FrameRef, format string, args ...any) {
		out = append(out, Problem{File: file, Frame: ref, Detail: fmt.Sprintf(format, args...)})
	}
	if team != 0 && s.Team != 0 && team != s.Team && s.Lookup != nil {
		add(s.Lookup.File, s.Lookup, "the clients looked up team%d.com, but the programs resolve team%d.com: these captures are of another lab", s.Team, team)
	}
	server := s.Topology.WebServer()
	for _, f := range s.Files {
		want, ok := captureHost(s.Topology, f.File)
		if !ok {
			continue
		}
		switch {
		case f.Hosted == 0:
			add(f.File, nil, "holds no IP packets of the lab's hosts (%d frames, %d IP packets): capture with tcpdump -i eth0 -w %s while the chat runs", f.Frames, f.IP, f.File)
			continue
		case f.Local != want.IPv4 && f.Local != want.IPv6:
			on := f.Local.String()
			if f.LocalHost != "" {
				on = f.LocalHost + " (" + on + ")"
			}
			add(f.File, nil, "was taken on %s, not on %s (%s): every packet in it involves %s", on, want.Name, want.IPv4, f.Local)
			continue
		case f.LocalShare < 0.9:
			add(f.File, nil, "only %.0f%% of its packets involve %s (%s): capture on that host's own interface", 100*f.LocalShare, want.Name, want.IPv4)
		}
		clients := s.Topology.Clients()
		if len(clients) == 0 {
			add(f.File, nil, "no client connected to the chat server in any capture")
			continue
		}
		client1 := clients[0]
		switch want.Role {
		case topology.RoleServer:
			if f.SYN == nil || !s.synFrom(f, client1.IPv4) {
				add(f.File, nil, "has no TCP connection request from client1 (%s) to the chat server %s: start the capture before the clients connect", client1.IPv4, netip.AddrPortFrom(server.IPv4, s.Server.Port))
			}
			if f.Chat == 0 {
				add(f.File, nil, "has no chat messages (TCP data on port %d)", s.Server.Port)
			}
		case topology.RoleClient:
			if f.Lookup == nil && want.Name == client1.Name {
				add(f.File, nil, "has no DNS lookup of the team domain: start the capture before the client starts")
			}
			if f.Chat == 0 {
				add(f.File, nil, "has no chat messages with the chat server %s", netip.AddrPortFrom(server.IPv4, s.Server.Port))
			}
			if f.P2P == nil {
				add(f.File, nil, "has no direct UDP message between two clients: send one (@user) while capturing")
			}
			if want.Name == client1.Name && (f.SYN == nil || !s.synFrom(f, client1.IPv4)) {
				add(f.File, nil, "has no TCP connection request to the chat server %s", netip.AddrPortFrom(server.IPv4, s.Server.Port))
			}
		}
	}
	// One session: every pair of captures shares the packets between their
	// hosts (the handshake, chat data, the direct message).
	for i := range s.Files {
		for j := i + 1; j < len(s.Files); j++ {
			a, b := s.Files[i], s.Files[j]
			if _, ok := captureHost(s.Topology, a.File); !ok {
				continue
			}
			if _, ok := captureHost(s.Topology, b.File); !ok || a.Hosted == 0 || b.Hosted == 0 {
				continue
			}
			if s.shared[[2]int{i, j}] == 0 {
				add(b.File, nil, "shares no packet with %s (%s to %s, against %s to %s): the two were not captured in the same session",
					a.File, b.First.Format("2006-01-02 15:04:05"), b.Last.Format("15:04:05"), a.First.Format("2006-01-02 15:04:05"), a.Last.Format("15:04:05"))
			}
		}
	}
	return out
}

func (s Session) synFrom(f CaptureFacts, client netip.Addr) bool {
	for _, sy := range f.syns {
		if sy.src == client && sy.dst == s.Server.IP && sy.dport == s.Server.Port {
			return true
		}
	}
	return false
}

// captureHost returns the host a file named as the handout names them was
// taken on: chatserver.pcap the web server, clientN.pcap clientN.
func captureHost(topo topology.Topology, file string) (topology.Host, bool) {
	name := strings.TrimSuffix(strings.TrimSuffix(file, ".pcapng"), ".pcap")
	if name == "chatserver" {
		return topo.WebServer(), true
	}
	if h, ok := topo.Host(name); ok && h.Role == topology.RoleClient {
		return h, true
	}
	return topology.Host{}, false
}
