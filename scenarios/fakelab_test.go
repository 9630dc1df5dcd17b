package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// fakeLab is a lab's network and hosts for fake programs: TCP listeners and
// connections, UDP sockets, packet captures and the hosts' files. The
// engine observes it as it observes a real lab: through its programs'
// output and exits, the hosts' socket tables (Observer), the commands it
// runs on hosts (the probe, grep) and the grader's own programs (nc,
// tcpdump). So a scenario run on it exercises the same steps, judged the
// same way, as on Docker; only what the programs do is modelled.
//
// Every program's reaction runs under mu, which is taken only where the
// engine reaches in (a program starting, a typed line, a signal, an exec,
// a reading). Inside, the kernel delivers by direct call, so when the
// engine's call returns, all it caused has happened and been printed: the
// next step sees it, and the fake clock's deadlines never beat it.
type fakeLab struct {
	mu        sync.Mutex
	vars      Vars
	scripts   map[string]program // the submission's programs, by file name
	listeners map[netip.AddrPort]*fakeListener
	ends      []*fakeEnd // TCP connection ends, until fully closed
	udp       map[netip.AddrPort]*fakeUDP
	taps      []*fakeTap
	files     map[string]map[string][]byte // host -> absolute path -> content
	// unreadable are files the search cannot read: host -> path.
	unreadable map[string]map[string]bool
	held       map[*fakeProc][]func() // what a process holds, released when it ends
	loops      map[*fakeProc]*fakeLoop
	port       uint16 // the last ephemeral port given out
	inode      uint64
}

// fakeLabRuntime is the lab's hosts as the engine sees them: the fake
// runtime's programs and execs, and the hosts' socket tables as an
// Observer. Fake processes have no PIDs, so there are no threads to read:
// the engine's settle finds nothing to wait for and does not pace itself.
type fakeLabRuntime struct {
	*fakeRuntime
	lab *fakeLab
}

// newFakeLab returns a lab with the course's addresses, running scripts
// as the submission's programs (python3 SCRIPT) beside the grader's nc and
// tcpdump.
func newFakeLab(vars Vars, scripts map[string]program) *fakeLabRuntime {
	l := &fakeLab{
		vars: vars, scripts: scripts,
		listeners: map[netip.AddrPort]*fakeListener{}, udp: map[netip.AddrPort]*fakeUDP{},
		files: map[string]map[string][]byte{}, held: map[*fakeProc][]func(){},
		loops: map[*fakeProc]*fakeLoop{}, port: 40000,
	}
	rt := &fakeRuntime{
		programs: map[string]program{"python3": l.entry(l.python), "nc": l.entry(l.nc), "tcpdump": l.entry(l.tcpdump)},
		exec:     l.exec,
	}
	return &fakeLabRuntime{fakeRuntime: rt, lab: l}
}

// Spawn starts a fake program whose signals the lab delivers: a killed
// program's sockets close, as the kernel closes them.
func (rt *fakeLabRuntime) Spawn(ctx context.Context, host string, cmd []string, opts runtime.SpawnOptions) (runtime.Process, error) {
	p, err := rt.fakeRuntime.Spawn(ctx, host, cmd, opts)
	if err != nil {
		return nil, err
	}
	return labProc{p.(*fakeProc), rt.lab}, nil
}

// Observe reads a host's sockets. There are no tasks: fake processes
// have no PIDs.
func (rt *fakeLabRuntime) Observe(ctx context.Context, host string, pids []int) (HostState, error) {
	rt.lab.mu.Lock()
	defer rt.lab.mu.Unlock()
	return HostState{Sockets: rt.lab.sockets(host)}, nil
}

// SignalAll is never reached: the engine uses it only for processes with
// PIDs.
func (rt *fakeLabRuntime) SignalAll(ctx context.Context, host string, sig syscall.Signal, pids []int) error {
	return errors.New("fake processes have no PIDs")
}

// labProc is a fake process whose signals go through the lab.
type labProc struct {
	*fakeProc
	lab *fakeLab
}

// Signal ends the program, whatever the signal: none of the fake programs
// handles one, as the handout's do not (SIGINT's KeyboardInterrupt aside,
// which no built-in scenario sends).
func (p labProc) Signal(ctx context.Context, sig syscall.Signal) error {
	p.rt.async(func() {
		p.lab.mu.Lock()
		defer p.lab.mu.Unlock()
		p.lab.exit(p.fakeProc, 128+int(sig))
	})
	return nil
}

// fakeLoop runs one program's reactions one at a time, as a single
// threaded select() loop does: what arrives while it is busy waits its
// turn, and is handled before the engine's call returns.
type fakeLoop struct {
	p     *fakeProc
	busy  bool
	queue []func()
}

func (q *fakeLoop) do(f func()) {
	if q.busy {
		q.queue = append(q.queue, f)
		return
	}
	q.busy = true
	defer func() { q.busy = false }()
	for {
		if q.p.running() {
			f()
		}
		if len(q.queue) == 0 {
			return
		}
		f, q.queue = q.queue[0], q.queue[1:]
	}
}

func (l *fakeLab) loop(p *fakeProc) *fakeLoop {
	if l.loops[p] == nil {
		l.loops[p] = &fakeLoop{p: p}
	}
	return l.loops[p]
}

// entry makes a program's start run under the lab's lock, in its loop.
func (l *fakeLab) entry(start program) program {
	return func(p *fakeProc) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.loop(p).do(func() { start(p) })
	}
}

// onLine makes f the program's reaction to each line typed into it.
func (l *fakeLab) onLine(p *fakeProc, f func(line string)) {
	p.onLine = func(p *fakeProc, line string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.loop(p).do(func() { f(line) })
	}
}

// hold ties release to p's life: it runs when p ends.
func (l *fakeLab) hold(p *fakeProc, release func()) {
	if p != nil {
		l.held[p] = append(l.held[p], release)
	}
}

// exit ends p with code: its sockets close, then its output ends.
func (l *fakeLab) exit(p *fakeProc, code int) {
	if !p.running() {
		return
	}
	held := l.held[p]
	delete(l.held, p)
	for _, release := range held {
		release()
	}
	p.exit(code)
}

// addr is a host's IPv4 address.
func (l *fakeLab) addr(host string) netip.Addr {
	a, _ := netip.ParseAddr(l.vars.IPv4[host])
	return a
}

// resolve answers as the lab's DNS and /etc/hosts do: the team's domain
// is the web server, a host's name is the host.
func (l *fakeLab) resolve(name string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(name); err == nil {
		return a, nil
	}
	if name == l.vars.Domain {
		return l.addr("webserver"), nil
	}
	if _, ok := l.vars.IPv4[name]; ok {
		return l.addr(name), nil
	}
	return netip.Addr{}, fmt.Errorf("[Errno -2] Name or service not known: %s", name)
}

func (l *fakeLab) ephemeral() uint16 {
	l.port++
	return l.port
}

func (l *fakeLab) nextInode() uint64 {
	l.inode++
	return 10000 + l.inode
}

var (
	errRefused   = errors.New("[Errno 111] Connection refused")
	errAddrInUse = errors.New("[Errno 98] Address already in use")
	errBadFD     = errors.New("[Errno 9] Bad file descriptor")
)

// fakeListener is a TCP socket in LISTEN state. Connections are accepted
// at once, in the owner's loop.
type fakeListener struct {
	owner  *fakeProc
	host   string
	at     netip.AddrPort
	reuse  bool // SO_REUSEADDR, which the connections it accepts inherit
	accept func(e *fakeEnd)
	inode  uint64
}

// listen binds and listens as Linux does: a port held by another listener
// is busy, and so is one that a connection on it still holds (open, or
// closing: FIN_WAIT2, TIME_WAIT) unless both sockets set SO_REUSEADDR
// (reuse). TIME_WAIT never ends here: a fake lab lives one scenario, and
// the kernel keeps it a minute.
func (l *fakeLab) listen(p *fakeProc, at netip.AddrPort, reuse bool, accept func(e *fakeEnd)) error {
	if _, busy := l.listeners[at]; busy {
		return errAddrInUse
	}
	for _, e := range l.ends {
		if e.host == p.host && e.local == at && e.state != TCPClose && !(reuse && e.reuse) {
			return errAddrInUse
		}
	}
	l.listeners[at] = &fakeListener{owner: p, host: p.host, at: at, reuse: reuse, accept: accept, inode: l.nextInode()}
	l.hold(p, func() { delete(l.listeners, at) })
	return nil
}

// fakeEnd is one end of a TCP connection. Its state follows TCP's close:
// the end that closes first goes to FIN_WAIT2 and, once the other closes
// too, to TIME_WAIT; the other goes to CLOSE_WAIT and then is gone.
type fakeEnd struct {
	lab           *fakeLab
	host          string
	local, remote netip.AddrPort
	peer          *fakeEnd
	state         TCPState
	loop          *fakeLoop // the reading program's; nil reads at once (the probe)
	reuse         bool      // SO_REUSEADDR, inherited from the listener that accepted it
	onData        func(b []byte)
	onEOF         func()
	inode         uint64
}

// open says whether the program still has the socket.
func (e *fakeEnd) open() bool { return e.state == TCPEstablished || e.state == TCPCloseWait }

// read sets what the accepting program does with what arrives and with
// the end of the stream.
func (e *fakeEnd) read(onData func(b []byte), onEOF func()) { e.onData, e.onEOF = onData, onEOF }

func (e *fakeEnd) arrive(f func()) {
	if e.loop == nil {
		f()
		return
	}
	e.loop.do(f)
}

// send is one send(): one message, received whole by one recv() (nothing
// is glued, nothing split), and seen by the captures of both hosts.
func (e *fakeEnd) send(b []byte) error {
	if !e.open() {
		return errBadFD
	}
	e.lab.capture(fakePacket{proto: "tcp", src: e.local, dst: e.remote, payload: b})
	peer := e.peer
	if !peer.open() {
		return nil // the peer's kernel answers with a reset, which no program here reads
	}
	b = bytes.Clone(b)
	peer.arrive(func() {
		if peer.open() && peer.onData != nil {
			peer.onData(b)
		}
	})
	return nil
}

func (e *fakeEnd) close() {
	if !e.open() {
		return
	}
	peer := e.peer
	if e.state == TCPCloseWait {
		e.state = TCPClose
		peer.state = TCPTimeWait
		return
	}
	e.state, peer.state = TCPFinWait2, TCPCloseWait
	peer.arrive(func() {
		if peer.open() && peer.onEOF != nil {
			peer.onEOF()
		}
	})
}

// connect opens a TCP connection from host to to, whose data and end go
// to onData and onEOF in loop; the listener's program accepts it before
// connect returns. The caller holds the new end.
func (l *fakeLab) connect(host string, loop *fakeLoop, to netip.AddrPort, onData func(b []byte), onEOF func()) (*fakeEnd, error) {
	ln := l.listeners[to]
	if ln == nil {
		return nil, errRefused
	}
	local := netip.AddrPortFrom(l.addr(host), l.ephemeral())
	c := &fakeEnd{lab: l, host: host, local: local, remote: to, state: TCPEstablished, loop: loop, onData: onData, onEOF: onEOF, inode: l.nextInode()}
	s := &fakeEnd{lab: l, host: ln.host, local: to, remote: local, state: TCPEstablished, loop: l.loop(ln.owner), reuse: ln.reuse, inode: l.nextInode()}
	c.peer, s.peer = s, c
	l.ends = append(l.ends, c, s)
	l.hold(ln.owner, s.close)
	s.arrive(func() { ln.accept(s) })
	return c, nil
}

// fakeUDP is a bound UDP socket.
type fakeUDP struct {
	lab   *fakeLab
	host  string
	at    netip.AddrPort
	loop  *fakeLoop
	recv  func(from netip.AddrPort, b []byte)
	inode uint64
}

func (l *fakeLab) bindUDP(p *fakeProc, at netip.AddrPort, recv func(from netip.AddrPort, b []byte)) (*fakeUDP, error) {
	if _, busy := l.udp[at]; busy {
		return nil, errAddrInUse
	}
	u := &fakeUDP{lab: l, host: p.host, at: at, loop: l.loop(p), recv: recv, inode: l.nextInode()}
	l.udp[at] = u
	l.hold(p, func() { delete(l.udp, at) })
	return u, nil
}

// sendTo is one datagram: seen by the captures of both hosts, delivered
// when a socket is bound to its destination.
func (u *fakeUDP) sendTo(to netip.AddrPort, b []byte) {
	u.lab.capture(fakePacket{proto: "udp", src: u.at, dst: to, payload: b})
	if r := u.lab.udp[to]; r != nil {
		b = bytes.Clone(b)
		r.loop.do(func() { r.recv(u.at, b) })
	}
}

// sockets is the host's socket table as /proc/net/{tcp,udp} shows it.
func (l *fakeLab) sockets(host string) []Socket {
	var out []Socket
	any4 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	for _, ln := range l.listeners {
		if ln.host == host {
			out = append(out, Socket{Proto: "tcp", Local: ln.at, Remote: any4, State: TCPListen, Inode: ln.inode})
		}
	}
	for _, e := range l.ends {
		if e.host != host || e.state == TCPClose {
			continue
		}
		s := Socket{Proto: "tcp", Local: e.local, Remote: e.remote, State: e.state, Inode: e.inode}
		if e.state == TCPTimeWait {
			s.Inode = 0 // the kernel's, no program's
		}
		out = append(out, s)
	}
	for _, u := range l.udp {
		if u.host == host {
			out = append(out, Socket{Proto: "udp", Local: u.at, Remote: any4, State: TCPClose, Inode: u.inode})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Inode < out[j].Inode })
	return out
}

// fakePacket is what a capture sees: the payload of one segment or
// datagram. Segments without payload (SYN, FIN, ACK) are not modelled; no
// scenario looks for them.
type fakePacket struct {
	proto    string
	src, dst netip.AddrPort
	payload  []byte
}

// fakeTap is a running tcpdump: it prints the packets that cross its
// host and match its filter.
type fakeTap struct {
	host  string
	match func(fakePacket) bool
	p     *fakeProc
}

func (l *fakeLab) capture(pkt fakePacket) {
	for _, t := range l.taps {
		a := l.addr(t.host)
		if (pkt.src.Addr() == a || pkt.dst.Addr() == a) && t.match(pkt) {
			t.p.emit(tcpdumpText(pkt))
		}
	}
}

// tcpdumpText is a packet as tcpdump -n -A prints it: a header line, then
// the payload as text.
func tcpdumpText(pkt fakePacket) string {
	head := fmt.Sprintf("00:00:00.000000 IP %s.%d > %s.%d:", pkt.src.Addr(), pkt.src.Port(), pkt.dst.Addr(), pkt.dst.Port())
	if pkt.proto == "udp" {
		return fmt.Sprintf("%s UDP, length %d\n%s\n", head, len(pkt.payload), pkt.payload)
	}
	return fmt.Sprintf("%s Flags [P.], seq 1:%d, ack 1, win 502, length %d\n%s\n", head, len(pkt.payload)+1, len(pkt.payload), pkt.payload)
}

// parseFilter reads the part of pcap-filter(7) the scenarios use:
// primitives "tcp", "udp", "[tcp|udp] [src|dst] host ADDR" and
// "[tcp|udp] [src|dst] port N" joined by "and". Anything else is an error, as tcpdump's own is, so a
// scenario using more fails here loudly rather than capturing nothing.
func parseFilter(expr string) (func(fakePacket) bool, error) {
	w := strings.Fields(expr)
	var terms []func(fakePacket) bool
	qualified := false // "tcp port 5000": a protocol qualifies the next primitive
	for i := 0; i < len(w); {
		if len(terms) > 0 && !qualified {
			if w[i] != "and" {
				return nil, fmt.Errorf("syntax error at %q", w[i])
			}
			i++
		}
		if i >= len(w) {
			return nil, errors.New("syntax error at end")
		}
		qualified = false
		if w[i] == "tcp" || w[i] == "udp" {
			proto := w[i]
			terms = append(terms, func(p fakePacket) bool { return p.proto == proto })
			i++
			qualified = i < len(w) && w[i] != "and"
			continue
		}
		dir := ""
		if w[i] == "src" || w[i] == "dst" {
			dir = w[i]
			i++
		}
		if i+1 >= len(w) {
			return nil, errors.New("syntax error at end")
		}
		ends := func(p fakePacket) []netip.AddrPort {
			switch dir {
			case "src":
				return []netip.AddrPort{p.src}
			case "dst":
				return []netip.AddrPort{p.dst}
			}
			return []netip.AddrPort{p.src, p.dst}
		}
		switch w[i] {
		case "host":
			a, err := netip.ParseAddr(w[i+1])
			if err != nil {
				return nil, fmt.Errorf("bad host %q", w[i+1])
			}
			terms = append(terms, func(p fakePacket) bool {
				for _, e := range ends(p) {
					if e.Addr() == a {
						return true
					}
				}
				return false
			})
		case "port":
			n, err := strconv.ParseUint(w[i+1], 10, 16)
			if err != nil {
				return nil, fmt.Errorf("bad port %q", w[i+1])
			}
			terms = append(terms, func(p fakePacket) bool {
				for _, e := range ends(p) {
					if e.Port() == uint16(n) {
						return true
					}
				}
				return false
			})
		default:
			return nil, fmt.Errorf("syntax error at %q", w[i])
		}
		i += 2
	}
	if len(terms) == 0 {
		return nil, errors.New("empty filter")
	}
	return func(p fakePacket) bool {
		for _, t := range terms {
			if !t(p) {
				return false
			}
		}
		return true
	}, nil
}

// python runs the submission's script named by its first argument.
func (l *fakeLab) python(p *fakeProc) {
	script := ""
	if len(p.cmd) > 1 {
		script = path.Base(p.cmd[1])
	}
	run, ok := l.scripts[script]
	if !ok {
		p.emit(fmt.Sprintf("python3: can't open file '/root/%s': [Errno 2] No such file or directory\n", script))
		l.exit(p, 2)
		return
	}
	run(p)
}

// nc is netcat-openbsd as the connect step runs it (nc -4 -v HOST PORT):
// it prints what the peer sends, sends each typed line, and exits 0 once
// the peer closes.
func (l *fakeLab) nc(p *fakeProc) {
	args := p.cmd[1:]
	if len(args) < 2 || contains(args, "-u") {
		p.emit("nc: the fake lab runs TCP connections only\n")
		l.exit(p, 1)
		return
	}
	host, port := args[len(args)-2], args[len(args)-1]
	n, _ := strconv.ParseUint(port, 10, 16)
	a, err := l.resolve(host)
	if err != nil {
		p.emit(fmt.Sprintf("nc: getaddrinfo for host %q port %s: Name or service not known\n", host, port))
		l.exit(p, 1)
		return
	}
	e, err := l.connect(p.host, l.loop(p), netip.AddrPortFrom(a, uint16(n)),
		func(b []byte) { p.emit(string(b)) }, func() { l.exit(p, 0) })
	if err != nil {
		p.emit(fmt.Sprintf("nc: connect to %s port %s (tcp) failed: Connection refused\n", host, port))
		l.exit(p, 1)
		return
	}
	l.hold(p, e.close)
	p.emit(fmt.Sprintf("Connection to %s (%s) %s port [tcp/*] succeeded!\n", host, a, port))
	l.onLine(p, func(line string) { _ = e.send([]byte(line + "\n")) })
}

// tcpdump is the sniff step's capture (tcpdump -l -n -A -s 0 -i any
// FILTER): it says it listens, then prints each matching packet.
func (l *fakeLab) tcpdump(p *fakeProc) {
	args := p.cmd[1:]
	var filter []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-l", "-n", "-A":
		case "-s", "-i":
			i++
		default:
			filter = append(filter, args[i])
		}
	}
	match, err := parseFilter(strings.Join(filter, " "))
	if err != nil {
		p.emit(fmt.Sprintf("tcpdump: can't parse filter expression: %v\n", err))
		l.exit(p, 1)
		return
	}
	t := &fakeTap{host: p.host, match: match, p: p}
	l.taps = append(l.taps, t)
	l.hold(p, func() {
		for i, x := range l.taps {
			if x == t {
				l.taps = append(l.taps[:i], l.taps[i+1:]...)
				return
			}
		}
	})
	p.emit("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n" +
		"listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n")
}

// writeFile stores a file on a host, as a program there writes it.
func (l *fakeLab) writeFile(host, name string, data []byte) {
	if l.files[host] == nil {
		l.files[host] = map[string][]byte{}
	}
	l.files[host][name] = bytes.Clone(data)
}

func (l *fakeLab) readFile(host, name string) ([]byte, bool) {
	b, ok := l.files[host][name]
	return b, ok
}

// exec runs the commands the engine runs on hosts: the probe (probeScript,
// as the tool user on a sandboxed host) and the search (searchScript, as
// root), each with isolatedPython.
func (l *fakeLab) exec(host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	root := true
	if len(cmd) > 0 && cmd[0] == "setpriv" {
		root = !slices.Contains(cmd, fmt.Sprintf("--reuid=%d", runtime.ToolUID))
		cmd = cmd[slices.Index(cmd, "--")+1:]
	}
	if len(cmd) == 5 && slices.Equal(cmd[:4], append(slices.Clone(isolatedPython), "-c")) && stdin != nil {
		spec, err := io.ReadAll(stdin)
		if err != nil {
			return runtime.ExecResult{}, err
		}
		switch {
		case cmd[4] == probeScript:
			return l.probe(host, string(spec))
		case cmd[4] == searchScript && root:
			return l.search(host, string(spec))
		}
	}
	return runtime.ExecResult{ExitCode: 127, Stderr: []byte(fmt.Sprintf("sh: %s: not found in the fake lab\n", strings.Join(cmd, " ")))}, nil
}

// probe plays probeScript's dialogue and prints its JSON result. Replies
// arrive within the probe's own sends, so an expectation that is not met
// once everything sent has been answered never will be: the script would
// wait out its deadline ("timed out").
func (l *fakeLab) probe(host, specJSON string) (runtime.ExecResult, error) {
	var spec struct {
		To     string    `json:"to"`
		Proto  string    `json:"proto"`
		Dialog []ProbeOp `json:"dialog"`
	}
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return runtime.ExecResult{}, fmt.Errorf("probe spec: %w", err)
	}
	if spec.Proto != "tcp" {
		return runtime.ExecResult{}, errors.New("the fake lab runs TCP probes only")
	}
	res := probeResult{At: -1}
	var got []byte
	closed := false
	e, err := l.dialProbe(host, spec.To, func(b []byte) { got = append(got, b...) }, func() { closed = true })
	if err != nil {
		res.Error = err.Error()
		return probeOutput(res), nil
	}
	defer e.close()
	pos := 0
	for i, op := range spec.Dialog {
		res.At = i
		switch {
		case op.Send != "":
			_ = e.send([]byte(op.Send))
		case op.Expect != "":
			re, err := regexp.Compile(op.Expect)
			if err != nil {
				res.Error = "re.error: " + err.Error()
				res.Got = string(got)
				return probeOutput(res), nil
			}
			loc := re.FindStringIndex(string(got[pos:]))
			if loc == nil {
				res.Error = probeTimedOut
				if closed {
					res.Error = "the peer closed the connection first"
				}
				res.Got = string(got)
				return probeOutput(res), nil
			}
			pos += loc[1]
		case op.Closed:
			if !closed {
				res.Error = probeTimedOut
				res.Got = string(got)
				return probeOutput(res), nil
			}
		}
	}
	res.OK, res.At, res.Got = true, -1, string(got)
	return probeOutput(res), nil
}

func (l *fakeLab) dialProbe(host, to string, onData func([]byte), onEOF func()) (*fakeEnd, error) {
	h, port, err := net.SplitHostPort(to)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	a, err := l.resolve(h)
	if err != nil {
		return nil, err
	}
	return l.connect(host, nil, netip.AddrPortFrom(a, uint16(n)), onData, onEOF)
}

func probeOutput(res probeResult) runtime.ExecResult {
	b, _ := json.Marshal(res)
	return runtime.ExecResult{Stdout: append(b, '\n')}
}

// search answers searchScript over the host's files: the names of those
// under the spec's paths, outside its skipped ones, that hold any form.
// A file named in unread cannot be read, as a file whose read fails.
func (l *fakeLab) search(host, specJSON string) (runtime.ExecResult, error) {
	var spec searchSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return runtime.ExecResult{}, fmt.Errorf("search spec: %w", err)
	}
	names := make([]string, 0, len(l.files[host]))
	for name := range l.files[host] {
		names = append(names, name)
	}
	sort.Strings(names)
	res := searchResult{Files: []string{}, Unread: []string{}}
	for _, name := range names {
		if !under(name, spec.Paths) || under(name, spec.Skip) {
			continue
		}
		if l.unreadable[host][name] {
			res.Unread = append(res.Unread, name+": Input/output error")
			continue
		}
		for _, f := range spec.Forms {
			if bytes.Contains(l.files[host][name], f) {
				res.Files = append(res.Files, name)
				break
			}
		}
	}
	out, _ := json.Marshal(res)
	return runtime.ExecResult{Stdout: append(out, '\n')}, nil
}

// under says whether the file name lies in one of the folders.
func under(name string, dirs []string) bool {
	for _, d := range dirs {
		d = strings.TrimSuffix(d, "/")
		if name == d || strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return false
}

// TestFakeCaptureFilter holds the fake tcpdump to tcpdump's choice of
// packets for the filters of the built-in scenarios: one that caught
// nothing would let every absent step on a capture pass.
func TestFakeCaptureFilter(t *testing.T) {
	at := netip.MustParseAddrPort
	datagram := fakePacket{proto: "udp", src: at("10.20.30.11:6000"), dst: at("10.20.30.12:6000")}
	segment := fakePacket{proto: "tcp", src: at("10.20.30.11:40001"), dst: at("10.20.30.3:5000")}
	tests := []struct {
		filter  string
		pkt     fakePacket
		want    bool
		invalid bool
	}{
		{filter: "udp and src host 10.20.30.11 and dst host 10.20.30.12", pkt: datagram, want: true},
		{filter: "udp and src host 10.20.30.12 and dst host 10.20.30.11", pkt: datagram},
		{filter: "udp and src host 10.20.30.11", pkt: segment},
		{filter: "tcp port 5000", pkt: segment, want: true},
		{filter: "tcp port 5000", pkt: datagram},
		{filter: "tcp and dst port 5000", pkt: segment, want: true},
		{filter: "tcp src port 5000", pkt: segment},
		{filter: "host 10.20.30.3", pkt: segment, want: true},
		{filter: "tcp port", invalid: true},
		{filter: "tcp or udp", invalid: true},
		{filter: "icmp", invalid: true},
		{filter: "", invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			match, err := parseFilter(tc.filter)
			if tc.invalid {
				if err == nil {
					t.Fatalf("parseFilter(%q) accepted it", tc.filter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := match(tc.pkt); got != tc.want {
				t.Errorf("%q on %s %s > %s: %v, want %v", tc.filter, tc.pkt.proto, tc.pkt.src, tc.pkt.dst, got, tc.want)
			}
		})
	}
}
