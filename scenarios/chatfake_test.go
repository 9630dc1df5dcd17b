package scenarios

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// fakeChat is the handout's six programs (testdata/handout) as fake
// programs on a fakeLab, with switchable faults, so that every built-in
// M1, M2 and M4 scenario can run, and judge a fault, without Docker. They
// behave as the Python programs do where the scenarios look: what each
// prints, when it exits and with what status, what goes over TCP and what
// as a UDP datagram, which side closes a connection, and what the M4
// server writes to its users file. What no scenario sees (the handout's
// pacing of piped input, its 0.5 s sleep before a peer list, glued
// messages) is left out.
type fakeChat struct {
	lab *fakeLab
	f   fakeFaults
}

// fakeFaults are the faults of the broken fixtures (testdata/broken,
// testdata/students/broken) and of fakeOnlyFaults, each in the program
// whose file it is in: those of a fixture switched on make the fake that
// fixture.
type fakeFaults struct {
	// chatroom_server.py
	echo        bool // echo-to-sender: chat goes back to its sender too
	noDuplicate bool // no-duplicate-check: a name in use is accepted
	noJoin      bool // no-join-notice: the others are not told
	selfJoin    bool // the newcomer is sent its own join notice too
	// nameLimit is the longest name accepted (0: the handout's 20):
	// invalid-name-accepted's 21, or 19, which refuses a valid name.
	nameLimit int
	// noReuseAddr leaves out SO_REUSEADDR (no-reuseaddr,
	// crash-on-first-join): a restart cannot bind while the port is held.
	noReuseAddr bool
	crashOnJoin bool // crash-on-first-join: a NameError right after the first client is told its name is valid
	// chatroom_p2p_server.py
	noLeavePush  bool // no-leave-push: no peer list when a client leaves
	noOffline    bool // no-offline-notice: the others are not told
	listRepr     bool // list-not-json: str(list) on the wire (and a client that reads it back)
	p2pSelfJoin  bool // the newcomer is sent its own join notice too
	p2pNameLimit int  // the longest name accepted (0: the handout's 20)
	// chatroom_p2p_client.py: "@user: msg" goes to the server over TCP as
	// this text instead of as a datagram to the peer (p2p-via-server,
	// p2p-over-tcp); nil: UDP.
	p2pOverTCP func(user, text string) string
	// chatroom_auth_server.py
	reregister  bool           // accepts-reregistration
	anyPassword bool           // accepts-wrong-password: a known name logs in whatever the password
	keepRefused bool           // keeps-rejected-connection: says no, then logs the user in anyway
	anyName     bool           // registers any name, Milestone 1's rules forgotten
	store       passwordScheme // plaintext-passwords, base64-passwords (nil: salted PBKDF2)
}

// newFakeChat returns the lab's runtime running the handout's programs
// with faults f.
func newFakeChat(f fakeFaults) *fakeLabRuntime {
	c := &fakeChat{f: f}
	rt := newFakeLab(defaultVars(), map[string]program{
		"chatroom_server.py":      c.m1Server,
		"chatroom_client.py":      c.m1Client,
		"chatroom_p2p_server.py":  c.m2Server,
		"chatroom_p2p_client.py":  func(p *fakeProc) { c.p2pClient(p, false) },
		"chatroom_auth_server.py": c.m4Server,
		"chatroom_auth_client.py": func(p *fakeProc) { c.p2pClient(p, true) },
	})
	c.lab = rt.lab
	return rt
}

// What the handout's programs hard-code.
const (
	handoutDomain  = "team30.com"
	handoutWelcome = "Welcome to this chatroom! Type your username and press enter to continue: "
	handoutTaken   = "Username already taken. Please try again."
	handoutValid   = "Your username (%s) is valid. You can start chatting now."

	authWelcome     = "Welcome to this chatroom! Type 'login' or 'register' and press enter to continue: "
	authAskUser     = "Username: "
	authAskPassword = "Password: "
	authRegistered  = "Registration successful. Welcome, %s!"
	authLoggedIn    = "Login successful. Welcome back, %s!"
	authBadAction   = "Invalid action. Type 'login' or 'register'."
	authBadName     = "Invalid username. Please try again."
	authBadLogin    = "Invalid username or password."
	authOnline      = "User already logged in."
	authUsersFile   = WorkDir + "/users.json"
)

// roomWords are a server's texts: Milestone 1 and Milestone 2 word their
// notices differently, and the M2 invalid-name answer keeps a trailing
// space.
type roomWords struct {
	joined, said, offline string // formats of NAME, IP (and TEXT)
	invalid               string
	chatLog               string // what the server prints for each chat message
}

var (
	m1Words = roomWords{
		joined: "%s (IP: %s): connected", said: "%s (IP: %s) says: %s", offline: "%s (IP: %s): is offline",
		invalid: "Invalid username. Please try again.", chatLog: "Broadcast message from client: %s",
	}
	m2Words = roomWords{
		joined: "%s (IP: %s) connected", said: "%s (IP: %s) said: %s", offline: "%s (IP: %s) is offline",
		invalid: "Invalid username. Please try again. ", chatLog: "Broadcasting message from client: %s",
	}
)

// chatRoom is the state and select() loop body the handout's servers
// share: the members in the order they joined (a Python dict's order).
type chatRoom struct {
	lab     *fakeLab
	p       *fakeProc // the server
	words   roomWords
	lists   bool // push the peer list on every join and leave (M2, M4)
	members []*roomMember
	// The faults of this server's file.
	echo, noJoin, selfJoin, noOffline, noLeavePush, listRepr, noReuseAddr, crashOnJoin bool
}

type roomMember struct {
	name, ip string
	conn     *fakeEnd
}

// serve listens on the host's address at the handout's port (the server
// binds gethostbyname(gethostname()), port 5000) and greets each
// connection.
func (r *chatRoom) serve(greet func(e *fakeEnd)) {
	a := r.lab.addr(r.p.host)
	if err := r.lab.listen(r.p, netip.AddrPortFrom(a, DefaultPort), !r.noReuseAddr, greet); err != nil {
		r.p.emit(fmt.Sprintf("%s: cannot listen on %s:%d: %v\n", r.p.cmd[1], a, DefaultPort, err))
		r.lab.exit(r.p, 1)
		return
	}
	r.p.emit(fmt.Sprintf("\r[INFO] Server started on IP: %s, Port: %d\n", a, DefaultPort))
}

func (r *chatRoom) print(format string, args ...any) { r.p.emit(fmt.Sprintf(format, args...) + "\n") }

func (r *chatRoom) taken(name string) bool {
	for _, m := range r.members {
		if m.name == name {
			return true
		}
	}
	return false
}

// broadcast sends to every member but except.
func (r *chatRoom) broadcast(msg string, except *roomMember) {
	for _, m := range append([]*roomMember(nil), r.members...) {
		if m != except {
			_ = m.conn.send([]byte(msg))
		}
	}
}

func (r *chatRoom) admit(m *roomMember) {
	r.members = append(r.members, m)
	notice := fmt.Sprintf(r.words.joined, m.name, m.ip)
	r.print("New client connected: %s", notice)
	if r.crashOnJoin {
		// broadcast(...) for self.broadcast(...): Python finds no such
		// name only when the line runs.
		r.p.emit("Traceback (most recent call last):\n  File \"/root/chatroom_server.py\", line 107, in run\n" +
			"    broadcast(broadcast_message, sockfd)\nNameError: name 'broadcast' is not defined\n")
		r.lab.exit(r.p, 1)
		return
	}
	switch {
	case r.selfJoin:
		r.broadcast(notice, nil)
	case !r.noJoin:
		r.broadcast(notice, m)
	}
	if r.lists {
		r.pushList()
	}
}

func (r *chatRoom) chat(m *roomMember, text string) {
	msg := fmt.Sprintf(r.words.said, m.name, m.ip, text)
	r.print(r.words.chatLog, msg)
	if r.echo {
		r.broadcast(msg, nil)
		return
	}
	r.broadcast(msg, m)
}

func (r *chatRoom) leave(m *roomMember) {
	notice := fmt.Sprintf(r.words.offline, m.name, m.ip)
	r.print("Client disconnected: %s", notice)
	if !r.noOffline {
		r.broadcast(notice, m)
	}
	m.conn.close()
	for i, x := range r.members {
		if x == m {
			r.members = append(r.members[:i], r.members[i+1:]...)
			break
		}
	}
	if r.lists && !r.noLeavePush {
		r.pushList()
	}
}

// pushList sends every member the list of [name, ip] pairs, as json.dumps
// writes it (or as str() does, with the list-not-json fault).
func (r *chatRoom) pushList() {
	pairs := make([][2]string, len(r.members))
	for i, m := range r.members {
		pairs[i] = [2]string{m.name, m.ip}
	}
	r.broadcast(pyPeerList(pairs, r.listRepr), nil)
}

// validName is the handout's rule: not empty, at most limit characters, no
// space.
func validName(name string, limit int) bool {
	return name != "" && utf8.RuneCountInString(name) <= limit && !strings.Contains(name, " ")
}

// greetByName is the M1 and M2 servers' accept: the welcome, then the
// username, then chat until the client leaves.
func (r *chatRoom) greetByName(limit int, checkTaken bool) func(e *fakeEnd) {
	return func(e *fakeEnd) {
		_ = e.send([]byte(handoutWelcome))
		var m *roomMember
		e.read(func(b []byte) {
			if m != nil {
				r.chat(m, string(b))
				return
			}
			name := strings.TrimSpace(string(b))
			switch {
			case !validName(name, limit):
				_ = e.send([]byte(r.words.invalid))
				e.close()
			case checkTaken && r.taken(name):
				_ = e.send([]byte(handoutTaken))
				e.close()
			default:
				_ = e.send([]byte(fmt.Sprintf(handoutValid, name)))
				m = &roomMember{name: name, ip: e.remote.Addr().String(), conn: e}
				r.admit(m)
			}
		}, func() {
			if m != nil {
				r.leave(m)
				return
			}
			e.close()
		})
	}
}

// m1Server is chatroom_server.py.
func (c *fakeChat) m1Server(p *fakeProc) {
	r := &chatRoom{lab: c.lab, p: p, words: m1Words, echo: c.f.echo, noJoin: c.f.noJoin, selfJoin: c.f.selfJoin,
		noReuseAddr: c.f.noReuseAddr, crashOnJoin: c.f.crashOnJoin}
	r.serve(r.greetByName(nameLimit(c.f.nameLimit), !c.f.noDuplicate))
}

// nameLimit is a server's longest valid name: the handout's 20 unless a
// fault changes it.
func nameLimit(fault int) int {
	if fault != 0 {
		return fault
	}
	return 20
}

// m2Server is chatroom_p2p_server.py.
func (c *fakeChat) m2Server(p *fakeProc) {
	r := &chatRoom{lab: c.lab, p: p, words: m2Words, lists: true, selfJoin: c.f.p2pSelfJoin,
		noOffline: c.f.noOffline, noLeavePush: c.f.noLeavePush, listRepr: c.f.listRepr}
	r.serve(r.greetByName(nameLimit(c.f.p2pNameLimit), true))
}

// m4Server is chatroom_auth_server.py: the M2 room behind a login
// dialogue, one question per message, run inside the select() loop.
func (c *fakeChat) m4Server(p *fakeProc) {
	words := m2Words
	words.invalid = authBadName
	r := &chatRoom{lab: c.lab, p: p, words: words, lists: true}
	users, err := loadUsers(c.lab, p.host, c.f.store)
	if err != nil {
		p.emit(fmt.Sprintf("chatroom_auth_server: cannot read users file %s: %v\n", authUsersFile, err))
		c.lab.exit(p, 1)
		return
	}
	r.serve(func(e *fakeEnd) {
		_ = e.send([]byte(authWelcome))
		step, action, name := "action", "", ""
		var m *roomMember
		reject := func(msg string) {
			r.print("\r[INFO] Rejected %s (%s): %s", name, e.remote.Addr(), msg)
			_ = e.send([]byte(msg))
			e.close()
		}
		e.read(func(b []byte) {
			if m != nil {
				r.chat(m, string(b))
				return
			}
			answer := strings.TrimSpace(string(b))
			switch step {
			case "action":
				if answer != "login" && answer != "register" {
					reject(authBadAction)
					return
				}
				action, step = answer, "username"
				_ = e.send([]byte(authAskUser))
			case "username":
				if !c.f.anyName && !validName(answer, 20) {
					reject(authBadName)
					return
				}
				name, step = answer, "password"
				_ = e.send([]byte(authAskPassword))
			default:
				if c.authenticate(r, users, action, name, answer, reject, e) {
					m = &roomMember{name: name, ip: e.remote.Addr().String(), conn: e}
					r.admit(m)
				}
			}
		}, func() {
			if m != nil {
				r.leave(m)
				return
			}
			e.close()
		})
	})
}

// authenticate answers the password: it registers or checks, and says
// whether the client is admitted (it has rejected it otherwise).
func (c *fakeChat) authenticate(r *chatRoom, users *fakeUsers, action, name, password string, reject func(string), e *fakeEnd) bool {
	if action == "register" {
		if users.has(name) && !c.f.reregister {
			reject(handoutTaken)
			return false
		}
		users.add(name, password)
		_ = e.send([]byte(fmt.Sprintf(authRegistered, name)))
		return true
	}
	ok := users.check(name, password)
	if c.f.anyPassword {
		ok = users.has(name)
	}
	if !ok {
		if !c.f.keepRefused {
			reject(authBadLogin)
			return false
		}
		// The student forgot the close() and the return: the answer goes
		// out and the login goes on.
		_ = e.send([]byte(authBadLogin))
	}
	if r.taken(name) {
		reject(authOnline)
		return false
	}
	if ok {
		_ = e.send([]byte(fmt.Sprintf(authLoggedIn, name)))
	}
	return true
}

// passwordScheme is how the M4 server keeps a password in its users file.
type passwordScheme interface {
	record(password string) map[string]string
	matches(rec map[string]string, password string) bool
}

// saltedPBKDF2 is the handout's: salted PBKDF2-HMAC-SHA256. The fake uses
// few rounds, as the handout's tests do ($LAB_HASH_ITERATIONS): no
// scenario can tell.
type saltedPBKDF2 struct{}

const fakeHashRounds = 1000

func (saltedPBKDF2) record(password string) map[string]string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return map[string]string{"algorithm": "pbkdf2_sha256", "iterations": fmt.Sprint(fakeHashRounds),
		"salt": hex.EncodeToString(salt), "hash": hex.EncodeToString(pbkdf2Hash(password, salt))}
}

func (saltedPBKDF2) matches(rec map[string]string, password string) bool {
	salt, err := hex.DecodeString(rec["salt"])
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(hex.EncodeToString(pbkdf2Hash(password, salt))), []byte(rec["hash"]))
}

func pbkdf2Hash(password string, salt []byte) []byte {
	key, _ := pbkdf2.Key(sha256.New, password, salt, fakeHashRounds, 32)
	return key
}

// plaintextStore is plaintext-passwords: {"password": password}.
type plaintextStore struct{}

func (plaintextStore) record(password string) map[string]string {
	return map[string]string{"password": password}
}

func (plaintextStore) matches(rec map[string]string, password string) bool {
	return rec["password"] == password
}

// base64Store is base64-passwords: a salt that is never used and the
// password in base64 as the "hash".
type base64Store struct{}

func (base64Store) record(password string) map[string]string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return map[string]string{"salt": hex.EncodeToString(salt), "hash": base64.StdEncoding.EncodeToString([]byte(password))}
}

func (base64Store) matches(rec map[string]string, password string) bool {
	return rec["hash"] == base64.StdEncoding.EncodeToString([]byte(password))
}

// fakeUsers is the M4 server's users file: loaded at start, rewritten
// whole after every registration.
type fakeUsers struct {
	lab     *fakeLab
	host    string
	scheme  passwordScheme
	records map[string]map[string]string
}

func loadUsers(l *fakeLab, host string, scheme passwordScheme) (*fakeUsers, error) {
	if scheme == nil {
		scheme = saltedPBKDF2{}
	}
	u := &fakeUsers{lab: l, host: host, scheme: scheme, records: map[string]map[string]string{}}
	if b, ok := l.readFile(host, authUsersFile); ok {
		if err := json.Unmarshal(b, &u.records); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (u *fakeUsers) has(name string) bool { _, ok := u.records[name]; return ok }

func (u *fakeUsers) check(name, password string) bool {
	rec, ok := u.records[name]
	return ok && u.scheme.matches(rec, password)
}

func (u *fakeUsers) add(name, password string) {
	u.records[name] = u.scheme.record(password)
	b, _ := json.MarshalIndent(u.records, "", "  ")
	u.lab.writeFile(u.host, authUsersFile, append(b, '\n'))
}

// pyPeerList is a list of [name, ip] pairs as Python writes it:
// json.dumps, or str() of tuples.
func pyPeerList(pairs [][2]string, repr bool) string {
	items := make([]string, len(pairs))
	for i, p := range pairs {
		if repr {
			items[i] = fmt.Sprintf("(%s, %s)", pyRepr(p[0]), pyRepr(p[1]))
			continue
		}
		n, _ := json.Marshal(p[0])
		a, _ := json.Marshal(p[1])
		items[i] = fmt.Sprintf("[%s, %s]", n, a)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// pyRepr is repr() of a string without quotes or backslashes in it, which
// is all usernames and addresses here are.
func pyRepr(s string) string { return "'" + s + "'" }

// pyNames is the client's ':l' answer: str() of the list of names.
func pyNames(peers []roomPeer) string {
	names := make([]string, len(peers))
	for i, p := range peers {
		names[i] = pyRepr(p.name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

type roomPeer struct{ name, ip string }

var tupleRE = regexp.MustCompile(`\(\s*'([^'\\]*)'\s*,\s*'([^'\\]*)'\s*\)`)

// parsePeerList reads a peer list as the client does: json.loads, or with
// the list-not-json client ast.literal_eval, which reads JSON's lists too.
func parsePeerList(text string, literal bool) ([]roomPeer, bool) {
	if !strings.HasPrefix(text, "[") {
		return nil, false
	}
	var pairs [][]string
	if err := json.Unmarshal([]byte(text), &pairs); err == nil {
		peers := make([]roomPeer, 0, len(pairs))
		for _, p := range pairs {
			if len(p) != 2 {
				return nil, false
			}
			peers = append(peers, roomPeer{p[0], p[1]})
		}
		return peers, true
	}
	if !literal || !strings.HasSuffix(text, "]") {
		return nil, false
	}
	inner := text[1 : len(text)-1]
	if strings.Trim(tupleRE.ReplaceAllString(inner, ""), ", ") != "" {
		return nil, false
	}
	var peers []roomPeer
	for _, m := range tupleRE.FindAllStringSubmatch(inner, -1) {
		peers = append(peers, roomPeer{m[1], m[2]})
	}
	return peers, true
}

// dial is the clients' connect to the team's server (gethostbyname of
// team30.com, port 5000), printing the handout's error and exiting 1 when
// it fails.
func (c *fakeChat) dial(p *fakeProc, onData func([]byte), onEOF func()) (*fakeEnd, bool) {
	a, err := c.lab.resolve(handoutDomain)
	if err == nil {
		var e *fakeEnd
		if e, err = c.lab.connect(p.host, c.lab.loop(p), netip.AddrPortFrom(a, DefaultPort), onData, onEOF); err == nil {
			c.lab.hold(p, e.close)
			return e, true
		}
	}
	p.emit(fmt.Sprintf("\r[ERROR] Unable to connect to the server. Error message : %v\n", err))
	c.lab.exit(p, 1)
	return nil, false
}

func prompt(p *fakeProc) { p.emit("\r[Me] ") }

// m1Client is chatroom_client.py: each server message printed as it
// came, each typed line sent.
func (c *fakeChat) m1Client(p *fakeProc) {
	e, ok := c.dial(p, func(b []byte) {
		p.emit("\r[Server] " + string(b) + "\n")
		prompt(p)
	}, func() {
		p.emit("\r[INFO] Disconnected from chat server\n")
		c.lab.exit(p, 0)
	})
	if !ok {
		return
	}
	p.emit(fmt.Sprintf("\r[INFO] Connected to the chat server. IP: %s, Port: %d.\n To exit the chatroom type ':q'\n", e.remote.Addr(), DefaultPort))
	c.lab.onLine(p, func(line string) {
		msg := strings.TrimSpace(line)
		switch msg {
		case "":
		case ":q":
			c.lab.exit(p, 0)
			return
		default:
			_ = e.send([]byte(msg))
		}
		prompt(p)
	})
}

// p2pClient is chatroom_p2p_client.py and, with auth, the login dialogue
// of chatroom_auth_client.py in front of it: peer lists update the peers
// (M4 shows the first), ':l' lists them, '@NAME: TEXT' is a datagram to
// NAME's P2P port.
func (c *fakeChat) p2pClient(p *fakeProc, auth bool) {
	var (
		peers         []roomPeer
		answers       int
		authenticated bool
		listed        bool
	)
	literal := c.f.listRepr && !auth
	self := c.lab.addr(p.host)
	udp, err := c.lab.bindUDP(p, netip.AddrPortFrom(self, DefaultP2PPort), func(from netip.AddrPort, b []byte) {
		name := "unknown"
		for _, q := range peers {
			if q.ip == from.Addr().String() {
				name = q.name
				break
			}
		}
		p.emit(fmt.Sprintf("\r[P2P] %s (IP: %s) says: %s\n", name, from.Addr(), b))
		prompt(p)
	})
	if err != nil {
		p.emit(fmt.Sprintf("\r[ERROR] Unable to bind the P2P socket to %s:%d. Error message : %v\n", self, DefaultP2PPort, err))
		c.lab.exit(p, 1)
		return
	}
	e, ok := c.dial(p, func(b []byte) {
		text := strings.TrimSpace(string(b))
		if list, ok := parsePeerList(text, literal); ok {
			peers, authenticated = list, true
			if auth && !listed {
				listed = true
				p.emit(fmt.Sprintf("\rOnline peers: %s\n", pyNames(peers)))
				prompt(p)
			}
			return
		}
		p.emit("\r[Server] " + text + "\n")
		prompt(p)
		if strings.HasPrefix(text, "Registration successful.") || strings.HasPrefix(text, "Login successful.") {
			authenticated = true
		}
	}, func() {
		p.emit("\r[INFO] Disconnected from chat server\n")
		code := 0
		if auth && !authenticated {
			code = 1
		}
		c.lab.exit(p, code)
	})
	if !ok {
		return
	}
	p.emit(fmt.Sprintf("\r[INFO] Connected to the chat server. IP: %s, Port: %d.\n To exit the chatroom type ':q'\n To list all online users type ':l'\n To send a p2p message type '@username: message' \n", e.remote.Addr(), DefaultPort))
	named := 1 // lines that answer the server's questions: the username, or action, username and password
	if auth {
		named = 3
	}
	c.lab.onLine(p, func(line string) {
		msg := strings.TrimSpace(line)
		switch {
		case msg == "":
		case msg == ":q":
			c.lab.exit(p, 0)
			return
		case answers < named:
			_ = e.send([]byte(msg))
			answers++
		case msg == ":l":
			p.emit(fmt.Sprintf("\rOnline peers: %s\n", pyNames(peers)))
		case msg[0] == '@':
			c.sendP2P(p, e, udp, peers, msg, auth)
		default:
			_ = e.send([]byte(msg))
		}
		prompt(p)
	})
}

// sendP2P is '@NAME: TEXT': everything after the first ':' goes to NAME
// (Python's find() of a missing ':' is -1, which slices as the handout's
// does).
func (c *fakeChat) sendP2P(p *fakeProc, e *fakeEnd, udp *fakeUDP, peers []roomPeer, msg string, auth bool) {
	user, text := "", msg
	if i := strings.IndexByte(msg, ':'); i >= 0 {
		user, text = msg[1:i], msg[i+1:]
	} else if len(msg) > 1 {
		user = msg[1 : len(msg)-1]
	}
	for _, q := range peers {
		if q.name != user {
			continue
		}
		if c.f.p2pOverTCP != nil && !auth {
			_ = e.send([]byte(c.f.p2pOverTCP(user, text)))
			return
		}
		a, _ := netip.ParseAddr(q.ip)
		udp.sendTo(netip.AddrPortFrom(a, DefaultP2PPort), []byte(text))
		return
	}
	p.emit(fmt.Sprintf("\rUser (%s) not found\n", user))
}
