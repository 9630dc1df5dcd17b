package chat_test

import (
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// join runs the username dialogue of Milestones 1 and 2 for a client.
func join(t *testing.T, srv *chattest.Server, name, ip string, framed bool) *chattest.Client {
	t.Helper()
	opts := []chattest.DialOption{chattest.FromIP(ip)}
	if framed {
		opts = append(opts, chattest.Framed())
	}
	c := chattest.Dial(t, srv.Addr, opts...)
	c.Expect(chat.WelcomeChat)
	c.Reply(name)
	c.Expect("Your username (" + name + ") is valid. You can start chatting now.")
	return c
}

func TestChatroomTranscript(t *testing.T) {
	for _, framed := range []bool{false, true} {
		t.Run(map[bool]string{false: "legacy", true: "framed"}[framed], func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(chat.ModeChatroom))
			alice := join(t, srv, "alice", "127.0.0.11", framed)
			bob := join(t, srv, "bob", "127.0.0.12", framed)
			alice.Expect("bob (IP: 127.0.0.12): connected")

			alice.Say("hello bob")
			bob.Expect("alice (IP: 127.0.0.11) says: hello bob")
			bob.Say("hi alice")
			// The sender never gets its own message back: the next thing
			// alice sees is bob's reply.
			alice.Expect("bob (IP: 127.0.0.12) says: hi alice")

			carol := join(t, srv, "carol", "127.0.0.13", framed)
			alice.Expect("carol (IP: 127.0.0.13): connected")
			bob.Expect("carol (IP: 127.0.0.13): connected")
			carol.Close()
			alice.Expect("carol (IP: 127.0.0.13): is offline")
			bob.Expect("carol (IP: 127.0.0.13): is offline")
		})
	}
}

func TestLegacyAndFramedClientsTogether(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeChatroom))
	legacy := join(t, srv, "old", "127.0.0.11", false)
	framed := join(t, srv, "new", "127.0.0.12", true)
	legacy.Expect("new (IP: 127.0.0.12): connected")
	legacy.Say("one\ntwo\n")
	framed.Expect("old (IP: 127.0.0.11) says: one")
	framed.Expect("old (IP: 127.0.0.11) says: two")
	framed.Say("three")
	legacy.Expect("new (IP: 127.0.0.12) says: three")
}

func TestInvalidUsernames(t *testing.T) {
	tests := []struct {
		name string
		mode chat.Mode
		user string
		want string
	}{
		{"empty", chat.ModeChatroom, "\r\n", "Invalid username. Please try again."},
		{"only spaces", chat.ModeChatroom, "   ", "Invalid username. Please try again."},
		{"21 characters", chat.ModeChatroom, strings.Repeat("a", 21), "Invalid username. Please try again."},
		{"space inside", chat.ModeChatroom, "a b", "Invalid username. Please try again."},
		{"escape sequence", chat.ModeChatroom, "\x1b[31mred", "Invalid username. Please try again."},
		{"invalid utf-8", chat.ModeChatroom, "a\xffb", "Invalid username. Please try again."},
		{"taken", chat.ModeChatroom, "alice", "Username already taken. Please try again."},
		// The Milestone 2 handout server sends this one with a trailing space.
		{"p2p empty", chat.ModeP2P, "\n", "Invalid username. Please try again. "},
		{"p2p taken", chat.ModeP2P, "alice", "Username already taken. Please try again."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(tc.mode))
			alice := join(t, srv, "alice", "127.0.0.11", false)
			if tc.mode == chat.ModeP2P {
				alice.ExpectPeers(chat.Peer{Name: "alice", IP: "127.0.0.11"})
			}
			c := chattest.Dial(t, srv.Addr)
			c.Expect(chat.WelcomeChat)
			c.Reply(tc.user)
			c.Expect(tc.want)
			c.ExpectClosed()
			if got := srv.Online(); len(got) != 1 || got[0] != "alice" {
				t.Errorf("online = %q, want [alice]", got)
			}
		})
	}
}

func TestTwentyCharacterNameIsValid(t *testing.T) {
	srv := chattest.NewServer(t)
	join(t, srv, strings.Repeat("é", 20), "127.0.0.11", true)
}

func TestFramedRejectionIsFramed(t *testing.T) {
	srv := chattest.NewServer(t)
	join(t, srv, "alice", "127.0.0.11", true)
	for _, tc := range []struct{ user, want string }{
		{"alice", "Username already taken. Please try again."},
		{"", "Invalid username. Please try again."},
	} {
		c := chattest.Dial(t, srv.Addr, chattest.Framed())
		c.Expect(chat.WelcomeChat)
		c.Reply(tc.user)
		c.Expect(tc.want)
		c.ExpectClosed()
	}
}

func TestNameFreeAgainAfterLeaving(t *testing.T) {
	srv := chattest.NewServer(t)
	alice := join(t, srv, "alice", "127.0.0.11", true)
	bob := join(t, srv, "bob", "127.0.0.12", true)
	alice.Expect("bob (IP: 127.0.0.12): connected")
	alice.Close()
	bob.Expect("alice (IP: 127.0.0.11): is offline")
	join(t, srv, "alice", "127.0.0.13", true)
	bob.Expect("alice (IP: 127.0.0.13): connected")
}
