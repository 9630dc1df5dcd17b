package scenarios

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// StarvedWait is how long one of a scenario's programs must have waited,
// runnable, for a CPU within StarvedWindow before a failure of the
// scenario is put down to the machine rather than to the submission. A
// student's client gives up after the starter's settimeout(2); a server
// kept a second or more from the CPU it asked for (a PBKDF2 hash on a
// loaded machine) can make correct work miss that. On an idle machine a
// program waits milliseconds, so a program that is slow on its own still
// fails.
const StarvedWait = time.Second

// StarvedWindow is the stretch of time within which StarvedWait must add
// up. Only waits that come together can make a program late for a
// deadline of seconds; the grader's own labs sharing the cores make each
// program wait a little, often, and a second of that spread over a whole
// scenario made nothing late (a wrong answer from a broken submission
// beside them was no verdict). It is the starter's two seconds, and a
// second for the reading's granularity.
const StarvedWindow = 3 * time.Second

// sampleEvery is how often the waits of a scenario's running programs are
// read while it runs, so that StarvedWindow can be told apart.
const sampleEvery = time.Second

// WaitReader is a lab's hosts that can read how long each thread of some
// processes has waited for a CPU, cheaply enough to do every sampleEvery
// (grading's LabRuntime, through its agent): HostState's Tasks, with only
// RunTime, RunDelay and Sched known.
type WaitReader interface {
	ReadWaits(ctx context.Context, host string, pids []int) (HostState, error)
}

// waitSample is a process's run delay (summed over its threads) when read.
type waitSample struct {
	at time.Time
	d  time.Duration
}

// Throttler is a lab's hosts that can say how long a host has been held
// back by its own CPU quota since it started (grading's LabRuntime).
type Throttler interface {
	Throttled(ctx context.Context, host string) (time.Duration, error)
}

// noteWaits records, for each observed process of the run, how long its
// threads have together waited for a CPU (schedstat's run delay over their
// life) and when it was read, so that a process that has ended still
// counts. A thread that has ended keeps its last reading in the sum: a
// server's thread for a client that left waited all the same.
func (r *run) noteWaits(states map[string]HostState) {
	names := r.pidNames()
	now := r.e.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waits == nil {
		r.waits, r.hostOf, r.threadWaits = map[string][]waitSample{}, map[string]string{}, map[string]map[int]time.Duration{}
	}
	for host, hs := range states {
		seen := map[string]bool{}
		for _, t := range hs.Tasks {
			name, ok := names[host][t.PID]
			if !ok || !t.Sched {
				continue
			}
			key := name + " on " + host
			if r.threadWaits[key] == nil {
				r.threadWaits[key] = map[int]time.Duration{}
			}
			r.threadWaits[key][t.TID] = max(r.threadWaits[key][t.TID], t.RunDelay)
			r.hostOf[key] = host
			seen[key] = true
		}
		for key := range seen {
			var d time.Duration
			for _, w := range r.threadWaits[key] {
				d += w
			}
			if s := r.waits[key]; len(s) == 0 || d > s[len(s)-1].d {
				r.waits[key] = append(s, waitSample{at: now, d: d})
			}
		}
	}
}

// sampleWaits reads the waits of the run's running programs every
// sampleEvery until stop is closed, and then returns. A reading in flight
// is let finish (cancelling it would cost the host its agent).
func (r *run) sampleWaits(ctx context.Context, wr WaitReader, stop <-chan struct{}) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			// A host that could not be read is read at the next tick.
			read, _ := readHosts(ctx, r.livePIDs(), wr.ReadWaits)
			r.noteWaits(read)
		}
	}
}

// starvation says which program of the run, if any, waited StarvedWait
// or longer for a CPU within StarvedWindow: a reading of the programs
// still running is taken first. A failure because a wait of window ran
// out (something did not happen in time, or a program went on running
// when it should have ended) is put down to the machine only when a
// program waited half of window within it: the grader's waits are several
// times what correct work needs, so a second's starvation does not make
// it miss them (a client admitted when it should have been refused goes
// on however long the machine starved anything), and the timed-out check
// is run once more anyway (grading). Where a student's own short timeout
// fired, a program ended or crashed instead, which a second's wait within
// StarvedWindow explains: after a socket's timeout crashed a program, any
// failure is. A failure of an absence (something was printed that must not be)
// or of a file's contents, or a crash when no socket's timeout ran out, is
// the program's whatever the machine did, and is never put down to
// starvation; nor is a wait on a host that its own CPU quota held back for
// half as long or more (a submission that runs more than a CPU's worth at
// once, such as a spinning or forking one).
func (r *run) starvation(ctx context.Context, failedAt Step, window time.Duration, crashed []crash) string {
	if failedAt.Kind == StepAbsent || failedAt.Kind == StepGrep {
		return ""
	}
	// A crash is the program's own, unless a socket's timeout ran out in
	// the scenario: a starved peer makes a student's settimeout(2) fire,
	// and what crashes after that (a server sending to the client that
	// gave up) follows from it.
	timedOut, other := false, false
	for _, c := range crashed {
		timedOut = timedOut || c.timeout()
		other = other || !c.timeout()
	}
	if other && !timedOut {
		return ""
	}
	if obs, ok := r.e.rt.(Observer); ok {
		if pids := r.livePIDs(); len(pids) > 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = r.observe(rctx, obs, pids)
			cancel()
		}
	}
	need := StarvedWait
	if window > 0 && !timedOut {
		need = max(need, window/2)
	} else {
		window = 0
	}
	window = max(window, StarvedWindow)
	top, host, waited := r.longestWait(window)
	if waited < need {
		return ""
	}
	if th, ok := r.e.rt.(Throttler); ok {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		throttled, err := th.Throttled(rctx, host)
		cancel()
		if err != nil || throttled >= waited/2 {
			return ""
		}
	}
	return fmt.Sprintf("%s waited %s for a CPU in the space of %s", top, waited.Round(10*time.Millisecond), window)
}

// longestWait is the process of the run that waited longest for a CPU
// within window, its host and how long.
func (r *run) longestWait(window time.Duration) (proc, host string, waited time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.waits))
	for k := range r.waits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if w := windowedWait(r.waits[k], window); w > waited {
			proc, host, waited = k, r.hostOf[k], w
		}
	}
	return proc, host, waited
}

// windowedWait is the most a process waited within any stretch of window,
// from its readings in order. A stretch counts from the reading before
// its first one (the wait since then may fall inside it), so a reading
// late on a busy machine errs for the student: all it missed may be
// counted in one stretch, never less.
func windowedWait(s []waitSample, window time.Duration) time.Duration {
	var most time.Duration
	i := 0
	for j := range s {
		for s[j].at.Sub(s[i].at) > window {
			i++
		}
		var base time.Duration
		if i > 0 {
			base = s[i-1].d
		}
		most = max(most, s[j].d-base)
	}
	return most
}
