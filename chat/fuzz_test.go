package chat

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// clean reports whether s is safe to print: valid UTF-8 and no control
// characters.
func clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !printable(r) {
			return false
		}
	}
	return true
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mred", "a\xffb", "tab\there", "\u202eevil", "\u0085", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !clean(got) {
			t.Fatalf("Sanitize(%q) = %q is not clean", s, got)
		}
		if again := Sanitize(got); again != got {
			t.Fatalf("Sanitize is not idempotent: %q then %q", got, again)
		}
		if clean(s) && !strings.ContainsRune(s, '\t') && got != s {
			t.Fatalf("Sanitize changed clean %q to %q", s, got)
		}
	})
}

func FuzzParsePeerList(f *testing.F) {
	for _, s := range []string{`[]`, `[["alice", "127.0.0.11"], ["bob", "127.0.0.12"]]`, `[["a","b"]]tail`, `[["a"]]`, `[`, `[["\u001b", "x"]]`, `{"add":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		peers, rest, err := ParsePeerList(data)
		if err != nil {
			return
		}
		if len(rest) > len(data) {
			t.Fatalf("rest longer than input")
		}
		for _, p := range peers {
			if !clean(p.Name) || !clean(p.IP) {
				t.Fatalf("unclean peer %q", p)
			}
		}
		enc := AppendPeerList(nil, peers)
		back, tail, err := ParsePeerList(enc)
		if err != nil || len(tail) != 0 || len(back) != len(peers) {
			t.Fatalf("re-encoding %q does not parse: %v", enc, err)
		}
		for i := range back {
			if back[i] != peers[i] {
				t.Fatalf("round trip changed %q to %q", peers[i], back[i])
			}
		}
	})
}

func FuzzParseDelta(f *testing.F) {
	f.Add([]byte(`{"add":[["bob","127.0.0.12"]],"del":["alice"]}`))
	f.Add([]byte(`{"add":[],"del":[]}`))
	f.Add([]byte(`{"add":[["x"]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDelta(data)
		if err != nil {
			return
		}
		back, err := ParseDelta(AppendDelta(nil, d))
		if err != nil || len(back.Add) != len(d.Add) || len(back.Del) != len(d.Del) {
			t.Fatalf("round trip of %+v failed: %v", d, err)
		}
		peers := d.Apply(nil)
		for _, n := range d.Del {
			for _, p := range peers {
				if p.Name == n && !containsAdd(d, n) {
					t.Fatalf("deleted %q still present", n)
				}
			}
		}
	})
}

func containsAdd(d Delta, name string) bool {
	for _, a := range d.Add {
		if a.Name == name {
			return true
		}
	}
	return false
}

func FuzzSplitUnframed(f *testing.F) {
	for _, s := range []string{
		"Welcome to this chatroom! Type your username and press enter to continue: ",
		`[["alice", "10.0.0.1"]]`,
		`[["alice", "10.0.0.1"]]bob (IP: 10.0.0.2) said: hi`,
		`bob (IP: 10.0.0.2) connected[["bob", "10.0.0.2"]]`,
		`[not json`, `[] []`, "  \x1e  ", "[[\"a\", \"b\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range SplitUnframed(data) {
			if p.IsList {
				continue
			}
			if p.Text == "" || !clean(p.Text) {
				t.Fatalf("bad text piece %q from %q", p.Text, data)
			}
		}
	})
}

func FuzzConnReader(f *testing.F) {
	f.Add(true, []byte("hello\n\x1e[[\"a\", \"1\"]]\n\x1e{\"add\":[[\"b\",\"2\"]],\"del\":[\"a\"]}\nbye"))
	f.Add(false, []byte(`[["a", "1"]]x`))
	f.Add(true, []byte("\x1e\n\x1e{\n"+strings.Repeat("z", 300)+"\n"))
	f.Fuzz(func(t *testing.T, framed bool, data []byte) {
		c := &Conn{br: bufio.NewReaderSize(bytes.NewReader(data), 16), framed: framed, maxRecord: 256}
		for range 1000 {
			m, err := c.Next()
			if err != nil {
				return
			}
			switch m.Kind {
			case KindText:
				if !clean(m.Text) {
					t.Fatalf("unclean text %q", m.Text)
				}
			case KindPeers:
			default:
				t.Fatalf("unknown kind %v", m.Kind)
			}
		}
	})
}

func FuzzServerLineReader(f *testing.F) {
	f.Add([]byte("alice\x1e\nhello\nworld"), 16)
	f.Add([]byte("alice"), 16)
	f.Add([]byte(strings.Repeat("a", 100)), 16)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1024 {
			return
		}
		s := NewServer(WithMaxLine(max))
		c := &client{s: s, br: bufio.NewReaderSize(bytes.NewReader(data), max+2)}
		line, tooLong, err := c.readFirst()
		for err == nil {
			if len(line) > max {
				t.Fatalf("line of %d bytes accepted with max %d", len(line), max)
			}
			line, tooLong, err = c.readReply()
		}
		_ = tooLong
	})
}

func FuzzParseDirect(f *testing.F) {
	for _, s := range []string{"@bob: hi", "@bob:", "@:x", "@bob hi", "hello", "@a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		user, msg, ok := ParseDirect(line)
		if !ok {
			return
		}
		if user == "" || strings.Contains(user, ":") {
			t.Fatalf("ParseDirect(%q) user = %q", line, user)
		}
		if !strings.HasPrefix(line, "@"+user+":") || !strings.HasSuffix(line, msg) {
			t.Fatalf("ParseDirect(%q) = %q, %q", line, user, msg)
		}
	})
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$YQ$YQ")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParsePHC(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("ParsePHC(%q).String() = %q", s, h.String())
		}
	})
}

func FuzzParseStoreFile(f *testing.F) {
	f.Add([]byte("# lab3 chat users v1\nalice $argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g\n"))
	f.Add([]byte("alice hunter2\n"))
	f.Add([]byte("\n\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseStoreFile(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if !ValidUsername(e.Name) || seen[e.Name] {
				t.Fatalf("bad or duplicate name %q", e.Name)
			}
			seen[e.Name] = true
		}
	})
}

// FuzzConnPeerDeltas checks the incremental peer list of Conn against
// Delta.Apply on the whole list.
func FuzzConnPeerDeltas(f *testing.F) {
	f.Add([]byte("abcabd"), []byte{0, 1, 1, 0, 2, 1})
	f.Fuzz(func(t *testing.T, names []byte, ops []byte) {
		c := &Conn{}
		c.control([]byte("\x1e[]"))
		var want []Peer
		for i, op := range ops {
			if len(names) == 0 {
				return
			}
			name := string(names[i%len(names)])
			var d Delta
			if op%2 == 0 {
				d.Add = []Peer{{Name: name, IP: fmt.Sprint(i)}}
			} else {
				d.Del = []string{name}
			}
			want = d.Apply(want)
			c.applyDelta(d)
			if fmt.Sprint(c.peers) != fmt.Sprint(want) {
				t.Fatalf("after %d ops: got %v, want %v", i+1, c.peers, want)
			}
			for j, p := range c.peers {
				if c.peerIndex[p.Name] != j || len(c.peerIndex) != len(c.peers) {
					t.Fatalf("index out of date: %v for %v", c.peerIndex, c.peers)
				}
			}
		}
	})
}
