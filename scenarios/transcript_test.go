package scenarios

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// lines returns n lines of exactly 64 bytes each, numbered from first.
func lines(first, n int) []byte {
	var b bytes.Buffer
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "line %058d\n", i)
	}
	return b.Bytes()
}

// flood writes n bytes of 64-byte lines to tr in 32 KiB chunks, as the
// pump does, starting with line number first.
func flood(tr *transcript, first, n int) {
	const chunk = 32 << 10
	for written := 0; written < n; written += chunk {
		tr.write(lines(first+written/64, min(chunk, n-written)/64))
	}
}

func TestTranscriptMemoryStaysBoundedUnderAFlood(t *testing.T) {
	// 64 MiB is 64 match windows and 256 log tails: far past what the
	// buffers may keep, so any growth with the output shows, while the
	// race detector (60-90 times slower here) still runs it in seconds.
	const total = 64 << 20
	const chunk = 32 << 10
	// One chunk, written over and over: generating 64 MiB of distinct
	// lines would cost more than the transcript.
	data := lines(0, chunk/64)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	tr := newTranscript()
	tr.note("server on webserver: python3 chatroom_server.py")
	maxOut, maxLog := 0, 0
	for written := 0; written < total; written += chunk {
		tr.write(data)
		maxOut = max(maxOut, cap(tr.out))
		maxLog = max(maxLog, cap(tr.log.head)+cap(tr.log.tail))
	}
	tr.write([]byte("ready 42\n"))

	runtime.GC()
	runtime.ReadMemStats(&after)
	// The buffers hold at most 2*matchWindow and logHead+2*logTail bytes;
	// append may give them a quarter more room than that.
	if limit := (2*matchWindow + chunk) * 5 / 4; maxOut > limit {
		t.Errorf("matching buffer grew to %d bytes, want at most %d", maxOut, limit)
	}
	if limit := (logHead + 2*logTail + chunk) * 5 / 4; maxLog > limit {
		t.Errorf("log grew to %d bytes, want at most %d", maxLog, limit)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 16<<20 {
		t.Errorf("heap grew by %d MiB writing %d MiB, want a few", grown>>20, total>>20)
	}
	m, end, found, _ := tr.findAt(regexp.MustCompile(`ready (\d+)`), -1, true)
	if !found || m != "ready 42" || end != total+len("ready 42") {
		t.Errorf("findAt = %q, %d, %v; want %q, %d, true", m, end, found, "ready 42", total+len("ready 42"))
	}
	if got := tr.position(); got != end {
		t.Errorf("position = %d, want %d", got, end)
	}
	if text := tr.text(); len(text) > logHead+logTail+100 {
		t.Errorf("log text is %d bytes, want at most about %d", len(text), logHead+logTail)
	}
}

func TestTranscriptMatchesAcrossTheWindow(t *testing.T) {
	const big = 3 * matchWindow // enough to drop output at least once
	type step struct {
		write  string // output to write, or
		flood  int    // bytes of 64-byte lines to write
		find   string // regexp to search for from the cursor (consuming) ...
		from   int    // ... or from this offset, when findFrom is set
		seek   int    // moves the cursor forward, when set
		isFrom bool
		// what the search should give
		wantMatch string
		wantEnd   int
		wantPos   int // position() after the step; -1 to skip
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "a match after a flood is found at its absolute offset",
			steps: []step{
				{write: "hello\n", wantPos: 0},
				{flood: big, wantPos: -1},
				{write: "Welcome alice\n", wantPos: -1},
				{find: `Welcome \w+`, wantMatch: "Welcome alice", wantEnd: 6 + big + len("Welcome alice"), wantPos: 6 + big + len("Welcome alice")},
			},
		},
		{
			name: "a match split over two writes after a flood",
			steps: []step{
				{flood: big, wantPos: -1},
				{write: "[Server] bob jo", wantPos: -1},
				{write: "ined\n", wantPos: -1},
				{find: `bob joined`, wantMatch: "bob joined", wantEnd: big + len("[Server] bob joined"), wantPos: big + len("[Server] bob joined")},
			},
		},
		{
			name: "output dropped from the window no longer matches",
			steps: []step{
				{write: "secret\n", wantPos: 0},
				{flood: big, wantPos: -1},
				{find: `secret`, wantEnd: -1, wantPos: -1},
			},
		},
		{
			name: "a cursor behind the window is moved to its start",
			steps: []step{
				{write: "hello\n"},
				{find: `hello`, wantMatch: "hello", wantEnd: 5, wantPos: 5},
				{flood: big, wantPos: big + 6 - windowAfter(big+6)},
			},
		},
		{
			name: "searching from an offset behind the window searches the window",
			steps: []step{
				{write: "hello\n"},
				{flood: big, wantPos: -1},
				{write: "bye\n", wantPos: -1},
				{isFrom: true, from: 3, find: `bye|hello`, wantMatch: "bye", wantEnd: 6 + big + 3, wantPos: -1},
			},
		},
		{
			name: "seek moves the cursor in absolute offsets",
			steps: []step{
				{flood: big, wantPos: -1},
				{write: "a1 a2\n", wantPos: -1},
				{seek: big + 3, wantPos: big + 3},
				{find: `a\d`, wantMatch: "a2", wantEnd: big + 5, wantPos: big + 5},
				{seek: 10, wantPos: big + 5}, // never backwards
			},
		},
		{
			name: "searching from past the end finds nothing and does not panic",
			steps: []step{
				{write: "hi\n"},
				{isFrom: true, from: 1 << 40, find: `hi`, wantEnd: 3, wantPos: 0},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscript()
			line := 0
			for i, st := range tc.steps {
				switch {
				case st.write != "":
					tr.write([]byte(st.write))
				case st.flood > 0:
					flood(tr, line, st.flood)
					line += st.flood / 64
				case st.seek > 0:
					tr.seek(st.seek)
				case st.find != "":
					from := -1
					if st.isFrom {
						from = st.from
					}
					m, end, found, _ := tr.findAt(regexp.MustCompile(st.find), from, !st.isFrom)
					if found != (st.wantMatch != "") || m != st.wantMatch || (st.wantEnd >= 0 && end != st.wantEnd) {
						t.Errorf("step %d: findAt(%q) = %q, %d, %v; want %q, %d", i, st.find, m, end, found, st.wantMatch, st.wantEnd)
					}
				}
				if got := tr.position(); st.wantPos >= 0 && got != st.wantPos {
					t.Errorf("step %d: position = %d, want %d", i, got, st.wantPos)
				}
				if held := len(tr.out); held > 2*matchWindow {
					t.Errorf("step %d: %d bytes held for matching, want at most %d", i, held, 2*matchWindow)
				}
			}
		})
	}
}

// windowAfter is how many bytes the matching window holds once n bytes
// have been written in 32 KiB chunks and small writes.
func windowAfter(n int) int {
	tr := newTranscript()
	tr.write(make([]byte, 6))
	flood(tr, 0, n-6)
	return len(tr.out)
}

// floodSize is how much a flood writes where every line must be told
// apart: far past the match window and the log's head and tail, yet
// cheap under the race detector.
const floodSize = 8 << 20

func TestTranscriptLogKeepsHeadAndTail(t *testing.T) {
	tests := []struct {
		name  string
		write func(tr *transcript)
		want  func() string
	}{
		{
			name: "short output is kept whole",
			write: func(tr *transcript) {
				tr.note("server on webserver: python3 s.py")
				tr.write([]byte("Enter username: "))
				tr.typed("alice")
				tr.write([]byte("Welcome\r\n"))
			},
			want: func() string {
				return "### server on webserver: python3 s.py\nEnter username: \n<<< alice\nWelcome\n"
			},
		},
		{
			name: "output just filling head and tail is kept whole",
			write: func(tr *transcript) {
				flood(tr, 0, logHead+logTail)
			},
			want: func() string { return string(lines(0, (logHead+logTail)/64)) },
		},
		{
			name: "a flood keeps the start and the end, and counts what it dropped",
			write: func(tr *transcript) {
				tr.note("server started")
				flood(tr, 0, floodSize)
				tr.typed("/quit")
				tr.note("the scenario stopped")
			},
			want: func() string {
				start := "### server started\n"
				head := start + string(lines(0, floodSize/64))[:logHead-len(start)]
				end := "<<< /quit\n### the scenario stopped\n"
				all := string(lines(0, floodSize/64)) + end
				tail := all[len(all)-(logTail-(logTail-len(end))%64):] // whole lines
				dropped := len(start) + len(all) - len(head) - len(tail)
				return head + "\n" + fmt.Sprintf("… %d bytes dropped …\n", dropped) + tail
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscript()
			tc.write(tr)
			got, want := tr.text(), tc.want()
			if got != want {
				t.Errorf("text: got %d bytes, want %d\n%s", len(got), len(want), firstDifference(want, got))
			}
		})
	}
}

// firstDifference shows where two long texts first differ, (-want +got).
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n-%q\n+%q", i, want[from:min(len(want), i+80)], got[from:min(len(got), i+80)])
}

func TestTranscriptLastLinesAfterAFlood(t *testing.T) {
	tr := newTranscript()
	flood(tr, 0, 8<<20)
	tr.write([]byte("Traceback (most recent call last):\nBrokenPipeError\n"))
	got := tr.lastLines(2)
	if want := []string{"Traceback (most recent call last):", "BrokenPipeError"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lastLines = %q, want %q", got, want)
	}
}

func TestTranscriptNotifiesWaitersOnEveryChange(t *testing.T) {
	tests := []struct {
		name   string
		change func(tr *transcript)
		notify bool
	}{
		{name: "output", change: func(tr *transcript) { tr.write([]byte("x")) }, notify: true},
		{name: "output dropping old output", change: func(tr *transcript) { flood(tr, 0, 3*matchWindow) }, notify: true},
		{name: "end of output", change: func(tr *transcript) { tr.markEOF() }, notify: true},
		{name: "exit", change: func(tr *transcript) { tr.finish(1, nil) }, notify: true},
		{name: "a typed line", change: func(tr *transcript) { tr.typed("hi") }, notify: false},
		{name: "a note", change: func(tr *transcript) { tr.note("hi") }, notify: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscript()
			_, _, ch := tr.find(regexp.MustCompile(`never`), -1, false)
			tc.change(tr)
			select {
			case <-ch:
				if !tc.notify {
					t.Error("waiters were woken")
				}
			default:
				if tc.notify {
					t.Error("waiters were not woken")
				}
			}
		})
	}
}

// TestTranscriptProgramCannotWriteTheEnginesLines: a program line that
// starts as a typed line or an engine note (or with the mark itself) is
// marked in the log, also when it arrives in pieces; what expectations
// match is the output as printed.
func TestTranscriptProgramCannotWriteTheEnginesLines(t *testing.T) {
	tr := newTranscript()
	tr.write([]byte("hello\n<<< /quit\n### server exited with code 0\n"))
	tr.typed("alice")
	tr.write([]byte("a < b\n<"))
	tr.write([]byte("<< typed?\n\\ back\n#"))
	tr.note("the engine's note")
	want := "hello\n\\<<< /quit\n\\### server exited with code 0\n<<< alice\na < b\n\\<<< typed?\n\\\\ back\n\\#\n### the engine's note\n"
	if got := tr.log.String(); got != want {
		t.Errorf("log\n%q\nwant\n%q", got, want)
	}
	if _, found, _ := tr.find(regexp.MustCompile(`(?m)^<<< /quit$`), 0, false); !found {
		t.Error("the output as printed is not what expectations match")
	}
}
