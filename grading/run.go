package grading

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// CaptureDir is the folder of a scenario's results that holds its
// captures when grading WithCapture.
const CaptureDir = scenarios.CaptureFolder

// scenarioCapture is one scenario's capture: how to start it, on which
// lab, and where its files go.
type scenarioCapture struct {
	start Capturer
	topo  topology.Topology
	dir   string
}

// runOnce resets the chat hosts and runs one scenario, inside a capture
// when capt is not nil: the capture starts after the reset, right before
// the first step, and stops right after the scenario, whatever its outcome,
// with a context of its own so that a cancelled ctx still saves the files.
// The result's duration then includes starting and stopping the capture.
func runOnce(ctx context.Context, rt runtime.Hosts, topo topology.Topology, eng *scenarios.Engine, sc scenarios.Scenario, capt *scenarioCapture) scenarios.Result {
	labError := func(expectation string, err error) scenarios.Result {
		return scenarios.Result{Scenario: sc.Name, Milestone: sc.Milestone, Requirement: sc.Requirement, Required: sc.Required,
			MaxPoints: sc.Points, Status: scenarios.Error,
			Failure: &scenarios.Failure{File: sc.File, Line: sc.Line, Expectation: expectation, Got: err.Error()}}
	}
	if err := reset(ctx, rt, topo, sc); err != nil {
		return labError("a clean working folder on every host", err)
	}
	if capt == nil {
		return blameExhaustion(ctx, rt, topo, eng.Run(ctx, sc))
	}
	// Files of an earlier attempt must not pass for this one's.
	if err := os.RemoveAll(capt.dir); err != nil {
		return labError("a packet capture on every host (--capture)", fmt.Errorf("clear %s: %w", capt.dir, err))
	}
	// The scenario's time includes the capture's, so that its cost shows.
	began := time.Now()
	stop, err := capt.start(ctx, capt.topo)
	if err != nil {
		return labError("a packet capture on every host (--capture)", fmt.Errorf("capture did not start: %w", err))
	}
	res := blameExhaustion(ctx, rt, topo, eng.Run(ctx, sc))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err = stop(sctx, capt.dir)
	if err == nil {
		// Names the hosts when the files are analysed after the lab is gone.
		err = topology.Save(capt.dir, capt.topo)
	}
	res.Duration = time.Since(began)
	if err != nil {
		msg := fmt.Sprintf("capture did not stop cleanly, files in %s may be incomplete: %v", capt.dir, err)
		if res.Failure != nil {
			msg = res.Failure.Got + "; also " + msg
			res.Failure.Got = msg
		} else {
			res.Failure = &scenarios.Failure{File: sc.File, Line: sc.Line, Expectation: "a packet capture on every host (--capture)", Got: msg}
		}
		res.Status, res.Points = scenarios.Error, 0
		return res
	}
	res.Captures = capt.dir
	return res
}

// exhaustionProber is a lab's hosts that can tell whether a host's process
// table is full (LabRuntime, through the host's cgroup).
type exhaustionProber interface {
	exhausted(ctx context.Context, host string) (why string, err error)
}

// blameExhaustion turns an ERROR into the submission's failure when, as the
// scenario ends, the submission's programs (a fork bomb's processes outlive
// the program that started them) have filled a chat host's process table:
// the grader could not run its commands there because of what the
// submission did. Left an ERROR, the check would be retried, the report
// marked incomplete and lab grade would ask for a regrade that ends the
// same way every time, so the submission could never be graded.
func blameExhaustion(ctx context.Context, rt runtime.Hosts, topo topology.Topology, res scenarios.Result) scenarios.Result {
	p, ok := rt.(exhaustionProber)
	if res.Status != scenarios.Error || res.Failure == nil || !ok || ctx.Err() != nil {
		return res
	}
	for _, host := range chatHosts(topo) {
		if why, err := p.exhausted(ctx, host); err == nil && why != "" {
			res.Status = scenarios.Failed
			res.Failure.Got += "; " + why
			return res
		}
	}
	return res
}

// resetScript returns a chat host to its state after deploy. On a
// sandboxed host (the working folder belongs to the sandbox's user) it
// first kills that user's processes with kill(-1) run as the user, which
// the kernel does in one pass that no fork escapes, again until none is
// left (a fork-and-exit chain timed to a scan of /proc outlived one pass
// in two), then checks as root that none is, and fails (exit 75) if some
// still remain, so that reset restarts the host; it then removes what that user left in System V IPC
// (shared memory outlives every process) and in POSIX message queues.
// It kills every other
// process a previous scenario may have left (all but the container's init,
// its main process, this shell and its parent: the grader's agent when the
// agent runs it, Docker's exec outside the container otherwise), ends
// closed connections that still hold a fixed port (outside the ephemeral
// range) in TIME_WAIT or FIN_WAIT2 (ss -K; a server that closed first, or
// crashed, with clients connected leaves its port so for a minute, and one
// without SO_REUSEADDR could not bind it again: one scenario's fault must
// not fail the next) and fails (exit 75) if that did not free the port, so
// that reset restarts the host, whose fresh network namespace has none,
// empties the working folder, copies the
// staged submission back in and gives it to the folder's owner (the
// sandbox's user on a graded lab), and removes what that user left in the
// temporary folders. The containers belong to the grader's own lab, so
// nothing else runs there.
const resetScript = `
owner=$(stat -c %u:%g "$1") && mode=$(stat -c %a "$1") || exit 1
uid=${owner%%:*} gid=${owner##*:}
if [ "$uid" != 0 ]; then
	as="setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --"
	i=0
	while :; do
		# 1: no process of the user was left to signal. Anything else,
		# a kill that was itself killed (it runs as the user) included,
		# is another round.
		$as kill -KILL -1 2>/dev/null
		[ $? = 1 ] && break
		i=$((i+1))
		[ "$i" -ge 200 ] && { echo "processes of the submission's user survive $i kills: the host restarts" >&2; exit 75; }
		sleep 0.01
	done
	# Checked as root: none of the user's processes is left but the dead
	# that init has yet to reap.
	j=0
	while :; do
		alive=
		for d in /proc/[0-9]*; do
			[ "$(stat -c %u "$d" 2>/dev/null)" = "$uid" ] || continue
			grep -q '^State:.*Z' "$d/status" 2>/dev/null || { alive=${d#/proc/}; break; }
		done
		[ -z "$alive" ] && break
		j=$((j+1))
		[ "$j" -ge 50 ] && { echo "process $alive of the submission's user survives the kills: the host restarts" >&2; exit 75; }
		$as kill -KILL -1 2>/dev/null
		sleep 0.01
	done
	$as ipcrm --all 2>/dev/null
	[ -d /dev/mqueue ] && find /dev/mqueue -mindepth 1 -user "$uid" -delete 2>/dev/null
fi
main=
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null) || continue
	if [ "$pp" = 1 ] && { [ -z "$main" ] || [ "$p" -lt "$main" ]; }; then main=$p; fi
done
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	case "$p" in 1|"$main"|$$|$PPID) continue ;; esac
	kill -9 "$p" 2>/dev/null
done
r=$(cat /proc/sys/net/ipv4/ip_local_port_range) || r="32768 60999"
lo=${r%%[[:space:]]*} hi=${r##*[[:space:]]}
i=0 destroyed=
while :; do
	held= closing=
	for f in /proc/net/tcp /proc/net/tcp6; do
		while read -r sl local remote st rest; do
			case $st in
			05|06) ;;
			01|02|03|04|08|09|0B) closing=1; continue ;;
			*) continue ;;
			esac
			port=$((0x${local##*:}))
			if [ "$port" -lt "$lo" ] || [ "$port" -gt "$hi" ]; then held="$held $port"; fi
		done <"$f"
	done
	if [ -n "$held" ] && [ -z "$destroyed" ]; then
		destroyed=1
		ss -K -tn state time-wait >/dev/null 2>&1
		ss -K -tn state fin-wait-2 >/dev/null 2>&1
		continue
	fi
	[ -n "$held" ] && { echo "closed connections still hold port(s) $(echo $held | tr ' ' '\n' | sort -un | tr '\n' ' ')(TIME_WAIT): the host gets a fresh network" >&2; exit 75; }
	[ -z "$closing" ] && break
	i=$((i+1))
	[ "$i" -ge 20 ] && break
	sleep 0.05
done
find "$1" -mindepth 1 -delete && cp -a "$2/." "$1/" || exit 1
[ "$owner" = 0:0 ] && exit 0
chown -R "$owner" "$1" && chmod "$mode" "$1" || exit 1
find /tmp /var/tmp /dev/shm -mindepth 1 -user "${owner%%:*}" -delete 2>/dev/null
exit 0`

// resetTimeout bounds one host's reset; a host whose processes or memory
// are exhausted may not even start the command.
const resetTimeout = 20 * time.Second

// hostRestarter is a lab's hosts that can restart a host and stage the
// submission there again (LabRuntime).
type hostRestarter interface {
	restartHost(ctx context.Context, host string) error
}

// reset resets every chat host. A host where the reset fails (a fork bomb
// or an allocation left it unable to run a command) is restarted, which
// ends everything the submission left there, and reset again, so that the
// next scenario starts clean; each host is restarted alone, so other labs
// are untouched.
func reset(ctx context.Context, rt runtime.Hosts, topo topology.Topology, sc scenarios.Scenario) error {
	if sc.Milestone == scenarios.DNS {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, host := range chatHosts(topo) {
		g.Go(func() error {
			err := resetHost(gctx, rt, host)
			rs, ok := rt.(hostRestarter)
			if err == nil || !ok || gctx.Err() != nil {
				return err
			}
			if rerr := rs.restartHost(gctx, host); rerr != nil {
				return fmt.Errorf("%w; restarting it failed too: %v", err, rerr)
			}
			return resetHost(gctx, rt, host)
		})
	}
	return g.Wait()
}

// agentResetter is a lab's hosts that can reset a host through the
// grader's agent there, without an exec (LabRuntime).
type agentResetter interface {
	resetByAgent(ctx context.Context, host string) error
}

func resetHost(ctx context.Context, rt runtime.Hosts, host string) error {
	ctx, cancel := context.WithTimeout(ctx, resetTimeout)
	defer cancel()
	if ar, ok := rt.(agentResetter); ok && ar.resetByAgent(ctx, host) == nil {
		return nil
	}
	// No agent, or it could not: an exec says why.
	res, err := rt.Exec(ctx, host, []string{"sh", "-c", resetScript, "reset", scenarios.WorkDir, scenarios.StageDir}, nil)
	if err != nil {
		return fmt.Errorf("reset %s: %w", host, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("reset %s: exit %d: %s", host, res.ExitCode, oneLine(string(res.Stderr)))
	}
	return nil
}
