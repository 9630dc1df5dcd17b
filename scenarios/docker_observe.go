package scenarios

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
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

// observeTimeout bounds one reading or signal; an agent that does not
// answer in time is killed and replaced on the next request.
const observeTimeout = 5 * time.Second

// Observe reads host through its agent, starting one if needed.
func (r *dockerRuntime) Observe(ctx context.Context, host string, pids []int) (HostState, error) {
	lines, err := r.ask(ctx, host, observeTimeout, "O", pidWords(pids)...)
	if err != nil {
		return HostState{}, fmt.Errorf("observe %s: %w", host, err)
	}
	return parseObservation(lines), nil
}

// SignalAll sends sig to the processes pids of host through its agent.
func (r *dockerRuntime) SignalAll(ctx context.Context, host string, sig syscall.Signal, pids []int) error {
	lines, err := r.ask(ctx, host, observeTimeout, "K", append([]string{"-" + strconv.Itoa(int(sig))}, pidWords(pids)...)...)
	if err == nil {
		var code int
		code, _, err = status(lines)
		if err == nil && code != 0 {
			err = fmt.Errorf("kill exited with %d (a process had already ended)", code)
		}
	}
	if err != nil {
		return fmt.Errorf("signal %d on %s: %w", sig, host, err)
	}
	return nil
}

// resetByAgent runs resetScript on host through its agent, which it
// spares; an exec would cost Docker tens of milliseconds more per host and
// scenario.
func (r *dockerRuntime) resetByAgent(ctx context.Context, host string) error {
	lines, err := r.ask(ctx, host, resetTimeout, "R", WorkDir, StageDir)
	if err != nil {
		return err
	}
	code, out, err := status(lines)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("exit %d: %s", code, oneLine(out))
	}
	return nil
}

// ask sends one request to host's agent, starting one if needed, and
// returns its answer. A dead agent (the host was restarted) is replaced
// and asked again once; one that does not answer within timeout is killed.
func (r *dockerRuntime) ask(ctx context.Context, host string, timeout time.Duration, op string, args ...string) ([]string, error) {
	s := r.agents.slot(host)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if s.a == nil {
			a, err := r.startAgent(host)
			if err != nil {
				return nil, err
			}
			s.a = a
		}
		type answer struct {
			lines []string
			err   error
		}
		ch := make(chan answer, 1)
		a := s.a
		go func() {
			lines, err := a.ask(op, args...)
			ch <- answer{lines, err}
		}()
		select {
		case ans := <-ch:
			if ans.err == nil {
				return ans.lines, nil
			}
			s.a = nil
			if attempt == 1 {
				return nil, ans.err
			}
		case <-time.After(timeout):
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = a.p.Signal(kctx, syscall.SIGKILL)
			cancel()
			s.a = nil
			return nil, fmt.Errorf("no answer within %s", timeout)
		case <-ctx.Done():
			s.a = nil
			return nil, ctx.Err()
		}
	}
	return nil, errors.New("no agent")
}

// startAgent starts the agent on host for the life of the lab (it ends
// when its stdin closes or the host restarts).
func (r *dockerRuntime) startAgent(host string) (*agent, error) {
	p, err := r.SpawnGrader(context.Background(), host, []string{"bash", "-c", agentScript, "lab3-agent", resetScript})
	if err != nil {
		return nil, err
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
