package traffic

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Text renders the report for people: one section per task, every number
// with the file and frame it was read from.
func (r Report) Text() string {
	var b strings.Builder
	b.WriteString("Captures\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, f := range r.Files {
		fmt.Fprintf(tw, "  %s\t%s\t%d frames\t%d IP packets\n", f.File, f.LinkType, f.Frames, f.IP)
	}
	_ = tw.Flush()

	if hs := r.Task32; hs != nil {
		fmt.Fprintf(&b, "\nTask 3.2: first TCP connection %s -> %s\n", hs.Client, hs.Server)
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  SYN sequence number:\t%d\t(%s%s)\n", hs.SYNSeq, hs.SYN, alsoIn(hs.SYNAlsoIn))
		if hs.SYNACKFound {
			fmt.Fprintf(tw, "  SYNACK sequence number:\t%d\t(%s)\n", hs.SYNACKSeq, hs.SYNACK)
			fmt.Fprintf(tw, "  SYNACK acknowledgement number:\t%d\t(%s; = SYN seq + 1)\n", hs.SYNACKAck, hs.SYNACK)
		} else {
			fmt.Fprintf(tw, "  SYNACK:\tnot captured\t\n")
		}
		_ = tw.Flush()
	}

	if u := r.Task33; u != nil {
		ipVer := "IPv4 protocol field"
		if u.IPv6 {
			ipVer = "IPv6 next-header field"
		}
		fmt.Fprintf(&b, "\nTask 3.3: UDP datagram %s -> %s (%s%s)\n", u.Src, u.Dst, u.Datagram, alsoIn(u.AlsoIn))
		fmt.Fprintf(&b, "  Header as captured: source port %d, destination port %d, length %d (8 + %d payload), checksum 0x%04x\n",
			u.Src.Port, u.Dst.Port, u.Length, u.PayloadLen, u.Checksum)
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  Number of UDP header fields:\t%d\t(source port, destination port, length, checksum)\n", u.Fields)
		fmt.Fprintf(tw, "  Bytes per header field:\t%d\t(16 bits each; %d-byte header)\n", u.FieldBytes, u.Fields*u.FieldBytes)
		fmt.Fprintf(tw, "  Largest possible source port:\t%d\t(2^16 - 1)\n", u.LargestPort)
		fmt.Fprintf(tw, "  IP protocol number for UDP:\t%d\t(read from the packet's %s)\n", u.Protocol, ipVer)
		fmt.Fprintf(tw, "  Maximum UDP payload:\t%d\t(RFC 768: 16-bit length %d - %d-byte header)\n", u.MaxPayloadRFC768, maxUint16, udpHeaderBytes)
		if !u.IPv6 {
			fmt.Fprintf(tw, "  Maximum UDP payload over IPv4:\t%d\t(%d - %d-byte IP header - %d-byte UDP header)\n",
				u.MaxPayloadOverIP, maxUint16, u.IPHeaderBytes, udpHeaderBytes)
		}
		_ = tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	return b.String()
}

func alsoIn(refs []FrameRef) string {
	if len(refs) == 0 {
		return ""
	}
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return "; also " + strings.Join(s, ", ")
}
