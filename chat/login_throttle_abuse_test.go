package chat_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// TestConcurrentWrongPasswordsAreThrottled replays the race of issue 15:
// many sessions from one address wait at the password prompt and send
// wrong passwords at once. Only the throttle's limit of them may be
// checked, and the right password afterwards is refused too.
func TestConcurrentWrongPasswordsAreThrottled(t *testing.T) {
	// The real argon2 cost keeps each check slow enough that, without
	// counting attempts in flight, every session passes the check first.
	st, err := chat.OpenStore(filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeAuth), chat.WithStore(st), chat.WithPace(testPace))
	if err := st.Register("alice", "right"); err != nil {
		t.Fatal(err)
	}
	const sessions = 12
	var conns []*chattest.Client
	for range sessions {
		c := chattest.Dial(t, srv.Addr, chattest.FromIP("127.0.0.66"), chattest.Framed())
		c.Expect(chat.WelcomeAuth)
		c.Reply("login")
		c.Expect(chat.PromptUsername)
		c.Reply("alice")
		c.Expect(chat.PromptPassword)
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	replies := make([]string, sessions)
	for i, c := range conns {
		wg.Go(func() {
			c.Reply("wrong")
			replies[i] = c.Next()
		})
	}
	wg.Wait()
	checked := 0
	for _, r := range replies {
		switch r {
		case chat.MsgBadCredentials:
			checked++
		case chat.MsgThrottled:
		default:
			t.Fatalf("unexpected reply %q", r)
		}
	}
	if checked > 3 {
		t.Errorf("%d of %d concurrent wrong passwords were checked, want at most 3", checked, sessions)
	}
	c := dialogue(t, srv, "login", "alice", "right", "127.0.0.66", true)
	c.Expect(chat.MsgThrottled)
}

// TestRotatingAddressesHitTheAccountLimit replays the spread attack: one
// wrong password from each of many addresses. After the account's limit,
// attempts back off, while the owner's familiar address still gets in.
func TestRotatingAddressesHitTheAccountLimit(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	th := chat.NewThrottle(3, time.Minute, clock.Now)
	srv, _ := newAuthServer(t, chat.WithThrottle(th))
	reg := dialogue(t, srv, "register", "alice", "right", "127.0.0.11", true)
	reg.Expect("Registration successful. Welcome, alice!")
	reg.Close()
	waitOffline(t, srv)
	owner := dialogue(t, srv, "login", "alice", "right", "127.0.0.11", true)
	owner.Expect("Login successful. Welcome back, alice!")
	owner.Close()
	waitOffline(t, srv)

	checked := 0
	for i := range 30 {
		c := dialogue(t, srv, "login", "alice", "guess", fmt.Sprintf("127.0.1.%d", i+1), true)
		if c.Next() == chat.MsgBadCredentials {
			checked++
		}
		c.Close()
	}
	if checked != th.AccountLimit {
		t.Errorf("%d guesses from 30 addresses were checked, want the account limit %d", checked, th.AccountLimit)
	}
	// The owner, from an address alice logged in from, is not held back.
	owner = dialogue(t, srv, "login", "alice", "right", "127.0.0.11", true)
	owner.Expect("Login successful. Welcome back, alice!")
	owner.Close()
	waitOffline(t, srv)
}

func TestAccountBackoffEnds(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	th := chat.NewThrottle(3, time.Minute, clock.Now)
	fail := func(ip string) (bool, time.Duration) {
		done, retry, ok := th.Begin("alice", ip)
		if ok {
			done(false)
		}
		return ok, retry
	}
	for i := range th.AccountLimit {
		if ok, _ := fail(fmt.Sprintf("10.0.0.%d", i)); !ok {
			t.Fatalf("attempt %d refused before the account limit", i)
		}
	}
	// Over the limit: each further guess waits twice as long, up to the
	// window, and never longer.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		ok, retry := fail("10.0.1.1")
		if ok || retry != want {
			t.Fatalf("step %d: Begin = %v, retry %v; want refused, retry %v", i, ok, retry, want)
		}
		clock.Advance(retry)
		if ok, _ := fail(fmt.Sprintf("10.0.2.%d", i)); !ok {
			t.Fatalf("step %d: refused after waiting %v", i, retry)
		}
	}
	for range 20 {
		_, retry := fail("10.0.3.1")
		if retry > time.Minute {
			t.Fatalf("backoff %v is longer than the window", retry)
		}
		clock.Advance(retry)
		fail("10.0.3.2")
	}
	clock.Advance(time.Minute)
	if ok, _ := fail("10.0.4.1"); !ok {
		t.Fatal("the account is still held back a window after the last guess")
	}
}

func TestThrottleCountsAttemptsInFlight(t *testing.T) {
	th := chat.NewThrottle(3, time.Minute, nil)
	var dones []func(bool)
	for range 100 {
		if done, _, ok := th.Begin("alice", "10.0.0.1"); ok {
			dones = append(dones, done)
		}
	}
	if len(dones) != 3 {
		t.Fatalf("%d of 100 concurrent attempts were let through, want 3", len(dones))
	}
	for _, d := range dones {
		d(false)
	}
	if _, _, ok := th.Begin("alice", "10.0.0.1"); ok {
		t.Fatal("allowed after three failures")
	}
}

// TestRegistrationRateLimit: one address cannot register accounts as fast
// as it can connect; the limit ends with its window.
func TestRegistrationRateLimit(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	srv, _ := newAuthServer(t, chat.WithRegistrationLimit(chat.NewRateLimit(5, time.Minute, clock.Now)))
	for i := range 5 {
		c := dialogue(t, srv, "register", fmt.Sprintf("u%d", i), "pw", "127.0.0.77", true)
		c.Expect(fmt.Sprintf("Registration successful. Welcome, u%d!", i))
		c.Close()
	}
	c := dialogue(t, srv, "register", "u5", "pw", "127.0.0.77", true)
	c.Expect(chat.MsgRegistrationsLimited)
	c.ExpectClosed()
	// Another address is not affected, and the limit ends.
	c = dialogue(t, srv, "register", "u6", "pw", "127.0.0.78", true)
	c.Expect("Registration successful. Welcome, u6!")
	c.Close()
	clock.Advance(time.Minute)
	c = dialogue(t, srv, "register", "u5", "pw", "127.0.0.77", true)
	c.Expect("Registration successful. Welcome, u5!")
}
