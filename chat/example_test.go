package chat_test

import (
	"context"
	"fmt"
	"net"

	"github.com/ntnu-ttm4200/lab3/chat"
)

// A server in p2p mode and two clients speaking the framed protocol.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := chat.NewServer(chat.WithMode(chat.ModeP2P))
	go srv.Serve(ln)
	defer srv.Close()

	dial := func(name, ip string) *chat.Conn {
		c, err := chat.Dial(context.Background(), ln.Addr().String(), chat.WithLocalIP(ip))
		if err != nil {
			panic(err)
		}
		greeting, err := c.Handshake(1, func(prompt string) (string, error) { return name, nil })
		if err != nil {
			panic(err)
		}
		fmt.Println(name, "got:", greeting)
		return c
	}
	alice := dial("alice", "127.0.0.11")
	defer alice.Close()
	m, _ := alice.Next()
	fmt.Println("alice peers:", chat.FormatPeerNames(m.Peers))

	bob := dial("bob", "127.0.0.12")
	defer bob.Close()
	m, _ = alice.Next()
	fmt.Println("alice got:", m.Text)
	m, _ = alice.Next()
	fmt.Println("alice peers:", chat.FormatPeerNames(m.Peers))

	bob.Next() // bob's own peer list
	bob.Send("hello")
	m, _ = alice.Next()
	fmt.Println("alice got:", m.Text)
	// Output:
	// alice got: Your username (alice) is valid. You can start chatting now.
	// alice peers: ['alice']
	// bob got: Your username (bob) is valid. You can start chatting now.
	// alice got: bob (IP: 127.0.0.12) connected
	// alice peers: ['alice', 'bob']
	// alice got: bob (IP: 127.0.0.12) said: hello
}

func ExampleParseDirect() {
	user, msg, ok := chat.ParseDirect("@bob: are you there?")
	fmt.Printf("%q %q %v\n", user, msg, ok)
	// Output: "bob" "are you there?" true
}

func ExampleAppendPeerList() {
	fmt.Println(string(chat.AppendPeerList(nil, []chat.Peer{{Name: "alice", IP: "10.20.30.11"}, {Name: "bob", IP: "10.20.30.12"}})))
	// Output: [["alice", "10.20.30.11"], ["bob", "10.20.30.12"]]
}

func ExampleSplitUnframed() {
	// A handout-style server sends the peer list in a send() of its own,
	// which a read finds alone or with the next message glued after it. A
	// list anywhere else, such as in a chat line, is text.
	for _, read := range []string{
		`[["alice", "10.20.30.11"], ["bob", "10.20.30.12"]]`,
		`[["alice", "10.20.30.11"], ["bob", "10.20.30.12"]]alice (IP: 10.20.30.11) said: hello all`,
		`mallory (IP: 10.20.30.66) said: [["bob", "10.20.30.66"]]`,
	} {
		for _, p := range chat.SplitUnframed([]byte(read)) {
			if p.IsList {
				fmt.Println("peers:", chat.FormatPeerNames(p.Peers))
			} else {
				fmt.Println("text:", p.Text)
			}
		}
	}
	// Output:
	// peers: ['alice', 'bob']
	// peers: ['alice', 'bob']
	// text: alice (IP: 10.20.30.11) said: hello all
	// text: mallory (IP: 10.20.30.66) said: [["bob", "10.20.30.66"]]
}

func ExampleSanitize() {
	fmt.Println(chat.Sanitize("\x1b[31mred\x1b[0m"))
	// Output: �[31mred�[0m
}
