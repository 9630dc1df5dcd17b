package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("chat: server closed")

// errNameTaken is returned by join when the name is online already.
var errNameTaken = errors.New("name taken")

// Server is a chat server for one Mode. Each connection has a reader
// goroutine and, once joined, a writer goroutine with a bounded queue, so a
// slow or silent client never delays anyone else.
type Server struct {
	mode         Mode
	regTimeout   time.Duration
	maxLine      int
	sendQueue    int
	pace         time.Duration
	writeTimeout time.Duration
	batchDelay   time.Duration
	keepAlive    net.KeepAliveConfig
	store        *Store
	throttle     *Throttle
	log          *slog.Logger
	sleep        func(d time.Duration, abort <-chan struct{}) bool
	text         notices

	// mu guards the set of joined clients; every notice and list push is
	// queued while it is held, so all clients see joins and leaves in the
	// same order.
	mu      sync.RWMutex
	byName  map[string]*client
	order   []*client
	version uint64

	listMu  sync.Mutex
	listVer uint64
	list    []byte

	connMu    sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*client]struct{}
	wg        sync.WaitGroup
}

// Option configures a Server.
type Option func(*Server)

// WithMode selects the milestone the server implements; the default is
// ModeChatroom.
func WithMode(m Mode) Option { return func(s *Server) { s.mode = m } }

// WithRegistrationTimeout bounds the time a client may take to finish the
// username or login dialogue (default 60s).
func WithRegistrationTimeout(d time.Duration) Option { return func(s *Server) { s.regTimeout = d } }

// WithMaxLine bounds the length of one message from a client in bytes
// (default 4096). A longer message gets an error and the connection is
// closed.
func WithMaxLine(n int) Option { return func(s *Server) { s.maxLine = n } }

// WithSendQueue bounds the messages queued for one client (default 4096).
// A client whose queue is full is disconnected.
func WithSendQueue(n int) Option { return func(s *Server) { s.sendQueue = n } }

// WithPace sets how long a legacy (handout-style) client's connection stays
// quiet before and after a peer list, so that the list arrives in a recv of
// its own (default 500ms, the handout's sleep).
func WithPace(d time.Duration) Option { return func(s *Server) { s.pace = d } }

// WithWriteTimeout bounds one write to a client (default 10s); a client
// that accepts no data for that long is disconnected.
func WithWriteTimeout(d time.Duration) Option { return func(s *Server) { s.writeTimeout = d } }

// WithBatchDelay spaces the writes to one framed client at least d apart
// (default 20ms; 0 disables it). A message for a connection that has been
// quiet for d is written at once; under heavy fan-out, messages that arrive
// within d of the last write leave together in the next one. It trades at
// most d of latency for far fewer system calls.
func WithBatchDelay(d time.Duration) Option { return func(s *Server) { s.batchDelay = d } }

// WithStore sets the user store for ModeAuth.
func WithStore(st *Store) Option { return func(s *Server) { s.store = st } }

// WithThrottle sets the failed-login throttle for ModeAuth (default: three
// failures per minute per account and source address).
func WithThrottle(t *Throttle) Option { return func(s *Server) { s.throttle = t } }

// WithLogger sets the logger; passwords are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// NewServer returns a server configured by opts.
func NewServer(opts ...Option) *Server {
	s := &Server{
		mode:         ModeChatroom,
		regTimeout:   60 * time.Second,
		maxLine:      4096,
		sendQueue:    4096,
		pace:         500 * time.Millisecond,
		writeTimeout: 10 * time.Second,
		batchDelay:   20 * time.Millisecond,
		keepAlive:    net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3},
		log:          slog.New(slog.DiscardHandler),
		sleep:        sleepOrAbort,
		byName:       make(map[string]*client),
		listeners:    make(map[net.Listener]struct{}),
		conns:        make(map[*client]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.throttle == nil {
		s.throttle = NewThrottle(3, time.Minute, nil)
	}
	s.text = notices{s.mode}
	return s
}

// ListenAndServe listens on the TCP address addr and serves it.
func (s *Server) ListenAndServe(addr string) error {
	lc := net.ListenConfig{KeepAliveConfig: s.keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Close is called.
func (s *Server) Serve(ln net.Listener) error {
	if s.mode == ModeAuth && s.store == nil {
		return errors.New("serve: auth mode needs a user store")
	}
	s.connMu.Lock()
	if s.closed {
		s.connMu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.connMu.Unlock()
	s.log.Info("server started", "addr", ln.Addr().String(), "mode", s.mode.String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.connMu.Lock()
			closed := s.closed
			s.connMu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and similar: wait and retry, as
			// net/http does, instead of taking the whole server down.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newClient(s, nc)
		s.connMu.Lock()
		if s.closed {
			s.connMu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.connMu.Unlock()
		go s.handle(c)
	}
}

// Close stops the listeners, disconnects every client and waits for their
// goroutines to finish.
func (s *Server) Close() error {
	s.connMu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.kill()
	}
	s.connMu.Unlock()
	s.wg.Wait()
	return nil
}

// Online returns the names of the joined users in join order.
func (s *Server) Online() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, len(s.order))
	for i, c := range s.order {
		names[i] = c.name
	}
	return names
}

func (s *Server) handle(c *client) {
	defer func() {
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
		s.wg.Done()
	}()
	defer c.kill()
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAliveConfig(s.keepAlive)
	}
	c.nc.SetReadDeadline(time.Now().Add(s.regTimeout))
	greeting, ok := s.handshake(c)
	if !ok {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	if err := s.join(c, greeting); err != nil {
		msg := MsgUsernameTaken
		if s.mode == ModeAuth {
			msg = MsgAlreadyLoggedIn
		}
		s.reject(c, msg)
		return
	}
	s.log.Info("client connected", "name", c.name, "ip", c.ip, "framed", c.framed)
	go c.writeLoop()
	tooLong := s.readLoop(c)
	s.leave(c)
	s.log.Info("client disconnected", "name", c.name, "ip", c.ip)
	if tooLong {
		c.enqueue(c.line(fmt.Sprintf(formatTooLong, s.maxLine)))
		c.finish()
		<-c.writerDone
		lingerClose(c.nc)
		return
	}
	c.kill()
	<-c.writerDone
}

// handshake runs the username or login dialogue. It returns the greeting
// for a client that may join, or false after rejecting it.
func (s *Server) handshake(c *client) (greeting string, ok bool) {
	welcome := WelcomeChat
	if s.mode == ModeAuth {
		welcome = WelcomeAuth
	}
	if !c.sendNow(welcome) {
		return "", false
	}
	first, tooLong, err := c.readFirst()
	if err != nil {
		if tooLong {
			s.reject(c, fmt.Sprintf(formatTooLong, s.maxLine))
		}
		return "", false
	}
	if c.framed && !c.sendRaw(Hello) {
		return "", false
	}
	if s.mode != ModeAuth {
		c.name = string(pyStrip(first))
		if !ValidUsername(c.name) || (s.mode == ModeP2P && !ValidPeerName(c.name)) {
			s.reject(c, invalidUsernameMsg(s.mode))
			return "", false
		}
		return fmt.Sprintf(formatConfirmation, c.name), true
	}
	action := strings.ToLower(string(pyStrip(first)))
	if action != "login" && action != "register" {
		s.reject(c, MsgInvalidAction)
		return "", false
	}
	name, ok := s.ask(c, PromptUsername)
	if !ok {
		return "", false
	}
	c.name = name
	if !ValidPeerName(name) {
		s.reject(c, MsgInvalidUsername)
		return "", false
	}
	password, ok := s.ask(c, PromptPassword)
	if !ok {
		return "", false
	}
	if action == "register" {
		if password == "" {
			s.reject(c, MsgBadCredentials)
			return "", false
		}
		switch err := s.store.Register(name, password); {
		case errors.Is(err, ErrUserExists):
			s.reject(c, MsgUsernameTaken)
			return "", false
		case err != nil:
			s.log.Error("registration failed", "name", name, "err", err)
			s.reject(c, "Registration failed on the server. Please try again later.")
			return "", false
		}
		s.log.Info("user registered", "name", name, "ip", c.ip)
		return fmt.Sprintf(formatRegistered, name), true
	}
	if allowed, _ := s.throttle.Allowed(name, c.ip); !allowed {
		s.log.Warn("login throttled", "name", name, "ip", c.ip)
		s.reject(c, MsgThrottled)
		return "", false
	}
	if !s.store.Verify(name, password) {
		s.throttle.Fail(name, c.ip)
		s.log.Warn("login failed", "name", name, "ip", c.ip)
		s.reject(c, MsgBadCredentials)
		return "", false
	}
	s.throttle.Succeed(name, c.ip)
	return fmt.Sprintf(formatLoggedIn, name), true
}

// ask sends a prompt and returns the stripped answer.
func (s *Server) ask(c *client, prompt string) (string, bool) {
	if !c.sendNow(prompt) {
		return "", false
	}
	b, tooLong, err := c.readReply()
	if err != nil {
		if tooLong {
			s.reject(c, fmt.Sprintf(formatTooLong, s.maxLine))
		}
		return "", false
	}
	return string(pyStrip(b)), true
}

// reject sends msg and closes the connection without losing msg.
func (s *Server) reject(c *client, msg string) {
	c.sendNow(msg)
	lingerClose(c.nc)
}

// readLoop broadcasts the client's messages until it leaves. It reports
// whether it stopped because a message was too long.
func (s *Server) readLoop(c *client) (tooLong bool) {
	for {
		if c.framed {
			line, err := c.br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				return true
			}
			if err != nil && !errors.Is(err, io.EOF) {
				// A reset mid-message: drop the fragment.
				return false
			}
			line = bytes.TrimRight(line, "\r\n")
			if len(line) > s.maxLine {
				return true
			}
			s.broadcastChat(c, line)
			if err != nil {
				return false
			}
			continue
		}
		chunk, err := c.readChunk()
		if err != nil {
			return false
		}
		for len(chunk) > 0 {
			line := chunk
			if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
				line, chunk = chunk[:i], chunk[i+1:]
			} else {
				chunk = nil
			}
			line = bytes.TrimRight(line, "\r")
			if len(line) > s.maxLine {
				return true
			}
			s.broadcastChat(c, line)
		}
	}
}

// broadcastChat sends body from c to every other client. The message is
// built once and shared by all queues.
func (s *Server) broadcastChat(c *client, body []byte) {
	if len(body) == 0 {
		return
	}
	msg := make([]byte, 0, len(c.saidPrefix)+len(body)+4)
	msg = append(msg, c.saidPrefix...)
	msg = appendSanitized(msg, body)
	msg = append(msg, '\n')
	s.mu.RLock()
	for _, o := range s.order {
		if o != c {
			o.enqueue(msg)
		}
	}
	s.mu.RUnlock()
}

// join adds c to the chat, queues its greeting and announces it.
func (s *Server) join(c *client, greeting string) error {
	c.saidPrefix = s.text.saidPrefix(c.name, c.ip)
	notice := c.line(s.text.joined(c.name, c.ip))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byName[c.name]; taken {
		return errNameTaken
	}
	s.byName[c.name] = c
	s.order = append(s.order, c)
	s.version++
	c.enqueue(c.line(greeting))
	var delta []byte
	if s.mode.hasPeerList() {
		delta = append([]byte{Marker}, AppendDelta(nil, Delta{Add: []Peer{{c.name, c.ip}}})...)
		delta = append(delta, '\n')
	}
	for _, o := range s.order {
		if o == c {
			continue
		}
		o.enqueue(notice)
		if delta != nil {
			o.enqueuePeers(delta)
		}
	}
	if s.mode.hasPeerList() {
		if c.framed {
			full := append([]byte{Marker}, AppendPeerList(nil, s.peersLocked())...)
			c.enqueue(append(full, '\n'))
		} else {
			c.enqueuePeers(nil)
		}
	}
	return nil
}

// leave removes c and announces it to the others.
func (s *Server) leave(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName[c.name] != c {
		return
	}
	delete(s.byName, c.name)
	for i, o := range s.order {
		if o == c {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.version++
	notice := c.line(s.text.left(c.name, c.ip))
	var delta []byte
	if s.mode.hasPeerList() {
		delta = append([]byte{Marker}, AppendDelta(nil, Delta{Del: []string{c.name}})...)
		delta = append(delta, '\n')
	}
	for _, o := range s.order {
		o.enqueue(notice)
		if delta != nil {
			o.enqueuePeers(delta)
		}
	}
}

func (s *Server) peersLocked() []Peer {
	peers := make([]Peer, len(s.order))
	for i, o := range s.order {
		peers[i] = Peer{o.name, o.ip}
	}
	return peers
}

// legacyList returns the current peer list as the handout server sends it.
// It is encoded at most once per change of the set of users.
func (s *Server) legacyList() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if s.list == nil || s.listVer != s.version {
		s.list = AppendPeerList(nil, s.peersLocked())
		s.listVer = s.version
	}
	return s.list
}

// lingerClose half-closes c, drains what the peer still sends for a moment
// and then closes it, so a final message is not destroyed by a reset.
func lingerClose(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(nc, 1<<16))
	}
	nc.Close()
}

func sleepOrAbort(d time.Duration, abort <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-abort:
		return false
	}
}
