package chat_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// cheap keeps argon2 fast in tests; the default cost is tested in
// store_test.go.
var cheap = chat.WithArgon2(chat.Argon2Params{Memory: 64, Time: 1, Threads: 1})

// fakeClock is an injected clock for the login throttle.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newAuthServer(t *testing.T, opts ...chat.Option) (*chattest.Server, *chat.Store) {
	t.Helper()
	st, err := chat.OpenStore(filepath.Join(t.TempDir(), "users.db"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]chat.Option{chat.WithMode(chat.ModeAuth), chat.WithStore(st), chat.WithPace(testPace)}, opts...)
	return chattest.NewServer(t, opts...), st
}

// dialogue runs the three-question dialogue up to the server's verdict.
func dialogue(t *testing.T, srv *chattest.Server, action, name, password, ip string, framed bool) *chattest.Client {
	t.Helper()
	opts := []chattest.DialOption{chattest.FromIP(ip)}
	if framed {
		opts = append(opts, chattest.Framed())
	}
	c := chattest.Dial(t, srv.Addr, opts...)
	c.Expect(chat.WelcomeAuth)
	c.Reply(action)
	c.Expect(chat.PromptUsername)
	c.Reply(name)
	c.Expect(chat.PromptPassword)
	c.Reply(password)
	return c
}

func TestAuthTranscript(t *testing.T) {
	alice, bob := chat.Peer{Name: "alice", IP: "127.0.0.11"}, chat.Peer{Name: "bob", IP: "127.0.0.12"}
	for _, framed := range []bool{false, true} {
		t.Run(map[bool]string{false: "legacy", true: "framed"}[framed], func(t *testing.T) {
			srv, _ := newAuthServer(t, chat.WithPace(paceFor(framed)))
			a := dialogue(t, srv, "register", "alice", "s3cret", alice.IP, framed)
			a.Expect("Registration successful. Welcome, alice!")
			a.ExpectPeers(alice)

			b := dialogue(t, srv, "register", "bob", "hunter2", bob.IP, framed)
			b.Expect("Registration successful. Welcome, bob!")
			b.ExpectPeers(alice, bob)
			a.Expect("bob (IP: 127.0.0.12) connected")
			a.ExpectPeers(alice, bob)

			b.Say("hi")
			a.Expect("bob (IP: 127.0.0.12) said: hi")

			b.Close()
			a.Expect("bob (IP: 127.0.0.12) is offline")
			a.ExpectPeers(alice)

			// Logging in again after going offline works.
			b = dialogue(t, srv, "login", "bob", "hunter2", bob.IP, framed)
			b.Expect("Login successful. Welcome back, bob!")
			b.ExpectPeers(alice, bob)
			a.Expect("bob (IP: 127.0.0.12) connected")
			a.ExpectPeers(alice, bob)
		})
	}
}

func TestAuthRejections(t *testing.T) {
	tests := []struct {
		name                     string
		action, user, password   string
		want                     string
		stopsAfterAction, atName bool
	}{
		{name: "invalid action", action: "dance", want: "Invalid action. Type 'login' or 'register'.", stopsAfterAction: true},
		{name: "invalid username", action: "register", user: "a b", want: "Invalid username. Please try again.", atName: true},
		{name: "too long username", action: "login", user: strings.Repeat("x", 21), want: "Invalid username. Please try again.", atName: true},
		{name: "re-register", action: "register", user: "alice", password: "other", want: "Username already taken. Please try again."},
		{name: "wrong password", action: "login", user: "alice", password: "wrong", want: "Invalid username or password."},
		{name: "unknown user", action: "login", user: "mallory", password: "s3cret", want: "Invalid username or password."},
		{name: "double login", action: "login", user: "alice", password: "s3cret", want: "User already logged in."},
	}
	srv, _ := newAuthServer(t)
	a := dialogue(t, srv, "register", "alice", "s3cret", "127.0.0.11", true)
	a.Expect("Registration successful. Welcome, alice!")
	a.ExpectPeers(chat.Peer{Name: "alice", IP: "127.0.0.11"})
	for _, tc := range tests {
		for _, framed := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/legacy", true: "/framed"}[framed], func(t *testing.T) {
				opts := []chattest.DialOption{chattest.FromIP("127.0.0.12")}
				if framed {
					opts = append(opts, chattest.Framed())
				}
				c := chattest.Dial(t, srv.Addr, opts...)
				c.Expect(chat.WelcomeAuth)
				c.Reply(tc.action)
				if !tc.stopsAfterAction {
					c.Expect(chat.PromptUsername)
					c.Reply(tc.user)
					if !tc.atName {
						c.Expect(chat.PromptPassword)
						c.Reply(tc.password)
					}
				}
				c.Expect(tc.want)
				c.ExpectClosed()
			})
		}
	}
	if got := srv.Online(); len(got) != 1 {
		t.Fatalf("online = %q, want only alice", got)
	}
}

func TestLoginThrottle(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	srv, _ := newAuthServer(t, chat.WithThrottle(chat.NewThrottle(3, time.Minute, clock.Now)))
	reg := dialogue(t, srv, "register", "alice", "right", "127.0.0.11", true)
	reg.Expect("Registration successful. Welcome, alice!")
	reg.Close()

	attempt := func(password, ip, want string) {
		t.Helper()
		c := dialogue(t, srv, "login", "alice", password, ip, true)
		c.Expect(want)
		c.Close()
	}
	waitOffline(t, srv)
	for range 3 {
		attempt("wrong", "127.0.0.66", chat.MsgBadCredentials)
	}
	// Throttled now, even with the right password ...
	attempt("right", "127.0.0.66", chat.MsgThrottled)
	clock.Advance(59 * time.Second)
	attempt("right", "127.0.0.66", chat.MsgThrottled)
	// ... but not from another address, so the attacker cannot lock the
	// owner out.
	c := dialogue(t, srv, "login", "alice", "right", "127.0.0.11", true)
	c.Expect("Login successful. Welcome back, alice!")
	c.Close()
	waitOffline(t, srv)
	// And the window ends after one minute.
	clock.Advance(time.Second)
	attempt("right", "127.0.0.66", "Login successful. Welcome back, alice!")
}

func TestThrottlePolicy(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	th := chat.NewThrottle(3, time.Minute, clock.Now)
	steps := []struct {
		advance   time.Duration
		fail      bool
		wantOK    bool
		wantRetry time.Duration
	}{
		{0, true, true, 0},
		{10 * time.Second, true, true, 0},
		{10 * time.Second, true, true, 0},
		{0, false, false, 40 * time.Second},
		{39 * time.Second, false, false, time.Second},
		{time.Second, false, true, 0},
		{0, true, true, 0},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		ok, retry := th.Allowed("alice", "10.0.0.1")
		if ok != s.wantOK || retry != s.wantRetry {
			t.Fatalf("step %d: Allowed = %v, %v; want %v, %v", i, ok, retry, s.wantOK, s.wantRetry)
		}
		if ok2, _ := th.Allowed("alice", "10.0.0.2"); !ok2 {
			t.Fatalf("step %d: another address is throttled too", i)
		}
		if s.fail {
			th.Fail("alice", "10.0.0.1")
		}
	}
	th.Succeed("alice", "10.0.0.1")
	if ok, _ := th.Allowed("alice", "10.0.0.1"); !ok {
		t.Fatal("success did not clear the failures")
	}
}

func TestAuthClientShowsPeersAndFailsOnRejection(t *testing.T) {
	srv, _ := newAuthServer(t)
	alice := startClient(t, chat.ModeAuth, srv.Addr, "127.0.0.51", freeUDPPort(t), "register", "alice", "pw1")
	alice.out.waitFor(t, "[Server] Registration successful. Welcome, alice!\nOnline peers: ['alice']\n")

	again := startClient(t, chat.ModeAuth, srv.Addr, "127.0.0.52", 0, "register", "alice", "pw2")
	if err := again.wait(t); err == nil {
		t.Fatal("re-registering succeeded")
	}
	again.out.waitFor(t, "[Server] Username already taken. Please try again.\n")

	alice.line(":q")
	if err := alice.wait(t); err != nil {
		t.Fatal(err)
	}
	back := startClient(t, chat.ModeAuth, srv.Addr, "127.0.0.51", freeUDPPort(t), "login", "alice", "pw1")
	back.out.waitFor(t, "[Server] Login successful. Welcome back, alice!\nOnline peers: ['alice']\n")
}

// waitOffline waits until nobody is online, so that a correct login is not
// refused as a double login.
func waitOffline(t *testing.T, srv *chattest.Server) {
	t.Helper()
	deadline := time.Now().Add(chattest.Wait)
	for len(srv.Online()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still online: %q", srv.Online())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRegistrationSurvivesServerRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	start := func() (*chattest.Server, *chat.Store) {
		st, err := chat.OpenStore(path, cheap)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return chattest.NewServer(t, chat.WithMode(chat.ModeAuth), chat.WithStore(st), chat.WithPace(testPace)), st
	}
	first, firstStore := start()
	c := dialogue(t, first, "register", "alice", "s3cret", "127.0.0.11", true)
	c.Expect("Registration successful. Welcome, alice!")
	first.Close()
	firstStore.Close()

	second, _ := start()
	c = dialogue(t, second, "login", "alice", "s3cret", "127.0.0.11", true)
	c.Expect("Login successful. Welcome back, alice!")
	c.ExpectPeers(chat.Peer{Name: "alice", IP: "127.0.0.11"})
	d := dialogue(t, second, "register", "alice", "other", "127.0.0.12", true)
	d.Expect("Username already taken. Please try again.")
	d.ExpectClosed()
}
