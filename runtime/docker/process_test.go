package docker

import (
	"bytes"
	"io"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

func TestPIDSnifferTakesThePIDFromStdoutOnly(t *testing.T) {
	tests := []struct {
		name   string
		writes []struct {
			stderr bool
			b      string
		}
		wantPID int
		wantOut string
	}{
		{
			name: "stdout first",
			writes: []struct {
				stderr bool
				b      string
			}{
				{false, "42\nhello\n"}, {true, "log line\n"},
			},
			wantPID: 42, wantOut: "hello\nlog line\n",
		},
		{
			// A server's start-up log on stderr can overtake the PID line.
			name: "stderr overtakes the PID line",
			writes: []struct {
				stderr bool
				b      string
			}{
				{true, "[INFO] Server started\n"}, {false, "7"}, {false, "\nready\n"},
			},
			wantPID: 7, wantOut: "[INFO] Server started\nready\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := newStreamBuffer()
			s := &pidSniffer{out: out, pid: make(chan int, 1)}
			for _, w := range tc.writes {
				var dst io.Writer = s.stdout()
				if w.stderr {
					dst = s.stderr()
				}
				if _, err := dst.Write([]byte(w.b)); err != nil {
					t.Fatal(err)
				}
			}
			s.finish()
			out.close()
			if pid := <-s.pid; pid != tc.wantPID {
				t.Errorf("pid = %d, want %d", pid, tc.wantPID)
			}
			got, err := io.ReadAll(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.wantOut {
				t.Errorf("output = %q, want %q", got, tc.wantOut)
			}
		})
	}
}

// TestPIDSnifferSplitsStderr: with SpawnOptions.Stderr, stderr (also what
// overtook the PID line) goes there and Output holds stdout alone.
func TestPIDSnifferSplitsStderr(t *testing.T) {
	out := newStreamBuffer()
	var errOut bytes.Buffer
	s := &pidSniffer{out: out, pid: make(chan int, 1), errOut: &errOut}
	_, _ = s.stderr().Write([]byte("early log\n"))
	_, _ = s.stdout().Write([]byte("42\nhello\n"))
	_, _ = s.stderr().Write([]byte("late log\n"))
	s.finish()
	out.close()
	if pid := <-s.pid; pid != 42 {
		t.Errorf("pid = %d, want 42", pid)
	}
	got, _ := io.ReadAll(out)
	if string(got) != "hello\n" || errOut.String() != "early log\nlate log\n" {
		t.Errorf("output %q, stderr %q", got, errOut.String())
	}
}

func TestPIDSnifferReportsAPreludeThatFailed(t *testing.T) {
	out := newStreamBuffer()
	s := &pidSniffer{out: out, pid: make(chan int, 1)}
	_, _ = s.stderr().Write([]byte("sh: 1: exec: nosuch: not found\n"))
	s.finish()
	if _, ok := <-s.pid; ok {
		t.Fatal("got a PID from a prelude that never printed one")
	}
	if got, want := s.early(), "sh: 1: exec: nosuch: not found\n"; got != want {
		t.Errorf("early() = %q, want %q", got, want)
	}
}

func TestStreamBufferHoldsUpAWriterAheadOfItsReader(t *testing.T) {
	s := newStreamBuffer()
	s.max = 1 << 10
	const total = 64 << 10
	written := make(chan struct{})
	go func() {
		defer close(written)
		chunk := make([]byte, 3000) // larger than the buffer
		for i := 0; i < total; i += len(chunk) {
			for j := range chunk {
				chunk[j] = byte(i + j)
			}
			s.write(chunk[:min(len(chunk), total-i)])
		}
		s.close()
	}()
	var got []byte
	b := make([]byte, 100) // a slow reader: small reads
	for {
		s.mu.Lock()
		held := s.buf.Len()
		s.mu.Unlock()
		if held > s.max {
			t.Fatalf("%d bytes buffered, want at most %d", held, s.max)
		}
		n, err := s.Read(b)
		got = append(got, b[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	<-written
	if len(got) != total {
		t.Fatalf("read %d bytes, want %d", len(got), total)
	}
	for i, c := range got {
		if c != byte(i) {
			t.Fatalf("byte %d = %d, want %d: output reordered or lost", i, c, byte(i))
		}
	}
}

func TestStreamBufferAbandonedReleasesItsWriter(t *testing.T) {
	s := newStreamBuffer()
	s.max = 10
	s.write([]byte("0123456789")) // fills it
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.write([]byte(" and more than fits"))
		s.close()
	}()
	// Nobody reads; once abandoned the writer returns, dropping what did
	// not fit, and what was buffered can still be read.
	s.abandon()
	<-written
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "0123456789" {
		t.Errorf("read %q after abandoning, want what was buffered before", got)
	}
}

func TestCappedBufferKeepsTheStartAndReadsOn(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "under the cap", writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "at the cap", writes: []string{"abc", "de"}, want: "abcde"},
		{name: "over the cap in one write", writes: []string{"abcdefgh"}, want: "abcde"},
		{name: "over the cap across writes", writes: []string{"abc", "defg", "hij"}, want: "abcde"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &cappedBuffer{max: 5}
			for _, w := range tc.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
				}
			}
			if got := c.buf.String(); got != tc.want {
				t.Errorf("kept %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseStopped(t *testing.T) {
	got := parseStopped("44 tcpdump -i eth0 -w client1.pcap\n13 python3 chatroom_p2p_server.py\n\nnoise\n")
	want := []runtime.Stopped{{PID: 13, Command: "python3 chatroom_p2p_server.py"}, {PID: 44, Command: "tcpdump -i eth0 -w client1.pcap"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseStopped = %+v, want %+v", got, want)
	}
}
