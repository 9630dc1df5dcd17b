package scenarios

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// StarvedWait is how long, added up over a scenario, one of its programs
// must have waited, runnable, for a CPU before a failure of the scenario
// is put down to the machine rather than to the submission. A student's
// client gives up after the starter's settimeout(2); a server kept a
// second or more from the CPU it asked for (a PBKDF2 hash on a loaded
// machine) can make correct work miss that. On an idle machine a program
// waits milliseconds, so a program that is slow on its own still fails.
const StarvedWait = time.Second

// Throttler is a lab's hosts that can say how long a host has been held
// back by its own CPU quota since it started (grading's LabRuntime).
type Throttler interface {
	Throttled(ctx context.Context, host string) (time.Duration, error)
}

// noteWaits records, for each observed process of the run, the longest
// its threads have together waited for a CPU (schedstat's run delay over
// their life), so that a process that has ended still counts.
func (r *run) noteWaits(states map[string]HostState) {
	names := r.pidNames()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waits == nil {
		r.waits, r.hostOf = map[string]time.Duration{}, map[string]string{}
	}
	for host, hs := range states {
		sum := map[int]time.Duration{}
		for _, t := range hs.Tasks {
			if t.Sched {
				sum[t.PID] += t.RunDelay
			}
		}
		for pid, d := range sum {
			name, ok := names[host][pid]
			if !ok {
				continue
			}
			key := name + " on " + host
			r.waits[key] = max(r.waits[key], d)
			r.hostOf[key] = host
		}
	}
}

// starvation says which program of the run, if any, waited StarvedWait
// or longer for a CPU: a reading of the programs still running is taken
// first. A failure of an absence (something was printed that must not be)
// or of a file's contents, or a crash when no socket's timeout ran out, is
// the program's whatever the machine did, and is never put down to
// starvation; nor is a wait on a host that its own CPU quota held back for
// half as long or more (a submission that runs more than a CPU's worth at
// once, such as a spinning or forking one).
func (r *run) starvation(ctx context.Context, failedAt Step, crashed []crash) string {
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
	top, host, waited := r.longestWait()
	if waited < StarvedWait {
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
	return fmt.Sprintf("%s waited %s for a CPU during the scenario", top, waited.Round(10*time.Millisecond))
}

// longestWait is the process of the run that waited longest for a CPU,
// its host and how long.
func (r *run) longestWait() (proc, host string, waited time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.waits))
	for k := range r.waits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if r.waits[k] > waited {
			proc, host, waited = k, r.hostOf[k], r.waits[k]
		}
	}
	return proc, host, waited
}
