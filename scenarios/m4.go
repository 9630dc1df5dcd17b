package scenarios

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Milestone 4 leaves every word of the login and register dialogue to the
// student, so the engine judges behaviour (README.md, "How Milestone 4 is
// judged"):
//
//   - admitted: the client keeps running, the server keeps its connection
//     (an ESTABLISHED socket from the client's address on the server), the
//     client shows the users already online, and they see the newcomer;
//   - refused: the server closes the connection (the server's side of it is
//     in TIME_WAIT, which only the side that closes first reaches), the
//     client prints something and exits, and nobody online sees a join.
//
// The answers are typed without knowing the prompts: each one once the
// client has printed something new, or sits reading its input, and the lab
// has settled.

// dialogueWithin is the least time each answer of the dialogue may wait
// for the client to be ready.
const dialogueWithin = 10 * time.Second

// answers is where a client's output stood when the dialogue typed its
// last two answers, and whether the client was seen asking for the last
// one (blocked reading its input, or its prompt matched) rather than only
// printing something.
type answers struct {
	last, prev int64
	asked      bool
}

// saidSomething says whether the client printed anything in answer to the
// dialogue's end: after the last answer, or, when it was not seen asking
// for that answer, after the one before (a refusal of the username that
// reached it while the grader, which cannot tell a refusal from the next
// question in the student's own words, typed the password).
func (a answers) saidSomething(written int64) bool {
	return written > a.last || (!a.asked && a.last > a.prev)
}

// dialogue answers the client's questions in the submission's order. It
// returns early, with exited set, when the client exits before every
// answer is typed: a refusal may come before the last question.
func (r *run) dialogue(ctx context.Context, name, action, user, password string, within time.Duration, mayEnd bool) (exited bool, typed answers, err *stepError) {
	auth := r.e.prog.Auth
	word := action
	if w := auth.Words[action]; w != "" {
		word = w
	}
	answersOf := map[string]string{"action": word, "username": user, "password": password}
	pr := r.proc(name)
	if within < dialogueWithin {
		within = dialogueWithin
	}
	for _, key := range auth.Order {
		asked := true
		if prompt := auth.Prompts[key]; prompt != "" {
			if err := r.expectRaw(ctx, name, prompt, within); err != nil {
				if st, _ := pr.tr.state(); mayEnd && st.exited {
					return true, typed, nil
				}
				return false, typed, err
			}
			r.settle(ctx)
		} else {
			var ended bool
			ended, asked, err = r.waitReady(ctx, pr, typed.last, within, key)
			if ended && mayEnd {
				return true, typed, nil
			}
			if err != nil {
				return false, typed, err
			}
		}
		typed = answers{last: pr.written.Load(), prev: typed.last, asked: asked}
		if err := r.typeLine(name, answersOf[key]); err != nil {
			if st, _ := pr.tr.state(); mayEnd && st.eof {
				return true, typed, nil
			}
			return false, typed, err
		}
	}
	return false, typed, nil
}

// waitReady waits until the client is ready for the next answer: it has
// printed something since the last one, or it is blocked reading its
// input, and the lab has settled.
func (r *run) waitReady(ctx context.Context, pr *proc, since int64, within time.Duration, key string) (exited, reading bool, err *stepError) {
	what := fmt.Sprintf("%s on %s asks for its %s (prints something or reads its input) within %s", pr.name, pr.host, key, within)
	start := r.e.clock.Now()
	deadline := r.deadline(within)
	_, observable := r.e.rt.(Observer)
	var waited starvation
	for {
		st, ch := pr.tr.state()
		if st.eof {
			return true, false, failf(what, "it did not; %s", r.endedText(ctx, pr, st))
		}
		if observable {
			states, settled := r.settle(ctx)
			if pr.written.Load() > since {
				return false, false, nil
			}
			if hs, ok := states[pr.host]; ok {
				t, ok := mainThread(hs, pr.p.PID())
				if ok && t.readingStdin() {
					return false, true, nil
				}
				if ok {
					waited.see(t)
				}
			}
			// A settled lab stays settled until the engine acts, so what
			// the client printed before it blocked, still on its way
			// through Docker, needs no second settle once it arrives.
			if settled && r.arrives(ctx, pr, since, inFlight) {
				return false, false, nil
			}
			if took := r.e.clock.Now().Sub(start); took >= within {
				if d, ok := waited.starved(took); ok {
					return false, false, infraf(what, "the machine was too busy to tell: the program waited %s of those %s for a CPU, so the check is run again", d.Round(time.Millisecond), took.Round(time.Millisecond))
				}
				return false, false, timeoutf(what, "it printed nothing and did not read its input for %s", took)
			}
			select {
			case <-ch:
			case <-r.e.clock.After(5 * settleInterval):
			case <-ctx.Done():
				return false, false, failf(what, "it did not before the scenario stopped")
			}
			continue
		}
		if pr.written.Load() > since {
			return false, false, nil
		}
		select {
		case <-ch:
		case <-deadline.C():
			return false, false, timeoutf(what, "it printed nothing within %s", r.e.clock.Now().Sub(start))
		case <-ctx.Done():
			return false, false, failf(what, "it did not before the scenario stopped")
		}
	}
}

// starvation follows, from the main thread's schedstat, how much CPU a
// program used and how long it waited, runnable, for one while the engine
// waited for it: the first reading, and the last two.
type starvation struct {
	first, prev, last TaskState
	n                 int
}

func (s *starvation) see(t TaskState) {
	if !t.Sched {
		return
	}
	if s.n == 0 {
		s.first = t
	}
	s.prev, s.last = s.last, t
	s.n++
}

// starved reports whether the machine, not the program, kept it from
// answering within window: it waited a quarter or more of the window for a
// CPU, it used little CPU meanwhile (a tenth of the window: a Python
// client needs a few hundred milliseconds to start and prompt; a program
// that spins uses far more, however busy the machine), and it was still
// waiting at the end (runnable, or its wait grew since the reading
// before). A program that hangs blocked, or spins, or started slowly and
// then blocked, is not starved, and fails. A starved timeout is the lab's
// fault and is not held against the submission; Grade runs the check
// again.
func (s *starvation) starved(window time.Duration) (time.Duration, bool) {
	if s.n < 2 {
		return 0, false
	}
	waited := s.last.RunDelay - s.first.RunDelay
	ran := s.last.RunTime - s.first.RunTime
	stillWaiting := s.last.Running || s.last.RunDelay > s.prev.RunDelay
	return waited, waited >= window/4 && ran < window/10 && stillWaiting
}

// inFlight is how long output a program wrote before it blocked may take
// to come through Docker's stream.
const inFlight = 100 * time.Millisecond

// arrives waits up to d for pr's output to grow past since.
func (r *run) arrives(ctx context.Context, pr *proc, since int64, d time.Duration) bool {
	timeout := r.e.clock.After(d)
	for {
		// The transcript changes before written counts it: poll briefly
		// between its signals.
		_, ch := pr.tr.state()
		if pr.written.Load() > since {
			return true
		}
		select {
		case <-ch:
		case <-r.e.clock.After(5 * time.Millisecond):
		case <-timeout:
			return pr.written.Load() > since
		case <-ctx.Done():
			return false
		}
	}
}

// witness is another admitted client, and where its output stood when a
// join began.
type witness struct {
	proc string
	user string
	from int64
}

// joinM4 starts a Milestone 4 client, answers its dialogue and judges the
// outcome by behaviour.
func (r *run) joinM4(ctx context.Context, st Step) *stepError {
	name, user, host := st.Procs[0], st.User, st.Host
	obs, observable := r.e.rt.(Observer)
	server := "webserver"
	var before map[string]Socket
	if observable {
		if ws, err := obs.Observe(ctx, server, nil); err == nil {
			before = connections(ws, r.v().Port)
		}
	}
	witnesses := r.witnesses(name)
	if err := r.start(ctx, name, host, RoleClient); err != nil {
		return err
	}
	pr := r.proc(name)
	// A refusal may come before the last question: dialogue then returns
	// early, and the client's exit is judged below.
	_, typed, serr := r.dialogue(ctx, name, st.Action, user, st.Password, st.Within, st.Fail)
	if serr != nil {
		return serr
	}
	r.settle(ctx)
	if st.Fail {
		return r.judgeRefused(ctx, st, pr, obs, before, witnesses, typed)
	}
	return r.judgeAdmitted(ctx, st, pr, obs, before, witnesses)
}

// witnesses lists the admitted clients that are still running.
func (r *run) witnesses(except string) []witness {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []witness
	for name, m := range r.members {
		p := r.procs[name]
		if name == except || p == nil {
			continue
		}
		if st, _ := p.tr.state(); st.exited {
			continue
		}
		out = append(out, witness{proc: name, user: m.user, from: p.written.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].proc < out[j].proc })
	return out
}

// newConnections are the server's connections from host's addresses that
// were not there before the join.
func (r *run) newConnections(ctx context.Context, obs Observer, before map[string]Socket, host string) ([]Socket, error) {
	ws, err := obs.Observe(ctx, "webserver", nil)
	if err != nil {
		return nil, err
	}
	addrs := map[netip.Addr]bool{}
	for _, a := range []string{r.v().IPv4[host], r.v().IPv6[host]} {
		if ip, err := netip.ParseAddr(a); err == nil {
			addrs[ip] = true
		}
	}
	var out []Socket
	for k, s := range connections(ws, r.v().Port) {
		if !addrs[s.Remote.Addr().Unmap()] || int(s.Local.Port()) != r.v().Port {
			continue
		}
		// The client may reuse the ports of a connection whose TIME_WAIT
		// the server still holds; its timer then starts again.
		if b, old := before[k]; old && !(b.State == TCPTimeWait && s.State == TCPTimeWait && s.Timer > b.Timer) &&
			!(b.State == TCPTimeWait && s.State != TCPTimeWait) {
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Remote.Port() < out[j].Remote.Port() })
	return out, nil
}

func (r *run) judgeAdmitted(ctx context.Context, st Step, pr *proc, obs Observer, before map[string]Socket, witnesses []witness) *stepError {
	verb := map[string]string{"login": "logs in", "register": "registers"}[st.Action]
	if s, _ := pr.tr.state(); s.eof {
		return failf(fmt.Sprintf("%s %s as %s and stays connected", pr.name, verb, st.User), "%s", r.endedText(ctx, pr, s))
	}
	if text := r.e.prog.Auth.Texts[map[string]string{"login": "logged_in", "register": "registered"}[st.Action]]; text != "" {
		if err := r.expectRaw(ctx, pr.name, text, st.Within); err != nil {
			return err
		}
	}
	if obs != nil {
		socks, err := r.newConnections(ctx, obs, before, pr.host)
		if err != nil {
			return observef("read the server's connections", err)
		}
		kept := false
		for _, s := range socks {
			if s.State == TCPEstablished {
				kept = true
			}
		}
		if !kept {
			return failf(fmt.Sprintf("the server keeps the connection of %s (%s) after it %s", pr.name, pr.host, verb),
				"the server holds no open connection from %s (new connections: %s)", pr.host, describeSockets(socks))
		}
	}
	// "the client should display the list of connected clients"
	for _, w := range witnesses {
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(w.user) + `\b`)
		if err := r.waitFor(ctx, pr, re, 0, false, st.Within, fmt.Sprintf("%s shows the users online after it %s, %s among them", pr.name, verb, w.user)); err != nil {
			return err
		}
	}
	// The others learn of the newcomer (Milestone 2's join notice and list).
	for _, w := range witnesses {
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(st.User) + `\b`)
		if err := r.waitFor(ctx, r.proc(w.proc), re, int(w.from), false, st.Within, fmt.Sprintf("%s, already online, learns that %s joined", w.proc, st.User)); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.members[pr.name] = member{user: st.User}
	r.mu.Unlock()
	return nil
}

// judgeRefused judges a refused join: the server closes the connection,
// and the client "should display an error message and exit" (in its own
// words: answers.saidSomething).
func (r *run) judgeRefused(ctx context.Context, st Step, pr *proc, obs Observer, before map[string]Socket, witnesses []witness, typed answers) *stepError {
	what := fmt.Sprintf("the server refuses %s as %s (%s): it closes the connection, and the client says so and exits", pr.name, st.User, st.Action)
	s, ok := r.waitState(ctx, pr.tr, r.deadline(st.Within), func(s exitState) bool { return s.exited })
	if !ok {
		return stillf(what, st.Within, "the client was still running %s after its last answer", st.Within)
	}
	if !typed.saidSomething(pr.written.Load()) {
		return failf(what, "the client exited (code %d) without printing anything after its last answer", s.code)
	}
	if text := r.e.prog.Auth.Texts[map[string]string{"login": "invalid", "register": "taken"}[st.Action]]; text != "" {
		if err := r.expectRaw(ctx, pr.name, text, time.Second); err != nil {
			return err
		}
	}
	if obs != nil {
		socks, err := r.newConnections(ctx, obs, before, pr.host)
		if err != nil {
			return observef("read the server's connections", err)
		}
		// Who sends the first FIN is a race when both sides close at once
		// (a server that sends its refusal and closes, a client that exits
		// on reading it, each under a CPU quota), so the order is only
		// noted. What the handout rules out is a server that keeps the
		// connection: open, or half closed because it never noticed.
		first := "the client closed first, then the server"
		for _, s := range socks {
			switch s.State {
			case TCPTimeWait, TCPFinWait1, TCPFinWait2, TCPClosing:
				first = "the server closed first"
			case TCPEstablished, TCPCloseWait:
				return failf(what, "the server still holds the connection from %s (%s)", pr.host, describeSockets([]Socket{s}))
			}
		}
		if len(socks) > 0 {
			pr.tr.note("engine: connection closed: " + first)
		}
	}
	// What was printed before the lab settled may still be on its way
	// through Docker.
	select {
	case <-r.e.clock.After(absentGrace):
	case <-ctx.Done():
	}
	for _, w := range witnesses {
		wp := r.proc(w.proc)
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(st.User) + `\b`)
		if m, _, found, _ := wp.tr.findAt(re, int(w.from), false); found && !strings.Contains(w.user, st.User) {
			return failf(what+"; nobody online sees a join", "%s, online, printed %q", w.proc, m)
		}
	}
	return nil
}

// learnP2P reads the client's P2P port from its host's UDP sockets, once,
// when the submission fixes no ports.
func (r *run) learnP2P(ctx context.Context, host string) {
	obs, ok := r.e.rt.(Observer)
	if !ok || r.e.prog.PortsKnown {
		return
	}
	if _, p2p := r.e.Ports(); p2p != 0 {
		return
	}
	hs, err := obs.Observe(ctx, host, nil)
	if err != nil {
		return
	}
	for _, s := range hs.Sockets {
		// The P2P socket is bound and unconnected; a resolver's is connected.
		if s.Proto == "udp" && s.Inode != 0 && s.Remote.Addr().IsUnspecified() && s.Local.Port() != 0 {
			r.learn(0, int(s.Local.Port()))
			return
		}
	}
}
