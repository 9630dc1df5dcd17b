package chat_test

import (
	"errors"
	"testing"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

func TestNameKey(t *testing.T) {
	tests := []struct {
		name, key string
		lookalike bool
	}{
		{"bob", "bob", false},
		{"Bob", "bob", false},
		{"ｂｏｂ", "bob", false},
		{"björn", "björn", false},
		{"[x", "[x", false},
		{"#alice", "#alice", false},
		{"日本語ひらがな", "日本語ひらがな", false},
		{"bob\u200b", "", true}, // zero-width space
		{"bob\u3164", "", true}, // Hangul filler
		{"b\u043eb", "", true},  // Cyrillic o among Latin letters
		{"\u0440aypal", "", true},
	}
	for _, tc := range tests {
		key, err := chat.NameKey(tc.name)
		if tc.lookalike != errors.Is(err, chat.ErrLookalikeName) || key != tc.key {
			t.Errorf("NameKey(%q) = %q, %v; want %q, lookalike %v", tc.name, key, err, tc.key, tc.lookalike)
		}
	}
}

// TestLookalikeNamesAreRefused replays the probe of issue 15: with bob
// online, names that print like "bob" are refused, and a name that differs
// only in case or width is taken.
func TestLookalikeNamesAreRefused(t *testing.T) {
	for _, mode := range []chat.Mode{chat.ModeChatroom, chat.ModeP2P} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(mode), chat.WithPace(testPace))
			join(t, srv, "bob", "127.0.0.11", true)
			invalid := "Invalid username. Please try again."
			if mode == chat.ModeP2P {
				invalid += " " // as the Milestone 2 handout server sends it
			}
			for _, tc := range []struct{ name, want string }{
				{"bob\u200b", invalid},
				{"bob\u3164", invalid},
				{"b\u043eb", invalid},
				{"Bob", chat.MsgUsernameTaken},
				{"ｂｏｂ", chat.MsgUsernameTaken},
			} {
				c := chattest.Dial(t, srv.Addr, chattest.FromIP("127.0.0.12"), chattest.Framed())
				c.Expect(chat.WelcomeChat)
				c.Reply(tc.name)
				c.Expect(tc.want)
				c.ExpectClosed()
			}
		})
	}
	t.Run("auth", func(t *testing.T) {
		srv, _ := newAuthServer(t)
		reg := dialogue(t, srv, "register", "bob", "pw", "127.0.0.11", true)
		reg.Expect("Registration successful. Welcome, bob!")
		for _, name := range []string{"b\u043eb", "bob\u200b"} {
			c := chattest.Dial(t, srv.Addr, chattest.FromIP("127.0.0.12"), chattest.Framed())
			c.Expect(chat.WelcomeAuth)
			c.Reply("register")
			c.Expect(chat.PromptUsername)
			c.Reply(name)
			c.Expect(chat.MsgInvalidUsername)
			c.ExpectClosed()
		}
		c := dialogue(t, srv, "register", "BOB", "pw", "127.0.0.12", true)
		c.Expect(chat.MsgUsernameTaken)
	})
}
