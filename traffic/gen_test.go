package traffic

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// This file generates the captures the tests read: a lab where client2 is
// already chatting, then client1 resolves the team domain, connects, picks
// a username, gets the peer list and sends client2 one direct message, and
// finally disconnects.

var genBase = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// genPacket is one packet of the generated lab traffic.
type genPacket struct {
	name     string // set for packets the tests look up
	at       time.Duration
	src, dst netip.Addr
	data     []byte // serialized IP packet
	arp      bool
	udpCsum  uint16
	ipID     uint16
}

type genFile struct {
	name  string
	link  layers.LinkType
	ng    bool
	host  topology.Host
	delay time.Duration // added to packets the host receives
}

// labTraffic builds the scenario's packets in time order.
type labTraffic struct {
	t       *testing.T
	topo    topology.Topology
	packets []genPacket
	ids     map[netip.Addr]uint16
	v6      bool // hosts talk over IPv6
}

func newLabTraffic(t *testing.T) *labTraffic {
	return &labTraffic{t: t, topo: topology.Default(), ids: map[netip.Addr]uint16{}}
}

func (g *labTraffic) ip(name string) netip.Addr {
	h, ok := g.topo.Host(name)
	if !ok {
		g.t.Fatalf("no host %s", name)
	}
	if g.v6 {
		return h.IPv6
	}
	return h.IPv4
}

// netLayer is the IP layer a transport layer computes its checksum over.
type netLayer interface {
	gopacket.NetworkLayer
	gopacket.SerializableLayer
}

func (g *labTraffic) serialize(src, dst netip.Addr, l4 []gopacket.SerializableLayer, proto layers.IPProtocol, setNet func(netLayer) error) ([]byte, uint16) {
	if g.v6 {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		if err := setNet(ip6); err != nil {
			g.t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append([]gopacket.SerializableLayer{ip6}, l4...)...); err != nil {
			g.t.Fatal(err)
		}
		return append([]byte(nil), buf.Bytes()...), 0
	}
	g.ids[src]++
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: g.ids[src], Flags: layers.IPv4DontFragment,
		Protocol: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	if err := setNet(ip); err != nil {
		g.t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	all := append([]gopacket.SerializableLayer{ip}, l4...)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		g.t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...), ip.Id
}

// tcp adds a TCP segment; flags is a subset of "SAFPR".
func (g *labTraffic) tcp(name string, at time.Duration, src, dst string, sport, dport uint16, seq, ack uint32, flags string, payload string) {
	s, d := g.ip(src), g.ip(dst)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 64240}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'P':
			tcp.PSH = true
		case 'R':
			tcp.RST = true
		}
	}
	data, id := g.serialize(s, d, []gopacket.SerializableLayer{tcp, gopacket.Payload(payload)}, layers.IPProtocolTCP, func(ip netLayer) error {
		return tcp.SetNetworkLayerForChecksum(ip)
	})
	g.packets = append(g.packets, genPacket{name: name, at: at, src: s, dst: d, data: data, ipID: id})
}

func (g *labTraffic) udp(name string, at time.Duration, src, dst string, sport, dport uint16, payload []byte) {
	s, d := g.ip(src), g.ip(dst)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	data, id := g.serialize(s, d, []gopacket.SerializableLayer{udp, gopacket.Payload(payload)}, layers.IPProtocolUDP, func(ip netLayer) error {
		return udp.SetNetworkLayerForChecksum(ip)
	})
	hdr := 20
	if g.v6 {
		hdr = 40
	}
	csum := binary.BigEndian.Uint16(data[hdr+6 : hdr+8])
	g.packets = append(g.packets, genPacket{name: name, at: at, src: s, dst: d, data: data, udpCsum: csum, ipID: id})
}

func (g *labTraffic) dns(name string, at time.Duration, client string, sport uint16, id uint16, qname string, answer netip.Addr) {
	msg := &layers.DNS{ID: id, RD: true, QDCount: 1,
		Questions: []layers.DNSQuestion{{Name: []byte(qname), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	src, dst, sp, dp := client, "dnsserver", sport, uint16(53)
	if answer.IsValid() {
		msg.QR, msg.AA, msg.RA = true, true, true
		msg.Answers = []layers.DNSResourceRecord{{Name: []byte(qname), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 3600, IP: net.IP(answer.AsSlice())}}
		src, dst, sp, dp = "dnsserver", client, 53, sport
	}
	buf := gopacket.NewSerializeBuffer()
	if err := msg.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		g.t.Fatal(err)
	}
	g.udp(name, at, src, dst, sp, dp, append([]byte(nil), buf.Bytes()...))
}

// arp adds a non-IP frame, which still takes a frame number.
func (g *labTraffic) arp(at time.Duration, src, dst string) {
	g.packets = append(g.packets, genPacket{at: at, src: g.ip(src), dst: g.ip(dst), arp: true})
}

const (
	welcome      = "Welcome to this chatroom! Type your username and press enter to continue: "
	confirmation = "Your username (alice) is valid. You can start chatting now."
	notice       = "alice (IP: 10.20.30.11) connected"
	peerList     = `[["bob", "10.20.30.12"], ["alice", "10.20.30.11"]]`
	synSeq       = 1000000000
	synackSeq    = 2000000000
	bobSeq       = 500000000
	srvBobSeq    = 600000000
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// deliveryQ2 is the scenario of the handout's Delivery Q2.
func deliveryQ2(t *testing.T) *labTraffic {
	g := newLabTraffic(t)
	c, s := uint32(synSeq), uint32(synackSeq)
	b, sb := uint32(bobSeq), uint32(srvBobSeq)
	g.arp(0, "webserver", "client2")
	// client2 (bob) is already connected.
	g.tcp("bob-syn", ms(10), "client2", "webserver", 41000, 5000, b, 0, "S", "")
	g.tcp("bob-synack", ms(11), "webserver", "client2", 5000, 41000, sb, b+1, "SA", "")
	g.tcp("", ms(12), "client2", "webserver", 41000, 5000, b+1, sb+1, "A", "")
	// client1 (alice) resolves the team domain and connects.
	g.dns("dns-query", ms(1000), "client1", 53000, 0x1111, "team30.com", netip.Addr{})
	g.dns("dns-answer", ms(1001), "client1", 53000, 0x1111, "team30.com", g.ip("webserver"))
	g.tcp("syn", ms(1010), "client1", "webserver", 45000, 5000, c, 0, "S", "")
	g.tcp("synack", ms(1011), "webserver", "client1", 5000, 45000, s, c+1, "SA", "")
	g.tcp("ack", ms(1012), "client1", "webserver", 45000, 5000, c+1, s+1, "A", "")
	g.tcp("welcome", ms(1013), "webserver", "client1", 5000, 45000, s+1, c+1, "PA", welcome)
	s += uint32(len(welcome))
	g.tcp("", ms(1014), "client1", "webserver", 45000, 5000, c+1, s+1, "A", "")
	g.tcp("username", ms(1500), "client1", "webserver", 45000, 5000, c+1, s+1, "PA", "alice\n")
	c += 6
	g.tcp("", ms(1501), "webserver", "client1", 5000, 45000, s+1, c+1, "A", "")
	g.tcp("confirmation", ms(1502), "webserver", "client1", 5000, 45000, s+1, c+1, "PA", confirmation)
	s += uint32(len(confirmation))
	g.tcp("", ms(1503), "client1", "webserver", 45000, 5000, c+1, s+1, "A", "")
	g.tcp("notice", ms(1504), "webserver", "client2", 5000, 41000, sb+1, b+1, "PA", notice)
	sb += uint32(len(notice))
	g.tcp("", ms(1505), "client2", "webserver", 41000, 5000, b+1, sb+1, "A", "")
	g.tcp("list-bob", ms(2004), "webserver", "client2", 5000, 41000, sb+1, b+1, "PA", peerList)
	sb += uint32(len(peerList))
	g.tcp("", ms(2005), "client2", "webserver", 41000, 5000, b+1, sb+1, "A", "")
	g.tcp("list-alice", ms(2006), "webserver", "client1", 5000, 45000, s+1, c+1, "PA", peerList)
	s += uint32(len(peerList))
	g.tcp("", ms(2007), "client1", "webserver", 45000, 5000, c+1, s+1, "A", "")
	// The direct message.
	g.udp("p2p", ms(3000), "client1", "client2", 6000, 6000, []byte("hello bob; #1: \"hi\""))
	// Chat after the direct message is not part of the exchange.
	g.tcp("later", ms(3500), "client2", "webserver", 41000, 5000, b+1, sb+1, "PA", "hi all")
	b += 6
	// client1 leaves.
	g.tcp("fin", ms(4000), "client1", "webserver", 45000, 5000, c+1, s+1, "FA", "")
	g.tcp("", ms(4001), "webserver", "client1", 5000, 45000, s+1, c+2, "A", "")
	g.tcp("", ms(4002), "webserver", "client1", 5000, 45000, s+1, c+2, "FA", "")
	g.tcp("last-ack", ms(4003), "client1", "webserver", 45000, 5000, c+2, s+2, "A", "")
	g.tcp("offline", ms(4004), "webserver", "client2", 5000, 41000, sb+1, b+1, "PA", "alice (IP: 10.20.30.11) is offline")
	return g
}

// labFiles are the handout's captures: chatserver.pcap on eth0, the clients
// with -i any (Linux cooked v2 and v1), the DNS server as pcapng.
func (g *labTraffic) labFiles() []genFile {
	h := func(n string) topology.Host { x, _ := g.topo.Host(n); return x }
	return []genFile{
		{name: "chatserver.pcap", link: layers.LinkTypeEthernet, host: h("webserver"), delay: 40 * time.Microsecond},
		{name: "client1.pcap", link: layers.LinkTypeLinuxSLL2, host: h("client1"), delay: 35 * time.Microsecond},
		{name: "client2.pcap", link: layers.LinkTypeLinuxSLL, host: h("client2"), delay: 45 * time.Microsecond},
		{name: "dnsserver.pcap", link: layers.LinkTypeEthernet, ng: true, host: h("dnsserver"), delay: 30 * time.Microsecond},
	}
}

// write writes each file into dir and returns their paths and, per file,
// the frame number of each named packet.
func (g *labTraffic) write(dir string, files []genFile) ([]string, map[string]map[string]int) {
	var paths []string
	frames := map[string]map[string]int{}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		frames[f.name] = map[string]int{}
		out, err := os.Create(path)
		if err != nil {
			g.t.Fatal(err)
		}
		var write func(ci gopacket.CaptureInfo, data []byte) error
		var flush func() error
		if f.ng {
			w, err := pcapgo.NewNgWriter(out, f.link)
			if err != nil {
				g.t.Fatal(err)
			}
			write, flush = w.WritePacket, w.Flush
		} else {
			w := pcapgo.NewWriterNanos(out)
			if err := w.WriteFileHeader(262144, f.link); err != nil {
				g.t.Fatal(err)
			}
			write, flush = w.WritePacket, func() error { return nil }
		}
		n := 0
		for _, p := range g.packets {
			var ts time.Time
			switch {
			case p.src == f.host.IPv4 || p.src == f.host.IPv6:
				ts = genBase.Add(p.at)
			case p.dst == f.host.IPv4 || p.dst == f.host.IPv6:
				ts = genBase.Add(p.at + f.delay)
			default:
				continue
			}
			frame := linkFrame(f.link, p)
			if err := write(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
				g.t.Fatal(err)
			}
			n++
			if p.name != "" {
				frames[f.name][p.name] = n
			}
		}
		if err := flush(); err != nil {
			g.t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			g.t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths, frames
}

var (
	macA = []byte{0x02, 0x42, 0x0a, 0x14, 0x1e, 0x03}
	macB = []byte{0x02, 0x42, 0x0a, 0x14, 0x1e, 0x0b}
)

// linkFrame wraps an IP packet (or an ARP request) in the link header.
func linkFrame(link layers.LinkType, p genPacket) []byte {
	etherType := uint16(layers.EthernetTypeIPv4)
	if p.src.Is6() {
		etherType = uint16(layers.EthernetTypeIPv6)
	}
	body := p.data
	if p.arp {
		etherType = uint16(layers.EthernetTypeARP)
		body = make([]byte, 28)
		binary.BigEndian.PutUint16(body[0:], 1)
		binary.BigEndian.PutUint16(body[2:], 0x0800)
		body[4], body[5] = 6, 4
		binary.BigEndian.PutUint16(body[6:], 1)
		copy(body[8:], macA)
		copy(body[14:], p.src.AsSlice())
		copy(body[24:], p.dst.AsSlice())
	}
	var hdr []byte
	switch link {
	case layers.LinkTypeEthernet:
		hdr = make([]byte, 14)
		copy(hdr[0:], macB)
		copy(hdr[6:], macA)
		binary.BigEndian.PutUint16(hdr[12:], etherType)
	case layers.LinkTypeLinuxSLL:
		hdr = make([]byte, 16)
		binary.BigEndian.PutUint16(hdr[0:], 0) // to us
		binary.BigEndian.PutUint16(hdr[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(hdr[4:], 6)
		copy(hdr[6:], macA)
		binary.BigEndian.PutUint16(hdr[14:], etherType)
	case layers.LinkTypeLinuxSLL2:
		hdr = make([]byte, 20)
		binary.BigEndian.PutUint16(hdr[0:], etherType)
		binary.BigEndian.PutUint32(hdr[4:], 2) // interface index
		binary.BigEndian.PutUint16(hdr[8:], 1) // ARPHRD_ETHER
		hdr[10] = 0                            // to us
		hdr[11] = 6
		copy(hdr[12:], macA)
	default:
		panic("link type")
	}
	return append(hdr, body...)
}

// writeLab writes the Delivery Q2 captures into a temporary directory.
func writeLab(t *testing.T) ([]string, map[string]map[string]int, *labTraffic) {
	t.Helper()
	g := deliveryQ2(t)
	paths, frames := g.write(t.TempDir(), g.labFiles())
	return paths, frames, g
}

func (g *labTraffic) named(name string) genPacket {
	for _, p := range g.packets {
		if p.name == name {
			return p
		}
	}
	g.t.Fatalf("no packet %s", name)
	return genPacket{}
}
