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
// goroutine. Every broadcast is stored once in a log that each joined
// client reads through its own cursor; one flusher goroutine writes what
// each client is owed without blocking, in passes whose spacing adapts to
// what a pass costs (see flushLoop), and hands a client whose socket is
// full to that client's writer goroutine, so a slow or silent client never
// delays anyone else.
type Server struct {
	mode         Mode
	regTimeout   time.Duration
	maxLine      int
	sendQueue    int
	pace         time.Duration
	writeTimeout time.Duration
	batchDelay   time.Duration
	flushShare   float64
	keepAlive    net.KeepAliveConfig
	store        *Store
	throttle     *Throttle
	// registrations limits new accounts per source address.
	registrations *RateLimit
	logger        *slog.Logger
	sleep         func(d time.Duration, abort <-chan struct{}) bool
	text          notices

	// mu guards the set of joined clients, keyed by NameKey. order is copied on removal, so
	// the flusher can walk a snapshot without holding mu.
	mu      sync.RWMutex
	byName  map[string]*client
	order   []*client
	version uint64

	log         *broadcastLog
	kicks       chan struct{}
	quit        chan struct{}
	flusherOnce sync.Once

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

// WithBatchDelay bounds how long batching may hold a message back
// (default 250ms; 0 turns batching off). The flusher writes in passes over
// every client; the gap before the next pass follows from the last pass's
// cost (see WithFlushShare), and is never more than d. A pass over a few
// clients costs microseconds, so a quiet or small server writes each
// message at once; a pass over a thousand sockets costs milliseconds, and
// then the messages of the gap leave together, one write per client.
func WithBatchDelay(d time.Duration) Option { return func(s *Server) { s.batchDelay = d } }

// WithFlushShare sets the share of one CPU that the flusher may spend
// writing while messages keep coming (default 0.25): after a pass that
// took c of CPU time, the next starts c/share after it at the earliest
// (and later on an oversubscribed machine, see passGap). A smaller share
// makes bigger batches (less CPU per delivered message, more latency); 1
// starts a pass as soon as the last one ends. A share outside (0, 1]
// means 1.
func WithFlushShare(share float64) Option { return func(s *Server) { s.flushShare = share } }

// WithStore sets the user store for ModeAuth.
func WithStore(st *Store) Option { return func(s *Server) { s.store = st } }

// WithThrottle sets the failed-login throttle for ModeAuth (default: three
// failures per minute per account and source address, and a doubling
// delay after ten per minute per account from unfamiliar addresses).
func WithThrottle(t *Throttle) Option { return func(s *Server) { s.throttle = t } }

// WithRegistrationLimit sets how many accounts one source address may
// register (default: five a minute).
func WithRegistrationLimit(r *RateLimit) Option { return func(s *Server) { s.registrations = r } }

// WithLogger sets the logger; passwords are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// NewServer returns a server configured by opts.
func NewServer(opts ...Option) *Server {
	s := &Server{
		mode:         ModeChatroom,
		regTimeout:   60 * time.Second,
		maxLine:      4096,
		sendQueue:    4096,
		pace:         500 * time.Millisecond,
		writeTimeout: 10 * time.Second,
		batchDelay:   250 * time.Millisecond,
		flushShare:   0.25,
		keepAlive:    net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3},
		logger:       slog.New(slog.DiscardHandler),
		sleep:        sleepOrAbort,
		byName:       make(map[string]*client),
		log:          newBroadcastLog(),
		kicks:        make(chan struct{}, 1),
		quit:         make(chan struct{}),
		listeners:    make(map[net.Listener]struct{}),
		conns:        make(map[*client]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.throttle == nil {
		s.throttle = NewThrottle(3, time.Minute, nil)
	}
	if s.registrations == nil {
		s.registrations = NewRateLimit(5, time.Minute, nil)
	}
	if !(s.flushShare > 0) || s.flushShare > 1 {
		s.flushShare = 1
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
	s.logger.Info("server started", "addr", ln.Addr().String(), "mode", s.mode.String())
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
			s.logger.Error("accept failed; retrying", "err", err, "in", backoff)
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
	if !s.closed {
		close(s.quit)
	}
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
	s.logger.Info("client connected", "name", c.name, "ip", c.ip, "framed", c.framed)
	go c.writeLoop()
	// The greeting (and a framed client's first peer list) goes out now
	// rather than with the next pass, so a join never waits for a batch.
	c.flush(nil)
	tooLong := s.readLoop(c)
	end := s.leave(c)
	s.logger.Info("client disconnected", "name", c.name, "ip", c.ip)
	if tooLong {
		c.finish(end, c.line(fmt.Sprintf(formatTooLong, s.maxLine)))
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
		key, err := NameKey(c.name)
		if err != nil || !ValidUsername(c.name) || (s.mode == ModeP2P && !ValidPeerName(c.name)) {
			s.reject(c, invalidUsernameMsg(s.mode))
			return "", false
		}
		c.key = key
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
	key, err := NameKey(name)
	if err != nil || !ValidPeerName(name) {
		s.reject(c, MsgInvalidUsername)
		return "", false
	}
	c.key = key
	password, ok := s.ask(c, PromptPassword)
	if !ok {
		return "", false
	}
	if action == "register" {
		if password == "" {
			s.reject(c, MsgBadCredentials)
			return "", false
		}
		if s.store.Has(name) {
			s.reject(c, MsgUsernameTaken)
			return "", false
		}
		if ok, _ := s.registrations.Take(c.ip); !ok {
			s.logger.Warn("registration rate-limited", "name", name, "ip", c.ip)
			s.reject(c, MsgRegistrationsLimited)
			return "", false
		}
		switch err := s.store.Register(name, password); {
		case errors.Is(err, ErrUserExists):
			s.reject(c, MsgUsernameTaken)
			return "", false
		case err != nil:
			s.logger.Error("registration failed", "name", name, "err", err)
			s.reject(c, "Registration failed on the server. Please try again later.")
			return "", false
		}
		s.logger.Info("user registered", "name", name, "ip", c.ip)
		return fmt.Sprintf(formatRegistered, name), true
	}
	done, _, allowed := s.throttle.Begin(key, c.ip)
	if !allowed {
		s.logger.Warn("login throttled", "name", name, "ip", c.ip)
		s.reject(c, MsgThrottled)
		return "", false
	}
	match := s.store.Verify(name, password)
	done(match)
	if !match {
		s.logger.Warn("login failed", "name", name, "ip", c.ip)
		s.reject(c, MsgBadCredentials)
		return "", false
	}
	c.name = s.store.Name(name)
	return fmt.Sprintf(formatLoggedIn, c.name), true
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
// built and stored once, however many clients read it.
func (s *Server) broadcastChat(c *client, body []byte) {
	if len(body) == 0 {
		return
	}
	msg := make([]byte, 0, len(c.saidPrefix)+len(body)+4)
	msg = append(msg, c.saidPrefix...)
	msg = appendSanitized(msg, body)
	msg = append(msg, '\n')
	s.log.append(entry{from: c, text: msg})
	s.kick()
}

// join adds c to the chat, queues its greeting and announces it.
func (s *Server) join(c *client, greeting string) error {
	c.saidPrefix = s.text.saidPrefix(c.name, c.ip)
	notice := c.line(s.text.joined(c.name, c.ip))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byName[c.key]; taken {
		return errNameTaken
	}
	s.byName[c.key] = c
	s.order = append(s.order, c)
	s.version++
	initial := []entry{{text: c.line(greeting)}}
	announce := entry{from: c, text: notice}
	if s.mode.hasPeerList() {
		announce.peers = true
		announce.delta = append([]byte{Marker}, AppendDelta(nil, Delta{Add: []Peer{{c.name, c.ip}}})...)
		announce.delta = append(announce.delta, '\n')
		if c.framed {
			full := append([]byte{Marker}, AppendPeerList(nil, s.peersLocked())...)
			initial = append(initial, entry{text: append(full, '\n')})
		} else {
			initial = append(initial, entry{peers: true})
		}
	}
	s.log.mu.Lock()
	c.mu.Lock()
	c.cur = s.log.cursorLocked()
	c.initial = initial
	c.mu.Unlock()
	s.log.appendLocked(announce)
	s.log.mu.Unlock()
	s.kick()
	return nil
}

// leave removes c and announces it to the others. It returns the log
// position up to which c is still owed messages.
func (s *Server) leave(c *client) (end uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName[c.key] != c {
		return s.log.head()
	}
	delete(s.byName, c.key)
	order := make([]*client, 0, len(s.order))
	for _, o := range s.order {
		if o != c {
			order = append(order, o)
		}
	}
	s.order = order
	s.version++
	e := entry{from: c, text: c.line(s.text.left(c.name, c.ip))}
	if s.mode.hasPeerList() {
		e.peers = true
		e.delta = append([]byte{Marker}, AppendDelta(nil, Delta{Del: []string{c.name}})...)
		e.delta = append(e.delta, '\n')
	}
	end = s.log.append(e)
	s.kick()
	return end
}

// kick tells the flusher that there is something to write.
func (s *Server) kick() {
	s.flusherOnce.Do(func() { go s.flushLoop() })
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

// flushLoop writes what every client is owed, in passes over all joined
// clients; a pass costs one non-blocking write per client that is owed
// something, and no timer or goroutine wake per connection.
//
// The spacing of the passes adapts to their cost, as a group commit does:
// the first message after a pause is written at once, and messages that
// arrive while a pass is written or during the gap after it leave together
// in the next pass. The gap follows from the CPU time and the duration of
// the last pass (passGap), so the flusher uses at most the flush share of
// a CPU however many messages come in. A server with a few clients has
// passes of microseconds and so gaps of well under a millisecond; only a
// pass over many sockets makes messages wait, and the more clients a pass
// reaches, the more messages each of its writes carries. The CPU time is
// measured on the flusher's own thread.
func (s *Server) flushLoop() {
	pinFlusher()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var next time.Time
	var scratch []byte
	for {
		select {
		case <-s.kicks:
		case <-s.quit:
			return
		}
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.quit:
				return
			}
		}
		start, cpu := time.Now(), flusherClock()
		s.mu.RLock()
		clients := s.order
		s.mu.RUnlock()
		head := s.log.head()
		for _, c := range clients {
			if c.lag(head) > uint64(s.sendQueue) {
				s.logger.Warn("send queue full, dropping client", "name", c.name, "ip", c.ip)
				c.kill()
				continue
			}
			scratch = c.flush(scratch)
		}
		if cap(scratch) > 4*maxBatch {
			scratch = nil
		}
		next = start.Add(s.passGap(flusherClock()-cpu, time.Since(start)))
	}
}

// passGap returns how long after the start of a pass the next one may
// start, for a pass that used cost of CPU time and lasted took: cost
// divided by the flush share, so that the flusher uses at most that share
// of a CPU, and never more than the batch delay.
//
// A pass that got less than contendedShare of a CPU while it ran (it
// waited for one the rest of the time) shows an oversubscribed machine.
// Then the gap grows with the square of the shortfall, so that the
// flusher leaves more of the CPUs to everything else, clients included;
// a pass that got 40% of a CPU is followed by a gap 2.25 times as long.
// Messages wait longer, but on such a machine so do those of every other
// process. A pass shorter than contentionMinPass is too short to tell
// contention from one preemption and is taken at its cost.
func (s *Server) passGap(cost, took time.Duration) time.Duration {
	if s.batchDelay <= 0 || cost <= 0 {
		return 0
	}
	gap := float64(cost) / s.flushShare
	if got := float64(cost) / float64(took); cost >= contentionMinPass && got < contendedShare {
		gap *= (contendedShare / got) * (contendedShare / got)
	}
	return min(time.Duration(gap), s.batchDelay)
}

// contendedShare and contentionMinPass: see passGap.
const (
	contendedShare    = 0.6
	contentionMinPass = time.Millisecond
)

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

// clockEpoch anchors nanotime.
var clockEpoch = time.Now()

// nanotime returns monotonic nanoseconds since the package was loaded.
func nanotime() int64 { return int64(time.Since(clockEpoch)) }

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
