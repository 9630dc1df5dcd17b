// Package chattest starts chat servers and scripted clients for tests, in
// the manner of net/http/httptest.
package chattest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
)

// Server is a chat server listening on a loopback port.
type Server struct {
	*chat.Server
	// Addr is the server's address, 127.0.0.1:PORT.
	Addr string
}

// NewServer starts a server with opts on 127.0.0.1:0 and stops it when the
// test ends.
func NewServer(t testing.TB, opts ...chat.Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := chat.NewServer(opts...)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, chat.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return &Server{Server: srv, Addr: ln.Addr().String()}
}

// Client is a scripted client that checks the exact bytes the server
// sends. A legacy client behaves as the handout's Python client does; a
// framed one as chat-client does.
type Client struct {
	t       testing.TB
	nc      net.Conn
	framed  bool
	replied bool
	buf     []byte
	peers   []chat.Peer
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	framed bool
	ip     string
	rcvbuf int
}

// Framed makes the client announce line framing with its first reply.
func Framed() DialOption { return func(c *dialConfig) { c.framed = true } }

// FromIP binds the client to a loopback address such as 127.0.0.11.
func FromIP(ip string) DialOption { return func(c *dialConfig) { c.ip = ip } }

// ReceiveBuffer sets a small socket receive buffer, for slow-reader tests.
func ReceiveBuffer(n int) DialOption { return func(c *dialConfig) { c.rcvbuf = n } }

// Wait bounds each expectation so that a broken server fails the test
// instead of hanging it; it is not a timing assertion.
const Wait = 20 * time.Second

// Dial connects to addr.
func Dial(t testing.TB, addr string, opts ...DialOption) *Client {
	t.Helper()
	var cfg dialConfig
	for _, o := range opts {
		o(&cfg)
	}
	d := net.Dialer{}
	if cfg.ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(cfg.ip)}
	}
	if cfg.rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, cfg.rcvbuf)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Client{t: t, nc: nc, framed: cfg.framed}
}

// Conn returns the client's connection.
func (c *Client) Conn() net.Conn { return c.nc }

// Reply sends an answer to the dialogue. The first reply of a framed
// client carries the marker, after which the server must say Hello.
func (c *Client) Reply(s string) {
	c.t.Helper()
	if c.framed {
		if !c.replied {
			c.replied = true
			c.Send(s + "\x1e\n")
			c.Expect(strings.TrimSuffix(chat.Hello, "\n"))
			return
		}
		c.Send(s + "\n")
		return
	}
	c.Send(s)
}

// Say sends a chat line the way this kind of client does.
func (c *Client) Say(s string) {
	c.t.Helper()
	if c.framed {
		c.Send(s + "\n")
		return
	}
	c.Send(s)
}

// Send writes raw bytes.
func (c *Client) Send(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(Wait))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// Expect checks the next message. For a framed client it is the next
// line; for a legacy client the next len(want) bytes, since the handout's
// server may pack several messages into one read.
func (c *Client) Expect(want string) {
	c.t.Helper()
	var got string
	if c.framed && c.replied {
		got = string(c.line())
	} else {
		got = string(c.bytes(len(want)))
	}
	if diff := Diff(want, got); diff != "" {
		c.t.Fatalf("message mismatch (-want +got):\n%s", diff)
	}
}

// Next returns the next line of a framed client.
func (c *Client) Next() string {
	c.t.Helper()
	return string(c.line())
}

// ExpectPeers checks the next peer-list push. A legacy client must get
// exactly the handout's JSON in a read of its own; a framed client gets a
// full list or a delta, which is applied before comparing.
func (c *Client) ExpectPeers(want ...chat.Peer) {
	c.t.Helper()
	if want == nil {
		want = []chat.Peer{}
	}
	if c.framed {
		line := c.line()
		if len(line) == 0 || line[0] != chat.Marker {
			c.t.Fatalf("got %q, want a peer-list record", line)
		}
		if line[1] == '[' {
			peers, rest, err := chat.ParsePeerList(line[1:])
			if err != nil || len(rest) != 0 {
				c.t.Fatalf("bad peer list %q: %v", line, err)
			}
			c.peers = peers
		} else {
			d, err := chat.ParseDelta(line[1:])
			if err != nil {
				c.t.Fatalf("bad peer delta %q: %v", line, err)
			}
			c.peers = d.Apply(c.peers)
		}
		if diff := Diff(want, c.peers); diff != "" {
			c.t.Fatalf("peer list mismatch (-want +got):\n%s", diff)
		}
		return
	}
	if len(c.buf) != 0 {
		c.t.Fatalf("peer list would share a read with %q", c.buf)
	}
	got := c.read()
	wantBytes := chat.AppendPeerList(nil, want)
	if diff := Diff(string(wantBytes), string(got)); diff != "" {
		c.t.Fatalf("peer list read mismatch (-want +got):\n%s", diff)
	}
}

// ExpectClosed checks that the server closes the connection with nothing
// more to say.
func (c *Client) ExpectClosed() {
	c.t.Helper()
	if len(c.buf) > 0 {
		c.t.Fatalf("unexpected data before close: %q", c.buf)
	}
	c.nc.SetReadDeadline(time.Now().Add(Wait))
	b := make([]byte, 4096)
	n, err := c.nc.Read(b)
	if n > 0 {
		c.t.Fatalf("unexpected data before close: %q", b[:n])
	}
	if err == nil || isTimeout(err) {
		c.t.Fatalf("connection not closed: %v", err)
	}
}

// Close closes the connection.
func (c *Client) Close() { c.nc.Close() }

// Reset closes the connection with a TCP RST instead of a FIN.
func (c *Client) Reset() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.nc.Close()
}

func (c *Client) line() []byte {
	c.t.Helper()
	for {
		if i := bytes.IndexByte(c.buf, '\n'); i >= 0 {
			line := c.buf[:i]
			c.buf = c.buf[i+1:]
			return line
		}
		c.buf = append(c.buf, c.read()...)
	}
}

func (c *Client) bytes(n int) []byte {
	c.t.Helper()
	for len(c.buf) < n {
		c.buf = append(c.buf, c.read()...)
	}
	got := c.buf[:n]
	c.buf = c.buf[n:]
	return got
}

func (c *Client) read() []byte {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(Wait))
	b := make([]byte, 65536)
	n, err := c.nc.Read(b)
	if n == 0 {
		c.t.Fatalf("read: connection ended while a message was expected: %v", err)
	}
	return b[:n]
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Diff returns "" when want equals got, and otherwise the differing lines
// as "-want" and "+got".
func Diff[T any](want, got T) string {
	w, g := fmt.Sprintf("%#v", want), fmt.Sprintf("%#v", got)
	if w == g {
		return ""
	}
	return "-" + w + "\n+" + g + "\n"
}
