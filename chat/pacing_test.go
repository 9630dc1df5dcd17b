package chat

import (
	"net"
	"testing"
	"time"
)

// TestLegacyListPushesCoalesce checks, with the sleep injected, that a
// legacy client gets each peer list alone between quiet intervals and
// that list pushes queued during an interval collapse into one list with
// the latest state.
func TestLegacyListPushesCoalesce(t *testing.T) {
	s := NewServer(WithMode(ModeP2P), WithPace(time.Second))
	sleeps := make(chan time.Duration)
	release := make(chan struct{})
	s.sleep = func(d time.Duration, abort <-chan struct{}) bool {
		if d <= 0 {
			return true
		}
		sleeps <- d
		<-release
		return true
	}
	pipe := func(name string) (*client, net.Conn) {
		srvSide, cliSide := net.Pipe()
		t.Cleanup(func() { srvSide.Close(); cliSide.Close() })
		c := newClient(s, srvSide)
		c.name, c.key = name, name
		return c, cliSide
	}
	obs, conn := pipe("obs")
	if err := s.join(obs, "hello"); err != nil {
		t.Fatal(err)
	}
	go obs.writeLoop()
	t.Cleanup(obs.kill)

	buf := make([]byte, 1<<16)
	read := func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:n])
	}
	quiet := func() {
		t.Helper()
		if d := <-sleeps; d > time.Second {
			t.Fatalf("slept %v, longer than the pace", d)
		}
		release <- struct{}{}
	}
	expect := func(want string) {
		t.Helper()
		if got := read(); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}

	expect("hello")
	<-sleeps // the writer is in the quiet interval before the first list
	for _, n := range []string{"d1", "d2", "d3"} {
		c, _ := pipe(n)
		if err := s.join(c, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	release <- struct{}{}
	all := `[["obs", "pipe"], ["d1", "pipe"], ["d2", "pipe"], ["d3", "pipe"]]`
	expect(all)
	quiet() // after the list
	expect("d1 (IP: pipe) connectedd2 (IP: pipe) connectedd3 (IP: pipe) connected")
	quiet() // before the one coalesced list
	expect(all)
}
