package chat

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"time"
)

// client is one connection on the server side.
type client struct {
	s          *Server
	nc         net.Conn
	br         *bufio.Reader
	ip         string
	name       string
	framed     bool
	saidPrefix string

	mu sync.Mutex
	// q holds messages, each ending in "\n". A nil entry asks a legacy
	// client's writer for the current peer list; at most one is pending, so
	// list pushes coalesce and the latest state wins.
	q           [][]byte
	spare       [][]byte
	listPending bool
	closing     bool
	dead        bool

	wake       chan struct{}
	done       chan struct{}
	killOnce   sync.Once
	writerDone chan struct{}
}

func newClient(s *Server, nc net.Conn) *client {
	ip := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return &client{
		s:          s,
		nc:         nc,
		br:         bufio.NewReaderSize(nc, s.maxLine+2),
		ip:         ip,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// line returns msg as a queue entry.
func (c *client) line(msg string) []byte {
	b := make([]byte, 0, len(msg)+1)
	return append(append(b, msg...), '\n')
}

// kill disconnects the client at once.
func (c *client) kill() {
	c.killOnce.Do(func() {
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// finish lets the writer drain the queue and stop.
func (c *client) finish() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.signal()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue queues msg without blocking. A client whose queue is full is
// disconnected: it has stopped reading, and waiting for it would stall
// everyone.
func (c *client) enqueue(msg []byte) {
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return
	}
	if len(c.q) >= c.s.sendQueue {
		c.mu.Unlock()
		c.s.log.Warn("send queue full, dropping client", "name", c.name, "ip", c.ip)
		c.kill()
		return
	}
	c.q = append(c.q, msg)
	c.mu.Unlock()
	c.signal()
}

// enqueuePeers queues a peer-list update: delta for a framed client, or a
// coalesced request for the full list for a legacy client.
func (c *client) enqueuePeers(delta []byte) {
	if c.framed {
		c.enqueue(delta)
		return
	}
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return
	}
	if c.listPending {
		for i, e := range c.q {
			if e == nil {
				c.q = append(c.q[:i], c.q[i+1:]...)
				break
			}
		}
	}
	if len(c.q) >= c.s.sendQueue {
		c.mu.Unlock()
		c.kill()
		return
	}
	c.q = append(c.q, nil)
	c.listPending = true
	c.mu.Unlock()
	c.signal()
}

// writeLoop writes queued messages, coalescing them into few syscalls. A
// legacy client gets its messages without the newline, and a peer list
// alone in its own quiet interval.
func (c *client) writeLoop() {
	defer close(c.writerDone)
	bw := bufio.NewWriterSize(c.nc, 32*1024)
	var lastFlush, lastList time.Time
	flush := func() bool {
		if bw.Buffered() == 0 {
			return true
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.s.writeTimeout))
		if err := bw.Flush(); err != nil {
			c.kill()
			return false
		}
		lastFlush = time.Now()
		return true
	}
	for {
		c.mu.Lock()
		for len(c.q) == 0 && !c.closing && !c.dead {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.done:
				return
			}
			c.mu.Lock()
		}
		if c.dead || (c.closing && len(c.q) == 0) {
			c.mu.Unlock()
			return
		}
		if wait := time.Until(lastFlush.Add(c.s.batchDelay)); c.framed && wait > 0 && !c.closing {
			// Under load, let a burst accumulate: one write of many messages
			// costs the server and the client far less than many small
			// writes. A connection that was quiet is written at once.
			c.mu.Unlock()
			if !c.s.sleep(wait, c.done) {
				return
			}
			c.mu.Lock()
		}
		batch := c.q
		c.q = c.spare[:0]
		c.listPending = false
		c.mu.Unlock()

		for _, e := range batch {
			if c.framed {
				if _, err := bw.Write(e); err != nil {
					c.kill()
					return
				}
				continue
			}
			if !lastList.IsZero() {
				// The previous list must be read alone: stay quiet after it.
				if !flush() || !c.s.sleep(time.Until(lastList.Add(c.s.pace)), c.done) {
					return
				}
				lastList = time.Time{}
			}
			if e == nil {
				if !flush() || !c.s.sleep(time.Until(lastFlush.Add(c.s.pace)), c.done) {
					return
				}
				bw.Write(c.s.legacyList())
				if !flush() {
					return
				}
				lastList = lastFlush
				continue
			}
			bw.Write(e[:len(e)-1])
		}
		if !flush() {
			return
		}
		clear(batch)
		c.mu.Lock()
		c.spare = batch[:0]
		c.mu.Unlock()
	}
}

// sendNow writes msg during the dialogue, before the writer goroutine
// exists.
func (c *client) sendNow(msg string) bool {
	if c.framed {
		msg += "\n"
	}
	return c.sendRaw(msg)
}

func (c *client) sendRaw(msg string) bool {
	c.nc.SetWriteDeadline(time.Now().Add(c.s.writeTimeout))
	_, err := c.nc.Write([]byte(msg))
	return err == nil
}

// readChunk returns what one read from the connection delivered, as a
// recv() would; the bytes are valid until the next read.
func (c *client) readChunk() ([]byte, error) {
	if _, err := c.br.Peek(1); err != nil {
		return nil, err
	}
	n := c.br.Buffered()
	b, _ := c.br.Peek(n)
	c.br.Discard(n)
	return b, nil
}

// readFirst reads the first reply and detects the framing marker: a reply
// ending in Marker "\n" comes from a framed client.
func (c *client) readFirst() (line []byte, tooLong bool, err error) {
	return c.readLine(true)
}

// readLine reads one reply as a recv() would, keeping what follows a
// newline for the next read.
func (c *client) readLine(detect bool) (line []byte, tooLong bool, err error) {
	if _, err := c.br.Peek(1); err != nil {
		return nil, false, err
	}
	b, _ := c.br.Peek(c.br.Buffered())
	i := bytes.IndexByte(b, '\n')
	if i < 0 && len(b) > c.s.maxLine {
		return nil, true, bufio.ErrBufferFull
	}
	if i < 0 {
		line = bytes.Clone(b)
		c.br.Discard(len(b))
		return line, false, nil
	}
	if i > c.s.maxLine && len(bytes.TrimRight(b[:i], "\r")) > c.s.maxLine {
		return nil, true, bufio.ErrBufferFull
	}
	line = bytes.Clone(bytes.TrimRight(b[:i], "\r"))
	c.br.Discard(i + 1)
	if detect && len(line) > 0 && line[len(line)-1] == Marker {
		c.framed = true
		line = line[:len(line)-1]
	}
	return line, false, nil
}

// readReply reads one answer during the dialogue.
func (c *client) readReply() (line []byte, tooLong bool, err error) {
	if c.framed {
		b, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull || len(b) > c.s.maxLine+2 {
			return nil, true, bufio.ErrBufferFull
		}
		if err != nil && len(b) == 0 {
			return nil, false, err
		}
		line := bytes.TrimRight(b, "\r\n")
		if len(line) > c.s.maxLine {
			return nil, true, bufio.ErrBufferFull
		}
		return bytes.Clone(line), false, nil
	}
	return c.readLine(false)
}
