package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// fakeClock is instant: After(d) moves time forward by d and fires at once,
// so timeouts take no wall time and durations are exact. Before firing it
// lets the fake programs finish what they are doing (settle), so a timer
// never beats output that is already on its way.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	settle func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	if c.settle != nil {
		c.settle()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// syncOutput hands chunks to the engine's pump one at a time: emit returns
// only once the pump has stored the chunk (it asks for the next one), so a
// fake program's output is visible to the very next step.
type syncOutput struct {
	ch      chan []byte
	ack     chan struct{}
	quit    chan struct{} // closed when the program exits
	pending bool
}

func newSyncOutput() *syncOutput {
	return &syncOutput{ch: make(chan []byte), ack: make(chan struct{}), quit: make(chan struct{})}
}

func (o *syncOutput) Read(p []byte) (int, error) {
	if o.pending {
		o.pending = false
		select {
		case o.ack <- struct{}{}:
		case <-o.quit:
		}
	}
	select {
	case b := <-o.ch:
		o.pending = true
		return copy(p, b), nil
	case <-o.quit:
		return 0, io.EOF
	}
}

func (o *syncOutput) send(b []byte) {
	select {
	case o.ch <- b:
	case <-o.quit:
		return
	}
	select {
	case <-o.ack:
	case <-o.quit:
	}
}

// fakeProc is a scripted program. Its handler runs inside the engine's
// write to stdin, so its reaction is complete when the write returns.
type fakeProc struct {
	rt       *fakeRuntime
	host     string
	cmd      []string
	out      *syncOutput
	onLine   func(p *fakeProc, line string)
	mu       sync.Mutex
	closed   bool
	code     int
	recorded chan struct{} // closed by ExitRecorded
	signals  []syscall.Signal
	lines    []string
}

func (p *fakeProc) emit(s string) { p.out.send([]byte(s)) }

// exit ends the program; it returns once the engine has recorded the exit
// code (ExitRecorded), as a real program's exit is long recorded when the
// engine's exitGrace runs out.
func (p *fakeProc) exit(code int) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed, p.code = true, code
	p.mu.Unlock()
	close(p.out.quit)
	<-p.recorded
}

func (p *fakeProc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed
}

type fakeStdin struct{ p *fakeProc }

func (w fakeStdin) Write(b []byte) (int, error) {
	// A real program's input waits in a pipe until it reads; here, let
	// start-up finish before the handler sees the line.
	w.p.rt.settle()
	if !w.p.running() {
		return 0, errors.New("broken pipe")
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		w.p.mu.Lock()
		w.p.lines = append(w.p.lines, line)
		w.p.mu.Unlock()
		if w.p.onLine != nil {
			w.p.onLine(w.p, line)
		}
	}
	return len(b), nil
}

func (w fakeStdin) Close() error { return nil }

func (p *fakeProc) Stdin() io.WriteCloser { return fakeStdin{p} }
func (p *fakeProc) PID() int              { return 0 }
func (p *fakeProc) Output() io.Reader     { return p.out }
func (p *fakeProc) ExitRecorded()         { close(p.recorded) }
func (p *fakeProc) Wait() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, nil
}

func (p *fakeProc) Signal(ctx context.Context, sig syscall.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		p.rt.async(func() { p.exit(128 + int(sig)) })
	}
	return nil
}

// program builds a fake program's behaviour when it starts.
type program func(p *fakeProc)

// fakeRuntime is a lab's hosts (runtime.Hosts) that run fake programs
// chosen by the command's first word, answer Exec from a table and record
// the host actions. The engine uses nothing else of runtime.Hosts: the
// rest is left unset.
type fakeRuntime struct {
	runtime.Hosts
	mu       sync.Mutex
	idle     *sync.Cond
	busy     int // programs running start-up code or exiting on a signal
	programs map[string]program
	exec     func(host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error)
	procs    []*fakeProc
	actions  []string
}

func (rt *fakeRuntime) Spawn(ctx context.Context, host string, cmd []string, opts runtime.SpawnOptions) (runtime.Process, error) {
	prog, ok := rt.programs[cmd[0]]
	if !ok {
		return nil, fmt.Errorf("exec %s: no such file", cmd[0])
	}
	p := &fakeProc{rt: rt, host: host, cmd: cmd, out: newSyncOutput(), recorded: make(chan struct{})}
	rt.mu.Lock()
	rt.procs = append(rt.procs, p)
	rt.mu.Unlock()
	// Start-up output needs the engine's pump, which starts after Spawn
	// returns; expect steps wait for it.
	rt.async(func() { prog(p) })
	return p, nil
}

// async runs f in the background and counts it as busy until it returns.
func (rt *fakeRuntime) async(f func()) {
	rt.mu.Lock()
	if rt.idle == nil {
		rt.idle = sync.NewCond(&rt.mu)
	}
	rt.busy++
	rt.mu.Unlock()
	go func() {
		f()
		rt.mu.Lock()
		rt.busy--
		rt.idle.Broadcast()
		rt.mu.Unlock()
	}()
}

// settle waits until no background work is running.
func (rt *fakeRuntime) settle() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for rt.busy > 0 {
		rt.idle.Wait()
	}
}

func (rt *fakeRuntime) Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	if rt.exec == nil {
		return runtime.ExecResult{}, errors.New("no exec in this fake")
	}
	return rt.exec(host, cmd, stdin)
}

// act records a host action, as "stop webserver".
func (rt *fakeRuntime) act(action HostAction, host string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.actions = append(rt.actions, string(action)+" "+host)
	return nil
}

func (rt *fakeRuntime) Stop(ctx context.Context, host string) error  { return rt.act(HostStop, host) }
func (rt *fakeRuntime) Kill(ctx context.Context, host string) error  { return rt.act(HostKill, host) }
func (rt *fakeRuntime) Start(ctx context.Context, host string) error { return rt.act(HostStart, host) }
func (rt *fakeRuntime) Disconnect(ctx context.Context, host string) error {
	return rt.act(HostDisconnect, host)
}
func (rt *fakeRuntime) Reconnect(ctx context.Context, host string) error {
	return rt.act(HostReconnect, host)
}

func (rt *fakeRuntime) proc(host string) *fakeProc {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for i := len(rt.procs) - 1; i >= 0; i-- {
		if rt.procs[i].host == host {
			return rt.procs[i]
		}
	}
	return nil
}
