package chat

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// discardConn is a net.Conn that accepts every write and never delivers
// anything, so benchmarks measure the server and not a network.
type discardConn struct{ closed chan struct{} }

func newDiscardConn() *discardConn { return &discardConn{closed: make(chan struct{})} }

func (d *discardConn) Read([]byte) (int, error) { <-d.closed; return 0, net.ErrClosed }
func (d *discardConn) Write(b []byte) (int, error) {
	select {
	case <-d.closed:
		return 0, net.ErrClosed
	default:
		return len(b), nil
	}
}
func (d *discardConn) Close() error {
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	return nil
}
func (d *discardConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
}
func (d *discardConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 40000}
}
func (d *discardConn) SetDeadline(time.Time) error      { return nil }
func (d *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (d *discardConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkBroadcastFanout measures the broadcast path for 1000 framed
// clients: building a message once and queueing it 999 times, while the
// writers drain the queues into connections that discard the bytes. The
// metric counts queued deliveries; network cost is measured by chat-bench.
func BenchmarkBroadcastFanout(b *testing.B) {
	s := NewServer(WithMode(ModeP2P), WithSendQueue(1<<16), WithBatchDelay(0))
	var clients []*client
	for i := range 1000 {
		c := newClient(s, newDiscardConn())
		c.name = fmt.Sprintf("u%d", i)
		c.key = c.name
		c.framed = true
		if err := s.join(c, "hi"); err != nil {
			b.Fatal(err)
		}
		go c.writeLoop()
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.kill()
		}
	}()
	body := []byte("bench-t=1764000000000000000")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.broadcastChat(clients[0], body)
	}
	b.ReportMetric(float64(b.N)*999/b.Elapsed().Seconds(), "queued/s")
}

func BenchmarkSanitize(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"clean", "alice (IP: 127.0.0.11) said: hello there, how are you doing today?"},
		{"hostile", "\x1b[2J\x1b]0;pwned\x07bad\xff\xfeutf8\u202eevil and some more text"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Sanitize(tc.s)
			}
		})
	}
}

func BenchmarkAppendPeerList1000(b *testing.B) {
	peers := make([]Peer, 1000)
	for i := range peers {
		peers[i] = Peer{Name: fmt.Sprintf("user%d", i), IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256)}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPeerList(buf[:0], peers)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkConnNextFramed(b *testing.B) {
	var stream bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&stream, "b%d (IP: 127.0.0.1) said: bench-t=%d\n", i, 1764000000000000000+i)
	}
	data := stream.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := &Conn{br: bufio.NewReader(bytes.NewReader(data)), framed: true, maxRecord: 1 << 20}
		for {
			if _, err := c.Next(); err != nil {
				break
			}
		}
	}
}

func BenchmarkSplitUnframed(b *testing.B) {
	read := []byte(`[["alice", "10.20.30.11"], ["bob", "10.20.30.12"], ["carol", "10.20.30.13"]]` + strings.Repeat(" bob (IP: 10.20.30.12) said: hi", 3))
	b.ReportAllocs()
	for b.Loop() {
		SplitUnframed(read)
	}
}
