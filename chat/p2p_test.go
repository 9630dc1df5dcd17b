package chat_test

import (
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// testPace is short so tests are quick; the transcripts only trigger the
// next event after reading the previous list, so nothing can share its read.
// Only legacy connections are paced, and tests that check a legacy
// client's list read use legacyPace instead.
const testPace = 50 * time.Millisecond

// legacyPace is the pace for tests that check that a legacy client reads a
// peer list alone (ExpectPeers): the server keeps quiet only for the pace
// around the list, so the test's reader must get to its read within it,
// which 50 ms does not guarantee on a loaded machine with the race
// detector. 500 ms is the handout's own sleep, the server's default.
const legacyPace = 500 * time.Millisecond

// paceFor is legacyPace for a legacy client's transcript, testPace for a
// framed one's (framed connections are not paced).
func paceFor(framed bool) time.Duration {
	if framed {
		return testPace
	}
	return legacyPace
}

func TestP2PTranscript(t *testing.T) {
	alice, bob := chat.Peer{Name: "alice", IP: "127.0.0.11"}, chat.Peer{Name: "bob", IP: "127.0.0.12"}
	for _, framed := range []bool{false, true} {
		t.Run(map[bool]string{false: "legacy", true: "framed"}[framed], func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(chat.ModeP2P), chat.WithPace(paceFor(framed)))
			a := join(t, srv, "alice", alice.IP, framed)
			a.ExpectPeers(alice)
			b := join(t, srv, "bob", bob.IP, framed)
			b.ExpectPeers(alice, bob)
			a.Expect("bob (IP: 127.0.0.12) connected")
			a.ExpectPeers(alice, bob)

			a.Say("hello")
			b.Expect("alice (IP: 127.0.0.11) said: hello")
			b.Say("hey")
			a.Expect("bob (IP: 127.0.0.12) said: hey")

			b.Close()
			a.Expect("bob (IP: 127.0.0.12) is offline")
			a.ExpectPeers(alice)
		})
	}
}

func TestP2PMixedClientsSeeTheSameList(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeP2P), chat.WithPace(legacyPace))
	old := join(t, srv, "old", "127.0.0.11", false)
	old.ExpectPeers(chat.Peer{Name: "old", IP: "127.0.0.11"})
	nw := join(t, srv, "new", "127.0.0.12", true)
	both := []chat.Peer{{Name: "old", IP: "127.0.0.11"}, {Name: "new", IP: "127.0.0.12"}}
	nw.ExpectPeers(both...)
	old.Expect("new (IP: 127.0.0.12) connected")
	old.ExpectPeers(both...)
	// A chat line right after a list must not share the list's read.
	nw.Say("right after the list")
	old.Expect("new (IP: 127.0.0.12) said: right after the list")
}

func TestPeerListIsPythonJSON(t *testing.T) {
	tests := []struct {
		name  string
		peers []chat.Peer
		want  string
	}{
		{"empty", nil, `[]`},
		{"two", []chat.Peer{{"alice", "127.0.0.11"}, {"bob", "127.0.0.12"}}, `[["alice", "127.0.0.11"], ["bob", "127.0.0.12"]]`},
		{"non-ascii escaped", []chat.Peer{{"éa😀", "10.0.0.1"}}, `[["\u00e9a\ud83d\ude00", "10.0.0.1"]]`},
		{"quotes", []chat.Peer{{`a"b\c`, "::1"}}, `[["a\"b\\c", "::1"]]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(chat.AppendPeerList(nil, tc.peers))
			if diff := chattest.Diff(tc.want, got); diff != "" {
				t.Fatalf("AppendPeerList (-want +got):\n%s", diff)
			}
			back, rest, err := chat.ParsePeerList([]byte(got))
			if err != nil || len(rest) != 0 {
				t.Fatalf("ParsePeerList(%s) = %v, rest %q", got, err, rest)
			}
			if len(back) != len(tc.peers) {
				t.Fatalf("round trip = %v, want %v", back, tc.peers)
			}
		})
	}
}

func TestFormatPeerNames(t *testing.T) {
	got := chat.FormatPeerNames([]chat.Peer{{Name: "a"}, {Name: "b'c"}, {Name: `d\`}})
	want := `['a', "b'c", 'd\\']`
	if got != want {
		t.Fatalf("FormatPeerNames = %s, want %s", got, want)
	}
}
