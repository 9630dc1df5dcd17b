package lab

import (
	"io"
	"testing"
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
