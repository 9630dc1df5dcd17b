package chat_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// TestConversationIsNotBatched checks that batching never holds back the
// messages of a small server. The batch delay is an hour: a flusher that
// spaced its writes by the batch delay, as it once did by a fixed 40ms,
// would deliver the first message and then sit on every reply for an
// hour, and each Expect would give up after chattest.Wait. Spacing by the
// cost of a pass, a reply to a message just delivered goes out at once.
func TestConversationIsNotBatched(t *testing.T) {
	for _, framed := range []bool{false, true} {
		t.Run(map[bool]string{false: "legacy", true: "framed"}[framed], func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithBatchDelay(time.Hour))
			alice := join(t, srv, "alice", "127.0.0.11", framed)
			bob := join(t, srv, "bob", "127.0.0.12", framed)
			alice.Expect("bob (IP: 127.0.0.12): connected")
			for i := range 10 {
				alice.Say(fmt.Sprintf("ping %d", i))
				bob.Expect(fmt.Sprintf("alice (IP: 127.0.0.11) says: ping %d", i))
				bob.Say(fmt.Sprintf("pong %d", i))
				alice.Expect(fmt.Sprintf("bob (IP: 127.0.0.12) says: pong %d", i))
			}
			// A join is not batched either: the newcomer's greeting goes
			// out with its join, the others hear of it in the next pass.
			carol := join(t, srv, "carol", "127.0.0.13", framed)
			alice.Expect("carol (IP: 127.0.0.13): connected")
			carol.Say("hi")
			bob.Expect("carol (IP: 127.0.0.13): connected")
			bob.Expect("carol (IP: 127.0.0.13) says: hi")
		})
	}
}
