package chat_test

// Interoperability with the handout's Python programs, as the issue
// requires:
//
//  1. a handout-style client works against our server: a strict client that
//     takes one recv(2048) as one message and json.loads a read that starts
//     with '[' sees every notice and chat message and parses every peer list;
//  2. our client works against the handout-style servers, which send
//     unframed messages and sleep 0.5 s before each list;
//  3. our own pair does not depend on timing.
//
// Every wait is for an event (a line of output, a log record, a process
// exit) with a deadline that only turns a hang into a failure.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

// interopWait bounds every wait for a Python program. The handout servers
// sleep 0.5 s per list and the machine may be busy; it is not a timing
// assertion.
const interopWait = 45 * time.Second

const (
	strictClientPy = "testdata/interop/strict_client.py"
	handoutDir     = "../testdata/handout"
)

// needPython returns the path of python3 (tier.Python: skipped in -short
// mode, and without python3 unless CI is set).
func needPython(t *testing.T) string {
	t.Helper()
	return tier.Python(t)
}

// feed collects a program's output line by line and wakes waiters on each
// write. Lines are cleaned of the handout's "\r" and "[Me] " prompts.
type feed struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	grew    chan struct{}
	closed  bool
}

func newFeed() *feed { return &feed{grew: make(chan struct{})} }

func (f *feed) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		if l := cleanLine(string(f.partial[:i])); l != "" {
			f.lines = append(f.lines, l)
		}
		f.partial = f.partial[i+1:]
	}
	close(f.grew)
	f.grew = make(chan struct{})
	return len(p), nil
}

// close marks the end of the output.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if l := cleanLine(string(f.partial)); l != "" {
		f.lines = append(f.lines, l)
	}
	f.partial = nil
	f.closed = true
	close(f.grew)
}

// cleanLine drops the prompt fragments a handout program prints with "\r".
func cleanLine(l string) string {
	var kept []string
	for _, seg := range strings.Split(l, "\r") {
		if s := strings.TrimSpace(seg); s != "" && s != "[Me]" {
			kept = append(kept, strings.TrimPrefix(seg, "[Me] "))
		}
	}
	return strings.Join(kept, "")
}

func (f *feed) snapshot() ([]string, <-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lines), f.grew, f.closed
}

func (f *feed) String() string {
	lines, _, _ := f.snapshot()
	return strings.Join(lines, "\n")
}

// await returns the index of the first line at or after from for which
// match holds. ok is false when the output ended without one.
func (f *feed) await(t *testing.T, from int, match func(string) bool) (idx int, ok bool) {
	t.Helper()
	timer := time.NewTimer(interopWait)
	defer timer.Stop()
	for {
		lines, grew, closed := f.snapshot()
		for i := from; i < len(lines); i++ {
			if match(lines[i]) {
				return i, true
			}
		}
		if closed {
			return -1, false
		}
		select {
		case <-grew:
		case <-timer.C:
			t.Fatalf("no such line after %v; output:\n%s", interopWait, f)
		}
	}
}

// proc is a running Python program.
type proc struct {
	name        string
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	out, errOut *feed
	done        chan struct{}
	err         error // valid after done
}

// startPython runs python3 with args. Unless stdin is given the program
// gets a pipe that writeLine feeds. The process is killed when the test
// ends, and its output is logged if the test failed.
func startPython(t *testing.T, name string, stdin io.Reader, extra []*os.File, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(needPython(t), args...)
	cmd.Env = append(append(os.Environ(), "PYTHONUNBUFFERED=1"), env...)
	p := &proc{name: name, cmd: cmd, out: newFeed(), errOut: newFeed(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.errOut
	cmd.ExtraFiles = extra
	if stdin != nil {
		cmd.Stdin = stdin
	} else {
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.out.close()
		p.errOut.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.out, name, p.errOut)
		}
	})
	return p
}

func (p *proc) writeLine(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("%s: write %q: %v", p.name, line, err)
	}
}

// wait waits for the program to exit and returns its exit status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(interopWait):
		t.Fatalf("%s did not exit", p.name)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// strictEvent is one record of strict_client.py's log.
type strictEvent struct {
	Read      string      `json:"read"`
	Text      *string     `json:"text"`
	List      *[][]string `json:"list"`
	Violation string      `json:"violation"`
	Sent      string      `json:"sent"`
	Quit      bool        `json:"quit"`
	Closed    bool        `json:"closed"`
}

// strictLog is the log of one strict client, read as it is written.
type strictLog struct {
	mu     sync.Mutex
	events []strictEvent
	bad    []string // undecodable records
	grew   chan struct{}
	ended  bool
}

func readStrictLog(r io.ReadCloser) *strictLog {
	l := &strictLog{grew: make(chan struct{})}
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev strictEvent
			err := json.Unmarshal(sc.Bytes(), &ev)
			l.mu.Lock()
			if err != nil {
				l.bad = append(l.bad, sc.Text())
			} else {
				l.events = append(l.events, ev)
			}
			close(l.grew)
			l.grew = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.ended = true
		close(l.grew)
		l.mu.Unlock()
	}()
	return l
}

func (l *strictLog) snapshot() ([]strictEvent, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events), l.grew, l.ended
}

// textStream is every read the client printed as text, in order, as the
// bytes arrived: messages the server packed into one read, or split
// between two, read the same as one message per read.
func textStream(evs []strictEvent) string {
	var sb strings.Builder
	for _, ev := range evs {
		if ev.Text != nil {
			sb.WriteString(ev.Read)
		}
	}
	return sb.String()
}

func lastList(evs []strictEvent) (peers []chat.Peer, ok bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].List != nil {
			peers = []chat.Peer{}
			for _, p := range *evs[i].List {
				peers = append(peers, chat.Peer{Name: p[0], IP: p[1]})
			}
			return peers, true
		}
	}
	return nil, false
}

func (l *strictLog) dump() string {
	evs, _, _ := l.snapshot()
	var sb strings.Builder
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// strict is one strict_client.py process.
type strict struct {
	name, ip, password string
	p                  *proc
	log                *strictLog
}

func startStrict(t *testing.T, addr, name, ip string) *strict {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The log is a pipe on fd 3, so the test reads each record as it is
	// written instead of polling a file.
	p := startPython(t, "strict client "+name, nil, []*os.File{w}, nil, strictClientPy, host, port, "/dev/fd/3", ip)
	w.Close()
	return &strict{name: name, ip: ip, password: "pw-" + name, p: p, log: readStrictLog(r)}
}

// await waits until cond holds for the client's log. A protocol violation
// fails the test at once.
func (s *strict) await(t *testing.T, what string, cond func([]strictEvent) bool) {
	t.Helper()
	timer := time.NewTimer(interopWait)
	defer timer.Stop()
	for {
		evs, grew, ended := s.log.snapshot()
		for _, ev := range evs {
			if ev.Violation != "" {
				t.Fatalf("%s: protocol violation: %s in read %q", s.name, ev.Violation, ev.Read)
			}
		}
		if cond(evs) {
			return
		}
		if ended {
			t.Fatalf("%s: log ended before %s; log:\n%s", s.name, what, s.log.dump())
		}
		select {
		case <-grew:
		case <-timer.C:
			t.Fatalf("%s: no %s after %v; log:\n%s", s.name, what, interopWait, s.log.dump())
		}
	}
}

func (s *strict) awaitText(t *testing.T, want string) {
	t.Helper()
	s.await(t, fmt.Sprintf("message %q", want), func(evs []strictEvent) bool {
		return strings.Contains(textStream(evs), want)
	})
}

// awaitPeers waits until the latest peer list the client parsed holds
// exactly want, in any order.
func (s *strict) awaitPeers(t *testing.T, want []chat.Peer) {
	t.Helper()
	want = sortedPeers(want)
	s.await(t, fmt.Sprintf("peer list %v", want), func(evs []strictEvent) bool {
		got, ok := lastList(evs)
		return ok && slices.Equal(sortedPeers(got), want)
	})
}

func sortedPeers(p []chat.Peer) []chat.Peer {
	p = slices.Clone(p)
	slices.SortFunc(p, func(a, b chat.Peer) int { return strings.Compare(a.Name, b.Name) })
	return p
}

// room drives strict clients against one of our servers and tracks who
// is online.
type room struct {
	t      *testing.T
	srv    *chattest.Server
	mode   chat.Mode
	online []*strict
	known  map[string]bool // registered (auth mode)
	round  int
}

func (r *room) joinedNotice(s *strict) string {
	if r.mode == chat.ModeChatroom {
		return fmt.Sprintf("%s (IP: %s): connected", s.name, s.ip)
	}
	return fmt.Sprintf("%s (IP: %s) connected", s.name, s.ip)
}

func (r *room) leftNotice(s *strict) string {
	if r.mode == chat.ModeChatroom {
		return fmt.Sprintf("%s (IP: %s): is offline", s.name, s.ip)
	}
	return fmt.Sprintf("%s (IP: %s) is offline", s.name, s.ip)
}

func (r *room) chatLine(s *strict, text string) string {
	if r.mode == chat.ModeChatroom {
		return fmt.Sprintf("%s (IP: %s) says: %s", s.name, s.ip, text)
	}
	return fmt.Sprintf("%s (IP: %s) said: %s", s.name, s.ip, text)
}

func (r *room) peers() []chat.Peer {
	var p []chat.Peer
	for _, s := range r.online {
		p = append(p, chat.Peer{Name: s.name, IP: s.ip})
	}
	return p
}

// join connects new clients at the same time and runs each one's dialogue
// as a user would: every answer is typed after its question arrived.
func (r *room) join(who ...[2]string) {
	t := r.t
	t.Helper()
	var fresh []*strict
	for _, w := range who {
		fresh = append(fresh, startStrict(t, r.srv.Addr, w[0], w[1]))
	}
	ask := func(question string, answer func(s *strict) string) {
		t.Helper()
		for _, s := range fresh {
			s.awaitText(t, strings.TrimSpace(question))
		}
		for _, s := range fresh {
			s.p.writeLine(t, answer(s))
		}
	}
	var success func(s *strict) string
	switch r.mode {
	case chat.ModeAuth:
		ask(chat.WelcomeAuth, func(s *strict) string {
			if r.known[s.name] {
				return "login"
			}
			return "register"
		})
		ask(chat.PromptUsername, func(s *strict) string { return s.name })
		ask(chat.PromptPassword, func(s *strict) string { return s.password })
		success = func(s *strict) string {
			if r.known[s.name] {
				return fmt.Sprintf("Login successful. Welcome back, %s!", s.name)
			}
			return fmt.Sprintf("Registration successful. Welcome, %s!", s.name)
		}
	default:
		ask(chat.WelcomeChat, func(s *strict) string { return s.name })
		success = func(s *strict) string {
			return fmt.Sprintf("Your username (%s) is valid. You can start chatting now.", s.name)
		}
	}
	for _, s := range fresh {
		s.awaitText(t, success(s))
		r.known[s.name] = true
	}
	old := r.online
	r.online = append(slices.Clone(old), fresh...)
	// Keep the server's join order, which the peer list follows.
	order := r.srv.Online()
	slices.SortStableFunc(r.online, func(a, b *strict) int {
		return slices.Index(order, a.name) - slices.Index(order, b.name)
	})
	for _, o := range old {
		for _, s := range fresh {
			o.awaitText(t, r.joinedNotice(s))
		}
	}
	// Of clients that joined together, each sees the notices of those the
	// server let in after it.
	for _, a := range fresh {
		for _, b := range fresh {
			if slices.Index(order, b.name) > slices.Index(order, a.name) {
				a.awaitText(t, r.joinedNotice(b))
			}
		}
	}
	r.settle()
}

// settle waits, in p2p and auth modes, until every client's latest list
// is the set of users online.
func (r *room) settle() {
	r.t.Helper()
	if r.mode == chat.ModeChatroom {
		return
	}
	for _, s := range r.online {
		s.awaitPeers(r.t, r.peers())
	}
}

// chat has every client say one line and checks that all others see it.
func (r *room) chat() {
	t := r.t
	t.Helper()
	r.round++
	for _, s := range r.online {
		s.p.writeLine(t, fmt.Sprintf("round %d from %s", r.round, s.name))
	}
	for _, s := range r.online {
		for _, o := range r.online {
			if o != s {
				o.awaitText(t, r.chatLine(s, fmt.Sprintf("round %d from %s", r.round, s.name)))
			}
		}
	}
}

// leave makes the named clients type ":q" at the same time.
func (r *room) leave(names ...string) {
	t := r.t
	t.Helper()
	var gone, stay []*strict
	for _, s := range r.online {
		if slices.Contains(names, s.name) {
			gone = append(gone, s)
		} else {
			stay = append(stay, s)
		}
	}
	for _, s := range gone {
		s.p.writeLine(t, ":q")
	}
	for _, s := range gone {
		r.finish(s)
	}
	r.online = stay
	for _, o := range stay {
		for _, s := range gone {
			o.awaitText(t, r.leftNotice(s))
		}
	}
	r.settle()
}

// finish waits for a client that was told to quit and checks its whole
// log: a clean exit, no violation, and in chatroom mode no list at all.
func (r *room) finish(s *strict) {
	t := r.t
	t.Helper()
	if code := s.p.wait(t); code != 0 {
		t.Fatalf("%s exited with status %d; log:\n%s", s.name, code, s.log.dump())
	}
	s.await(t, "the end of the log", func([]strictEvent) bool {
		_, _, ended := s.log.snapshot()
		return ended
	})
	evs, _, _ := s.log.snapshot()
	if len(s.log.bad) > 0 {
		t.Errorf("%s: undecodable log records: %q", s.name, s.log.bad)
	}
	lists := 0
	for _, ev := range evs {
		if ev.List != nil {
			lists++
		}
	}
	switch {
	case r.mode == chat.ModeChatroom && lists > 0:
		t.Errorf("%s got %d peer lists from a chatroom server", s.name, lists)
	case r.mode != chat.ModeChatroom && lists == 0:
		t.Errorf("%s never got a peer list", s.name)
	}
	if !evs[len(evs)-1].Quit {
		t.Errorf("%s: last record is %+v, want the quit", s.name, evs[len(evs)-1])
	}
}

// TestInteropStrictHandoutClients runs three to five strict handout-style
// clients at once against our server: joins one at a time and several at
// once, chat in between, several leaving at once and a name coming back.
// Every notice and chat line must arrive, every peer list must come in a
// read of its own that json.loads accepts, and the last list must be the
// users online.
func TestInteropStrictHandoutClients(t *testing.T) {
	needPython(t)
	for _, mode := range []chat.Mode{chat.ModeChatroom, chat.ModeP2P, chat.ModeAuth} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			opts := []chat.Option{chat.WithMode(mode)}
			if mode == chat.ModeAuth {
				st, err := chat.OpenStore(filepath.Join(t.TempDir(), "users.db"), cheap)
				if err != nil {
					t.Fatal(err)
				}
				opts = append(opts, chat.WithStore(st))
			}
			r := &room{t: t, srv: chattest.NewServer(t, opts...), mode: mode, known: map[string]bool{}}

			r.join([2]string{"amy", "127.0.0.31"})
			r.join([2]string{"ben", "127.0.0.32"})
			r.chat()
			r.join([2]string{"cat", "127.0.0.33"}, [2]string{"dan", "127.0.0.34"}, [2]string{"eve", "127.0.0.35"})
			r.chat()
			r.leave("ben", "cat", "dan")
			r.chat()
			r.join([2]string{"cat", "127.0.0.36"})
			r.chat()

			if diff := chattest.Diff(names(r.online), r.srv.Online()); diff != "" {
				t.Errorf("server's users (-want +got):\n%s", diff)
			}
			if mode != chat.ModeChatroom {
				// The final list is in the server's join order.
				for _, s := range r.online {
					evs, _, _ := s.log.snapshot()
					got, _ := lastList(evs)
					if diff := chattest.Diff(r.peers(), got); diff != "" {
						t.Errorf("%s's final peer list (-want +got):\n%s", s.name, diff)
					}
				}
			}
			r.leave(names(r.online)...)
		})
	}
}

func names(ss []*strict) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.name)
	}
	return n
}

// freeUDPPortOn returns a UDP port that is free right now on every one of
// ips, for clients that must share one P2P port.
func freeUDPPortOn(t *testing.T, ips ...string) int {
	t.Helper()
	for range 20 {
		first, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ips[0])})
		if err != nil {
			t.Fatal(err)
		}
		port := first.LocalAddr().(*net.UDPAddr).Port
		held := []*net.UDPConn{first}
		ok := true
		for _, ip := range ips[1:] {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no UDP port free on all of %v", ips)
	return 0
}

// TestInteropHandoutAuthClient runs the handout-style Milestone 4 client
// (testdata/handout/chatroom_auth_client.py) against our server in auth
// mode: register, log in, a wrong password and a second registration of the
// same name, each a transcript of what the user sees.
func TestInteropHandoutAuthClient(t *testing.T) {
	needPython(t)
	st, err := chat.OpenStore(filepath.Join(t.TempDir(), "users.db"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeAuth), chat.WithStore(st))
	host, port, _ := net.SplitHostPort(srv.Addr)
	udp := freeUDPPortOn(t, "127.0.0.41")
	welcome := "[Server] " + strings.TrimSpace(chat.WelcomeAuth)
	for _, tc := range []struct {
		name   string
		input  []string
		want   []string
		status int
	}{{
		name:  "register",
		input: []string{"register", "carol", "s3cret"},
		want: []string{welcome, "[Server] Username:", "[Server] Password:",
			"[Server] Registration successful. Welcome, carol!", "Online peers: ['carol']"},
	}, {
		name:  "login",
		input: []string{"login", "carol", "s3cret"},
		want: []string{welcome, "[Server] Username:", "[Server] Password:",
			"[Server] Login successful. Welcome back, carol!", "Online peers: ['carol']"},
	}, {
		name:   "wrong password",
		input:  []string{"login", "carol", "wrong"},
		want:   []string{welcome, "[Server] Username:", "[Server] Password:", "[Server] Invalid username or password."},
		status: 1,
	}, {
		name:   "register again",
		input:  []string{"register", "carol", "other"},
		want:   []string{welcome, "[Server] Username:", "[Server] Password:", "[Server] Username already taken. Please try again."},
		status: 1,
	}} {
		// Each case needs the previous session to be over on the server.
		waitOffline(t, srv)
		p := startPython(t, "auth client ("+tc.name+")", strings.NewReader(strings.Join(tc.input, "\n")+"\n"), nil,
			[]string{"LAB_SEND_GAP=0.05"},
			filepath.Join(handoutDir, "chatroom_auth_client.py"), host, port, "127.0.0.41", strconv.Itoa(udp))
		status := p.wait(t)
		if diff := chattest.Diff(tc.want, strings.Split(p.out.String(), "\n")); diff != "" {
			t.Errorf("%s: transcript (-want +got):\n%s", tc.name, diff)
		}
		if status != tc.status {
			t.Errorf("%s: exit status %d, want %d; stderr:\n%s", tc.name, status, tc.status, p.errOut)
		}
	}
	if !st.Has("carol") {
		t.Error("carol is not in the store")
	}
}

// ourClient is our chat client (chat.Client, what chat-client runs) driven
// in-process through a pipe.
type ourClient struct {
	name   string
	in     *io.PipeWriter
	out    *feed
	done   chan error
	cursor int
}

func runOurClient(t *testing.T, name string, cl chat.Client) *ourClient {
	t.Helper()
	pr, pw := io.Pipe()
	c := &ourClient{name: name, in: pw, out: newFeed(), done: make(chan error, 1)}
	cl.In, cl.Out = pr, c.out
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		err := cl.Run(ctx)
		c.out.close()
		c.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		pw.Close()
		if t.Failed() {
			t.Logf("%s saw:\n%s", name, c.out)
		}
	})
	return c
}

func (c *ourClient) say(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		t.Fatalf("%s: type %q: %v", c.name, line, err)
	}
}

// expect waits for the line want after the lines already expected, so a
// series of expect calls checks a transcript in order.
func (c *ourClient) expect(t *testing.T, want string) {
	t.Helper()
	i, ok := c.out.await(t, c.cursor, func(l string) bool { return l == want })
	if !ok {
		t.Fatalf("%s ended without printing %q; output:\n%s", c.name, want, c.out)
	}
	c.cursor = i + 1
}

// listUntil types ":l" until the client shows want. The peer list is a
// message of its own after the join or leave notice, so the first ":l"
// may still show the previous list.
func (c *ourClient) listUntil(t *testing.T, want []string) {
	t.Helper()
	line := "Online peers: ['" + strings.Join(want, "', '") + "']"
	if len(want) == 0 {
		line = "Online peers: []"
	}
	timer := time.NewTimer(interopWait)
	defer timer.Stop()
	for {
		lines, _, _ := c.out.snapshot()
		c.say(t, ":l")
		i, ok := c.out.await(t, len(lines), func(l string) bool { return strings.HasPrefix(l, "Online peers: ") })
		if !ok {
			t.Fatalf("%s ended while listing peers", c.name)
		}
		got, _, _ := c.out.snapshot()
		if got[i] == line {
			c.cursor = i + 1
			return
		}
		select {
		case <-timer.C:
			t.Fatalf("%s never listed %s; output:\n%s", c.name, line, c.out)
		default:
		}
	}
}

// quit types ":q" and returns Run's result.
func (c *ourClient) quit(t *testing.T) error {
	t.Helper()
	c.say(t, ":q")
	return c.exit(t)
}

func (c *ourClient) exit(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.done:
		return err
	case <-time.After(interopWait):
		t.Fatalf("%s did not stop", c.name)
		return nil
	}
}

// startHandoutServer runs a handout-style server on a free loopback port
// and returns its address once it listens.
func startHandoutServer(t *testing.T, script string, args ...string) string {
	t.Helper()
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		p := startPython(t, script, nil, nil, nil, append(append([]string{filepath.Join(handoutDir, script)}, args...), "127.0.0.1", port)...)
		if _, ok := p.errOut.await(t, 0, func(l string) bool { return strings.Contains(l, "Server started on IP") }); ok {
			return addr
		}
		// Someone took the port between Close and the bind: try another.
		if !strings.Contains(p.errOut.String(), "cannot listen") {
			t.Fatalf("%s did not start:\n%s", script, p.errOut)
		}
	}
	t.Fatalf("%s found no free port", script)
	return ""
}

// TestInteropOurClientHandoutServer runs our client against each
// handout-style server: join and leave notices, chat, the peer list, P2P
// messages between two of our clients, and the Milestone 4 dialogue.
func TestInteropOurClientHandoutServer(t *testing.T) {
	needPython(t)
	const aliceIP, bobIP = "127.0.0.11", "127.0.0.12"
	client := func(t *testing.T, mode chat.Mode, addr, name, ip string, port int) *ourClient {
		return runOurClient(t, name, chat.Client{Server: addr, Mode: mode, Bind: ip, P2PPort: port})
	}
	welcome := "[Server] " + strings.TrimSpace(chat.WelcomeChat)

	t.Run("chatroom", func(t *testing.T) {
		t.Parallel()
		addr := startHandoutServer(t, "chatroom_server.py")
		// The handout server takes each recv() as one message, so "one" and
		// "two" below stay apart only if it reads the first before the
		// second arrives: the default 100 ms gap is not enough for a Python
		// thread on a loaded machine.
		client := func(t *testing.T, mode chat.Mode, addr, name, ip string, port int) *ourClient {
			return runOurClient(t, name, chat.Client{Server: addr, Mode: mode, Bind: ip, P2PPort: port, LegacyGap: time.Second})
		}
		alice := client(t, chat.ModeChatroom, addr, "alice", aliceIP, 0)
		alice.expect(t, welcome)
		alice.say(t, "alice")
		alice.expect(t, "[Server] Your username (alice) is valid. You can start chatting now.")
		bob := client(t, chat.ModeChatroom, addr, "bob", bobIP, 0)
		bob.expect(t, welcome)
		bob.say(t, "bob")
		bob.expect(t, "[Server] Your username (bob) is valid. You can start chatting now.")
		alice.expect(t, "[Server] bob (IP: 127.0.0.12): connected")

		alice.say(t, "hello bob")
		bob.expect(t, "[Server] alice (IP: 127.0.0.11) says: hello bob")
		bob.say(t, "hi alice")
		alice.expect(t, "[Server] bob (IP: 127.0.0.12) says: hi alice")
		// Two lines typed at once still arrive as two messages: our client
		// spaces its sends to an unframed server.
		alice.say(t, "one")
		alice.say(t, "two")
		bob.expect(t, "[Server] alice (IP: 127.0.0.11) says: one")
		bob.expect(t, "[Server] alice (IP: 127.0.0.11) says: two")

		if err := alice.quit(t); err != nil {
			t.Fatalf("alice: %v", err)
		}
		bob.expect(t, "[Server] alice (IP: 127.0.0.11): is offline")
	})

	t.Run("p2p", func(t *testing.T) {
		t.Parallel()
		addr := startHandoutServer(t, "chatroom_p2p_server.py")
		port := freeUDPPortOn(t, aliceIP, bobIP)
		alice := client(t, chat.ModeP2P, addr, "alice", aliceIP, port)
		alice.expect(t, welcome)
		alice.say(t, "alice")
		alice.expect(t, "[Server] Your username (alice) is valid. You can start chatting now.")
		alice.listUntil(t, []string{"alice"})
		bob := client(t, chat.ModeP2P, addr, "bob", bobIP, port)
		bob.expect(t, welcome)
		bob.say(t, "bob")
		bob.expect(t, "[Server] Your username (bob) is valid. You can start chatting now.")
		alice.expect(t, "[Server] bob (IP: 127.0.0.12) connected")
		// bob's input waits for his first list, so his first :l shows it.
		bob.say(t, ":l")
		bob.expect(t, "Online peers: ['alice', 'bob']")
		alice.listUntil(t, []string{"alice", "bob"})

		alice.say(t, "@bob: psst")
		bob.expect(t, "[P2P] alice (IP: 127.0.0.11) says: psst")
		bob.say(t, "@alice: psst back")
		alice.expect(t, "[P2P] bob (IP: 127.0.0.12) says: psst back")
		alice.say(t, "hello all")
		bob.expect(t, "[Server] alice (IP: 127.0.0.11) said: hello all")
		bob.say(t, "@carol: anyone?")
		bob.expect(t, "User (carol) not found")

		if err := alice.quit(t); err != nil {
			t.Fatalf("alice: %v", err)
		}
		bob.expect(t, "[Server] alice (IP: 127.0.0.11) is offline")
		bob.listUntil(t, []string{"bob"})
		bob.say(t, "@alice: still there?")
		bob.expect(t, "User (alice) not found")
	})

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		users := filepath.Join(t.TempDir(), "users.json")
		addr := startHandoutServer(t, "chatroom_auth_server.py", "--users", users)
		port := freeUDPPortOn(t, aliceIP, bobIP)
		welcomeAuth := "[Server] " + strings.TrimSpace(chat.WelcomeAuth)
		session := func(name, ip, action, password string) *ourClient {
			t.Helper()
			c := client(t, chat.ModeAuth, addr, name, ip, port)
			c.expect(t, welcomeAuth)
			c.say(t, action)
			c.expect(t, "[Server] Username:")
			c.say(t, name)
			c.expect(t, "[Server] Password:")
			c.say(t, password)
			return c
		}

		carol := session("carol", aliceIP, "register", "pw-carol")
		carol.expect(t, "[Server] Registration successful. Welcome, carol!")
		carol.expect(t, "Online peers: ['carol']")
		dave := session("dave", bobIP, "register", "pw-dave")
		dave.expect(t, "[Server] Registration successful. Welcome, dave!")
		dave.expect(t, "Online peers: ['carol', 'dave']")
		carol.expect(t, "[Server] dave (IP: 127.0.0.12) connected")
		carol.listUntil(t, []string{"carol", "dave"})
		carol.say(t, "@dave: psst")
		dave.expect(t, "[P2P] carol (IP: 127.0.0.11) says: psst")
		dave.say(t, "hi carol")
		carol.expect(t, "[Server] dave (IP: 127.0.0.12) said: hi carol")

		if err := carol.quit(t); err != nil {
			t.Fatalf("carol: %v", err)
		}
		dave.expect(t, "[Server] carol (IP: 127.0.0.11) is offline")

		wrong := session("carol", aliceIP, "login", "not-her-password")
		wrong.expect(t, "[Server] Invalid username or password.")
		var rej *chat.RejectedError
		if err := wrong.exit(t); !errors.As(err, &rej) {
			t.Errorf("wrong password: Run returned %v, want a refusal", err)
		}
		again := session("dave", aliceIP, "register", "another")
		again.expect(t, "[Server] Username already taken. Please try again.")
		if err := again.exit(t); !errors.As(err, &rej) {
			t.Errorf("second registration: Run returned %v, want a refusal", err)
		}

		carol = session("carol", aliceIP, "login", "pw-carol")
		carol.expect(t, "[Server] Login successful. Welcome back, carol!")
		carol.expect(t, "Online peers: ['dave', 'carol']")
		dave.expect(t, "[Server] carol (IP: 127.0.0.11) connected")
		// As the first login above does, carol speaks once the handout
		// server's peer-list push has reached dave, so this checks the
		// push on its own; a line that shares a read with the push is
		// TestInteropGluedPeerListAtHumanPace's case.
		dave.listUntil(t, []string{"dave", "carol"})
		carol.say(t, "back again")
		dave.expect(t, "[Server] carol (IP: 127.0.0.11) said: back again")
	})
}

// TestInteropFramedPairIgnoresTiming checks that our client and our server
// need no pauses between them: the server's pace for handout clients is an
// hour and our client's gap between sends to an unframed server and its
// wait for the first peer list are an hour too, so any reliance on them
// would hang the test. A handout-style client sitting in its hour-long
// quiet interval must not hold anyone else up either.
func TestInteropFramedPairIgnoresTiming(t *testing.T) {
	srv := chattest.NewServer(t, chat.WithMode(chat.ModeP2P), chat.WithPace(time.Hour))
	legacy := chattest.Dial(t, srv.Addr, chattest.FromIP("127.0.0.51"))
	legacy.Expect(chat.WelcomeChat)
	legacy.Reply("slow")
	legacy.Expect("Your username (slow) is valid. You can start chatting now.")

	port := freeUDPPortOn(t, "127.0.0.52", "127.0.0.53")
	client := func(name, ip string) *ourClient {
		return runOurClient(t, name, chat.Client{Server: srv.Addr, Mode: chat.ModeP2P, Bind: ip, P2PPort: port,
			LegacyGap: time.Hour, ListWait: time.Hour})
	}
	alice := client("alice", "127.0.0.52")
	alice.say(t, "alice")
	alice.expect(t, "[Server] Your username (alice) is valid. You can start chatting now.")
	alice.say(t, ":l")
	alice.expect(t, "Online peers: ['slow', 'alice']")
	bob := client("bob", "127.0.0.53")
	bob.say(t, "bob")
	bob.expect(t, "[Server] Your username (bob) is valid. You can start chatting now.")
	bob.say(t, ":l")
	bob.expect(t, "Online peers: ['slow', 'alice', 'bob']")
	alice.expect(t, "[Server] bob (IP: 127.0.0.53) connected")
	alice.listUntil(t, []string{"slow", "alice", "bob"})

	const n = 50
	for i := range n {
		alice.say(t, fmt.Sprintf("line %d", i))
	}
	for i := range n {
		bob.expect(t, fmt.Sprintf("[Server] alice (IP: 127.0.0.52) said: line %d", i))
	}
	alice.say(t, "@bob: psst")
	bob.expect(t, "[P2P] alice (IP: 127.0.0.52) says: psst")
	if err := alice.quit(t); err != nil {
		t.Fatalf("alice: %v", err)
	}
	bob.expect(t, "[Server] alice (IP: 127.0.0.52) is offline")
	bob.listUntil(t, []string{"slow", "bob"})
}

// TestInteropFramedBurst sends thousands of messages back to back, many in
// a single write and some as long as the server allows, and checks that
// every framed receiver gets each one intact and in order.
func TestInteropFramedBurst(t *testing.T) {
	for _, mode := range []chat.Mode{chat.ModeChatroom, chat.ModeP2P} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(mode), chat.WithPace(time.Hour))
			ctx, cancel := context.WithTimeout(context.Background(), interopWait)
			defer cancel()
			join := func(name, ip string) *chat.Conn {
				t.Helper()
				c, err := chat.Dial(ctx, srv.Addr, chat.WithLocalIP(ip))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				// The deadline only turns a hang into a failure.
				c.NetConn().SetDeadline(time.Now().Add(interopWait))
				if _, err := c.Handshake(1, func(string) (string, error) { return name, nil }); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !c.Framed() {
					t.Fatalf("%s: server did not announce framing", name)
				}
				return c
			}
			sender := join("sender", "127.0.0.61")
			receivers := []*chat.Conn{join("r1", "127.0.0.62"), join("r2", "127.0.0.63")}

			var want []string
			var burst strings.Builder
			for i := range 3000 {
				text := fmt.Sprintf("msg %d", i)
				if i%500 == 499 {
					// 4096 bytes, the longest message the server takes.
					text += " " + strings.Repeat("x", 4096-len(text)-1)
				}
				want = append(want, text)
				burst.WriteString(text + "\n")
			}
			var sendErr error
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				// Half in one write, the rest one message per write.
				half := strings.Index(burst.String(), "msg 1500\n")
				if _, sendErr = io.WriteString(sender.NetConn(), burst.String()[:half]); sendErr != nil {
					return
				}
				for _, text := range want[1500:] {
					if sendErr = sender.Send(text); sendErr != nil {
						return
					}
				}
			}()
			prefix := "sender (IP: 127.0.0.61) said: "
			if mode == chat.ModeChatroom {
				prefix = "sender (IP: 127.0.0.61) says: "
			}
			for ri, r := range receivers {
				for i := 0; i < len(want); {
					m, err := r.Next()
					if err != nil {
						t.Fatalf("receiver %d after %d messages: %v", ri+1, i, err)
					}
					if m.Kind != chat.KindText || !strings.Contains(m.Text, " (IP: 127.0.0.61) ") {
						continue // notices and lists of the joins
					}
					if got := m.Text; got != prefix+want[i] {
						t.Fatalf("receiver %d, message %d: got %.80q, want %.80q", ri+1, i, got, prefix+want[i])
					}
					i++
				}
			}
			<-sent
			if sendErr != nil {
				t.Fatal(sendErr)
			}
		})
	}
}
