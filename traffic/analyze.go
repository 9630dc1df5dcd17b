package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrNoFiles is returned when no capture file is given.
var ErrNoFiles = errors.New("no capture files given")

// ErrUnknownHost is returned, wrapped, when an option names a host that is
// not in the topology.
var ErrUnknownHost = errors.New("unknown host")

// FrameRef says where an answer was read: the capture file's base name and
// the frame number as Wireshark shows it (1-based).
type FrameRef struct {
	File  string    `json:"file"`
	Frame int       `json:"frame"`
	Time  time.Time `json:"time"`
}

// String is "chatserver.pcap frame 5".
func (r FrameRef) String() string { return fmt.Sprintf("%s frame %d", r.File, r.Frame) }

// Endpoint is one end of a conversation, named by the topology when it can be.
type Endpoint struct {
	Host string     `json:"host,omitempty"`
	IP   netip.Addr `json:"ip"`
	Port uint16     `json:"port"`
}

// String is "client1 (10.20.30.11:45000)".
func (e Endpoint) String() string {
	ap := netip.AddrPortFrom(e.IP, e.Port).String()
	if e.Host == "" {
		return ap
	}
	return e.Host + " (" + ap + ")"
}

// FileSummary describes one capture file that was read.
type FileSummary struct {
	File     string `json:"file"`
	LinkType string `json:"link_type"`
	Frames   int    `json:"frames"`
	IP       int    `json:"ip_packets"`
	Bytes    int64  `json:"bytes"`
}

// Handshake answers Task 3.2: the opening of the first TCP connection from
// the client to the chat server, with absolute sequence numbers.
type Handshake struct {
	Client      Endpoint   `json:"client"`
	Server      Endpoint   `json:"server"`
	SYNSeq      uint32     `json:"syn_seq"`
	SYN         FrameRef   `json:"syn_frame"`
	SYNAlsoIn   []FrameRef `json:"syn_also_in,omitempty"`
	SYNACKSeq   uint32     `json:"synack_seq"`
	SYNACKAck   uint32     `json:"synack_ack"`
	SYNACK      *FrameRef  `json:"synack_frame,omitempty"`
	SYNACKFound bool       `json:"synack_found"`
}

// UDPHeader answers Task 3.3 from one captured peer-to-peer datagram.
type UDPHeader struct {
	Datagram FrameRef   `json:"frame"`
	AlsoIn   []FrameRef `json:"also_in,omitempty"`
	Src      Endpoint   `json:"src"`
	Dst      Endpoint   `json:"dst"`
	// Length and Checksum are the header's own fields as captured.
	Length     uint16 `json:"length"`
	Checksum   uint16 `json:"checksum"`
	PayloadLen int    `json:"payload_len"`
	IPv6       bool   `json:"ipv6"`

	Fields            int    `json:"fields"`
	FieldBytes        int    `json:"field_bytes"`
	LargestPort       int    `json:"largest_port"`
	Protocol          int    `json:"protocol"`
	MaxPayloadRFC768  int    `json:"max_payload_rfc768"`
	MaxPayloadOverIP  int    `json:"max_payload_over_ip"`
	IPHeaderBytes     int    `json:"ip_header_bytes"`
	MaxPayloadExplain string `json:"max_payload_explanation"`
}

// Report is the result of Analyze: what was read and the Milestone 3
// answers, each with the frame it came from. A nil answer is explained in
// Notes.
type Report struct {
	Files  []FileSummary `json:"files"`
	Task32 *Handshake    `json:"task_3_2,omitempty"`
	Task33 *UDPHeader    `json:"task_3_3,omitempty"`
	Notes  []string      `json:"notes,omitempty"`
}

// UDP facts of RFC 768 and RFC 791.
const (
	udpHeaderFields   = 4
	udpFieldBytes     = 2
	udpHeaderBytes    = udpHeaderFields * udpFieldBytes
	maxUint16         = 65535
	ipv4MinHeaderSize = 20
)

// hit is a candidate answer found while streaming one file.
type hit struct {
	ref      FrameRef
	key      packetKey
	src, dst netip.Addr
	sport    uint16
	dport    uint16
	seq, ack uint32
	udpLen   uint16
	udpCsum  uint16
	plen     int
	proto    uint8
	v6       bool
}

func newHit(f *frame, file string) *hit {
	return &hit{
		ref: FrameRef{File: file, Frame: f.num, Time: f.ts},
		key: keyOf(f), src: f.src, dst: f.dst, sport: f.sport, dport: f.dport,
		seq: f.seq, ack: f.ack, udpLen: f.udpLen, udpCsum: f.udpCsum,
		plen: len(f.payload), proto: f.proto, v6: f.v6,
	}
}

// fileScan is the per-file state of Analyze.
type fileScan struct {
	syn, synack *hit
	p2p         *hit // involves the chosen client
	p2pAny      *hit // any two clients
}

// Analyze streams the captures once each and answers Tasks 3.2 and 3.3.
// Files are classic pcap or pcapng, Ethernet or Linux cooked (SLL, SLL2)
// captures; hosts are named from topo.
func Analyze(ctx context.Context, files []string, topo topology.Topology, opts ...Option) (Report, error) {
	cfg := newConfig(opts)
	if len(files) == 0 {
		return Report{}, fmt.Errorf("analyze: %w: pass chatserver.pcap, client1.pcap, …", ErrNoFiles)
	}
	if err := distinct(files); err != nil {
		return Report{}, fmt.Errorf("analyze: %w", err)
	}
	names := newNamer(topo)
	clientName := cfg.client
	if clientName == "" {
		clientName = "client1"
	}
	client, err := clientHost(topo, clientName)
	if err != nil {
		return Report{}, fmt.Errorf("analyze: %w", err)
	}
	server := topo.WebServer()
	isClient := func(a netip.Addr) bool { return a == client.IPv4 || a == client.IPv6 }
	isServer := func(a netip.Addr) bool { return a == server.IPv4 || a == server.IPv6 }

	var rep Report
	scans := make([]fileScan, len(files))
	for i, path := range files {
		base := filepath.Base(path)
		sc := &scans[i]
		st, err := walk(ctx, path, i, func(f *frame) error {
			switch {
			case f.isTCP():
				if sc.syn == nil {
					if f.flags&(flagSYN|flagACK) == flagSYN && isClient(f.src) && isServer(f.dst) {
						sc.syn = newHit(f, base)
					}
				} else if sc.synack == nil && f.has(flagSYN|flagACK) && f.src == sc.syn.dst && f.dst == sc.syn.src &&
					f.sport == sc.syn.dport && f.dport == sc.syn.sport && f.ack == sc.syn.seq+1 {
					sc.synack = newHit(f, base)
				}
			case f.isUDP():
				if sc.p2p != nil || !names.isClient(f.src) || !names.isClient(f.dst) || f.src == f.dst {
					return nil
				}
				if isDNSPort(f.sport) || isDNSPort(f.dport) {
					return nil
				}
				h := newHit(f, base)
				if sc.p2pAny == nil {
					sc.p2pAny = h
				}
				if isClient(f.src) || isClient(f.dst) {
					sc.p2p = h
				}
			}
			return nil
		})
		if err != nil {
			return Report{}, fmt.Errorf("analyze: %w", err)
		}
		rep.Files = append(rep.Files, FileSummary{
			File: base, LinkType: st.linkType.String(), Frames: st.frames, IP: st.ip, Bytes: st.bytes,
		})
	}
	rep.Task32 = handshakeAnswer(scans, names)
	if rep.Task32 == nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"task 3.2: no TCP SYN from %s (%s) to %s (%s) in %s: start the capture before the client connects",
			client.Name, client.IPv4, server.Name, server.IPv4, fileList(files)))
	} else if !rep.Task32.SYNACKFound {
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"task 3.2: the SYN in %s got no SYNACK in any capture: is the chat server listening on port %d?",
			rep.Task32.SYN, rep.Task32.Server.Port))
	}
	rep.Task33 = udpAnswer(scans, names)
	if rep.Task33 == nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"task 3.3: no UDP datagram between two clients in %s: send a direct (@user) message while capturing",
			fileList(files)))
	}
	return rep, nil
}

// ErrDuplicateFile is returned, wrapped, when one capture is given twice.
var ErrDuplicateFile = errors.New("capture given twice")

// distinct rejects a list that names one capture twice: its packets would
// count as copies of themselves.
func distinct(files []string) error {
	seen := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		if seen[base] {
			return fmt.Errorf("%w: %s: pass each file once", ErrDuplicateFile, base)
		}
		seen[base] = true
	}
	return nil
}

func fileList(files []string) string {
	b := make([]string, len(files))
	for i, f := range files {
		b[i] = filepath.Base(f)
	}
	return strings.Join(b, ", ")
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 }

// clientHost returns the named client host of topo.
func clientHost(topo topology.Topology, name string) (topology.Host, error) {
	h, ok := topo.Host(name)
	if !ok || h.Role != topology.RoleClient {
		var names []string
		for _, c := range topo.Clients() {
			names = append(names, c.Name)
		}
		return topology.Host{}, fmt.Errorf("%w %q: want one of %s", ErrUnknownHost, name, strings.Join(names, ", "))
	}
	return h, nil
}

// earliest returns the index of the scan whose pick is earliest in time;
// ties go to the file given first.
func earliest(scans []fileScan, pick func(*fileScan) *hit) int {
	best := -1
	for i := range scans {
		h := pick(&scans[i])
		if h == nil {
			continue
		}
		if best < 0 || h.ref.Time.Before(pick(&scans[best]).ref.Time) {
			best = i
		}
	}
	return best
}

// reportFrom returns the index of the first file, in the order given, that
// holds the packet the scan at index i found; so an answer comes from the
// capture the user listed first (chatserver.pcap, as the handout reads it).
func reportFrom(scans []fileScan, i int, pick func(*fileScan) *hit) int {
	k := pick(&scans[i]).key
	for j := range scans {
		if h := pick(&scans[j]); h != nil && h.key == k {
			return j
		}
	}
	return i
}

func handshakeAnswer(scans []fileScan, names namer) *Handshake {
	pick := func(s *fileScan) *hit { return s.syn }
	i := earliest(scans, pick)
	if i < 0 {
		return nil
	}
	i = reportFrom(scans, i, pick)
	syn := scans[i].syn
	hs := &Handshake{
		Client: names.endpoint(syn.src, syn.sport),
		Server: names.endpoint(syn.dst, syn.dport),
		SYNSeq: syn.seq,
		SYN:    syn.ref,
	}
	// The SYNACK is read from the SYN's own file when it has it, else from
	// the next file that saw the same SYN.
	order := []int{i}
	for j := range scans {
		if j != i {
			order = append(order, j)
		}
	}
	for _, j := range order {
		s := scans[j]
		if s.syn == nil || s.syn.key != syn.key {
			continue
		}
		if j != i {
			hs.SYNAlsoIn = append(hs.SYNAlsoIn, s.syn.ref)
		}
		if s.synack != nil && !hs.SYNACKFound {
			ref := s.synack.ref
			hs.SYNACK = &ref
			hs.SYNACKSeq = s.synack.seq
			hs.SYNACKAck = s.synack.ack
			hs.SYNACKFound = true
		}
	}
	return hs
}

func udpAnswer(scans []fileScan, names namer) *UDPHeader {
	pick := func(s *fileScan) *hit { return s.p2p }
	i := earliest(scans, pick)
	if i < 0 {
		pick = func(s *fileScan) *hit { return s.p2pAny }
		i = earliest(scans, pick)
	}
	if i < 0 {
		return nil
	}
	i = reportFrom(scans, i, pick)
	h := pick(&scans[i])
	u := &UDPHeader{
		Datagram:         h.ref,
		Src:              names.endpoint(h.src, h.sport),
		Dst:              names.endpoint(h.dst, h.dport),
		Length:           h.udpLen,
		Checksum:         h.udpCsum,
		PayloadLen:       h.plen,
		IPv6:             h.v6,
		Fields:           udpHeaderFields,
		FieldBytes:       udpFieldBytes,
		LargestPort:      1<<(8*udpFieldBytes) - 1,
		Protocol:         int(h.proto),
		MaxPayloadRFC768: maxUint16 - udpHeaderBytes,
	}
	if h.v6 {
		// IPv6's payload length excludes its own header, so only the UDP
		// header counts (jumbograms aside).
		u.MaxPayloadOverIP = maxUint16 - udpHeaderBytes
		u.MaxPayloadExplain = fmt.Sprintf(
			"%d bytes: the 16-bit UDP length field (max %d) counts the %d-byte header (RFC 768); over IPv6 the payload length excludes the IPv6 header, so the limit stays %d",
			u.MaxPayloadRFC768, maxUint16, udpHeaderBytes, u.MaxPayloadOverIP)
	} else {
		u.IPHeaderBytes = ipv4MinHeaderSize
		u.MaxPayloadOverIP = maxUint16 - ipv4MinHeaderSize - udpHeaderBytes
		u.MaxPayloadExplain = fmt.Sprintf(
			"%d bytes by RFC 768's 16-bit length field (%d - %d-byte UDP header); %d bytes over IPv4, whose 16-bit total length also counts the %d-byte IP header (%d - %d - %d)",
			u.MaxPayloadRFC768, maxUint16, udpHeaderBytes, u.MaxPayloadOverIP, ipv4MinHeaderSize, maxUint16, ipv4MinHeaderSize, udpHeaderBytes)
	}
	for j := range scans {
		if o := pick(&scans[j]); j != i && o != nil && o.key == h.key {
			u.AlsoIn = append(u.AlsoIn, o.ref)
		}
	}
	return u
}

// packetKey identifies one packet independently of where it was captured,
// so that the copies seen by sender and receiver compare equal. Checksums
// are left out: the sender's copy often carries an offloaded, unfilled one.
type packetKey struct {
	src, dst netip.Addr
	proto    uint8
	sport    uint16
	dport    uint16
	seq, ack uint32
	flags    uint8
	plen     int
	ipID     uint16
	phash    uint64
}

func keyOf(f *frame) packetKey {
	return packetKey{
		src: f.src, dst: f.dst, proto: f.proto, sport: f.sport, dport: f.dport,
		seq: f.seq, ack: f.ack, flags: f.flags, plen: len(f.payload), ipID: f.ipID, phash: fnv64a(f.payload),
	}
}

// fnv64a is FNV-1a over b, inline so that hashing a payload never allocates.
func fnv64a(b []byte) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	return h
}

// namer names addresses after the topology's hosts.
type namer struct {
	byAddr  map[netip.Addr]topology.Host
	clients map[netip.Addr]bool
}

func newNamer(topo topology.Topology) namer {
	n := namer{byAddr: map[netip.Addr]topology.Host{}, clients: map[netip.Addr]bool{}}
	for _, h := range topo.Hosts {
		for _, a := range []netip.Addr{h.IPv4, h.IPv6} {
			if a.IsValid() {
				n.byAddr[a] = h
				if h.Role == topology.RoleClient {
					n.clients[a] = true
				}
			}
		}
	}
	return n
}

func (n namer) isClient(a netip.Addr) bool { return n.clients[a] }

func (n namer) name(a netip.Addr) string { return n.byAddr[a].Name }

func (n namer) endpoint(a netip.Addr, port uint16) Endpoint {
	return Endpoint{Host: n.name(a), IP: a, Port: port}
}
