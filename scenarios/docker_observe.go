package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// agents keeps one observer agent per host of a lab. An agent dies with
// the reset between scenarios (which kills every process) and is started
// again on the next reading.
type agents struct {
	mu    sync.Mutex
	hosts map[string]*agentSlot
}

type agentSlot struct {
	mu sync.Mutex // one request at a time per agent
	a  *agent
}

func (as *agents) slot(host string) *agentSlot {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.hosts == nil {
		as.hosts = map[string]*agentSlot{}
	}
	s := as.hosts[host]
	if s == nil {
		s = &agentSlot{}
		as.hosts[host] = s
	}
	return s
}

// observeTimeout bounds one reading; an agent that does not answer in time
// is killed and replaced on the next reading.
const observeTimeout = 5 * time.Second

// Observe reads host through its agent, starting one if needed.
func (r *dockerRuntime) Observe(ctx context.Context, host string, pids []int) (HostState, error) {
	s := r.agents.slot(host)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if s.a == nil {
			a, err := r.startAgent(host)
			if err != nil {
				return HostState{}, err
			}
			s.a = a
		}
		type answer struct {
			st  HostState
			err error
		}
		ch := make(chan answer, 1)
		a := s.a
		go func() {
			st, err := a.ask(pids)
			ch <- answer{st, err}
		}()
		select {
		case ans := <-ch:
			if ans.err == nil {
				return ans.st, nil
			}
			// Most likely the reset killed it: start another and ask again.
			s.a = nil
			if attempt == 1 {
				return HostState{}, ans.err
			}
		case <-time.After(observeTimeout):
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = a.p.Signal(kctx, syscall.SIGKILL)
			cancel()
			s.a = nil
			return HostState{}, fmt.Errorf("observe %s: no answer within %s", host, observeTimeout)
		case <-ctx.Done():
			s.a = nil
			return HostState{}, ctx.Err()
		}
	}
	return HostState{}, fmt.Errorf("observe %s: no agent", host)
}

// startAgent starts the observer on host for the life of the lab (it ends
// when its stdin closes or the reset kills it).
func (r *dockerRuntime) startAgent(host string) (*agent, error) {
	p, err := r.SpawnGrader(context.Background(), host, []string{"sh", "-c", observeScript, "lab3-observe"})
	if err != nil {
		return nil, fmt.Errorf("observe %s: %w", host, err)
	}
	return &agent{p: p, out: bufio.NewReader(p.Output())}, nil
}

// SpawnGrader starts one of the grader's own programs on host as root,
// with stderr merged into its output.
func (r *dockerRuntime) SpawnGrader(ctx context.Context, host string, cmd []string) (Process, error) {
	ctr, err := r.container(host)
	if err != nil {
		return nil, err
	}
	wrapped := append([]string{"sh", "-c", `exec "$@" 2>&1`, "lab3"}, cmd...)
	p, err := r.d.Spawn(ctx, ctr, wrapped, nil, "/")
	if err != nil {
		return nil, err
	}
	return p, nil
}
