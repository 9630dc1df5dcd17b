package chat

import (
	"sync"
	"sync/atomic"
)

// entry is one message in the broadcast log, or one message queued for a
// single client before its log entries.
type entry struct {
	// from does not get the entry: a sender does not hear its own chat,
	// a joining user gets no notice of its own join.
	from *client
	// text is one line ending in "\n", or nil.
	text []byte
	// delta is the peer-delta record (with its newline) that framed
	// clients get after text; peers marks a change of the peer list, which
	// legacy clients get as the whole list.
	delta []byte
	peers bool
}

// logSegSize is the number of entries in one segment of the log.
const logSegSize = 256

type logSeg struct {
	entries [logSegSize]entry
	next    *logSeg
}

// broadcastLog is the server's single queue of broadcasts. Every message
// is stored once; each client reads it through its own cursor. Segments
// that no cursor points into any more are garbage, so memory is bounded
// by the slowest client, and a client that falls more than the send queue
// behind is dropped.
type broadcastLog struct {
	mu   sync.Mutex
	tail *logSeg
	n    int // entries used in tail
	// seq is the number of entries ever appended; entries below it are
	// complete and never change.
	seq atomic.Uint64
}

func newBroadcastLog() *broadcastLog {
	return &broadcastLog{tail: new(logSeg)}
}

// head returns the position after the last complete entry.
func (l *broadcastLog) head() uint64 { return l.seq.Load() }

// append adds e and returns the position after it.
func (l *broadcastLog) append(e entry) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(e)
}

func (l *broadcastLog) appendLocked(e entry) uint64 {
	if l.n == logSegSize {
		seg := new(logSeg)
		l.tail.next = seg
		l.tail, l.n = seg, 0
	}
	l.tail.entries[l.n] = e
	l.n++
	seq := l.seq.Load() + 1
	l.seq.Store(seq)
	return seq
}

// cursorLocked returns a cursor at the head. l.mu is held.
func (l *broadcastLog) cursorLocked() cursor {
	return cursor{seg: l.tail, i: l.n, seq: l.seq.Load()}
}

// cursor is a reader's position in the log.
type cursor struct {
	seg *logSeg
	i   int
	seq uint64
}

// next returns the entry at the cursor and moves past it. The caller has
// checked that seq is below the log's head.
func (c *cursor) next() *entry {
	if c.i == logSegSize {
		c.seg, c.i = c.seg.next, 0
	}
	e := &c.seg.entries[c.i]
	c.i++
	c.seq++
	return e
}
