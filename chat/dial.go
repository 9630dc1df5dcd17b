package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// MessageKind says what a Message from the server carries.
type MessageKind int

const (
	// KindText is a notice or chat message to show to the user.
	KindText MessageKind = iota + 1
	// KindPeers is a new peer list (full or after applying a delta).
	KindPeers
)

// Message is one message received from the server.
type Message struct {
	Kind  MessageKind
	Text  string // KindText, neutralised with Sanitize
	Peers []Peer // KindPeers: the whole current list
	Size  int    // bytes this message took on the wire
}

// RejectedError is returned by Conn.Handshake when the server refuses the
// client; Msg is the server's explanation.
type RejectedError struct{ Msg string }

func (e *RejectedError) Error() string { return "server refused: " + e.Msg }

// Asker answers one prompt of the server's dialogue.
type Asker func(prompt string) (string, error)

// Conn is the client side of a chat connection. It speaks the framed
// protocol to servers that announce it and falls back to the handout's
// unframed messages otherwise.
type Conn struct {
	nc        net.Conn
	br        *bufio.Reader
	framed    bool
	maxRecord int
	peers     []Peer
	peerIndex map[string]int
	pending   []Message
}

// DialOption configures Dial.
type DialOption func(*net.Dialer, *Conn)

// WithLocalIP binds the client's TCP socket to ip.
func WithLocalIP(ip string) DialOption {
	return func(d *net.Dialer, _ *Conn) {
		if ip != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
		}
	}
}

// WithMaxRecord bounds one message from the server (default 4 MiB, enough
// for the peer list of tens of thousands of users).
func WithMaxRecord(n int) DialOption { return func(_ *net.Dialer, c *Conn) { c.maxRecord = n } }

// Dial connects to a chat server at addr (host:port; host may be a DNS
// name).
func Dial(ctx context.Context, addr string, opts ...DialOption) (*Conn, error) {
	c := &Conn{maxRecord: 4 << 20}
	d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3}}
	for _, o := range opts {
		o(d, c)
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 64*1024)
	return c, nil
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Framed reports whether the server announced the framed protocol.
func (c *Conn) Framed() bool { return c.framed }

// Peers returns the latest peer list.
func (c *Conn) Peers() []Peer { return c.peers }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// successPrefixes start the server's messages that end the dialogue
// successfully.
var successPrefixes = []string{"Your username (", "Registration successful", "Login successful"}

// Handshake runs the dialogue: each prompt the server sends (a message
// ending in ':') is passed to ask, up to prompts of them, and the answer
// is sent; the first answer carries the framing marker. It returns the
// server's success message, or a *RejectedError.
func (c *Conn) Handshake(prompts int, ask Asker) (string, error) {
	answered := 0
	for {
		m, err := c.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("server closed the connection during the dialogue")
			}
			return "", err
		}
		if m.Kind != KindText {
			continue
		}
		if answered < prompts && strings.HasSuffix(strings.TrimRight(m.Text, " "), ":") {
			ans, err := ask(m.Text)
			if err != nil {
				return "", err
			}
			ans = PyStrip(ans)
			if answered == 0 {
				err = c.writeRaw(ans + string(rune(Marker)) + "\n")
				if err == nil {
					err = c.detectFraming()
				}
			} else {
				err = c.Send(ans)
			}
			if err != nil {
				return "", err
			}
			answered++
			continue
		}
		for _, p := range successPrefixes {
			if strings.HasPrefix(m.Text, p) {
				return m.Text, nil
			}
		}
		return "", &RejectedError{Msg: m.Text}
	}
}

// detectFraming reads the server's first bytes after the first answer:
// Hello means the server frames its messages.
func (c *Conn) detectFraming() error {
	b, err := c.br.Peek(1)
	if err != nil {
		return nil // Next reports the closed connection.
	}
	if b[0] != Marker {
		return nil
	}
	line, err := c.readLine()
	if err != nil {
		return err
	}
	if string(line) == strings.TrimSuffix(Hello, "\n") {
		c.framed = true
		return nil
	}
	c.pending = append(c.pending, c.control(line)...)
	return nil
}

// Send sends one chat line or answer. In framed mode it ends with "\n"; to
// an unframed server it is sent bare, as a handout client does.
func (c *Conn) Send(text string) error {
	if c.framed {
		return c.writeRaw(text + "\n")
	}
	return c.writeRaw(text)
}

func (c *Conn) writeRaw(s string) error {
	if _, err := io.WriteString(c.nc, s); err != nil {
		return fmt.Errorf("send to server: %w", err)
	}
	return nil
}

// Next returns the next message from the server.
func (c *Conn) Next() (Message, error) {
	for len(c.pending) == 0 {
		if c.framed {
			line, err := c.readLine()
			if err != nil {
				return Message{}, err
			}
			if len(line) > 0 && line[0] == Marker {
				c.pending = append(c.pending, c.control(line)...)
				continue
			}
			return Message{Kind: KindText, Text: Sanitize(string(line)), Size: len(line) + 1}, nil
		}
		if err := c.readUnframed(); err != nil {
			return Message{}, err
		}
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, nil
}

// readLine reads one framed record without its newline.
func (c *Conn) readLine() ([]byte, error) {
	var long []byte
	for {
		b, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(b) > c.maxRecord {
				return nil, fmt.Errorf("read from server: message longer than %d bytes", c.maxRecord)
			}
			long = append(long, b...)
			continue
		}
		if err != nil {
			if err == io.EOF && len(b)+len(long) > 0 {
				return append(long, b...), nil
			}
			return nil, err
		}
		if long != nil {
			b = append(long, b...)
		}
		return bytes.TrimRight(b, "\r\n"), nil
	}
}

// control handles a framed control record (Marker then a JSON list or
// delta) and returns the messages it yields.
func (c *Conn) control(line []byte) []Message {
	body := line[1:]
	switch {
	case len(body) > 0 && body[0] == '[':
		peers, _, err := ParsePeerList(body)
		if err != nil {
			return nil
		}
		c.peers = peers
		c.reindex()
	case len(body) > 0 && body[0] == '{':
		d, err := ParseDelta(body)
		if err != nil {
			return nil
		}
		c.applyDelta(d)
	default:
		return nil
	}
	return []Message{{Kind: KindPeers, Peers: c.peers, Size: len(line) + 1}}
}

// readUnframed reads what one recv() returns from an unframed server and
// splits it into messages. A peer list that does not fit in one read is
// completed from the following reads.
func (c *Conn) readUnframed() error {
	if _, err := c.br.Peek(1); err != nil {
		return err
	}
	n := c.br.Buffered()
	b, _ := c.br.Peek(n)
	chunk := bytes.Clone(b)
	c.br.Discard(n)
	for {
		t := pyStrip(chunk)
		if len(t) == 0 || t[0] != '[' || len(chunk) > c.maxRecord {
			break
		}
		if _, _, err := ParsePeerList(t); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if _, err := c.br.Peek(1); err != nil {
			break
		}
		more, _ := c.br.Peek(c.br.Buffered())
		chunk = append(chunk, more...)
		c.br.Discard(len(more))
	}
	for _, p := range SplitUnframed(chunk) {
		if p.IsList {
			c.peers = p.Peers
			c.pending = append(c.pending, Message{Kind: KindPeers, Peers: p.Peers, Size: len(chunk)})
			continue
		}
		c.pending = append(c.pending, Message{Kind: KindText, Text: p.Text, Size: len(chunk)})
	}
	return nil
}

// applyDelta updates the peer list in place where that is safe: adding a
// new name appends past the end of every slice already handed out, so
// their readers never see it; anything else builds a new slice. Joins, the
// common case, cost O(1) instead of a copy of the whole list.
func (c *Conn) applyDelta(d Delta) {
	if c.peerIndex != nil && len(d.Add) == 0 && len(d.Del) == 1 {
		// One leave: copy the list without that peer and shift the index
		// of the peers after it, instead of rebuilding the index.
		i, ok := c.peerIndex[d.Del[0]]
		if !ok {
			return
		}
		peers := make([]Peer, 0, len(c.peers)-1)
		peers = append(append(peers, c.peers[:i]...), c.peers[i+1:]...)
		delete(c.peerIndex, d.Del[0])
		for j := i; j < len(peers); j++ {
			c.peerIndex[peers[j].Name] = j
		}
		c.peers = peers
		return
	}
	if c.peerIndex == nil || len(d.Del) > 0 {
		c.peers = d.Apply(c.peers)
		c.reindex()
		return
	}
	for _, a := range d.Add {
		if _, ok := c.peerIndex[a.Name]; ok {
			c.peers = d.Apply(c.peers)
			c.reindex()
			return
		}
	}
	for _, a := range d.Add {
		c.peerIndex[a.Name] = len(c.peers)
		c.peers = append(c.peers, a)
	}
}

func (c *Conn) reindex() {
	c.peerIndex = make(map[string]int, len(c.peers))
	for i, p := range c.peers {
		c.peerIndex[p.Name] = i
	}
}
