package chat_test

// Issue 26, finding 8: a handout-style server sends its peer-list push and
// the next chat line with two send() calls and no pause between them when
// the line arrived during the server's 0.5 s sleep before the list, so one
// read can hold the list with the line glued after it. The client must take
// that list and show the line; a list anywhere else in a read stays text
// (peerlist_poisoning_test.go).

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// TestSplitUnframedTakesGluedList pins when a list that starts a read may
// be followed by text: only a push as the handout server writes it, with
// the next message right after it.
func TestSplitUnframedTakesGluedList(t *testing.T) {
	const push = `[["alice", "10.0.0.1"], ["bob", "10.0.0.2"]]`
	list := []chat.Peer{{Name: "alice", IP: "10.0.0.1"}, {Name: "bob", IP: "10.0.0.2"}}
	alone := []chat.Peer{{Name: "bob", IP: "10.0.0.2"}}
	tests := []struct {
		name string
		read string
		want []chat.Piece
	}{
		{"the push and a chat line in one read", push + "alice: hello all\n",
			[]chat.Piece{{Peers: list, IsList: true}, {Text: "alice: hello all"}}},
		{"the push and the handout's relayed line", push + "alice (IP: 10.0.0.1) said: hello all",
			[]chat.Piece{{Peers: list, IsList: true}, {Text: "alice (IP: 10.0.0.1) said: hello all"}}},
		{"the push and a notice", push + "carol (IP: 10.0.0.3) connected",
			[]chat.Piece{{Peers: list, IsList: true}, {Text: "carol (IP: 10.0.0.3) connected"}}},
		{"the push, a line break and a chat line", push + "\r\nalice: hi\n",
			[]chat.Piece{{Peers: list, IsList: true}, {Text: "alice: hi"}}},
		{"two pushes and a chat line", `[["bob", "10.0.0.2"]]` + push + "alice: hi",
			[]chat.Piece{{Peers: alone, IsList: true}, {Peers: list, IsList: true}, {Text: "alice: hi"}}},
		{"the push and a line that holds a list", push + `mallory (IP: 10.0.0.66) said: [["bob", "10.0.0.66"]]`,
			[]chat.Piece{{Peers: list, IsList: true}, {Text: `mallory (IP: 10.0.0.66) said: [["bob", "10.0.0.66"]]`}}},
		{"the push and control characters", push + "alice: \x1b[2Jhi",
			[]chat.Piece{{Peers: list, IsList: true}, {Text: "alice: \uFFFD[2Jhi"}}},

		// The handout server sleeps before every list, so a list never
		// follows other text in a genuine read: there it is a chat line's.
		{"a chat line and then a list", "alice (IP: 10.0.0.1) said: hi" + push,
			[]chat.Piece{{Text: "alice (IP: 10.0.0.1) said: hi" + push}}},
		// A handout server takes any name without a space, so a name can
		// start a notice with a list, but never with one that json.dumps
		// wrote: its lists have ", " in every entry, and the empty list
		// names nobody, while a real push always names its receiver.
		{"a name that is an empty list", `[]x (IP: 10.0.0.66) connected`,
			[]chat.Piece{{Text: `[]x (IP: 10.0.0.66) connected`}}},
		{"a name that is a list without spaces", `[["bob","::1"]]x (IP: 10.0.0.66) connected`,
			[]chat.Piece{{Text: `[["bob","::1"]]x (IP: 10.0.0.66) connected`}}},
		{"a glued list with an address that is not an IP", `[["bob", "evil.example"]]alice: hi`,
			[]chat.Piece{{Text: `[["bob", "evil.example"]]alice: hi`}}},
		{"a glued list that a name cannot hold, then a name's list", push + `[["bob","::1"]]x (IP: 10.0.0.66) connected`,
			[]chat.Piece{{Peers: list, IsList: true}, {Text: `[["bob","::1"]]x (IP: 10.0.0.66) connected`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := chat.SplitUnframed([]byte(tc.read))
			if diff := chattest.Diff(tc.want, got); diff != "" {
				t.Errorf("SplitUnframed(%q) mismatch (-want +got):\n%s", tc.read, diff)
			}
		})
	}
}

// TestClientTakesGluedPeerList is the transcript against a scripted
// handout-style server: bob's first list arrives in one read with alice's
// line glued after it. bob sees the line, and his "@alice:" reaches alice.
func TestClientTakesGluedPeerList(t *testing.T) {
	const aliceIP, bobIP = "127.0.0.71", "127.0.0.72"
	port := freeUDPPortOn(t, aliceIP, bobIP)
	alice, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(aliceIP), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.Close() })
	addr := handoutServer(t, func(c net.Conn) {
		c.Write([]byte(chat.WelcomeChat))
		buf := make([]byte, 2048)
		c.Read(buf)
		c.Write([]byte("Your username (bob) is valid. You can start chatting now."))
		time.Sleep(handoutPace)
		// One write, so one read: the list and the line after it.
		c.Write([]byte(`[["alice", "` + aliceIP + `"], ["bob", "` + bobIP + `"]]` + "alice: hello all\n"))
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	bob := startClient(t, chat.ModeP2P, addr, bobIP, port, "bob")
	bob.out.waitFor(t, "[Server] alice: hello all\n")

	bob.line("@alice: hi alice")
	bob.line(":l")
	bob.out.waitFor(t, "Online peers: ")
	if out := bob.out.String(); !strings.Contains(out, "Online peers: ['alice', 'bob']\n") || strings.Contains(out, "not found") {
		t.Fatalf("bob did not take the glued peer list; output:\n%s", out)
	}
	alice.SetReadDeadline(time.Now().Add(chattest.Wait))
	buf := make([]byte, 2048)
	n, from, err := alice.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("alice got no datagram: %v (bob's output:\n%s)", err, bob.out.String())
	}
	if got := string(buf[:n]); got != "hi alice" || from.IP.String() != bobIP {
		t.Fatalf("alice got %q from %v, want %q from %s", got, from, "hi alice", bobIP)
	}
}

// humanPause is how soon a person reacts to a line on screen and types the
// next one. It is the point of the test below, not a wait for an event.
const humanPause = 100 * time.Millisecond

// gluedRuns is how many times the interop sequence runs; the list was lost
// about once in five before the fix.
const gluedRuns = 20

// TestInteropGluedPeerListAtHumanPace runs the sequence against the
// handout-style Milestone 2 server: alice says "hello all" as soon as she
// sees bob join. The server is asleep before its list push, so her line
// waits in its socket and is relayed to bob right after the list, often in
// the same read. bob's "@alice:" must reach her every time.
func TestInteropGluedPeerListAtHumanPace(t *testing.T) {
	needPython(t)
	const aliceIP, bobIP = "127.0.0.81", "127.0.0.82"
	welcome := "[Server] " + strings.TrimSpace(chat.WelcomeChat)
	for run := range gluedRuns {
		t.Run(fmt.Sprintf("run%02d", run+1), func(t *testing.T) {
			addr := startHandoutServer(t, "chatroom_p2p_server.py")
			port := freeUDPPortOn(t, aliceIP, bobIP)
			join := func(name, ip string) *ourClient {
				c := runOurClient(t, name, chat.Client{Server: addr, Mode: chat.ModeP2P, Bind: ip, P2PPort: port})
				c.expect(t, welcome)
				c.say(t, name)
				c.expect(t, "[Server] Your username ("+name+") is valid. You can start chatting now.")
				return c
			}
			alice := join("alice", aliceIP)
			bob := join("bob", bobIP)
			alice.expect(t, "[Server] bob (IP: "+bobIP+") connected")
			time.Sleep(humanPause)
			alice.say(t, "hello all")

			// Before the fix bob printed the list and the line as one
			// message; match the line's end so that fails at once.
			said := "[Server] alice (IP: " + aliceIP + ") said: hello all"
			i, ok := bob.out.await(t, bob.cursor, func(l string) bool { return strings.HasSuffix(l, "said: hello all") })
			if !ok {
				t.Fatalf("bob ended without alice's line")
			}
			bob.cursor = i + 1
			if lines, _, _ := bob.out.snapshot(); lines[i] != said {
				t.Errorf("bob saw %q, want %q", lines[i], said)
			}
			time.Sleep(humanPause)
			bob.say(t, "@alice: hi alice")
			time.Sleep(humanPause)
			bob.say(t, ":l")
			i, ok = bob.out.await(t, bob.cursor, func(l string) bool {
				return strings.HasPrefix(l, "Online peers: ") || strings.HasPrefix(l, "User (")
			})
			if !ok {
				t.Fatalf("bob ended before answering :l")
			}
			if lines, _, _ := bob.out.snapshot(); lines[i] != "Online peers: ['alice', 'bob']" {
				t.Fatalf("bob's @alice went nowhere: he printed %q, want the peer list ['alice', 'bob']", lines[i])
			}
			alice.expect(t, "[P2P] bob (IP: "+bobIP+") says: hi alice")
		})
	}
}
