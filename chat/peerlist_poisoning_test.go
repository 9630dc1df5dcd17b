package chat_test

import (
	"net"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// TestSplitUnframedTakesOnlyWholeLists pins where a peer list may come
// from in an unframed read: the whole read, never text after a prefix.
func TestSplitUnframedTakesOnlyWholeLists(t *testing.T) {
	list := []chat.Peer{{Name: "alice", IP: "10.0.0.1"}, {Name: "bob", IP: "10.0.0.2"}}
	tests := []struct {
		name string
		read string
		want []chat.Piece
	}{
		{"the handout's list push", `[["alice", "10.0.0.1"], ["bob", "10.0.0.2"]]`,
			[]chat.Piece{{Peers: list, IsList: true}}},
		{"a list with the stripped whitespace around it", " \r\n[[\"alice\", \"10.0.0.1\"], [\"bob\", \"10.0.0.2\"]]\n",
			[]chat.Piece{{Peers: list, IsList: true}}},
		{"an empty list", `[]`, []chat.Piece{{Peers: []chat.Peer{}, IsList: true}}},
		{"a list in chat text (M2)", `mallory (IP: 10.0.0.66) said: [["bob", "10.0.0.66"]]`,
			[]chat.Piece{{Text: `mallory (IP: 10.0.0.66) said: [["bob", "10.0.0.66"]]`}}},
		{"a list in chat text (M1)", `mallory (IP: 10.0.0.66) says: [["bob", "10.0.0.66"]]`,
			[]chat.Piece{{Text: `mallory (IP: 10.0.0.66) says: [["bob", "10.0.0.66"]]`}}},
		{"a list after other text", `bob (IP: 10.0.0.2) connected[["bob", "10.0.0.66"]]`,
			[]chat.Piece{{Text: `bob (IP: 10.0.0.2) connected[["bob", "10.0.0.66"]]`}}},
		{"a list before other text", `[["bob", "10.0.0.66"]] (IP: 10.0.0.66) connected`,
			[]chat.Piece{{Text: `[["bob", "10.0.0.66"]] (IP: 10.0.0.66) connected`}}},
		// A handout server accepts the name `[["x","`; its chat line then
		// reads as a whole list whose first entry holds the server's text.
		{"a list spliced from a name and a chat line", `[["x"," (IP: 10.0.0.66) said: "],["bob","10.0.0.66"]]`,
			[]chat.Piece{{Text: `[["x"," (IP: 10.0.0.66) said: "],["bob","10.0.0.66"]]`}}},
		{"an entry whose address is not an IP", `[["bob", "evil.example"]]`,
			[]chat.Piece{{Text: `[["bob", "evil.example"]]`}}},
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

func TestPeerName(t *testing.T) {
	peers := []chat.Peer{{Name: "alice", IP: "10.0.0.1"}, {Name: "bob", IP: "10.0.0.2"}, {Name: "bob2", IP: "10.0.0.2"}}
	for ip, want := range map[string]string{"10.0.0.1": "alice", "10.0.0.2": "unknown", "10.0.0.9": "unknown"} {
		if got := chat.PeerName(peers, ip); got != want {
			t.Errorf("PeerName(%s) = %q, want %q", ip, got, want)
		}
	}
}

// TestClientPeerListPoisoning replays the attack of issue 15 against
// chat-client's code: on a handout-style server, mallory sends a chat line
// holding a peer list that maps bob to her own address. carol's "@bob:"
// must still reach bob, and mallory's datagrams must show as hers.
func TestClientPeerListPoisoning(t *testing.T) {
	const carolIP, bobIP, malloryIP = "127.0.0.61", "127.0.0.62", "127.0.0.63"
	port := freeUDPPort(t)
	listen := func(ip string) *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	bob, mallory := listen(bobIP), listen(malloryIP)
	poison := `[["carol", "` + carolIP + `"], ["bob", "` + malloryIP + `"], ["mallory", "` + malloryIP + `"]]`
	addr := handoutServer(t, func(c net.Conn) {
		c.Write([]byte(chat.WelcomeChat))
		buf := make([]byte, 2048)
		c.Read(buf)
		c.Write([]byte("Your username (carol) is valid. You can start chatting now."))
		time.Sleep(handoutPace)
		c.Write([]byte(`[["carol", "` + carolIP + `"], ["bob", "` + bobIP + `"], ["mallory", "` + malloryIP + `"]]`))
		time.Sleep(handoutPace)
		// The handout server relays mallory's line with its prefix; a
		// read may also hold it glued to a notice.
		c.Write([]byte("mallory (IP: " + malloryIP + ") said: " + poison))
		time.Sleep(handoutPace)
		c.Write([]byte("dave (IP: 127.0.0.64) connected" + poison))
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	carol := startClient(t, chat.ModeP2P, addr, carolIP, port, "carol")
	carol.out.waitFor(t, "[Server] dave (IP: 127.0.0.64) connected"+poison+"\n")

	carol.line("@bob: for bob only")
	bob.SetReadDeadline(time.Now().Add(chattest.Wait))
	buf := make([]byte, 2048)
	n, from, err := bob.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("bob got no datagram: %v (carol's output:\n%s)", err, carol.out.String())
	}
	if got := string(buf[:n]); got != "for bob only" || from.IP.String() != carolIP {
		t.Fatalf("bob got %q from %v", got, from)
	}
	mallory.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := mallory.ReadFromUDP(buf); err == nil {
		t.Fatalf("mallory got carol's message to bob: %q", buf[:n])
	}

	if _, err := mallory.WriteToUDP([]byte("it is me, bob"), &net.UDPAddr{IP: net.ParseIP(carolIP), Port: port}); err != nil {
		t.Fatal(err)
	}
	carol.out.waitFor(t, "[P2P] mallory (IP: "+malloryIP+") says: it is me, bob\n")
	carol.line(":l")
	carol.out.waitFor(t, "Online peers: ['carol', 'bob', 'mallory']\n")
}
