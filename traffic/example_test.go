package traffic_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

var sample = []string{
	filepath.Join("testdata", "sample", "chatserver.pcap"),
	filepath.Join("testdata", "sample", "client1.pcap"),
	filepath.Join("testdata", "sample", "client2.pcap"),
	filepath.Join("testdata", "sample", "dnsserver.pcap"),
}

// Analyze answers Milestone 3's questions from the captures, each answer
// with the file and frame it was read from.
func ExampleAnalyze() {
	rep, err := traffic.Analyze(context.Background(), sample, topology.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	hs, u := rep.Task32, rep.Task33
	fmt.Println("SYN seq:", hs.SYNSeq, "from", hs.SYN)
	fmt.Println("SYNACK seq:", hs.SYNACKSeq, "ack:", hs.SYNACKAck, "from", hs.SYNACK)
	fmt.Println("UDP", u.Src, "->", u.Dst, "length", u.Length, "from", u.Datagram)
	fmt.Println("max payload:", u.MaxPayloadRFC768, "(RFC 768),", u.MaxPayloadOverIP, "(over IPv4)")
	// Output:
	// SYN seq: 1000000000 from chatserver.pcap frame 5
	// SYNACK seq: 2000000000 ack: 1000000001 from chatserver.pcap frame 6
	// UDP client1 (10.20.30.11:6000) -> client2 (10.20.30.12:6000) length 27 from client1.pcap frame 14
	// max payload: 65527 (RFC 768), 65507 (over IPv4)
}

// Sequence finds the exchange of Delivery Q2 in the merged captures.
func ExampleSequence() {
	d, err := traffic.Sequence(context.Background(), sample, topology.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Window.Reason)
	for _, p := range d.Participants {
		fmt.Println(p.Label())
	}
	fmt.Println(len(d.Messages), "messages, first:", d.Messages[0].Label)
	// Output:
	// client1 connects to webserver and sends one direct message: from its DNS query for team30.com through its UDP datagram to client2, then its FIN exchange
	// client1 (10.20.30.11)
	// dnsserver (10.20.30.2)
	// webserver (10.20.30.3)
	// client2 (10.20.30.12)
	// 22 messages, first: DNS query A team30.com
}

// ParseBound reads the values of --from and --to.
func ExampleParseBound() {
	for _, s := range []string{"2026-11-25T18:00:01Z", "1.5s", "client1.pcap:14"} {
		b, err := traffic.ParseBound(s)
		fmt.Println(b, err)
	}
	// Output:
	// 2026-11-25T18:00:01Z <nil>
	// 1.5s <nil>
	// client1.pcap:14 <nil>
}
