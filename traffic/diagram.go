package traffic

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// Participant is one lifeline of the sequence diagram: a lab host, or an
// address the topology does not name.
type Participant struct {
	Host  string       `json:"host,omitempty"`
	Addrs []netip.Addr `json:"addrs"`
}

// Label is "client1 (10.20.30.11)", or the bare address for unknown hosts.
func (p Participant) Label() string {
	a := make([]string, len(p.Addrs))
	for i, x := range p.Addrs {
		a[i] = x.String()
	}
	if p.Host == "" {
		return strings.Join(a, ", ")
	}
	return p.Host + " (" + strings.Join(a, ", ") + ")"
}

// Message is one packet of the diagram, drawn as an arrow.
type Message struct {
	From  int       `json:"from"` // index into Participants
	To    int       `json:"to"`
	Time  time.Time `json:"time"`
	Proto string    `json:"proto"`
	// Label is the unescaped text: protocol, flags, absolute seq/ack and
	// the payload length or an excerpt.
	Label  string     `json:"label"`
	Frame  FrameRef   `json:"frame"`
	SeenIn []FrameRef `json:"seen_in,omitempty"`
	// PureACK marks a TCP segment that only acknowledges; it is drawn dashed.
	PureACK bool `json:"pure_ack"`
}

// Diagram is the sequence diagram of one window of the merged captures.
type Diagram struct {
	Title        string        `json:"title"`
	Window       Window        `json:"window"`
	Participants []Participant `json:"participants"`
	Messages     []Message     `json:"messages"`
	// Omitted counts the packets in the window beyond the message limit.
	Omitted int `json:"omitted"`
}

// Sequence merges the captures of all hosts, folds the copies of each packet
// seen on both ends into one, and builds the sequence diagram of Delivery
// Q2: a new client connects and sends one direct message. WithFrom, WithTo
// and WithClient choose another window.
func Sequence(ctx context.Context, files []string, topo topology.Topology, opts ...Option) (Diagram, error) {
	cfg := newConfig(opts)
	if len(files) == 0 {
		return Diagram{}, fmt.Errorf("diagram: %w: pass the captures of all hosts (chatserver.pcap client1.pcap …)", ErrNoFiles)
	}
	if cfg.client != "" {
		if _, err := clientHost(topo, cfg.client); err != nil {
			return Diagram{}, fmt.Errorf("diagram: %w", err)
		}
	}
	m, err := mergeFiles(ctx, files, cfg.dedupWindow)
	if err != nil {
		return Diagram{}, fmt.Errorf("diagram: %w", err)
	}
	sel, w, err := selectWindow(m, topo, cfg)
	if err != nil {
		return Diagram{}, fmt.Errorf("diagram: %w", err)
	}
	d := Diagram{Window: w}
	switch {
	case w.Auto:
		d.Title = fmt.Sprintf("%s connects to the chat server and sends one direct message", w.Client)
	default:
		d.Title = fmt.Sprintf("Packets from %s to %s", w.From.Format("15:04:05.000000"), w.To.Format("15:04:05.000000"))
	}
	if len(sel) > cfg.maxMessages {
		d.Omitted = len(sel) - cfg.maxMessages
		sel = sel[:cfg.maxMessages]
	}
	d.Participants = participants(sel, topo, w.Client)
	index := map[netip.Addr]int{}
	for i, p := range d.Participants {
		for _, a := range p.Addrs {
			index[a] = i
		}
	}
	for _, p := range sel {
		d.Messages = append(d.Messages, Message{
			From: index[p.src], To: index[p.dst], Time: p.ref.Time,
			Proto: protoName(p), Label: label(p, cfg.excerpt), Frame: p.ref, SeenIn: p.copies,
			PureACK: p.tcp && p.flags == flagACK && p.plen == 0,
		})
	}
	return d, nil
}

// participants orders the lifelines: the new client, the DNS server, the
// chat server, the other hosts in topology order, then unknown addresses
// in order of appearance.
func participants(sel []*packet, topo topology.Topology, client string) []Participant {
	names := newNamer(topo)
	used := map[netip.Addr]bool{}
	var unknown []netip.Addr
	for _, p := range sel {
		for _, a := range []netip.Addr{p.src, p.dst} {
			if !used[a] {
				used[a] = true
				if names.name(a) == "" {
					unknown = append(unknown, a)
				}
			}
		}
	}
	var order []topology.Host
	if h, ok := topo.Host(client); ok {
		order = append(order, h)
	}
	order = append(order, topo.DNSServer(), topo.WebServer())
	for _, h := range topo.Hosts {
		order = append(order, h)
	}
	var out []Participant
	done := map[string]bool{}
	for _, h := range order {
		if done[h.Name] {
			continue
		}
		done[h.Name] = true
		var addrs []netip.Addr
		for _, a := range []netip.Addr{h.IPv4, h.IPv6} {
			if a.IsValid() && used[a] {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 && (h.Name == client || h.Role == topology.RoleServer) {
			addrs = []netip.Addr{h.IPv4}
		}
		if len(addrs) > 0 {
			out = append(out, Participant{Host: h.Name, Addrs: addrs})
		}
	}
	for _, a := range unknown {
		out = append(out, Participant{Addrs: []netip.Addr{a}})
	}
	return out
}

func protoName(p *packet) string {
	switch {
	case p.dns != nil:
		return "DNS"
	case p.tcp:
		return "TCP"
	case p.udp:
		return "UDP"
	case p.proto == protoICMP:
		return "ICMP"
	case p.proto == protoICMPv6:
		return "ICMPv6"
	}
	return fmt.Sprintf("IP/%d", p.proto)
}

var flagNames = []struct {
	bit  uint8
	name string
}{{flagFIN, "FIN"}, {flagSYN, "SYN"}, {flagRST, "RST"}, {flagPSH, "PSH"}, {flagACK, "ACK"}, {flagURG, "URG"}, {flagECE, "ECE"}, {flagCWR, "CWR"}}

// label is a message's text, before any escaping.
func label(p *packet, excerpt int) string {
	switch {
	case p.dns != nil:
		d := p.dns
		if d.query {
			return fmt.Sprintf("DNS query %s %s", d.qtype, d.qname)
		}
		s := fmt.Sprintf("DNS response %s %s", d.qtype, d.qname)
		switch {
		case d.rcode != "No Error":
			return s + " = " + d.rcode
		case len(d.answers) == 0:
			return s + " = no answer"
		}
		return s + " = " + strings.Join(d.answers, ", ")
	case p.tcp:
		var fl []string
		for _, f := range flagNames {
			if p.flags&f.bit != 0 {
				fl = append(fl, f.name)
			}
		}
		s := fmt.Sprintf("TCP [%s] seq=%d", strings.Join(fl, ", "), p.seq)
		if p.flags&flagACK != 0 {
			s += fmt.Sprintf(" ack=%d", p.ack)
		}
		s += fmt.Sprintf(" len=%d", p.plen)
		if p.plen > 0 {
			s += " " + quote(p.excerpt, p.plen, excerpt)
		}
		return s
	case p.udp:
		s := fmt.Sprintf("UDP %d → %d len=%d", p.sport, p.dport, p.plen)
		if p.plen > 0 {
			s += " " + quote(p.excerpt, p.plen, excerpt)
		}
		return s
	case p.icmpType >= 0:
		return fmt.Sprintf("%s type %d", protoName(p), p.icmpType)
	}
	return fmt.Sprintf("IP protocol %d len=%d", p.proto, p.plen)
}

// quote is a short, printable excerpt of a payload in double quotes; line
// ends show as \n and other control bytes as '.'.
func quote(b []byte, total, limit int) string {
	var s strings.Builder
	s.WriteByte('"')
	n := 0
	cut := total > len(b)
	for len(b) > 0 {
		if n >= limit {
			cut = true
			break
		}
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == '\n':
			s.WriteString(`\n`)
		case r == utf8.RuneError || !unicode.IsPrint(r):
			s.WriteByte('.')
		default:
			s.WriteRune(r)
		}
		n++
	}
	if cut {
		s.WriteString("…")
	}
	s.WriteByte('"')
	return s.String()
}
