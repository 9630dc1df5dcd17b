package student_test

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/student"
)

// samples are captures of a lab session: the traffic package's sample
// files (written by its generator, four link types and formats).
const samples = "../traffic/testdata/sample"

// run runs a notebook cell with the checker against the captures in dir.
func run(t *testing.T, dir, cell string) string {
	t.Helper()
	py := tier.Python(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, student.CheckerName), student.Checker, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	code := "from test_lab3 import TestLab3\ncheck_progress = TestLab3(" + pyString(abs) + ")\nok = " + cell + "\nprint('RESULT', ok)\n"
	cmd := exec.Command(py, "-c", code)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return string(out)
}

func pyString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// expected are the right answers of the sample captures; none may ever
// appear in the checker's output.
var expected = []string{"1000000000", "2000000000", "1000000001", "65527", "65507", "65535"}

func TestChecker(t *testing.T) {
	tests := []struct {
		name      string
		dir       string
		cell      string
		wantOK    bool
		wantLines []string
	}{
		{"3.2 right", samples, "check_progress.test_3_2(1000000000, 2000000000, 1000000001)", true,
			[]string{"Task 3.2: 3 of 3 right"}},
		{"3.2 relative numbers", samples, "check_progress.test_3_2(0, 0, 1)", false,
			[]string{"Task 3.2: 0 of 3 right", "FAIL SYN_sequence_number", "Relative sequence numbers", "[SYN, ACK]"}},
		{"3.2 one wrong", samples, "check_progress.test_3_2(1000000000, 2000000001, 1000000001)", false,
			[]string{"Task 3.2: 2 of 3 right", "FAIL SYNACK_sequence_number"}},
		{"3.2 not an integer", samples, "check_progress.test_3_2('1000000000', 2000000000, 1000000001)", false,
			[]string{"FAIL SYN_sequence_number: give an integer"}},
		{"3.2 missing capture", "testdata", "check_progress.test_3_2(1, 2, 3)", false,
			[]string{"chatserver.pcap is not in"}},
		{"3.3 right (RFC 768)", samples, "check_progress.test_3_3(4, 2, 65527, 65535, 17)", true,
			[]string{"Task 3.3: 5 of 5 right"}},
		{"3.3 right (IPv4)", samples, "check_progress.test_3_3(4, 2, 65507, 65535, 17)", true,
			[]string{"Task 3.3: 5 of 5 right"}},
		{"3.3 wrong", samples, "check_progress.test_3_3(8, 16, 65535, 65536, 6)", false,
			[]string{"Task 3.3: 0 of 5 right", "FAIL protocol_number_for_UDP", "Protocol field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.dir, tc.cell)
			if got := strings.Contains(out, "RESULT True"); got != tc.wantOK {
				t.Errorf("returned %v, want %v:\n%s", got, tc.wantOK, out)
			}
			for _, l := range tc.wantLines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}

// TestCheckerNeverTellsTheAnswer gives wrong answers of every kind and
// checks that no right answer appears in what the student sees.
func TestCheckerNeverTellsTheAnswer(t *testing.T) {
	cells := []string{
		"check_progress.test_3_2(0, 0, 0)",
		"check_progress.test_3_2(999999999, 1999999999, 1000000000)",
		"check_progress.test_3_2(None, 'x', 1.5)",
		"check_progress.test_3_3(0, 0, 0, 0, 0)",
		"check_progress.test_3_3(3, 4, 65535, 65536, 6)",
		"check_progress.test_3_3(None, None, None, None, None)",
	}
	for _, cell := range cells {
		out := run(t, samples, cell)
		// Only the checker's own words count: the echoed cell is not output.
		for _, v := range expected {
			if strings.Contains(out, v) {
				t.Errorf("%s: the output gives away %s:\n%s", cell, v, out)
			}
		}
		if strings.Contains(out, "RESULT True") {
			t.Errorf("%s: passed", cell)
		}
	}
}

// TestCheckerFindsTheHostsAmidNoise: a capture taken with -i any on a
// host that just came up holds IPv6 neighbour discovery and MLD to
// multicast groups, and a resolver's loopback traffic; more of it than a
// short chat must not make the checker take a link-local, multicast or
// loopback address for the host's own (it then found "no SYN from client1"
// in a capture that has it).
func TestCheckerFindsTheHostsAmidNoise(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"client1.pcap", "client2.pcap"} {
		b, err := os.ReadFile(filepath.Join(samples, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err := os.Open(filepath.Join(samples, "chatserver.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "chatserver.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(65535, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x14, 0x1e, 0x03}
	noise := func(eth *layers.Ethernet, l ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append([]gopacket.SerializableLayer{eth}, l...)...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	ll, group := net.ParseIP("fe80::42:aff:fe14:1e03"), net.ParseIP("ff02::16")
	ip6 := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, HopLimit: 1, SrcIP: ll, DstIP: group}
	udp6 := &layers.UDP{SrcPort: 5353, DstPort: 5353}
	_ = udp6.SetNetworkLayerForChecksum(ip6)
	lo := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(127, 0, 0, 1), DstIP: net.IPv4(127, 0, 0, 11)}
	udp4 := &layers.UDP{SrcPort: 40000, DstPort: 53}
	_ = udp4.SetNetworkLayerForChecksum(lo)
	frames := [][]byte{
		noise(&layers.Ethernet{SrcMAC: mac, DstMAC: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 0x16}, EthernetType: layers.EthernetTypeIPv6}, ip6, udp6, gopacket.Payload("mdns")),
		noise(&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}, lo, udp4, gopacket.Payload("query")),
	}
	start := time.Unix(1700000000, 0)
	for i := 0; i < 300; i++ {
		f := frames[i%2]
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}, f); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if n >= 150 {
		t.Fatalf("the sample has %d packets: 300 of noise do not outnumber it", n)
	}
	got := run(t, dir, "check_progress.test_3_2(1000000000, 2000000000, 1000000001)")
	if !strings.Contains(got, "RESULT True") || !strings.Contains(got, "Task 3.2: 3 of 3 right") {
		t.Errorf("the right answers amid 300 packets of noise:\n%s", got)
	}
}
