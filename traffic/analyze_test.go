package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
)

func TestAnalyzeTask32(t *testing.T) {
	paths, frames, g := writeLab(t)
	server, client1, client2, dns := paths[0], paths[1], paths[2], paths[3]
	at := func(file, name string) FrameRef {
		p := g.named(name)
		ts := genBase.Add(p.at)
		if base := filepath.Base(file); (base == "chatserver.pcap" && p.dst == g.ip("webserver")) ||
			(base == "client1.pcap" && p.dst == g.ip("client1")) {
			for _, f := range g.labFiles() {
				if f.name == base {
					ts = ts.Add(f.delay)
				}
			}
		}
		return FrameRef{File: filepath.Base(file), Frame: frames[filepath.Base(file)][name], Time: ts}
	}
	ref := func(r FrameRef) *FrameRef { return &r }
	tests := []struct {
		name   string
		files  []string
		client string
		want   *Handshake
	}{
		{
			name:  "server capture first, as the handout reads it",
			files: []string{server, client1, client2, dns},
			want: &Handshake{
				Client:      Endpoint{Host: "client1", IP: g.ip("client1"), Port: 45000},
				Server:      Endpoint{Host: "webserver", IP: g.ip("webserver"), Port: 5000},
				SYNSeq:      synSeq,
				SYN:         at(server, "syn"),
				SYNAlsoIn:   []FrameRef{at(client1, "syn")},
				SYNACKSeq:   synackSeq,
				SYNACKAck:   synSeq + 1,
				SYNACK:      ref(at(server, "synack")),
				SYNACKFound: true,
			},
		},
		{
			// The client sees its own SYN first (no receive delay), so the
			// earliest copy is client1's; the numbers are the same.
			name:  "client capture only",
			files: []string{client1},
			want: &Handshake{
				Client:      Endpoint{Host: "client1", IP: g.ip("client1"), Port: 45000},
				Server:      Endpoint{Host: "webserver", IP: g.ip("webserver"), Port: 5000},
				SYNSeq:      synSeq,
				SYN:         at(client1, "syn"),
				SYNACKSeq:   synackSeq,
				SYNACKAck:   synSeq + 1,
				SYNACK:      ref(at(client1, "synack")),
				SYNACKFound: true,
			},
		},
		{
			name:   "another client",
			files:  []string{server},
			client: "client2",
			want: &Handshake{
				Client:      Endpoint{Host: "client2", IP: g.ip("client2"), Port: 41000},
				Server:      Endpoint{Host: "webserver", IP: g.ip("webserver"), Port: 5000},
				SYNSeq:      bobSeq,
				SYN:         at(server, "bob-syn"),
				SYNACKSeq:   srvBobSeq,
				SYNACKAck:   bobSeq + 1,
				SYNACK:      ref(at(server, "bob-synack")),
				SYNACKFound: true,
			},
		},
		{name: "no TCP in the capture", files: []string{dns}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.client != "" {
				opts = append(opts, WithClient(tc.client))
			}
			rep, err := Analyze(context.Background(), tc.files, topology.Default(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Task32, tc.want) {
				t.Errorf("task 3.2:\n got %+v\nwant %+v", deref(rep.Task32), deref(tc.want))
			}
			if tc.want == nil && !hasNote(rep, "task 3.2") {
				t.Errorf("no note explains the missing task 3.2 answer: %q", rep.Notes)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func hasNote(r Report, prefix string) bool {
	for _, n := range r.Notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func TestAnalyzeTask33(t *testing.T) {
	paths, frames, g := writeLab(t)
	p2p := g.named("p2p")
	payload := len("hello bob; #1: \"hi\"")
	want := &UDPHeader{
		Datagram:         FrameRef{File: "client1.pcap", Frame: frames["client1.pcap"]["p2p"], Time: genBase.Add(p2p.at)},
		AlsoIn:           []FrameRef{{File: "client2.pcap", Frame: frames["client2.pcap"]["p2p"], Time: genBase.Add(p2p.at + 45e3)}},
		Src:              Endpoint{Host: "client1", IP: g.ip("client1"), Port: 6000},
		Dst:              Endpoint{Host: "client2", IP: g.ip("client2"), Port: 6000},
		Length:           uint16(8 + payload),
		Checksum:         p2p.udpCsum,
		PayloadLen:       payload,
		Fields:           4,
		FieldBytes:       2,
		LargestPort:      65535,
		Protocol:         17,
		MaxPayloadRFC768: 65527,
		MaxPayloadOverIP: 65507,
		IPHeaderBytes:    20,
	}
	rep, err := Analyze(context.Background(), paths, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Task33
	if got == nil {
		t.Fatalf("no task 3.3 answer; notes %q", rep.Notes)
	}
	if !strings.Contains(got.MaxPayloadExplain, "65527") || !strings.Contains(got.MaxPayloadExplain, "65507") {
		t.Errorf("explanation %q does not give both limits", got.MaxPayloadExplain)
	}
	got.MaxPayloadExplain = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("task 3.3:\n got %+v\nwant %+v", *got, *want)
	}
	if p2p.udpCsum == 0 {
		t.Fatal("generator wrote no UDP checksum; the test would not check the field")
	}

	t.Run("no datagram between clients", func(t *testing.T) {
		rep, err := Analyze(context.Background(), paths[:1], topology.Default())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Task33 != nil || !hasNote(rep, "task 3.3") {
			t.Errorf("chatserver.pcap has no P2P datagram: got %+v, notes %q", rep.Task33, rep.Notes)
		}
	})
}

func TestAnalyzeReportFormats(t *testing.T) {
	paths, frames, _ := writeLab(t)
	rep, err := Analyze(context.Background(), paths, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []FileSummary{
		{File: "chatserver.pcap", LinkType: "Ethernet"},
		{File: "client1.pcap", LinkType: "Linux SLL2"},
		{File: "client2.pcap", LinkType: "Linux SLL"},
		{File: "dnsserver.pcap", LinkType: "Ethernet"},
	}
	for i, f := range rep.Files {
		if f.File != wantFiles[i].File || f.LinkType != wantFiles[i].LinkType || f.Frames == 0 {
			t.Errorf("file %d: got %+v, want %+v with frames", i, f, wantFiles[i])
		}
	}
	// chatserver.pcap starts with an ARP frame: counted as a frame, not as IP.
	if f := rep.Files[0]; f.Frames != f.IP+1 {
		t.Errorf("chatserver.pcap: %d frames, %d IP packets; want one non-IP frame", f.Frames, f.IP)
	}

	text := rep.Text()
	for _, want := range []string{
		"SYN sequence number:",
		"1000000000",
		"2000000000",
		"1000000001",
		"chatserver.pcap frame " + strconv.Itoa(frames["chatserver.pcap"]["syn"]),
		"client1.pcap frame " + strconv.Itoa(frames["client1.pcap"]["p2p"]),
		"Number of UDP header fields:",
		"65527",
		"65507",
		"65535",
		"17",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}

	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	t32, _ := back["task_3_2"].(map[string]any)
	if t32["syn_seq"] != float64(synSeq) || t32["synack_ack"] != float64(synSeq+1) {
		t.Errorf("JSON task_3_2 = %v", t32)
	}
	t33, _ := back["task_3_3"].(map[string]any)
	if t33["max_payload_over_ip"] != float64(65507) || t33["protocol"] != float64(17) {
		t.Errorf("JSON task_3_3 = %v", t33)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	paths, _, _ := writeLab(t)
	// A loopback capture from a BSD (DLT_NULL) has no Ethernet or cooked header.
	null := filepath.Join(dir, "null.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0}
	if err := os.WriteFile(null, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		files  []string
		opts   []Option
		target error
	}{
		{name: "unsupported link type", files: []string{null}, target: ErrLinkType},
		{name: "no files", target: ErrNoFiles},
		{name: "text file", files: []string{text}, target: ErrNotCapture},
		{name: "empty file", files: []string{empty}, target: ErrNotCapture},
		{name: "missing file", files: []string{filepath.Join(dir, "nope.pcap")}, target: os.ErrNotExist},
		{name: "same file twice", files: []string{paths[0], paths[1], paths[0]}, target: ErrDuplicateFile},
		{name: "unknown client", files: paths[:1], opts: []Option{WithClient("client9")}, target: ErrUnknownHost},
		{name: "server is not a client", files: paths[:1], opts: []Option{WithClient("webserver")}, target: ErrUnknownHost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyze(context.Background(), tc.files, topology.Default(), tc.opts...)
			if !errors.Is(err, tc.target) {
				t.Fatalf("got %v, want %v", err, tc.target)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestAnalyzeIPv6(t *testing.T) {
	g := newLabTraffic(t)
	g.v6 = true
	g.tcp("syn", ms(1), "client1", "webserver", 45000, 5000, synSeq, 0, "S", "")
	g.tcp("synack", ms(2), "webserver", "client1", 5000, 45000, synackSeq, synSeq+1, "SA", "")
	g.udp("p2p", ms(3), "client1", "client2", 6000, 6000, []byte("hi over v6"))
	paths, frames := g.write(t.TempDir(), g.labFiles()[1:2])
	rep, err := Analyze(context.Background(), paths, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	hs, u := rep.Task32, rep.Task33
	if hs == nil || hs.SYNSeq != synSeq || hs.SYNACKSeq != synackSeq || hs.SYNACKAck != synSeq+1 ||
		hs.Client.IP != g.ip("client1") || hs.SYN.Frame != frames["client1.pcap"]["syn"] {
		t.Errorf("task 3.2 over IPv6: %+v", deref(hs))
	}
	// IPv6's payload length excludes its header: only the UDP header counts.
	if u == nil || !u.IPv6 || u.Protocol != 17 || u.MaxPayloadOverIP != 65527 || u.MaxPayloadRFC768 != 65527 || u.Checksum != g.named("p2p").udpCsum {
		t.Errorf("task 3.3 over IPv6: %+v", deref(u))
	}
}

// TestAnalyzeTruncatedCapture reads a file whose last record was cut short,
// as a tcpdump killed mid-write leaves it: the complete frames still count.
func TestAnalyzeTruncatedCapture(t *testing.T) {
	paths, frames, _ := writeLab(t)
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "chatserver.pcap")
	if err := os.WriteFile(cut, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	full, err := Analyze(context.Background(), paths[:1], topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(context.Background(), []string{cut}, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files[0].Frames != full.Files[0].Frames-1 {
		t.Errorf("read %d frames of a file cut in its last one; want %d", rep.Files[0].Frames, full.Files[0].Frames-1)
	}
	if rep.Task32 == nil || rep.Task32.SYN.Frame != frames["chatserver.pcap"]["syn"] {
		t.Errorf("task 3.2 lost: %+v", rep.Task32)
	}
}
