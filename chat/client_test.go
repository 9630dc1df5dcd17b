package chat_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// output is a goroutine-safe buffer that tests wait on.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor polls until the output holds want; the deadline only turns a
// hang into a failure.
func (o *output) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(chattest.Wait)
	for !strings.Contains(o.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q; output:\n%s", want, o.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type runningClient struct {
	in   *io.PipeWriter
	out  *output
	done chan error
}

func (r *runningClient) line(s string) { io.WriteString(r.in, s+"\n") }

func (r *runningClient) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(chattest.Wait):
		t.Fatal("client did not exit")
		return nil
	}
}

// listUntil types ":l" until the client prints want. The peer list is a
// record of its own after the join or leave notice, so a ":l" typed right
// after the notice may still show the previous list.
func (r *runningClient) listUntil(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(chattest.Wait)
	for {
		n := strings.Count(r.out.String(), "Online peers: ")
		r.line(":l")
		for strings.Count(r.out.String(), "Online peers: ") == n {
			if time.Now().After(deadline) {
				t.Fatalf("no reply to :l; output:\n%s", r.out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if strings.HasSuffix(r.out.String(), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output never ended with %q; output:\n%s", want, r.out.String())
		}
	}
}

func startClient(t *testing.T, mode chat.Mode, addr, bind string, port int, first ...string) *runningClient {
	t.Helper()
	pr, pw := io.Pipe()
	r := &runningClient{in: pw, out: &output{}, done: make(chan error, 1)}
	cl := &chat.Client{Server: addr, Mode: mode, P2PPort: port, Bind: bind, In: pr, Out: r.out, LegacyGap: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- cl.Run(ctx) }()
	t.Cleanup(func() { cancel(); pw.Close() })
	for _, l := range first {
		r.line(l)
	}
	return r
}

// freeUDPPort returns a port that is free on loopback right now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestClientP2P(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeP2P))
	port := freeUDPPort(t)
	alice := startClient(t, chat.ModeP2P, srv.Addr, "127.0.0.21", port, "alice")
	alice.out.waitFor(t, "[Server] Your username (alice) is valid. You can start chatting now.\n")
	bob := startClient(t, chat.ModeP2P, srv.Addr, "127.0.0.22", port, "bob")
	alice.out.waitFor(t, "[Server] bob (IP: 127.0.0.22) connected\n")
	alice.listUntil(t, "Online peers: ['alice', 'bob']\n")

	alice.line("@bob: psst")
	bob.out.waitFor(t, "[P2P] alice (IP: 127.0.0.21) says: psst\n")
	alice.line("@nobody: hello?")
	alice.out.waitFor(t, "User (nobody) not found\n")
	alice.line("to everyone")
	bob.out.waitFor(t, "[Server] alice (IP: 127.0.0.21) said: to everyone\n")

	// A datagram from an address that is not a peer, and one far larger
	// than a chat line, are shown without crashing the client.
	stranger, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 99)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 22), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	stranger.Write([]byte("who am I\x1b[2J"))
	bob.out.waitFor(t, "[P2P] unknown (IP: 127.0.0.99) says: who am I\uFFFD[2J\n")
	big := strings.Repeat("x", 60000)
	stranger.Write([]byte(big))
	bob.out.waitFor(t, "says: "+big+"\n")

	bob.line(":q")
	if err := bob.wait(t); err != nil {
		t.Fatalf("bob after :q: %v", err)
	}
	alice.out.waitFor(t, "[Server] bob (IP: 127.0.0.22) is offline\n")
	alice.listUntil(t, "Online peers: ['alice']\n")
	alice.in.Close()
	if err := alice.wait(t); err != nil {
		t.Fatalf("alice after end of input: %v", err)
	}
}

func TestClientRejected(t *testing.T) {
	srv := chattest.NewServer(t)
	startClient(t, chat.ModeChatroom, srv.Addr, "127.0.0.31", 0, "alice").out.waitFor(t, "valid")
	dup := startClient(t, chat.ModeChatroom, srv.Addr, "127.0.0.32", 0, "alice")
	err := dup.wait(t)
	var rej *chat.RejectedError
	if !errors.As(err, &rej) || rej.Msg != chat.MsgUsernameTaken {
		t.Fatalf("Run = %v, want rejection %q", err, chat.MsgUsernameTaken)
	}
	dup.out.waitFor(t, "[Server] Username already taken. Please try again.\n")
}

func TestClientConnectionRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err := (&chat.Client{Server: addr, Mode: chat.ModeChatroom, In: strings.NewReader("x\n"), Out: io.Discard}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connect to") {
		t.Fatalf("Run = %v, want a connect error", err)
	}
}

// handoutServer plays a handout-style Milestone 2 server for one client:
// unframed messages, each peer list in a send of its own between pauses.
func handoutServer(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
	}()
	return ln.Addr().String()
}

// handoutPace separates the sends of handoutServer scripts, as the handout
// server's sleep does, so that each arrives in a read of its own. It is the
// handout's 500 ms: the client must have read one send before the next
// arrives, and a loaded machine with the race detector can delay that read
// well beyond 100 ms.
const handoutPace = 500 * time.Millisecond

func TestClientAgainstUnframedServer(t *testing.T) {
	got := make(chan string, 1)
	addr := handoutServer(t, func(c net.Conn) {
		c.Write([]byte(chat.WelcomeChat))
		buf := make([]byte, 2048)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
		c.Write([]byte("Your username (alice) is valid. You can start chatting now."))
		// The handout server pauses around a list so it is read alone;
		// here the pause stands in for its sleep.
		time.Sleep(handoutPace)
		c.Write([]byte(`[["alice", "127.0.0.41"], ["bob", "10.0.0.2"]]`))
		time.Sleep(handoutPace)
		c.Write([]byte("bob (IP: 10.0.0.2) said: hi"))
		n, _ = c.Read(buf)
		got <- string(buf[:n])
		c.Read(buf)
	})
	r := startClient(t, chat.ModeP2P, addr, "127.0.0.41", freeUDPPort(t), "alice")
	if first := <-got; first != "alice\x1e\n" {
		t.Fatalf("first reply = %q, want the name with the marker", first)
	}
	r.out.waitFor(t, "[Server] bob (IP: 10.0.0.2) said: hi\n")
	r.line(":l")
	r.out.waitFor(t, "Online peers: ['alice', 'bob']\n")
	r.line("plain")
	if line := <-got; line != "plain" {
		t.Fatalf("chat line to an unframed server = %q, want it bare", line)
	}
	r.line(":q")
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}
