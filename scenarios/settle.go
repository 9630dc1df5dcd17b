package scenarios

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Pacing: the engine never types, starts a program or looks for an absence
// while the lab is still busy, because people at keyboards never do. A
// handout server sleeps 0.5 s before it pushes a peer list; a line typed in
// that gap reaches the client glued to the list, and the handout's naive
// recv(2048) client dies on it. So before each such step the engine waits
// until the lab has settled (README.md, "Pacing"):
//
//   - every thread of every running process of the scenario is blocked
//     waiting for input (read, recv, select, poll, accept, futex, ...), not
//     running and not sleeping on a timer; each sleep is waited for
//     sleepPatience at most (four times the handout's 0.5 s), and a thread
//     that has shown itself periodic (a heartbeat, a watcher that naps in
//     a loop, waitForSleeper) not at all: a person at the keyboard would
//     not wait for it either;
//   - no TCP connection between them has bytes queued in either direction,
//     no UDP socket has a datagram waiting, and no connection is half
//     closed (CLOSE_WAIT: a program has yet to notice its peer left).
//
// Two readings in a row must agree. Where the kernel does not show a
// thread's system call, the rule falls back to "nothing runs and nothing
// is queued for longer than the handout's 0.5 s sleep". Every wait has a
// deadline; past it the engine goes on and says so in the transcripts.
const (
	settleDeadline = 8 * time.Second
	settleInterval = 10 * time.Millisecond
	blindQuiet     = 600 * time.Millisecond
	sleepPatience  = 2 * time.Second
)

// thread names one thread of a lab host.
type thread struct {
	host string
	tid  int
}

// sleeper is what one settle saw of a thread on timers.
type sleeper struct {
	since time.Time     // when its current sleep was first seen
	run   time.Duration // its CPU time at the last reading (schedstat)
	awake bool          // seen running since the last reading that saw it sleep
	wakes int           // how often it woke and went back to sleep
}

// sleepers are the threads one settle saw on timers. A thread seen
// waiting for input, or gone, is forgotten: its next sleep starts anew.
type sleepers map[thread]*sleeper

// periodicWakes is how often a thread may wake and go back to sleep, never
// waiting for input between, before it counts as periodic: a server that
// sleeps before a login answer, works, then sleeps before a peer list
// wakes once; a watcher napping in a loop wakes at every reading.
const periodicWakes = 5

// waitForSleeper says whether the engine still waits for a thread that a
// reading at now shows on a timer. It waits for each sleep sleepPatience
// at most, and counts the thread's wakes: seen running, or its CPU time
// grown, between two readings that saw it sleep. One that woke
// periodicWakes times without waiting for input is periodic (a heartbeat,
// a watcher napping in a loop): this and the run's later settles do not
// wait for it at all until it is seen waiting for input.
func (r *run) waitForSleeper(th thread, t TaskState, slept sleepers, now time.Time) bool {
	r.mu.Lock()
	periodic := r.periodic[th]
	r.mu.Unlock()
	if periodic {
		return false
	}
	s := slept[th]
	if s == nil {
		slept[th] = &sleeper{since: now, run: t.RunTime}
		return true
	}
	if s.awake || (t.Sched && t.RunTime != s.run) {
		// A new sleep: its own patience.
		s.wakes++
		s.since = now
	}
	s.awake, s.run = false, t.RunTime
	if s.wakes >= periodicWakes {
		r.mu.Lock()
		if r.periodic == nil {
			r.periodic = map[thread]bool{}
		}
		r.periodic[th] = true
		r.mu.Unlock()
		return false
	}
	return now.Sub(s.since) < sleepPatience
}

// forgetSleepers drops, on the hosts of states, the threads that are gone
// or wait for input: the sleeps of this settle, and the run's periodic
// ones.
func (r *run) forgetSleepers(states map[string]HostState, slept sleepers) {
	timed := map[thread]bool{}
	for h, st := range states {
		for _, t := range st.Tasks {
			if t.Running || t.sleeping() {
				timed[thread{h, t.TID}] = true
			}
		}
	}
	for th := range slept {
		if _, read := states[th.host]; read && !timed[th] {
			delete(slept, th)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for th := range r.periodic {
		if _, read := states[th.host]; read && !timed[th] {
			delete(r.periodic, th)
		}
	}
}

// livePIDs returns the running processes of the scenario by host.
func (r *run) livePIDs() map[string][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int{}
	for _, p := range r.procs {
		if st, _ := p.tr.state(); st.exited {
			continue
		}
		if pid := p.p.PID(); pid > 0 {
			out[p.host] = append(out[p.host], pid)
		}
	}
	return out
}

// observe reads every host that runs a process of the scenario.
func (r *run) observe(ctx context.Context, obs Observer, pids map[string][]int) (map[string]HostState, error) {
	out, err := readHosts(ctx, pids, obs.Observe)
	r.noteWaits(out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readHosts reads each host of pids at once, with its processes; the
// error names a host that could not be read, whose reading is left out.
func readHosts(ctx context.Context, pids map[string][]int, read func(ctx context.Context, host string, pids []int) (HostState, error)) (map[string]HostState, error) {
	hosts := make([]string, 0, len(pids))
	for h := range pids {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	states := make([]HostState, len(hosts))
	errs := make([]error, len(hosts))
	all(len(hosts), func(i int) *stepError {
		states[i], errs[i] = read(ctx, hosts[i], pids[hosts[i]])
		return nil
	})
	out := map[string]HostState{}
	var err error
	for i, h := range hosts {
		if errs[i] != nil {
			err = fmt.Errorf("%s: %w", h, errs[i])
			continue
		}
		out[h] = states[i]
	}
	return out, err
}

// busy is why a reading at now is not settled ("" when it is); blind is
// true when some thread's system call could not be read. slept keeps the
// timer sleeps of the settle that reads.
func (r *run) busy(states map[string]HostState, slept sleepers, now time.Time) (why string, blind bool) {
	r.forgetSleepers(states, slept)
	names := r.pidNames()
	hosts := make([]string, 0, len(states))
	for h := range states {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		st := states[h]
		asking := false
		for _, t := range st.Tasks {
			asking = asking || t.readingStdin()
			who := fmt.Sprintf("%s on %s", names[h][t.PID], h)
			switch {
			case t.State == 'Z' || t.State == 'X':
			case t.Running:
				if s := slept[thread{h, t.TID}]; s != nil {
					s.awake = true
				}
				return who + " is running", blind
			case !t.Readable:
				blind = true
			case t.sleeping():
				if r.waitForSleeper(thread{h, t.TID}, t, slept, now) {
					return who + " is sleeping on a timer (time.sleep)", blind
				}
			}
		}
		if why := socketsBusy(h, st.Sockets, asking); why != "" {
			return why, blind
		}
	}
	return "", blind
}

// socketsBusy says which socket of a host still has work pending. A
// connection the peer closed is owed a close, unless a program on the
// host waits for its user's input (asking): a naive client blocked in
// input() notices the server's close only once the person types, as the
// starter's clients do after a refusal.
func socketsBusy(host string, socks []Socket, asking bool) string {
	for _, s := range socks {
		if s.Inode == 0 {
			// Not yet accepted (or already closed): no program owes it anything.
			continue
		}
		if s.Proto == "udp" {
			if s.RxQueue > 0 {
				return fmt.Sprintf("a datagram waits unread on %s %s", host, s.Local)
			}
			continue
		}
		switch s.State {
		case TCPCloseWait:
			if asking {
				continue
			}
			return fmt.Sprintf("the program on %s has not yet closed its connection %s-%s that the peer closed", host, s.Local, s.Remote)
		case TCPSynSent, TCPSynRecv, TCPFinWait1, TCPLastAck, TCPClosing:
			return fmt.Sprintf("connection %s-%s on %s is %s", s.Local, s.Remote, host, s.State)
		case TCPEstablished:
			if s.TxQueue > 0 || s.RxQueue > 0 {
				return fmt.Sprintf("%d bytes wait on %s connection %s-%s", s.TxQueue+s.RxQueue, host, s.Local, s.Remote)
			}
		}
	}
	return ""
}

func (r *run) pidNames() map[string]map[int]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[int]string{}
	for _, p := range r.procs {
		if out[p.host] == nil {
			out[p.host] = map[int]string{}
		}
		out[p.host][p.p.PID()] = p.name
	}
	return out
}

// settle waits until the lab has settled, or the deadline passes. It
// returns the last reading (nil when nothing could be observed) and
// whether the lab settled.
func (r *run) settle(ctx context.Context) (map[string]HostState, bool) {
	obs, ok := r.e.rt.(Observer)
	if !ok {
		return nil, false
	}
	start := r.e.clock.Now()
	var quietSince time.Time
	streak := 0
	why := ""
	var last map[string]HostState
	slept := sleepers{}
	for {
		pids := r.livePIDs()
		if len(pids) == 0 {
			return last, true
		}
		states, err := r.observe(ctx, obs, pids)
		now := r.e.clock.Now()
		switch {
		case err != nil:
			// The agent could not run (the host is stopped, or out of
			// processes): wait like a person would and go on.
			why, streak = err.Error(), 0
			r.noteAll(fmt.Sprintf("engine: cannot observe the lab (%s); pausing %s instead", why, blindQuiet))
			select {
			case <-ctx.Done():
			case <-r.e.clock.After(blindQuiet):
			}
			return nil, false
		default:
			last = states
			var blind bool
			why, blind = r.busy(states, slept, now)
			if why != "" {
				streak, quietSince = 0, time.Time{}
				break
			}
			if quietSince.IsZero() {
				quietSince = now
			}
			streak++
			if streak >= 2 && (!blind || now.Sub(quietSince) >= blindQuiet) {
				return states, true
			}
		}
		if now.Sub(start) >= settleDeadline {
			r.noteAll(fmt.Sprintf("engine: the lab did not settle within %s (%s); going on", settleDeadline, why))
			return last, false
		}
		select {
		case <-ctx.Done():
			return last, false
		case <-r.e.clock.After(settleInterval):
		}
	}
}

// noteAll writes a note into every running process's transcript.
func (r *run) noteAll(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.procs {
		if st, _ := p.tr.state(); !st.exited {
			p.tr.note(msg)
		}
	}
}

// mainThread returns the reading of a process's main thread.
func mainThread(st HostState, pid int) (TaskState, bool) {
	for _, t := range st.Tasks {
		if t.PID == pid && t.TID == pid {
			return t, true
		}
	}
	return TaskState{}, false
}

// connections lists a host's TCP connections with the server's port on
// either end, keyed by "local-remote".
func connections(st HostState, port int) map[string]Socket {
	out := map[string]Socket{}
	for _, s := range st.Sockets {
		if s.Proto != "tcp" || s.State == TCPListen {
			continue
		}
		if int(s.Local.Port()) == port || int(s.Remote.Port()) == port {
			out[s.Local.String()+"-"+s.Remote.String()] = s
		}
	}
	return out
}

func describeSockets(socks []Socket) string {
	var parts []string
	for _, s := range socks {
		parts = append(parts, fmt.Sprintf("%s-%s %s", s.Local, s.Remote, s.State))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
