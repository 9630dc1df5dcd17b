package traffic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ntnu-ttm4200/lab3/topology"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchPath string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchCapture writes, once per test binary, a 100 MB chatserver.pcap: a
// handshake of client1, then chat segments of mixed sizes between the
// server and the three clients, ACKs and P2P datagrams.
func benchCapture(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "traffic-bench-")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "chatserver.pcap")
		benchErr = writeBenchCapture(benchPath, 100<<20)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func benchFrame(src, dst net.IP, l4 gopacket.SerializableLayer, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src, DstIP: dst}
	switch l := l4.(type) {
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		_ = l.SetNetworkLayerForChecksum(ip)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, l4, gopacket.Payload(payload)); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func writeBenchCapture(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return err
	}
	topo := topology.Default()
	ip := func(n string) net.IP { h, _ := topo.Host(n); return net.IP(h.IPv4.AsSlice()) }
	server, c1, c2, c3 := ip("webserver"), ip("client1"), ip("client2"), ip("client3")
	ts := genBase
	written := int64(24)
	put := func(frame []byte) error {
		ts = ts.Add(37 * time.Microsecond)
		written += int64(16 + len(frame))
		return w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	for _, fr := range [][]byte{
		benchFrame(c1, server, &layers.TCP{SrcPort: 45000, DstPort: 5000, Seq: synSeq, SYN: true, Window: 64240}, nil),
		benchFrame(server, c1, &layers.TCP{SrcPort: 5000, DstPort: 45000, Seq: synackSeq, Ack: synSeq + 1, SYN: true, ACK: true, Window: 64240}, nil),
	} {
		if err := put(fr); err != nil {
			return err
		}
	}
	chat := bytes.Repeat([]byte("alice (IP: 10.20.30.11) says: hello everyone "), 40)
	peers := []net.IP{c1, c2, c3}
	var templates [][]byte
	for i, c := range peers {
		port := layers.TCPPort(45000 + i)
		templates = append(templates,
			benchFrame(server, c, &layers.TCP{SrcPort: 5000, DstPort: port, ACK: true, PSH: true, Window: 502}, chat[:1448]),
			benchFrame(c, server, &layers.TCP{SrcPort: port, DstPort: 5000, ACK: true, Window: 502}, nil),
			benchFrame(server, c, &layers.TCP{SrcPort: 5000, DstPort: port, ACK: true, PSH: true, Window: 502}, chat[:180]),
			benchFrame(c, server, &layers.TCP{SrcPort: port, DstPort: 5000, ACK: true, PSH: true, Window: 502}, chat[:40]),
		)
	}
	templates = append(templates, benchFrame(c1, c2, &layers.UDP{SrcPort: 6000, DstPort: 6000}, []byte("hello bob")))
	var seq uint32
	for i := 0; written < size; i++ {
		fr := templates[i%len(templates)]
		if binary.BigEndian.Uint16(fr[12:14]) == uint16(layers.EthernetTypeIPv4) && fr[23] == byte(layers.IPProtocolTCP) {
			seq += 1448
			binary.BigEndian.PutUint32(fr[14+20+4:], seq)
		}
		if err := put(fr); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// peakRSSMB is the process's peak resident set (VmHWM) in MB, or 0 where
// /proc is missing.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseFloat(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkAnalyze100MB measures Analyze on a 100 MB capture; it reports
// ns/op, MB/s and the process's peak RSS. Run it with
// go test -run=NONE -bench=Analyze100MB ./traffic/
func BenchmarkAnalyze100MB(b *testing.B) {
	path := benchCapture(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var rep Report
	for b.Loop() {
		rep, err = Analyze(context.Background(), []string{path}, topology.Default())
		if err != nil {
			b.Fatal(err)
		}
	}
	if rep.Task32 == nil || rep.Task32.SYNSeq != synSeq || rep.Task33 == nil {
		b.Fatalf("wrong answers on the benchmark capture: %+v", rep)
	}
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// BenchmarkSequence100MB measures the diagram on the same capture, which
// must keep a compact summary of every packet to merge and order them.
func BenchmarkSequence100MB(b *testing.B) {
	path := benchCapture(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		d, err := Sequence(context.Background(), []string{path}, topology.Default(), WithClient("client1"))
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Messages) == 0 {
			b.Fatal("empty diagram")
		}
	}
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}
