package grading

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
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
func (r *LabRuntime) Observe(ctx context.Context, host string, pids []int) (scenarios.HostState, error) {
	lines, err := r.ask(ctx, host, observeTimeout, "O", pidWords(pids)...)
	if err != nil {
		return scenarios.HostState{}, fmt.Errorf("observe %s: %w", host, err)
	}
	return parseObservation(host, lines)
}

// ReadWaits reads how long each thread of pids on host has waited for a
// CPU, through its agent (scenarios.WaitReader): only schedstat, none of
// Observe's socket tables, whose reads walk the kernel's whole connection
// hash.
func (r *LabRuntime) ReadWaits(ctx context.Context, host string, pids []int) (scenarios.HostState, error) {
	lines, err := r.ask(ctx, host, observeTimeout, "W", pidWords(pids)...)
	if err != nil {
		return scenarios.HostState{}, fmt.Errorf("read waits on %s: %w", host, err)
	}
	return parseWaits(lines), nil
}

// parseWaits reads the agent's W lines: "W PID TID RUN DELAY SLICES".
func parseWaits(lines []string) scenarios.HostState {
	var st scenarios.HostState
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 5 || f[0] != "W" {
			continue
		}
		pid, err1 := strconv.Atoi(f[1])
		tid, err2 := strconv.Atoi(f[2])
		run, err3 := strconv.ParseInt(f[3], 10, 64)
		delay, err4 := strconv.ParseInt(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || run < 0 || delay < 0 {
			continue
		}
		st.Tasks = append(st.Tasks, scenarios.TaskState{PID: pid, TID: tid, Syscall: -1, RunTime: time.Duration(run), RunDelay: time.Duration(delay), Sched: true})
	}
	return st
}

// SignalAll sends sig to the processes pids of host through its agent.
func (r *LabRuntime) SignalAll(ctx context.Context, host string, sig syscall.Signal, pids []int) error {
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
func (r *LabRuntime) resetByAgent(ctx context.Context, host string) error {
	lines, err := r.ask(ctx, host, resetTimeout, "R", scenarios.WorkDir, scenarios.StageDir)
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
func (r *LabRuntime) ask(ctx context.Context, host string, timeout time.Duration, op string, args ...string) ([]string, error) {
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
// when its stdin closes or the host restarts), as root with stderr merged
// into its output.
func (r *LabRuntime) startAgent(host string) (*agent, error) {
	if err := r.known(host); err != nil {
		return nil, err
	}
	p, err := r.Spawn(context.Background(), host, []string{"bash", "-c", agentScript, "lab3-agent", resetScript},
		runtime.SpawnOptions{Workdir: "/", MergeStderr: true})
	if err != nil {
		return nil, err
	}
	return &agent{p: p, out: bufio.NewReader(p.Output())}, nil
}

// agentScript is the grader's agent on a host, one per host for the life
// of the lab. It reads requests, one a line: an operation, a sequence
// number and the operation's arguments, and answers each with its lines,
// then "E" and the sequence number, so that an answer is never taken for
// another's.
//
//   - O SEQ PID...: each thread's syscall, stat and schedstat, then the
//     socket tables;
//   - W SEQ PID...: each thread's schedstat only (how long it ran and
//     waited for a CPU), a reading cheap enough to take every second;
//   - K SEQ -SIG PID...: signals the processes, then "X" and kill's status;
//   - R SEQ WORKDIR STAGEDIR: resets the host (resetScript, its $1), then
//     "X" and the reset's status.
//
// Reading and signalling use bash built-ins only, so they keep working
// when the submission has exhausted the host's process limit; the agent
// saves the grader an exec (tens of milliseconds of Docker's time) for
// each of them. A socket table is read whole with mapfile: the kernel walks
// its whole connection hash for each read(2) that reaches the table's end,
// and a read a byte at a time (dash's read) costs twice as much. A host
// that holds more than floodSockets sockets (in use or in TIME_WAIT, from
// /proc/net/sockstat) gets "F USED TW" instead of its tables: 130,000 of
// them took bash past observeTimeout.
var agentScript = strings.ReplaceAll(agentTemplate, "FLOOD", strconv.Itoa(floodSockets))

// floodSockets is the most sockets a host may hold and still have its
// tables read: a chat lab's hosts hold a few dozen, and a sandboxed host
// keeps at most runtime.MaxTimeWait of them in TIME_WAIT.
const floodSockets = 4096

const agentTemplate = `
while read -r op seq args; do
	case $op in
	O)
		for p in $args; do
			for t in /proc/$p/task/[0-9]*; do
				[ -d "$t" ] || continue
				s=; st=; ss=
				{ read -r s <"$t/syscall"; } 2>/dev/null
				{ read -r st <"$t/stat"; } 2>/dev/null
				{ read -r ss <"$t/schedstat"; } 2>/dev/null
				echo "T $p ${t##*/} $s|$st|$ss"
			done
		done
		used=0 tw=0
		{ read -r _ _ used; read -r _ _ _ _ _ _ tw _; } </proc/net/sockstat 2>/dev/null
		case $used$tw in *[!0-9]*|'') used=0 tw=0 ;; esac
		if [ $((used + tw)) -gt FLOOD ]; then
			echo "F $used $tw"
			echo "E $seq"
			continue
		fi
		for f in tcp tcp6 udp udp6; do
			L=()
			{ mapfile -t -s 1 L <"/proc/net/$f"; } 2>/dev/null
			[ ${#L[@]} -gt 0 ] && printf "S $f %s\n" "${L[@]}"
		done
		;;
	W)
		for p in $args; do
			for t in /proc/$p/task/[0-9]*; do
				ss=
				{ read -r ss <"$t/schedstat"; } 2>/dev/null
				[ -n "$ss" ] && echo "W $p ${t##*/} $ss"
			done
		done
		;;
	K)
		kill $args 2>/dev/null
		echo "X $?"
		;;
	R)
		sh -c "$1" reset $args </dev/null 2>&1
		echo "X $?"
		;;
	esac
	echo "E $seq"
done
`

// agent is a running agentScript with its reader.
type agent struct {
	p   runtime.Process
	out *bufio.Reader
	seq int
}

// ask sends one request and returns its answer's lines; the remains of an
// earlier answer are skipped.
func (a *agent) ask(op string, args ...string) ([]string, error) {
	a.seq++
	words := append([]string{op, strconv.Itoa(a.seq)}, args...)
	if _, err := io.WriteString(a.p.Stdin(), strings.Join(words, " ")+"\n"); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	end := "E " + strconv.Itoa(a.seq)
	var lines []string
	for {
		line, err := a.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("agent: it stopped: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == end:
			return lines, nil
		case strings.HasPrefix(line, "E "):
			lines = lines[:0] // an earlier answer's end: what came before is stale
		default:
			lines = append(lines, line)
		}
	}
}

// status reads the "X CODE" line that ends a K or R answer, and the lines
// before it.
func status(lines []string) (code int, out string, err error) {
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "X ") {
		return -1, strings.Join(lines, "\n"), errors.New("agent: no status in its answer")
	}
	code, err = strconv.Atoi(strings.TrimPrefix(lines[len(lines)-1], "X "))
	return code, strings.Join(lines[:len(lines)-1], "\n"), err
}

func pidWords(pids []int) []string {
	out := make([]string, len(pids))
	for i, p := range pids {
		out[i] = strconv.Itoa(p)
	}
	return out
}

// parseObservation reads the agent's lines about host; lines it cannot
// read are skipped, so a thread that vanished mid-read costs nothing. A
// flooded host ("F") is scenarios.ErrFlooded, with its counts.
func parseObservation(host string, lines []string) (scenarios.HostState, error) {
	var st scenarios.HostState
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "F "):
			var used, tw int
			_, _ = fmt.Sscan(l[2:], &used, &tw)
			return st, fmt.Errorf("%s holds %d sockets and %d more in TIME_WAIT, where a chat needs a few dozen: %w", host, used, tw, scenarios.ErrFlooded)
		case strings.HasPrefix(l, "T "):
			if t, ok := scenarios.ParseTask(l[2:]); ok {
				st.Tasks = append(st.Tasks, t)
			}
		case strings.HasPrefix(l, "S "):
			if s, ok := scenarios.ParseSocket(strings.Fields(l[2:])); ok {
				st.Sockets = append(st.Sockets, s)
			}
		}
	}
	return st, nil
}
