package traffic

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned, wrapped, for a file that is neither classic
// pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrLinkType is returned, wrapped, for a capture whose link type the
// analysis cannot decode.
var ErrLinkType = errors.New("unsupported link type")

// IP protocol numbers the analysis names.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// TCP flag bits, in the order Wireshark prints them.
const (
	flagFIN uint8 = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
	flagURG
	flagECE
	flagCWR
)

// frame is one decoded packet: exactly what the analysis and the diagram
// need. payload aliases the reader's buffer and is valid only during the
// callback that receives the frame.
type frame struct {
	file  int // index into the list of files
	num   int // 1-based, as Wireshark numbers frames
	ts    time.Time
	src   netip.Addr
	dst   netip.Addr
	proto uint8 // the transport protocol as read from the IP header
	ipID  uint16
	v6    bool
	// transport is true when a TCP or UDP header was decoded.
	transport bool
	sport     uint16
	dport     uint16
	seq       uint32
	ack       uint32
	flags     uint8
	udpLen    uint16
	udpCsum   uint16
	payload   []byte
}

func (f *frame) isTCP() bool { return f.transport && f.proto == protoTCP }
func (f *frame) isUDP() bool { return f.transport && f.proto == protoUDP }

// has reports whether all the given flags are set.
func (f *frame) has(flags uint8) bool { return f.flags&flags == flags }

// fileStats summarises one capture file.
type fileStats struct {
	path     string
	linkType layers.LinkType
	frames   int
	ip       int
	bytes    int64
}

// packetReader is what pcapgo's classic and pcapng readers have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// decoder turns raw frames into frame values, reusing its layers and
// buffers across packets so that streaming a large file does not allocate
// per packet.
type decoder struct {
	eth     layers.Ethernet
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	payload gopacket.Payload
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newDecoder() *decoder {
	d := &decoder{
		parsers: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser),
		decoded: make([]gopacket.LayerType, 0, 8),
	}
	// TCP options are parsed but never needed; a preallocated slice keeps
	// DecodeFromBytes from allocating.
	d.tcp.Options = make([]layers.TCPOption, 0, 8)
	return d
}

// parser returns the DecodingLayerParser that starts at first.
func (d *decoder) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	if p, ok := d.parsers[first]; ok {
		return p
	}
	p := gopacket.NewDecodingLayerParser(first,
		&d.eth, &d.sll, &d.sll2, &d.dot1q, &d.ip4, &d.ip6, &d.tcp, &d.udp, &d.payload)
	p.IgnoreUnsupported = true
	d.parsers[first] = p
	return p
}

// firstLayer maps a capture's link type to the layer its frames start with.
// Raw IP captures start with either IPv4 or IPv6, told by the version nibble.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12: // 12 is DLT_RAW on OpenBSD-derived writers
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return gopacket.LayerTypeZero, false
}

func supportedLinkType(lt layers.LinkType) bool {
	_, ok := firstLayer(lt, nil)
	return ok
}

// decode fills f from data. It reports false for frames that carry no IP
// packet (ARP, truncated or undecodable frames).
func (d *decoder) decode(lt layers.LinkType, data []byte, f *frame) bool {
	first, ok := firstLayer(lt, data)
	if !ok {
		return false
	}
	d.decoded = d.decoded[:0]
	// An error means a layer was truncated or malformed; whatever decoded
	// before it is still usable.
	_ = d.parser(first).DecodeLayers(data, &d.decoded)
	f.transport = false
	f.payload = nil
	f.flags = 0
	f.sport, f.dport, f.seq, f.ack, f.udpLen, f.udpCsum = 0, 0, 0, 0, 0, 0
	haveIP := false
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			haveIP = true
			f.v6 = false
			f.src = addrFrom(d.ip4.SrcIP)
			f.dst = addrFrom(d.ip4.DstIP)
			f.proto = uint8(d.ip4.Protocol)
			f.ipID = d.ip4.Id
			if d.ip4.Protocol == layers.IPProtocolUDP && d.ip4.FragOffset == 0 && d.ip4.Flags&layers.IPv4MoreFragments != 0 {
				// gopacket hands the first fragment of a large datagram to
				// its Fragment layer; its UDP header is still right here.
				decodeUDPHeader(d.ip4.Payload, f)
			}
		case layers.LayerTypeIPv6:
			haveIP = true
			f.v6 = true
			f.src = addrFrom(d.ip6.SrcIP)
			f.dst = addrFrom(d.ip6.DstIP)
			f.proto = uint8(d.ip6.NextHeader)
			f.ipID = 0
		case layers.LayerTypeTCP:
			f.transport = true
			f.proto = protoTCP
			f.sport, f.dport = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			f.seq, f.ack = d.tcp.Seq, d.tcp.Ack
			f.flags = tcpFlags(&d.tcp)
			f.payload = d.tcp.Payload
		case layers.LayerTypeUDP:
			f.transport = true
			f.proto = protoUDP
			f.sport, f.dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			f.udpLen, f.udpCsum = d.udp.Length, d.udp.Checksum
			f.payload = d.udp.Payload
		}
	}
	if haveIP && !f.transport && f.proto != protoTCP && f.proto != protoUDP {
		switch {
		case f.v6:
			f.payload = d.ip6.Payload
		default:
			f.payload = d.ip4.Payload
		}
	}
	return haveIP
}

// decodeUDPHeader reads a UDP header by hand, for first fragments.
func decodeUDPHeader(b []byte, f *frame) {
	if len(b) < 8 {
		return
	}
	f.transport = true
	f.sport = binary.BigEndian.Uint16(b[0:2])
	f.dport = binary.BigEndian.Uint16(b[2:4])
	f.udpLen = binary.BigEndian.Uint16(b[4:6])
	f.udpCsum = binary.BigEndian.Uint16(b[6:8])
	f.payload = b[8:]
}

func addrFrom(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		set bool
		bit uint8
	}{{t.FIN, flagFIN}, {t.SYN, flagSYN}, {t.RST, flagRST}, {t.PSH, flagPSH}, {t.ACK, flagACK}, {t.URG, flagURG}, {t.ECE, flagECE}, {t.CWR, flagCWR}} {
		if b.set {
			f |= b.bit
		}
	}
	return f
}

// walk streams one capture file and calls fn for every frame that carries
// an IP packet. fn must not keep f or f.payload.
func walk(ctx context.Context, path string, index int, fn func(f *frame) error) (fileStats, error) {
	st := fileStats{path: path}
	fh, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("read capture: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return st, fmt.Errorf("read %s: %w", filepath.Base(path), ErrNotCapture)
	}
	var (
		r        packetReader
		linkType func(ci gopacket.CaptureInfo) layers.LinkType
	)
	switch binary.BigEndian.Uint32(magic) {
	case 0x0A0D0D0A:
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			return st, fmt.Errorf("read %s: %w: %v", filepath.Base(path), ErrNotCapture, err)
		}
		r = ng
		st.linkType = ng.LinkType()
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if i, err := ng.Interface(ci.InterfaceIndex); err == nil {
				return i.LinkType
			}
			return ng.LinkType()
		}
	case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("read %s: %w: %v", filepath.Base(path), ErrNotCapture, err)
		}
		r = pr
		st.linkType = pr.LinkType()
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return pr.LinkType() }
	default:
		return st, fmt.Errorf("read %s: %w", filepath.Base(path), ErrNotCapture)
	}
	if !supportedLinkType(st.linkType) {
		return st, fmt.Errorf("read %s: %w %s: capture with tcpdump -i eth0 or -i any", filepath.Base(path), ErrLinkType, st.linkType)
	}
	d := newDecoder()
	var f frame
	f.file = index
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				// tcpdump killed mid-write leaves a partial last record;
				// everything before it is sound, as Wireshark also shows.
				return st, nil
			}
			return st, fmt.Errorf("read %s frame %d: %w", filepath.Base(path), st.frames+1, err)
		}
		st.frames++
		st.bytes += int64(len(data))
		if st.frames&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		f.num = st.frames
		f.ts = ci.Timestamp
		if !d.decode(linkType(ci), data, &f) {
			continue
		}
		st.ip++
		if err := fn(&f); err != nil {
			return st, err
		}
	}
}
