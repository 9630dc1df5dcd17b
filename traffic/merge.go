package traffic

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// packet is the compact, owned copy of one frame kept for the diagram.
type packet struct {
	packetKey // addresses, protocol, ports, seq/ack, flags, payload length
	ref       FrameRef
	file      int
	tcp, udp  bool
	icmpType  int16 // -1 when not ICMP
	excerpt   []byte
	dns       *dnsInfo
	copies    []FrameRef // the same packet seen in other captures
}

// dnsInfo is what the diagram says about a DNS message.
type dnsInfo struct {
	query   bool
	qname   string
	qtype   string
	rcode   string
	answers []string
}

// merged is every capture's packets, de-duplicated and in time order.
type merged struct {
	packets []*packet
	files   []string
	first   map[string]int // file base name -> index
}

// maxExcerpt is how many payload bytes are kept per packet for labels.
const maxExcerpt = 64

// mergeFiles reads every capture and folds the copies of a packet seen on
// both ends of a link into one, keeping the earliest timestamp.
//
// The index holds, per packet key, the packets of the files already read,
// in time order. A file pairs its packets with them through a cursor per
// key that only moves forward (files are in time order), so identical
// packets (retransmissions) pair off in order and the merge stays linear.
func mergeFiles(ctx context.Context, files []string, window time.Duration) (*merged, error) {
	if err := distinct(files); err != nil {
		return nil, err
	}
	m := &merged{first: map[string]int{}}
	index := map[packetKey][]int{}
	var slab []byte
	for i, path := range files {
		base := filepath.Base(path)
		m.first[base] = i
		m.files = append(m.files, base)
		cursor := map[packetKey]int{}
		touched := map[packetKey]bool{}
		var added []int
		_, err := walk(ctx, path, i, func(f *frame) error {
			k := keyOf(f)
			ref := FrameRef{File: base, Frame: f.num, Time: f.ts}
			list := index[k]
			c := 0
			if len(list) > 0 {
				c = cursor[k]
			}
			for c < len(list) && m.packets[list[c]].ref.Time.Before(f.ts.Add(-window)) {
				c++
			}
			if c < len(list) && !m.packets[list[c]].ref.Time.After(f.ts.Add(window)) {
				p := m.packets[list[c]]
				if f.ts.Before(p.ref.Time) {
					p.copies = append(p.copies, p.ref)
					p.ref = ref
					p.file = i
				} else {
					p.copies = append(p.copies, ref)
				}
				cursor[k] = c + 1
				touched[k] = true
				return nil
			}
			if c > 0 {
				cursor[k] = c
			}
			if len(slab) < maxExcerpt {
				slab = make([]byte, 1<<20)
			}
			p := newPacket(f, ref, k, slab)
			slab = slab[len(p.excerpt):]
			added = append(added, len(m.packets))
			m.packets = append(m.packets, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if i == len(files)-1 {
			break // no later file to pair with
		}
		for _, j := range added {
			k := m.packets[j].packetKey
			index[k] = append(index[k], j)
			if len(index[k]) > 1 {
				touched[k] = true
			}
		}
		for k := range touched {
			list := index[k]
			sort.SliceStable(list, func(a, b int) bool { return m.packets[list[a]].ref.Time.Before(m.packets[list[b]].ref.Time) })
		}
	}
	sort.SliceStable(m.packets, func(a, b int) bool {
		pa, pb := m.packets[a], m.packets[b]
		if !pa.ref.Time.Equal(pb.ref.Time) {
			return pa.ref.Time.Before(pb.ref.Time)
		}
		if pa.file != pb.file {
			return pa.file < pb.file
		}
		return pa.ref.Frame < pb.ref.Frame
	})
	return m, nil
}

// newPacket copies what the diagram needs out of f; the payload excerpt is
// carved from slab, which must hold maxExcerpt bytes.
func newPacket(f *frame, ref FrameRef, k packetKey, slab []byte) *packet {
	p := &packet{packetKey: k, ref: ref, file: f.file, tcp: f.isTCP(), udp: f.isUDP(), icmpType: -1}
	n := copy(slab[:min(len(f.payload), maxExcerpt)], f.payload)
	p.excerpt = slab[:n:n]
	if !p.tcp && !p.udp && (f.proto == protoICMP || f.proto == protoICMPv6) && len(f.payload) > 0 {
		p.icmpType = int16(f.payload[0])
	}
	if p.udp && (isDNSPort(f.sport) || isDNSPort(f.dport)) {
		p.dns = parseDNS(f.payload)
	}
	return p
}

func parseDNS(b []byte) *dnsInfo {
	var d layers.DNS
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return nil
	}
	info := &dnsInfo{query: !d.QR, rcode: d.ResponseCode.String()}
	if len(d.Questions) > 0 {
		info.qname = strings.TrimSuffix(string(d.Questions[0].Name), ".")
		info.qtype = d.Questions[0].Type.String()
	}
	for _, a := range d.Answers {
		switch a.Type {
		case layers.DNSTypeA, layers.DNSTypeAAAA:
			info.answers = append(info.answers, a.IP.String())
		case layers.DNSTypeCNAME:
			info.answers = append(info.answers, "CNAME "+string(a.CNAME))
		case layers.DNSTypePTR:
			info.answers = append(info.answers, "PTR "+string(a.PTR))
		default:
			info.answers = append(info.answers, a.Type.String())
		}
	}
	return info
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// isNoise reports packets a sequence diagram of the chat leaves out:
// IPv6 neighbour discovery and multicast listener reports.
func (p *packet) isNoise() bool {
	if p.proto != protoICMPv6 {
		return false
	}
	switch p.icmpType {
	case 130, 131, 132, 133, 134, 135, 136, 137, 143:
		return true
	}
	return false
}
