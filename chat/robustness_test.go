package chat_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

func TestSlowReaderIsDroppedOthersKeepReceiving(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithSendQueue(32))
	slow := chattest.Dial(t, srv.Addr, chattest.FromIP("127.0.0.10"), chattest.Framed(), chattest.ReceiveBuffer(4096))
	slow.Expect(chat.WelcomeChat)
	slow.Reply("slow")
	slow.Expect("Your username (slow) is valid. You can start chatting now.")
	// slow reads nothing from here on.
	talker := join(t, srv, "talker", "127.0.0.11", true)
	reader := join(t, srv, "reader", "127.0.0.12", true)
	talker.Expect("reader (IP: 127.0.0.12): connected")

	body := strings.Repeat("x", 1000)
	dropped := false
	// A burst stays below the queue size, so only the client that does not
	// read can overflow.
	const burst = 16
	for i := 0; !dropped; i += burst {
		if i >= 100000 {
			t.Fatal("the slow reader was never dropped")
		}
		for j := i; j < i+burst; j++ {
			talker.Say(fmt.Sprintf("%d %s", j, body))
		}
		// The reader gets every message, in order, while the slow client's
		// queue fills up.
		for j := i; j < i+burst; j++ {
			got := reader.Next()
			if got == "slow (IP: 127.0.0.10): is offline" {
				dropped = true
				got = reader.Next()
			}
			if want := fmt.Sprintf("talker (IP: 127.0.0.11) says: %d %s", j, body); got != want {
				t.Fatalf("message %d: got %.60q, want %.60q", j, got, want)
			}
		}
	}
	talker.Expect("slow (IP: 127.0.0.10): is offline")
}

func TestSilentClientIsDroppedAndDelaysNobody(t *testing.T) {
	// The timeout bounds every dialogue, alice's and bob's too, so it must
	// leave room for a loaded machine to run theirs.
	const regTimeout = 3 * time.Second
	srv := chattest.NewServer(t, chat.WithRegistrationTimeout(regTimeout))
	began := time.Now()
	silent := chattest.Dial(t, srv.Addr)
	silent.Expect(chat.WelcomeChat)
	// Others join and talk while the silent client sits in its dialogue.
	alice := join(t, srv, "alice", "127.0.0.11", true)
	bob := join(t, srv, "bob", "127.0.0.12", true)
	alice.Expect("bob (IP: 127.0.0.12): connected")
	bob.Say("hello")
	alice.Expect("bob (IP: 127.0.0.12) says: hello")
	// The silent client's deadline is regTimeout after its accept, later
	// than began: a server that waited for it would only now be done.
	if took := time.Since(began); took >= regTimeout {
		t.Fatalf("alice and bob took %s to join and talk, not less than the silent client's %s timeout: it delayed them", took, regTimeout)
	}
	silent.ExpectClosed()
	if took := time.Since(began); took < regTimeout {
		t.Fatalf("the silent client was closed after %s, before its %s timeout", took, regTimeout)
	}
}

func TestLineTooLong(t *testing.T) {
	for _, framed := range []bool{false, true} {
		t.Run(map[bool]string{false: "legacy", true: "framed"}[framed], func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMaxLine(64))
			alice := join(t, srv, "alice", "127.0.0.11", true)
			long := join(t, srv, "long", "127.0.0.12", framed)
			alice.Expect("long (IP: 127.0.0.12): connected")
			long.Say(strings.Repeat("y", 200))
			long.Expect("Message too long (max 64 bytes). Closing connection.")
			long.ExpectClosed()
			alice.Expect("long (IP: 127.0.0.12): is offline")
		})
	}
}

func TestHostileTextIsNeutralised(t *testing.T) {
	srv := chattest.NewServer(t)
	alice := join(t, srv, "alice", "127.0.0.11", true)
	eve := join(t, srv, "eve", "127.0.0.12", false)
	alice.Expect("eve (IP: 127.0.0.12): connected")
	eve.Say("\x1b[2J\x1b]0;pwned\x07bad\xff\xfeutf8\u202eevil\r")
	alice.Expect("eve (IP: 127.0.0.12) says: \uFFFD[2J\uFFFD]0;pwned\uFFFDbad\uFFFD\uFFFDutf8\uFFFDevil")
}

func TestResetMidMessage(t *testing.T) {
	srv := chattest.NewServer(t)
	alice := join(t, srv, "alice", "127.0.0.11", true)
	rst := join(t, srv, "rst", "127.0.0.12", true)
	alice.Expect("rst (IP: 127.0.0.12): connected")
	rst.Send("half a mess")
	rst.Reset()
	alice.Expect("rst (IP: 127.0.0.12): is offline")
	// The server still works.
	bob := join(t, srv, "bob", "127.0.0.13", true)
	alice.Expect("bob (IP: 127.0.0.13): connected")
	bob.Say("still here")
	alice.Expect("bob (IP: 127.0.0.13) says: still here")
}

func TestManyClientsLeaveAtOnce(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeP2P), chat.WithPace(testPace))
	watcher := join(t, srv, "watcher", "127.0.0.2", true)
	watcher.ExpectPeers(chat.Peer{Name: "watcher", IP: "127.0.0.2"})
	const n = 40
	clients := make([]*chattest.Client, n)
	for i := range clients {
		clients[i] = join(t, srv, fmt.Sprintf("u%d", i), fmt.Sprintf("127.0.1.%d", i+1), i%2 == 0)
	}
	for range n {
		watcher.Next() // connected
		watcher.Next() // delta
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 0 {
				c.Reset()
			} else {
				c.Close()
			}
		}()
	}
	wg.Wait()
	offline := 0
	for offline < n {
		if strings.HasSuffix(watcher.Next(), "is offline") {
			offline++
		}
	}
	if got := srv.Online(); len(got) != 1 || got[0] != "watcher" {
		t.Fatalf("online = %q, want [watcher]", got)
	}
}
