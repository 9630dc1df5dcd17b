package scenarios

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
)

// transcript is one process's output as the engine sees it. Output arrives
// from a pump goroutine; waiters block on the notify channel, which is
// closed and replaced on every change, so no wait ever polls.
type transcript struct {
	mu      sync.Mutex
	out     []byte       // program output only: what expectations match
	log     bytes.Buffer // output with typed lines interleaved: what people read
	cursor  int          // expect consumes output up to here
	eof     bool
	exited  bool
	code    int
	waitErr error
	notify  chan struct{}
}

func newTranscript() *transcript {
	return &transcript{notify: make(chan struct{})}
}

// normalize turns terminal carriage returns into line breaks: the handout's
// clients print "\r[Server] ..." and "\r[Me] ".
func normalize(b []byte) []byte {
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
	t.log.Write(b)
	t.changedLocked()
}

// typed records a line the engine typed, for the human-readable log only.
func (t *transcript) typed(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.log.Len(); n > 0 && t.log.Bytes()[n-1] != '\n' {
		t.log.WriteByte('\n')
	}
	t.log.WriteString("<<< " + line + "\n")
}

func (t *transcript) note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.log.Len(); n > 0 && t.log.Bytes()[n-1] != '\n' {
		t.log.WriteByte('\n')
	}
	t.log.WriteString("### " + msg + "\n")
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

// find searches the output after the cursor; consume moves the cursor past
// the match.
func (t *transcript) find(re *regexp.Regexp, from int, consume bool) (match string, found bool, ch <-chan struct{}) {
	m, _, found, ch := t.findAt(re, from, consume)
	return m, found, ch
}

// findAt is find that also returns the offset just past the match.
func (t *transcript) findAt(re *regexp.Regexp, from int, consume bool) (match string, end int, found bool, ch <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if from < 0 {
		from = t.cursor
	}
	loc := re.FindIndex(t.out[from:])
	if loc == nil {
		return "", from, false, t.notify
	}
	if consume {
		t.cursor = from + loc[1]
	}
	return string(t.out[from+loc[0] : from+loc[1]]), from + loc[1], true, t.notify
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
