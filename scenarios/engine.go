package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// Programs tells the engine how to run one submission: the command of each
// role per milestone, the Milestone 4 dialogue, and the environment.
type Programs struct {
	// Commands may use ${self} (the host's IPv4 address) and every
	// scenario variable (${domain}, ${port}, ${p2p_port}, ${ip:HOST}, ...).
	Commands map[Milestone]map[Role][]string
	Auth     AuthDialogue
	Env      []string
	Workdir  string
	// PortsKnown is true when the chat port is fixed (a manifest or our
	// reference binaries). Otherwise the port is read from the server
	// host's socket table once the server listens.
	PortsKnown bool
}

// AuthDialogue is how a submission's Milestone 4 client asks for its
// answers. The handout fixes none of its wording, so by default the engine
// knows no prompt: it answers each question once the client has printed
// something new (or sits reading its input) and the lab has settled.
type AuthDialogue struct {
	// Order of the answers: "action", "username", "password".
	Order []string
	// Prompts are regexes to wait for before each answer; "" or missing
	// answers when the client is ready, as above.
	Prompts map[string]string
	// Words are what is typed for each action ("login", "register").
	Words map[string]string
	// Texts are optional exact texts the client prints, for a stricter
	// check: "registered", "logged_in", "taken", "invalid". Without them no
	// score depends on wording.
	Texts map[string]string
}

// DefaultAuth answers action, username, password, one per line, with the
// words login and register, and waits for no particular prompt.
func DefaultAuth() AuthDialogue {
	return AuthDialogue{
		Order:   []string{"action", "username", "password"},
		Prompts: map[string]string{},
		Words:   map[string]string{"login": "login", "register": "register"},
		Texts:   map[string]string{},
	}
}

// Engine runs scenarios against one lab's hosts.
type Engine struct {
	rt    runtime.Hosts
	prog  Programs
	vars  Vars
	clock Clock
	// sandbox, when not nil, confines the submission's programs (not the
	// grader's own): they run as its user without capabilities.
	sandbox  *runtime.Sandbox
	dnsCheck DNSCheck

	mu      sync.Mutex
	learned learnedPorts // ports read from the lab, kept across scenarios
}

// learnedPorts are the ports a submission was seen to use.
type learnedPorts struct {
	port, p2pPort int
}

// Ports returns the chat port and P2P port the engine used: the fixed ones,
// or those read from the hosts' socket tables (0 when never seen).
func (e *Engine) Ports() (port, p2pPort int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	port, p2pPort = e.vars.Port, e.vars.P2PPort
	if !e.prog.PortsKnown {
		port, p2pPort = e.learned.port, e.learned.p2pPort
	}
	return port, p2pPort
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock replaces the wall clock, for tests.
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithSandbox says the lab's chat hosts are confined by sb
// (lab.WithSandbox): the submission's programs are started as sb's user
// without capabilities (sb.Command); the grader's own (tcpdump) stay root.
func WithSandbox(sb runtime.Sandbox) Option { return func(e *Engine) { e.sandbox = &sb } }

// WithDNSChecker makes the dnscheck step run check (LabRuntime.CheckDNS);
// without it, or when check says ErrNoDNSCheck, the step asks getent.
func WithDNSChecker(check DNSCheck) Option { return func(e *Engine) { e.dnsCheck = check } }

// NewEngine returns an engine that runs prog's programs on the hosts rt,
// expanding scenario variables from vars. Where rt is also an Observer,
// scenarios are paced by what it reads.
func NewEngine(rt runtime.Hosts, prog Programs, vars Vars, opts ...Option) *Engine {
	e := &Engine{rt: rt, prog: prog, vars: vars, clock: realClock{}}
	if e.prog.Workdir == "" {
		e.prog.Workdir = "/root"
	}
	def := DefaultAuth()
	if e.prog.Auth.Order == nil {
		e.prog.Auth.Order = def.Order
	}
	if e.prog.Auth.Words == nil {
		e.prog.Auth.Words = def.Words
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// proc is a running program of a scenario.
type proc struct {
	name, host string
	command    string
	server     bool // started in the server role: cleanup ends it last
	p          runtime.Process
	tr         *transcript
	stdinMu    sync.Mutex
	// written counts the bytes the program has printed.
	written atomic.Int64
}

// run is the state of one scenario execution.
type run struct {
	e       *Engine
	sc      Scenario
	vars    Vars // the engine's, with the ports learned so far
	mu      sync.Mutex
	procs   map[string]*proc
	order   []string
	touched map[string]HostAction // hosts to restore, with what was done
	late    sync.WaitGroup        // starts that stalled past spawnGuard
	extra   []Transcript          // reports of checks that are not processes
	members map[string]member     // Milestone 4 clients the server admitted, by process
	// waits is, by "proc on host", how long the process was seen to have
	// waited for a CPU, reading by reading (noteWaits).
	waits       map[string][]waitSample
	hostOf      map[string]string                // the host of each key of waits
	threadWaits map[string]map[int]time.Duration // by key of waits, each thread's last reading
	// periodic are the threads seen napping on timers in a loop, which
	// settles no longer wait for (waitForSleeper).
	periodic map[thread]bool
}

// member is a Milestone 4 client that logged in or registered.
type member struct {
	user string
}

// stepError is a failed expectation, as opposed to a broken lab.
type stepError struct {
	expectation, got string
	infra            bool
	// timedOut is a wait that ran out: the only failure a busy machine
	// can cause in correct work (Failure.TimedOut).
	timedOut bool
	// window, for a wait that ran out, is how long it waited: a program
	// starved for less than half of it was not made late by the machine
	// alone (starvation). stillf sets it; Run sets the failed step's time
	// for the other waits.
	window time.Duration
}

func (s *stepError) Error() string { return s.expectation + ": " + s.got }

func failf(expectation, format string, args ...any) *stepError {
	return &stepError{expectation: expectation, got: fmt.Sprintf(format, args...)}
}

// timeoutf is a failure because a deadline passed before what was awaited
// happened.
func timeoutf(expectation, format string, args ...any) *stepError {
	return &stepError{expectation: expectation, got: fmt.Sprintf(format, args...), timedOut: true}
}

// stillf is a failure because a program was still running window after
// it should have ended: a wait that ran out (timedOut).
func stillf(expectation string, window time.Duration, format string, args ...any) *stepError {
	return &stepError{expectation: expectation, got: fmt.Sprintf(format, args...), timedOut: true, window: window}
}

func infraf(expectation, format string, args ...any) *stepError {
	return &stepError{expectation: expectation, got: fmt.Sprintf(format, args...), infra: true}
}

// observef is a reading of a host that could not be made: the grader's
// failure (infraf), unless the submission's own programs flooded the host
// with sockets (ErrFlooded), which is the submission's failure with that
// reason: left an ERROR, it would be graded again for ever, the same way.
func observef(expectation string, err error) *stepError {
	if errors.Is(err, ErrFlooded) {
		return failf(expectation, "the submission's programs flooded the host: %v", err)
	}
	return infraf(expectation, "%v", err)
}

// Run executes one scenario and always cleans up what it started: every
// process is killed and every host it stopped or disconnected is restored.
func (e *Engine) Run(ctx context.Context, sc Scenario) Result {
	start := e.clock.Now()
	res := Result{
		Scenario: sc.Name, Milestone: sc.Milestone, Requirement: sc.Requirement,
		Required: sc.Required, MaxPoints: sc.Points, Status: Passed,
	}
	r := &run{e: e, sc: sc, procs: map[string]*proc{}, touched: map[string]HostAction{}, members: map[string]member{}}
	r.vars = e.runVars()
	sctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	stopSampling := func() {}
	if wr, ok := e.rt.(WaitReader); ok {
		// Read every sampleEvery, so that starvation can tell waits that
		// came together from waits spread over the scenario.
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			r.sampleWaits(ctx, wr, stop)
		}()
		stopSampling = func() { close(stop); <-done }
	}
	var failed *stepError
	var failedAt Step
	for _, st := range sc.Steps {
		began := e.clock.Now()
		if err := r.step(sctx, st); err != nil {
			failed, failedAt = err, st
			if ctx.Err() == nil && sctx.Err() != nil {
				failed.got += fmt.Sprintf(" (the scenario's %s timeout ran out)", sc.Timeout)
				failed.timedOut = true
			}
			if failed.timedOut && failed.window == 0 {
				failed.window = e.clock.Now().Sub(began)
			}
			break
		}
	}
	cancel()
	stopSampling()
	// Read before cleanup, which closes the programs' input and ends them:
	// what they print then is the grader's doing, not a crash.
	crashed := r.crashes()
	starved := ""
	if failed != nil && !failed.infra && ctx.Err() == nil {
		starved = r.starvation(ctx, failedAt, failed.window, crashed)
	}
	r.cleanup(ctx)
	res.Duration = e.clock.Now().Sub(start)
	if failed != nil {
		res.Status = Failed
		if failed.infra || ctx.Err() != nil {
			res.Status = Error
		}
		res.Failure = &Failure{
			File: sc.File, Line: failedAt.Line, Step: failedAt.Kind,
			Expectation: failed.expectation, Got: failed.got,
			TimedOut: failed.timedOut && res.Status == Failed,
			Starved:  starved,
			Evidence: r.evidence(),
		}
		if len(crashed) > 0 {
			var names []string
			for _, c := range crashed {
				names = append(names, c.String())
			}
			res.Failure.Got += "; " + strings.Join(names, "; ")
		}
	} else {
		res.Points = sc.Points
	}
	res.Transcripts = r.transcripts()
	return res
}

// runVars are the variables of a new run: the engine's, with the ports
// learned from earlier scenarios when the submission fixes none.
func (e *Engine) runVars() Vars {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.vars
	if !e.prog.PortsKnown {
		if e.learned.port != 0 {
			v.Port = e.learned.port
		}
		if e.learned.p2pPort != 0 {
			v.P2PPort = e.learned.p2pPort
		}
	}
	return v
}

// v is the run's variables. Steps of one run go on at once (a join's
// parallel children) while learn may change the ports, so they are read
// under the engine's lock.
func (r *run) v() Vars {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	return r.vars
}

// learn records a port seen in the lab for this run and later ones.
func (r *run) learn(port, p2pPort int) {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	if port != 0 {
		r.vars.Port, r.e.learned.port = port, port
	}
	if p2pPort != 0 {
		r.vars.P2PPort, r.e.learned.p2pPort = p2pPort, p2pPort
	}
}

func (r *run) evidence() []Evidence {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Evidence
	for _, name := range r.order {
		p := r.procs[name]
		out = append(out, Evidence{Proc: name, Host: p.host, Lines: p.tr.lastLines(evidenceLines)})
	}
	return out
}

// crashes names each program of the run that died of an uncaught Python
// exception, with its traceback's last line, in the order they started:
// a crash must read as a crash, in the scenario where it happened, not as
// whatever it made fail next.
func (r *run) crashes() []crash {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []crash
	for _, name := range r.order {
		p := r.procs[name]
		if line, ok := crashLine(p.tr.lastLines(crashLines)); ok {
			out = append(out, crash{proc: name, host: p.host, exception: line})
		}
	}
	return out
}

// crash is a program that died of an uncaught exception.
type crash struct {
	proc, host, exception string
}

func (c crash) String() string {
	return fmt.Sprintf("%s on %s crashed: %s", c.proc, c.host, c.exception)
}

// timeout says whether the exception is a socket's timeout running out
// (a student's settimeout), which a starved peer can cause.
func (c crash) timeout() bool {
	return strings.HasPrefix(c.exception, "TimeoutError") || strings.HasPrefix(c.exception, "socket.timeout")
}

// crashLines is how much of a transcript's end crashLine reads: a
// traceback of a chat program is a dozen lines.
const crashLines = 40

// crashLine returns the exception of the last Python traceback in lines
// ("NameError: name 'x' is not defined"). An interrupt the grader sent
// (KeyboardInterrupt) is no crash.
func crashLine(lines []string) (string, bool) {
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Traceback (most recent call last):") {
			at = i
		}
	}
	if at < 0 {
		return "", false
	}
	for _, l := range lines[at+1:] {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "KeyboardInterrupt") {
			return "", false
		}
		return l, true
	}
	return "", false
}

func (r *run) transcripts() []Transcript {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Transcript
	for _, name := range r.order {
		p := r.procs[name]
		out = append(out, Transcript{Proc: name, Host: p.host, Command: p.command, Text: p.tr.text()})
	}
	return append(out, r.extra...)
}

// endAll ends the processes of procs that pick selects and waits for them to
// exit: host by host in one go where the runtime can, one by one
// otherwise.
func (r *run) endAll(ctx context.Context, procs []*proc, pick func(*proc) bool) {
	byHost := map[string][]*proc{}
	for _, p := range procs {
		if st, _ := p.tr.state(); !st.exited && pick(p) {
			_ = p.p.Stdin().Close()
			byHost[p.host] = append(byHost[p.host], p)
		}
	}
	var wg sync.WaitGroup
	for host, ps := range byHost {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.signal(ctx, host, syscall.SIGKILL, ps...)
			for _, p := range ps {
				r.waitState(ctx, p.tr, nil, func(s exitState) bool { return s.exited })
			}
		}()
	}
	wg.Wait()
}

// cleanup kills the scenario's processes and restores its hosts. It uses its
// own deadline so that it still runs when ctx is cancelled (Ctrl-C).
func (r *run) cleanup(parent context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 20*time.Second)
	defer cancel()
	for host, action := range r.touched {
		var undo HostAction
		switch action {
		case HostDisconnect:
			undo = HostReconnect
		case HostStop, HostKill:
			undo = HostStart
		default:
			continue
		}
		_ = hostAction(ctx, r.e.rt, host, undo) // best effort: the lab is torn down after grading anyway
	}
	r.mu.Lock()
	procs := make([]*proc, 0, len(r.procs))
	for _, p := range r.procs {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	// The clients end first, then the servers: the side that closes a TCP
	// connection first holds it in TIME_WAIT for a minute, and on the
	// server's side that would keep the next scenario's server from binding
	// its port unless it sets SO_REUSEADDR (which m1-restart-at-once
	// checks, once). Ended after its clients, a server only answers their
	// close.
	r.endAll(ctx, procs, func(p *proc) bool { return !p.server })
	r.endAll(ctx, procs, func(p *proc) bool { return p.server })
	// A stalled start may still complete; its program must be gone before
	// the next scenario.
	done := make(chan struct{})
	go func() {
		r.late.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (r *run) proc(name string) *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[name]
}

func (r *run) step(ctx context.Context, st Step) *stepError {
	if err := ctx.Err(); err != nil {
		return infraf(string(st.Kind), "stopped: %v", err)
	}
	if paced[st.Kind] {
		// A person acts only once the lab has settled (see settle.go).
		r.settle(ctx)
	}
	switch st.Kind {
	case StepParallel:
		return r.parallel(ctx, st.Children)
	case StepStart:
		return r.start(ctx, st.Procs[0], st.Host, st.Role)
	case StepJoin:
		return r.join(ctx, st)
	case StepType:
		line, err := r.v().expand(st.Text, false)
		if err != nil {
			return infraf("type", "%v", err)
		}
		return r.typeLine(st.Procs[0], line)
	case StepAuth:
		_, _, err := r.dialogue(ctx, st.Procs[0], st.Action, st.User, st.Password, st.Within, false)
		return err
	case StepExpect:
		return r.each(st.Procs, func(name string) *stepError { return r.expect(ctx, name, st.Match, st.Within) })
	case StepUntil:
		return r.until(ctx, st)
	case StepConnect:
		return r.connect(ctx, st)
	case StepAbsent:
		return r.each(st.Procs, func(name string) *stepError { return r.absent(ctx, name, st.Match, st.Within) })
	case StepExit:
		return r.exit(ctx, st.Procs[0], st.Code, st.Within)
	case StepRunning:
		for _, name := range st.Procs {
			if serr := r.running(ctx, name); serr != nil {
				return serr
			}
		}
		return nil
	case StepKill:
		return r.kill(ctx, st.Procs[0], st.Signal)
	case StepListening:
		return r.listening(ctx, st)
	case StepProbe:
		return r.probe(ctx, st)
	case StepGrep:
		return r.grep(ctx, st)
	case StepResolve:
		return r.each(st.Hosts, func(host string) *stepError { return r.resolve(ctx, host, st) })
	case StepDNSCheck:
		return r.dnscheck(ctx, st)
	case StepHost:
		return r.host(ctx, st.Host, HostAction(st.Action))
	case StepPeerList:
		return r.peerList(ctx, st)
	case StepSniff:
		return r.sniff(ctx, st)
	}
	return infraf(string(st.Kind), "unknown step kind")
}

// paced are the steps a person takes only once the lab has settled: those
// that type, start or stop something, or read a host's files. Join, auth
// and until settle before each line they type.
var paced = map[StepKind]bool{
	StepStart: true, StepType: true, StepConnect: true, StepProbe: true,
	StepGrep: true, StepKill: true, StepHost: true, StepSniff: true,
	StepRunning: true,
}

// running checks, once the lab has settled, that a program is still
// running. A program gone from its host whose exit Docker has not yet
// reported is given exitGrace for it: a server that crashed on the last
// join must not pass for running because the news was slow.
func (r *run) running(ctx context.Context, name string) *stepError {
	pr := r.proc(name)
	what := fmt.Sprintf("%s is still running", name)
	st, _ := pr.tr.state()
	if !st.exited {
		obs, ok := r.e.rt.(Observer)
		pid := pr.p.PID()
		if !ok || pid <= 0 {
			return nil
		}
		hs, err := obs.Observe(ctx, pr.host, []int{pid})
		if err != nil {
			return nil
		}
		for _, t := range hs.Tasks {
			if t.PID == pid && t.State != 'Z' {
				return nil
			}
		}
		var ended bool
		if st, ended = r.waitState(ctx, pr.tr, r.deadline(exitGrace), func(s exitState) bool { return s.exited }); !ended {
			return nil
		}
	}
	return failf(what, "%s", endedText(st))
}

// each runs f for every name at once and returns the first failure in the
// order of names, so evidence does not depend on scheduling.
func (r *run) each(names []string, f func(string) *stepError) *stepError {
	return all(len(names), func(i int) *stepError { return f(names[i]) })
}

func (r *run) parallel(ctx context.Context, steps []Step) *stepError {
	return all(len(steps), func(i int) *stepError { return r.step(ctx, steps[i]) })
}

// all runs f(0..n-1) at once and returns the lowest-numbered failure.
func all(n int, f func(int) *stepError) *stepError {
	if n == 1 {
		return f(0)
	}
	errs := make([]*stepError, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *run) command(host string, role Role) ([]string, error) {
	byRole, ok := r.e.prog.Commands[r.sc.Milestone]
	if !ok || len(byRole[role]) == 0 {
		// The milestone was not handed in (or its files were not found):
		// say so, rather than that a program failed.
		named := ""
		if f, ok := handoutFiles[r.sc.Milestone]; ok {
			named = fmt.Sprintf(" (the handout names it %s)", f[map[Role]int{RoleServer: 0, RoleClient: 1}[role]])
		}
		return nil, fmt.Errorf("not handed in: the submission has no %s %s program%s: add it, or name it in lab3.yaml", r.sc.Milestone, role, named)
	}
	self := r.v().IPv4[host]
	var out []string
	for _, a := range byRole[role] {
		a = strings.ReplaceAll(a, "${self}", self)
		x, err := r.v().expand(a, false)
		if err != nil {
			return nil, fmt.Errorf("%s %s command: %w", r.sc.Milestone, role, err)
		}
		out = append(out, x)
	}
	return out, nil
}

func (r *run) start(ctx context.Context, name, host string, role Role) *stepError {
	what := fmt.Sprintf("start the %s %s as %q on %s", r.sc.Milestone, role, name, host)
	cmd, err := r.command(host, role)
	if err != nil {
		return failf(what, "%v", err)
	}
	if serr := r.spawn(ctx, name, host, cmd, strings.Join(cmd, " ")); serr != nil {
		return serr
	}
	if role == RoleServer {
		r.mu.Lock()
		r.procs[name].server = true
		r.mu.Unlock()
	}
	return nil
}

// spawn starts a program of the submission.
func (r *run) spawn(ctx context.Context, name, host string, cmd []string, command string) *stepError {
	return r.spawnWith(ctx, name, host, cmd, command, false)
}

// spawnGuard bounds how long starting a program may take. It guards the
// lab, not the submission: Docker occasionally stalls an exec under load,
// and a stalled start must not eat the scenario's timeout. A start takes
// well under a second normally. A stalled start is an Error (the lab's
// fault), which Grade retries; cleanup waits for the stalled start to finish
// and kills what it started, so the retry begins clean.
const spawnGuard = 10 * time.Second

// spawnWith starts a program as a process of the scenario: the
// submission's, or with grader set the grader's own (tcpdump), which runs
// with the privileges it needs whatever limits the submission runs under.
func (r *run) spawnWith(ctx context.Context, name, host string, cmd []string, command string, grader bool) *stepError {
	type spawned struct {
		p   runtime.Process
		err error
	}
	ch := make(chan spawned, 1)
	// The scenario's end does not end the process: cleanup kills every
	// process of a host at once, which costs Docker one exec at most where
	// a kill per process on the context's end would cost one each.
	ctx = context.WithoutCancel(ctx)
	go func() {
		// stderr is merged into stdout on the host: two streams arrive
		// separately, and a transcript would interleave them out of order.
		opts := runtime.SpawnOptions{Env: r.e.prog.Env, Workdir: r.e.prog.Workdir, MergeStderr: true}
		argv := cmd
		switch {
		case grader:
			opts = runtime.SpawnOptions{Workdir: "/", MergeStderr: true}
		case r.e.sandbox != nil:
			argv = r.e.sandbox.Command(cmd)
		}
		p, err := r.e.rt.Spawn(ctx, host, argv, opts)
		ch <- spawned{p, err}
	}()
	guard := time.NewTimer(spawnGuard)
	defer guard.Stop()
	var s spawned
	select {
	case s = <-ch:
	case <-guard.C:
		r.late.Add(1)
		go func() {
			defer r.late.Done()
			if late := <-ch; late.p != nil {
				kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = late.p.Signal(kctx, syscall.SIGKILL)
			}
		}()
		return infraf(fmt.Sprintf("start %q on %s", name, host), "Docker did not start it within %s", spawnGuard)
	}
	p, err := s.p, s.err
	if err != nil {
		return infraf(fmt.Sprintf("start %q on %s", name, host), "%v", err)
	}
	pr := &proc{name: name, host: host, command: command, p: p, tr: newTranscript()}
	pr.tr.note(fmt.Sprintf("%s on %s: %s", name, host, pr.command))
	r.mu.Lock()
	r.procs[name] = pr
	r.order = append(r.order, name)
	r.mu.Unlock()
	go pump(pr)
	return nil
}

// pump copies a process's output into its transcript and records its exit.
func pump(pr *proc) {
	buf := make([]byte, 32*1024)
	out := pr.p.Output()
	for {
		n, err := out.Read(buf)
		if n > 0 {
			pr.tr.write(buf[:n])
			// Counted as the transcript stores it, so it is an offset there.
			pr.written.Add(int64(len(normalize(buf[:n]))))
		}
		if err != nil {
			break
		}
	}
	pr.tr.markEOF()
	code, err := pr.p.Wait()
	pr.tr.finish(code, err)
	if r, ok := pr.p.(exitRecorder); ok {
		r.ExitRecorded()
	}
}

// exitRecorder is a process told when the engine has recorded its exit.
// The tests' fake programs are: their exit returns only then, so that an
// instant clock cannot fire the exitGrace timeout between the exit and
// its record.
type exitRecorder interface{ ExitRecorded() }

func (r *run) typeLine(name, line string) *stepError {
	pr := r.proc(name)
	pr.stdinMu.Lock()
	defer pr.stdinMu.Unlock()
	pr.tr.typed(line)
	if _, err := io.WriteString(pr.p.Stdin(), line+"\n"); err != nil {
		s, _ := pr.tr.state()
		got := fmt.Sprintf("writing failed: %v", err)
		if s.eof {
			got = "the program had already stopped reading (it exited or closed its input)"
		}
		return failf(fmt.Sprintf("type %q into %s", line, name), "%s", got)
	}
	return nil
}

// welcomeWithin is the least time a joining client waits for the welcome.
const welcomeWithin = 30 * time.Second

// Handout texts of Milestones 1 and 2, matched whole.
const (
	welcomeText = `Welcome to this chatroom! Type your username and press enter to continue: `
	validText   = `Your username (%s) is valid. You can start chatting now.`
)

func (r *run) join(ctx context.Context, st Step) *stepError {
	if r.sc.Milestone == M4 {
		return r.joinM4(ctx, st)
	}
	name, user := st.Procs[0], st.User
	if err := r.start(ctx, name, st.Host, RoleClient); err != nil {
		return err
	}
	// The handout's server reads each new client's name with a blocking
	// recv() and sleeps before each list push, so a client that joins
	// beside others waits its turn for the welcome.
	if err := r.expectRaw(ctx, name, regexp.QuoteMeta(strings.TrimSpace(welcomeText)), max(st.Within, welcomeWithin)); err != nil {
		return err
	}
	r.settle(ctx)
	if err := r.typeLine(name, user); err != nil {
		return err
	}
	if st.Fail {
		return nil
	}
	if err := r.expectRaw(ctx, name, regexp.QuoteMeta(fmt.Sprintf(validText, user)), st.Within); err != nil {
		return err
	}
	if r.sc.Milestone == M2 {
		r.learnP2P(ctx, st.Host)
	}
	return nil
}

// compile expands a scenario regex; ^ and $ match at line breaks.
func (r *run) compile(match string) (*regexp.Regexp, *stepError) {
	x, err := r.v().expand(match, true)
	if err != nil {
		return nil, infraf("match", "%v", err)
	}
	re, err := regexp.Compile("(?m)" + x)
	if err != nil {
		return nil, infraf("match", "%v", err)
	}
	return re, nil
}

func (r *run) expect(ctx context.Context, name, match string, within time.Duration) *stepError {
	re, serr := r.compile(match)
	if serr != nil {
		return serr
	}
	return r.expectRE(ctx, name, re, within)
}

// expectRaw matches a regex that needs no variable expansion.
func (r *run) expectRaw(ctx context.Context, name, match string, within time.Duration) *stepError {
	re, err := regexp.Compile(match)
	if err != nil {
		return infraf("match", "%v", err)
	}
	return r.expectRE(ctx, name, re, within)
}

func (r *run) expectRE(ctx context.Context, name string, re *regexp.Regexp, within time.Duration) *stepError {
	pr := r.proc(name)
	what := fmt.Sprintf("%s on %s prints /%s/ within %s", name, pr.host, strings.TrimPrefix(re.String(), "(?m)"), within)
	return r.waitFor(ctx, pr, re, -1, true, within, what)
}

// waitFor waits until re matches the process's output from offset from
// (-1: from what earlier expectations consumed), consuming the match if
// asked to.
func (r *run) waitFor(ctx context.Context, pr *proc, re *regexp.Regexp, from int, consume bool, within time.Duration, what string) *stepError {
	start := r.e.clock.Now()
	deadline := r.deadline(within)
	for {
		// Read the state before searching: output written before EOF is
		// then certainly visible to the search.
		// The channel is the state's: a change between the two reads
		// then wakes the wait below rather than being missed.
		st, ch := pr.tr.state()
		_, _, found, _ := pr.tr.findAt(re, from, consume)
		if found {
			return nil
		}
		if st.eof {
			// Nothing more can arrive; say so instead of waiting out the deadline.
			return failf(what, "it did not; %s", r.endedText(ctx, pr, st))
		}
		select {
		case <-ch:
		case <-deadline.C():
			if _, _, found, _ := pr.tr.findAt(re, from, consume); found {
				return nil
			}
			return timeoutf(what, "it did not within %s", r.e.clock.Now().Sub(start))
		case <-ctx.Done():
			return failf(what, "it did not before the scenario stopped")
		}
	}
}

// exitGrace is how long a program's exit status may follow the end of
// its output: Docker closes the stream first and reports the exit after.
const exitGrace = time.Second

// endedText says how a program whose output ended finished, waiting up to
// exitGrace for its exit status, so that a failure says "exited with code
// 1" rather than "closed its output" when both are true.
func (r *run) endedText(ctx context.Context, pr *proc, st exitState) string {
	timeout := r.e.clock.After(exitGrace)
	for st.eof && !st.exited {
		var ch <-chan struct{}
		if st, ch = pr.tr.state(); st.exited {
			break
		}
		select {
		case <-ch:
		case <-timeout:
			return endedText(st)
		case <-ctx.Done():
			return endedText(st)
		}
	}
	return endedText(st)
}

func endedText(st exitState) string {
	if st.exited {
		if st.err != nil {
			return fmt.Sprintf("the program ended (%v)", st.err)
		}
		return fmt.Sprintf("the program exited with code %d", st.code)
	}
	return "the program closed its output"
}

// absentGrace is how long an absence is watched for once the lab has
// settled: output already printed still crosses Docker's stream.
const absentGrace = 150 * time.Millisecond

func (r *run) absent(ctx context.Context, name, match string, window time.Duration) *stepError {
	re, serr := r.compile(match)
	if serr != nil {
		return serr
	}
	pr := r.proc(name)
	what := fmt.Sprintf("%s on %s does not print /%s/ within %s", name, pr.host, strings.TrimPrefix(re.String(), "(?m)"), window)
	from := pr.tr.position()
	if _, settled := r.settle(ctx); settled && window > absentGrace {
		// Once the lab has settled nothing more is on its way but what
		// Docker is still relaying; a short grace covers that.
		window = absentGrace
	}
	deadline := r.deadline(window)
	for {
		st, ch := pr.tr.state() // its channel: see waitFor
		m, found, _ := pr.tr.find(re, from, false)
		if found {
			return failf(what, "it printed %q", m)
		}
		if st.eof {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C():
			if m, found, _ := pr.tr.find(re, from, false); found {
				return failf(what, "it printed %q", m)
			}
			return nil
		case <-ctx.Done():
			return failf(what, "the scenario stopped before the window ended")
		}
	}
}

// waitState blocks until cond holds for the transcript's exit state or the
// deadline (nil: none) passes.
func (r *run) waitState(ctx context.Context, tr *transcript, deadline *deadline, cond func(exitState) bool) (exitState, bool) {
	for {
		st, ch := tr.state()
		if cond(st) {
			return st, true
		}
		select {
		case <-ch:
		case <-deadline.C():
			st, _ := tr.state()
			if st.eof && !st.exited {
				// Output has ended, so the exit status is moments away; the
				// deadline is about the program, not about Docker's bookkeeping.
				return r.waitState(ctx, tr, nil, cond)
			}
			return st, cond(st)
		case <-ctx.Done():
			st, _ := tr.state()
			return st, cond(st)
		}
	}
}

func (r *run) exit(ctx context.Context, name string, code *int, within time.Duration) *stepError {
	pr := r.proc(name)
	what := fmt.Sprintf("%s on %s exits within %s", name, pr.host, within)
	if code != nil {
		what = fmt.Sprintf("%s on %s exits with code %d within %s", name, pr.host, *code, within)
	}
	start := r.e.clock.Now()
	st, ok := r.waitState(ctx, pr.tr, r.deadline(within), func(s exitState) bool { return s.exited })
	if !ok {
		took := r.e.clock.Now().Sub(start)
		return stillf(what, took, "it was still running after %s", took)
	}
	if st.err != nil {
		return infraf(what, "could not read its exit status: %v", st.err)
	}
	if code != nil && st.code != *code {
		return failf(what, "it exited with code %d", st.code)
	}
	return nil
}

func (r *run) kill(ctx context.Context, name, signal string) *stepError {
	if signal == "" {
		signal = "KILL"
	}
	sig := signals[strings.ToUpper(signal)]
	pr := r.proc(name)
	what := fmt.Sprintf("send SIG%s to %s", strings.ToUpper(signal), name)
	if st, _ := pr.tr.state(); st.exited {
		return failf(what, "it had already ended: %s", endedText(st))
	}
	pr.tr.note("engine sent SIG" + strings.ToUpper(signal))
	if err := r.signal(ctx, pr.host, sig, pr); err != nil {
		// A program that ended on its own (a crash) before Docker said
		// so cannot be signalled: that is the program's doing, not the
		// lab's.
		if st, ended := r.waitState(ctx, pr.tr, r.deadline(exitGrace), func(s exitState) bool { return s.exited }); ended {
			return failf(what, "it had already ended: %s", endedText(st))
		}
		return infraf(what, "%v", err)
	}
	return nil
}

// signal sends sig to processes of one host: all at once where the runtime
// can, each on its own where it cannot (or could not).
func (r *run) signal(ctx context.Context, host string, sig syscall.Signal, ps ...*proc) error {
	if s, ok := r.e.rt.(Observer); ok {
		pids := make([]int, 0, len(ps))
		for _, p := range ps {
			// PID 0 would signal the agent's own process group.
			if pid := p.p.PID(); pid > 0 {
				pids = append(pids, pid)
			}
		}
		if len(pids) == len(ps) && s.SignalAll(ctx, host, sig, pids) == nil {
			return nil
		}
	}
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.p.Signal(ctx, sig))
	}
	return errors.Join(errs...)
}

func (r *run) host(ctx context.Context, host string, action HostAction) *stepError {
	r.mu.Lock()
	switch action {
	case HostDisconnect, HostStop, HostKill:
		r.touched[host] = action
	case HostReconnect, HostStart:
		delete(r.touched, host)
	}
	r.mu.Unlock()
	for _, p := range r.procsOn(host) {
		p.tr.note(fmt.Sprintf("engine: %s %s", action, host))
	}
	if err := hostAction(ctx, r.e.rt, host, action); err != nil {
		return infraf(fmt.Sprintf("%s host %s", action, host), "%v", err)
	}
	return nil
}

// procsOn is the scenario's processes on host, in the order they started.
func (r *run) procsOn(host string) []*proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	var on []*proc
	for _, name := range r.order {
		if p := r.procs[name]; p.host == host {
			on = append(on, p)
		}
	}
	return on
}

// poll runs check every interval until it reports done or within passes. It
// is for state that has no event to wait on, such as a port being bound.
func (r *run) poll(ctx context.Context, within, interval time.Duration, check func() (bool, error)) (bool, error) {
	start := r.e.clock.Now()
	for {
		done, err := check()
		if done || err != nil || r.e.clock.Now().Sub(start) >= within {
			return done, err
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-r.e.clock.After(interval):
		}
	}
}

// until types a line, waits up to every for the reply, and tries again
// until within passes: for state the program only shows when asked, such as
// the peer list behind ":l".
func (r *run) until(ctx context.Context, st Step) *stepError {
	name := st.Procs[0]
	pr := r.proc(name)
	re, serr := r.compile(st.Match)
	if serr != nil {
		return serr
	}
	var without *regexp.Regexp
	desc := fmt.Sprintf("/%s/", st.Match)
	if st.Without != "" {
		if without, serr = r.compile(st.Without); serr != nil {
			return serr
		}
		desc += fmt.Sprintf(" without /%s/", st.Without)
	}
	line, err := r.v().expand(st.Text, false)
	if err != nil {
		return infraf("until", "%v", err)
	}
	what := fmt.Sprintf("typing %q into %s on %s shows %s within %s", line, name, pr.host, desc, st.Within)
	// The deadline is checked between attempts, not raced against them, so
	// every attempt gets its full wait.
	start := r.e.clock.Now()
	last := ""
	for r.e.clock.Now().Sub(start) < st.Within {
		r.settle(ctx)
		from := pr.tr.position()
		if err := r.typeLine(name, line); err != nil {
			return err
		}
		attempt := r.e.clock.After(st.Every)
	wait:
		for {
			state, ch := pr.tr.state() // its channel: see waitFor
			m, end, found, _ := pr.tr.findAt(re, from, false)
			if found {
				last = m
				if without == nil || !without.MatchString(m) {
					pr.tr.seek(end)
					return nil
				}
				// A stale answer: look only at later output.
				from = end
				continue
			}
			if state.eof {
				return failf(what, "it did not; %s", r.endedText(ctx, pr, state))
			}
			select {
			case <-ch:
			case <-attempt:
				break wait
			case <-ctx.Done():
				return failf(what, "it did not before the scenario stopped")
			}
		}
	}
	got := "it never did"
	if last != "" {
		got = fmt.Sprintf("the last answer was %q", last)
	}
	return timeoutf(what, "%s (after %s)", got, r.e.clock.Now().Sub(start))
}

// deadline is a timer created on first use, so a wait that succeeds at once
// costs no timer (and no fake time in tests).
type deadline struct {
	clock Clock
	d     time.Duration
	ch    <-chan time.Time
}

func (r *run) deadline(d time.Duration) *deadline { return &deadline{clock: r.e.clock, d: d} }

// C returns the timer's channel; a nil deadline never fires.
func (t *deadline) C() <-chan time.Time {
	if t == nil {
		return nil
	}
	if t.ch == nil {
		t.ch = t.clock.After(t.d)
	}
	return t.ch
}
