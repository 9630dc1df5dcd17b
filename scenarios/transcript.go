package scenarios

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// What a transcript keeps of one process's output, so that a program that
// prints without end costs the grader a fixed amount of memory (about 3 MiB
// a process) and a bounded transcript file.
const (
	// matchWindow is how much of the latest output expectations can still
	// match: at least this much, at most twice it. Output older than that
	// is dropped; a chat program's answer is a line or two, and waiters
	// search every chunk as it arrives, so only a program printing
	// megabytes between two of its lines can hide one.
	matchWindow = 1 << 20
	// logHead and logTail are how much of the start and of the end of the
	// human-readable log is kept; what lies between is replaced by one
	// line saying how many bytes were dropped.
	logHead = 256 << 10
	logTail = 256 << 10
)

// transcript is one process's output as the engine sees it. Output arrives
// from a pump goroutine; waiters block on the notify channel, which is
// closed and replaced on every change, so no wait ever polls. Offsets
// (cursor, position, findAt, seek) count every byte the program printed,
// including those no longer kept.
type transcript struct {
	mu      sync.Mutex
	out     []byte     // the latest program output, from offset base: what expectations match
	base    int        // the offset of out[0]; output before it is dropped
	log     boundedLog // output with typed lines interleaved: what people read
	midLine bool       // the log's last line is the program's, unfinished
	cursor  int        // expect consumes output up to here
	eof     bool
	exited  bool
	code    int
	waitErr error
	notify  chan struct{}
}

func newTranscript() *transcript {
	return &transcript{notify: make(chan struct{}), log: boundedLog{headMax: logHead, tailMax: logTail}}
}

// normalize turns terminal carriage returns into line breaks: the handout's
// clients print "\r[Server] ..." and "\r[Me] ".
func normalize(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

func (t *transcript) changedLocked() {
	close(t.notify)
	t.notify = make(chan struct{})
}

func (t *transcript) write(b []byte) {
	b = normalize(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.out = append(t.out, b...)
	if len(t.out) > 2*matchWindow {
		// Dropping a window's worth at a time moves each byte at most
		// once more, however small the writes.
		cut := len(t.out) - matchWindow
		t.out = t.out[:copy(t.out, t.out[cut:])]
		t.base += cut
		t.cursor = max(t.cursor, t.base)
	}
	t.log.write(t.marked(b))
	t.changedLocked()
}

// marked is the program's output b as the log shows it: a line of the
// program's that starts as the engine's own lines do ("<<< " typed, "### "
// a note) gets a "\" in front, and so does one that starts with "\"
// itself, so that nothing a program prints reads as the engine's. The
// first byte decides, so that a line split over two writes is marked all
// the same.
func (t *transcript) marked(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	var out []byte
	start := 0
	for i := 0; i < len(b); i++ {
		atStart := i == 0 && !t.midLine || i > 0 && b[i-1] == '\n'
		if atStart && (b[i] == '<' || b[i] == '#' || b[i] == '\\') {
			out = append(append(out, b[start:i]...), '\\')
			start = i
		}
	}
	t.midLine = b[len(b)-1] != '\n'
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}

// typed records a line the engine typed, for the human-readable log only.
func (t *transcript) typed(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log.startLine()
	t.log.write([]byte("<<< " + line + "\n"))
	t.midLine = false
}

func (t *transcript) note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log.startLine()
	t.log.write([]byte("### " + msg + "\n"))
	t.midLine = false
}

func (t *transcript) markEOF() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eof = true
	t.changedLocked()
}

func (t *transcript) finish(code int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eof, t.exited, t.code, t.waitErr = true, true, code, err
	t.changedLocked()
}

// find searches the output after the cursor (from < 0) or after from;
// consume moves the cursor past the match. Output no longer kept is not
// searched.
func (t *transcript) find(re *regexp.Regexp, from int, consume bool) (match string, found bool, ch <-chan struct{}) {
	m, _, found, ch := t.findAt(re, from, consume)
	return m, found, ch
}

// outputFrom returns a copy of the program's output from absolute offset
// from (clamped to what the matching window still holds).
func (t *transcript) outputFrom(from int) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	from = min(max(from, t.base), t.base+len(t.out))
	return append([]byte(nil), t.out[from-t.base:]...)
}

// findAt is find that also returns the offset just past the match.
func (t *transcript) findAt(re *regexp.Regexp, from int, consume bool) (match string, end int, found bool, ch <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if from < 0 {
		from = t.cursor
	}
	from = min(max(from, t.base), t.base+len(t.out))
	rest := t.out[from-t.base:]
	loc := re.FindIndex(rest)
	if loc == nil {
		return "", from, false, t.notify
	}
	if consume {
		t.cursor = from + loc[1]
	}
	return string(rest[loc[0]:loc[1]]), from + loc[1], true, t.notify
}

func (t *transcript) position() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cursor
}

type exitState struct {
	eof, exited bool
	code        int
	err         error
}

func (t *transcript) state() (exitState, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return exitState{t.eof, t.exited, t.code, t.waitErr}, t.notify
}

// text is the human-readable log; one that outgrew its bounds has a line
// saying how many bytes were dropped in its middle.
func (t *transcript) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.log.String()
}

// lastLines returns up to n of the last non-empty lines of the log.
func (t *transcript) lastLines(n int) []string {
	var lines []string
	for _, l := range strings.Split(t.text(), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// seek moves the cursor forward to pos.
func (t *transcript) seek(pos int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pos > t.cursor {
		t.cursor = pos
	}
}

// boundedLog keeps the start and the end of a text that may grow without
// bound: its first headMax bytes and its last tailMax.
type boundedLog struct {
	headMax, tailMax int
	head             []byte
	// tail is what followed head, less what was dropped. Once anything
	// was, it holds more than tailMax bytes, so that String knows whether
	// its last tailMax start a line.
	tail    []byte
	dropped int
}

func (l *boundedLog) write(b []byte) {
	if n := min(len(b), l.headMax-len(l.head)); n > 0 {
		l.head = append(l.head, b[:n]...)
		b = b[n:]
	}
	if len(b) > l.tailMax {
		l.dropped += len(l.tail) + len(b) - (l.tailMax + 1)
		l.tail = append(l.tail[:0], b[len(b)-(l.tailMax+1):]...)
		return
	}
	l.tail = append(l.tail, b...)
	if len(l.tail) > 2*l.tailMax {
		// Dropping a tail's worth at a time moves each byte at most once
		// more, however small the writes.
		cut := len(l.tail) - (l.tailMax + 1)
		l.tail = l.tail[:copy(l.tail, l.tail[cut:])]
		l.dropped += cut
	}
}

// startLine ends the last line if it is unfinished, so that what comes next
// starts a line of its own.
func (l *boundedLog) startLine() {
	last := l.head
	if len(l.tail) > 0 {
		last = l.tail
	}
	if n := len(last); n > 0 && last[n-1] != '\n' {
		l.write([]byte{'\n'})
	}
}

// String is the text with what was dropped from its middle replaced by a
// line saying how many bytes that was.
func (l *boundedLog) String() string {
	excess := len(l.tail) - l.tailMax
	if excess <= 0 {
		return string(l.head) + string(l.tail)
	}
	tail, dropped := l.tail[excess:], l.dropped+excess
	if l.tail[excess-1] != '\n' {
		// Start at a line rather than in the middle of one.
		if i := bytes.IndexByte(tail, '\n'); i >= 0 && i < len(tail)-1 {
			tail, dropped = tail[i+1:], dropped+i+1
		}
	}
	var b strings.Builder
	b.Grow(len(l.head) + len(tail) + 64)
	b.Write(l.head)
	if n := len(l.head); n > 0 && l.head[n-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "… %d bytes dropped …\n", dropped)
	b.Write(tail)
	return b.String()
}
