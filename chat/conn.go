package chat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// client is one connection on the server side.
type client struct {
	s          *Server
	nc         net.Conn
	br         *bufio.Reader
	ip         string
	name       string
	key        string // NameKey(name)
	framed     bool
	saidPrefix string
	// raw reads the socket and writes what fits in its buffer without
	// blocking; nil when the connection has no non-blocking file
	// descriptor, and then the writer goroutine does every write.
	raw *rawSocket

	mu sync.Mutex
	// cur is the next broadcast-log entry this client has not been sent.
	cur cursor
	// initial holds the greeting (and, in p2p and auth modes, the first
	// peer list): it goes out before any log entry.
	initial []entry
	// pending holds bytes that a write could not finish.
	pending []byte
	owner   writeOwner
	// closing asks the writer to send the log up to end, then final, and
	// stop.
	closing bool
	end     uint64
	final   []byte
	dead    bool

	wake       chan struct{}
	done       chan struct{}
	killOnce   sync.Once
	writerDone chan struct{}
}

// writeOwner says who may write to a connection right now, so that bytes
// from the flusher and from the client's writer goroutine never interleave.
type writeOwner int

const (
	ownerNone    writeOwner = iota
	ownerFlusher            // a non-blocking write by the flusher is under way
	ownerWriter             // the client's writer goroutine writes, blocking
)

// maxBatch bounds the bytes gathered for one write.
const maxBatch = 64 << 10

func newClient(s *Server, nc net.Conn) *client {
	ip := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	c := &client{
		s:          s,
		nc:         nc,
		ip:         ip,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	var src io.Reader = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			nb := false
			if rc.Control(func(fd uintptr) { nb = nonblocking(fd) }) == nil && nb {
				c.raw = newRawSocket(rc)
				src = c.raw
			}
		}
	}
	c.br = bufio.NewReaderSize(src, s.maxLine+2)
	return c
}

// rawSocket reads and writes a non-blocking socket with readNonblock and
// writeNonblock (rawio_*.go) through its RawConn, which keeps the
// descriptor open meanwhile. Its callbacks are bound once, so a read or a
// write allocates nothing. Only the client's reader goroutine reads, and
// only the owner of the connection writes (see writeOwner), so each half
// has one user at a time.
type rawSocket struct {
	rc syscall.RawConn

	wbuf  []byte
	wn    int
	werr  error
	wfunc func(fd uintptr) bool

	rbuf  []byte
	rn    int
	rerr  error
	rfunc func(fd uintptr) bool
}

func newRawSocket(rc syscall.RawConn) *rawSocket {
	s := &rawSocket{rc: rc}
	s.wfunc, s.rfunc = s.writeFD, s.readFD
	return s
}

func (s *rawSocket) writeFD(fd uintptr) bool {
	for {
		s.wn, s.werr = writeNonblock(fd, s.wbuf)
		if !errors.Is(s.werr, syscall.EINTR) {
			return true // never wait: the caller hands a full socket to the writer
		}
	}
}

// tryWrite writes b once: it returns how much the kernel took, which is
// less than len(b) when the socket buffer is full.
func (s *rawSocket) tryWrite(b []byte) (int, error) {
	s.wbuf = b
	err := s.rc.Write(s.wfunc)
	s.wbuf = nil
	n, werr := s.wn, s.werr
	if errors.Is(werr, syscall.EAGAIN) {
		return 0, nil
	}
	if err == nil {
		err = werr
	}
	return max(n, 0), err
}

func (s *rawSocket) readFD(fd uintptr) bool {
	for {
		s.rn, s.rerr = readNonblock(fd, s.rbuf)
		switch {
		case errors.Is(s.rerr, syscall.EINTR):
			continue
		case errors.Is(s.rerr, syscall.EAGAIN):
			return false // wait in the network poller until it is readable
		}
		return true
	}
}

// Read reads as net.Conn's Read does; read deadlines and Close apply in
// the same way.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rbuf = p
	err := s.rc.Read(s.rfunc)
	s.rbuf = nil
	switch {
	case err != nil:
		return 0, err
	case s.rerr != nil:
		return 0, s.rerr
	case s.rn == 0:
		return 0, io.EOF
	}
	return s.rn, nil
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

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// finish lets the writer send what the client is owed up to log position
// end, then final, and stop.
func (c *client) finish(end uint64, final []byte) {
	c.mu.Lock()
	c.closing = true
	c.end = end
	c.final = final
	if c.owner == ownerNone {
		c.owner = ownerWriter
	}
	c.mu.Unlock()
	c.signal()
}

// appendBatch appends what the client is owed, up to limit, in its wire
// form for a framed client, stopping after about maxBatch bytes. c.mu is
// held.
func (c *client) appendBatch(dst []byte, limit uint64) []byte {
	for len(c.initial) > 0 && len(dst) < maxBatch {
		dst = append(dst, c.initial[0].text...)
		c.initial = c.initial[1:]
	}
	for c.cur.seq < limit && len(dst) < maxBatch {
		e := c.cur.next()
		if e.from != c {
			dst = append(dst, e.text...)
			dst = append(dst, e.delta...)
		}
	}
	return dst
}

// limit is the log position up to which the client is owed entries.
func (c *client) limit() uint64 {
	if c.closing {
		return c.end
	}
	return c.s.log.head()
}

// owed reports whether anything is waiting for the client. c.mu is held.
func (c *client) owed() bool {
	return len(c.initial) > 0 || len(c.pending) > 0 || c.cur.seq < c.limit()
}

// flush is the flusher's turn at a framed client: it writes what the
// client is owed without blocking and hands the rest to the client's
// writer goroutine when the socket is full. scratch is reused between
// clients; flush returns it.
func (c *client) flush(scratch []byte) []byte {
	c.mu.Lock()
	if c.dead || c.owner != ownerNone || !c.owed() {
		c.mu.Unlock()
		return scratch
	}
	if !c.framed || c.raw == nil || c.closing {
		c.owner = ownerWriter
		c.mu.Unlock()
		c.signal()
		return scratch
	}
	c.owner = ownerFlusher
	for {
		scratch = c.appendBatch(scratch[:0], c.limit())
		c.mu.Unlock()
		n, err := c.raw.tryWrite(scratch)
		if err != nil {
			c.kill()
			return scratch
		}
		c.mu.Lock()
		if n < len(scratch) {
			// The socket is full: the writer waits for room, so the flusher
			// never does.
			c.pending = append(c.pending[:0], scratch[n:]...)
			c.owner = ownerWriter
			c.mu.Unlock()
			c.signal()
			return scratch
		}
		if !c.owed() {
			break
		}
	}
	c.owner = ownerNone
	if c.closing {
		c.owner = ownerWriter
		c.mu.Unlock()
		c.signal()
		return scratch
	}
	c.mu.Unlock()
	return scratch
}

// writeLoop is the client's writer goroutine. It works only when it owns
// the connection: for a framed client after the flusher found the socket
// full, and for a legacy client always, because a legacy client's peer
// lists need quiet intervals around them.
func (c *client) writeLoop() {
	defer close(c.writerDone)
	var lw *legacyWriter
	if !c.framed {
		lw = &legacyWriter{c: c, bw: bufio.NewWriterSize(c.nc, 32*1024)}
	}
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.owner != ownerWriter {
			c.mu.Unlock()
			continue
		}
		c.mu.Unlock()
		var ok bool
		if lw != nil {
			ok = lw.drain()
		} else {
			ok = c.drainFramed()
		}
		if !ok {
			return
		}
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return
		}
		c.owner = ownerNone
		c.mu.Unlock()
		// More may have been logged while this goroutine wrote.
		c.s.kick()
	}
}

// write writes b with the write timeout; on failure the client is killed.
func (c *client) write(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.s.writeTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.kill()
		return false
	}
	return true
}

// drainFramed writes, blocking, everything the client is owed; when
// closing, it ends with the final message. It reports false when the
// client is gone or closed.
func (c *client) drainFramed() bool {
	var buf []byte
	for {
		c.mu.Lock()
		if c.dead {
			c.mu.Unlock()
			return false
		}
		buf = append(buf[:0], c.pending...)
		c.pending = c.pending[:0]
		buf = c.appendBatch(buf, c.limit())
		closing := c.closing
		c.mu.Unlock()
		if len(buf) == 0 {
			if closing {
				c.write(c.final)
				return false
			}
			return true
		}
		if !c.write(buf) {
			return false
		}
	}
}

// legacyWriter writes to a handout-style client: messages without their
// newline, and every peer list alone in its own quiet interval. Peer-list
// changes that arrive together collapse into one list with the latest
// state.
type legacyWriter struct {
	c                   *client
	bw                  *bufio.Writer
	lastFlush, lastList time.Time
	items               []legacyItem
}

// legacyItem is a message, or a peer list when text is nil.
type legacyItem struct{ text []byte }

func (w *legacyWriter) flush() bool {
	if w.bw.Buffered() == 0 {
		return true
	}
	w.c.nc.SetWriteDeadline(time.Now().Add(w.c.s.writeTimeout))
	if err := w.bw.Flush(); err != nil {
		w.c.kill()
		return false
	}
	w.lastFlush = time.Now()
	return true
}

// collect moves what the client is owed into w.items, with all peer-list
// changes but the last dropped. c.mu is held.
func (w *legacyWriter) collect() {
	c := w.c
	w.items = w.items[:0]
	list := -1
	add := func(e *entry) {
		if e.text != nil {
			w.items = append(w.items, legacyItem{text: e.text[:len(e.text)-1]})
		}
		if e.peers {
			if list >= 0 {
				w.items = append(w.items[:list], w.items[list+1:]...)
			}
			list = len(w.items)
			w.items = append(w.items, legacyItem{})
		}
	}
	for i := range c.initial {
		add(&c.initial[i])
	}
	c.initial = nil
	for limit := c.limit(); c.cur.seq < limit && len(w.items) < c.s.sendQueue; {
		if e := c.cur.next(); e.from != c {
			add(e)
		}
	}
}

// drain writes everything the client is owed, pacing peer lists. It
// reports false when the client is gone or closed.
func (w *legacyWriter) drain() bool {
	c := w.c
	for {
		c.mu.Lock()
		if c.dead {
			c.mu.Unlock()
			return false
		}
		w.collect()
		closing := c.closing
		c.mu.Unlock()
		if len(w.items) == 0 {
			if closing {
				if !w.waitAfterList() {
					return false
				}
				w.bw.Write(bytes.TrimSuffix(c.final, []byte("\n")))
				w.flush()
				return false
			}
			return true
		}
		for _, it := range w.items {
			if !w.waitAfterList() {
				return false
			}
			if it.text == nil {
				if !w.flush() || !c.s.sleep(time.Until(w.lastFlush.Add(c.s.pace)), c.done) {
					return false
				}
				w.bw.Write(c.s.legacyList())
				if !w.flush() {
					return false
				}
				w.lastList = w.lastFlush
				continue
			}
			w.bw.Write(it.text)
		}
		if !w.flush() {
			return false
		}
	}
}

// waitAfterList keeps the connection quiet for the pace after a list, so
// the list is read alone.
func (w *legacyWriter) waitAfterList() bool {
	if w.lastList.IsZero() {
		return true
	}
	if !w.flush() || !w.c.s.sleep(time.Until(w.lastList.Add(w.c.s.pace)), w.c.done) {
		return false
	}
	w.lastList = time.Time{}
	return true
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

// lag returns how many log entries a client whose writer is stuck (or,
// for a legacy client, pacing) has not been sent yet. A client the flusher
// can write to is never behind, however much was logged since its last
// turn.
func (c *client) lag(head uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing || c.owner != ownerWriter || head < c.cur.seq {
		return 0
	}
	return head - c.cur.seq
}
