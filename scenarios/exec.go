package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
)

// pollInterval is how often state without an event (DNS) is re-read.
const pollInterval = 100 * time.Millisecond

// listenInterval is how often a host's sockets are re-read while waiting
// for a program to listen.
const listenInterval = 20 * time.Millisecond

func (r *run) listening(ctx context.Context, st Step) *stepError {
	proto := st.Proto
	if proto == "" {
		proto = "tcp"
	}
	portS := st.Port
	if portS == "" {
		portS = "${port}"
	}
	// The handout lets the student choose the port: unless it is fixed,
	// the chat port is whatever the server listens on.
	discover := portS == "${port}" && proto == "tcp" && !r.e.prog.PortsKnown
	x, err := r.v().expand(portS, false)
	if err != nil {
		return infraf("listening", "%v", err)
	}
	port, err := strconv.Atoi(x)
	if err != nil || port < 1 || port > 65535 {
		return infraf("listening", "port %q is not a port number", x)
	}
	what := fmt.Sprintf("a program listens on %s port %d on %s within %s", proto, port, st.Host, st.Within)
	if discover {
		what = fmt.Sprintf("a program listens on a TCP port on %s within %s", st.Host, st.Within)
	}
	files := []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"}
	var execErr error
	found := 0
	obs, observable := r.e.rt.(Observer)
	ok, _ := r.poll(ctx, st.Within, listenInterval, func() (bool, error) {
		if observable {
			// The host's agent answers in a millisecond; an exec takes 50.
			hs, err := obs.Observe(ctx, st.Host, nil)
			if errors.Is(err, ErrFlooded) {
				// Held sockets stay held: no reading will show the port.
				execErr = err
				return false, err
			}
			if err != nil {
				execErr = err
				return false, nil
			}
			if discover {
				found = listenerOf(hs.Sockets)
				return found != 0, nil
			}
			return socketBound(hs.Sockets, port, proto), nil
		}
		res, err := r.e.rt.Exec(ctx, st.Host, append([]string{"cat"}, files...), nil)
		if err != nil {
			execErr = err
			return false, nil
		}
		var socks []Socket
		for _, line := range strings.Split(string(res.Stdout), "\n") {
			if s, ok := ParseSocket(append([]string{proto}, strings.Fields(line)...)); ok {
				socks = append(socks, s)
			}
		}
		if discover {
			found = listenerOf(socks)
			return found != 0, nil
		}
		return socketBound(socks, port, proto), nil
	})
	if ok {
		if discover {
			r.learn(found, 0)
		}
		return nil
	}
	if errors.Is(execErr, ErrFlooded) {
		return observef(what, execErr)
	}
	if execErr != nil {
		return infraf(what, "reading %s: %v", files[0], execErr)
	}
	got := fmt.Sprintf("nothing listened on port %d", port)
	if discover {
		got = "nothing listened on any TCP port"
	}
	if ended := r.endedOn(ctx, st.Host); ended != "" {
		// Not late: it will never listen.
		return failf(what, "%s; %s", got, ended)
	}
	return timeoutf(what, "%s", got)
}

// endedOn says how the programs the scenario started on host ended, or ""
// when none was started there or one still runs.
func (r *run) endedOn(ctx context.Context, host string) string {
	var ended []string
	for _, p := range r.procsOn(host) {
		st, _ := p.tr.state()
		if !st.eof {
			return ""
		}
		ended = append(ended, fmt.Sprintf("%s: %s", p.name, r.endedText(ctx, p, st)))
	}
	return strings.Join(ended, "; ")
}

// listenerOf returns the lowest TCP port above 1023 that a socket in
// LISTEN state on a non-loopback address holds, or 0. Docker's embedded
// resolver listens on 127.0.0.11 in every container; a chat server must be
// reachable from the clients.
func listenerOf(socks []Socket) int {
	best := 0
	for _, s := range socks {
		if s.Proto != "tcp" || s.State != TCPListen || s.Local.Addr().IsLoopback() || s.Local.Port() < 1024 {
			continue
		}
		if p := int(s.Local.Port()); best == 0 || p < best {
			best = p
		}
	}
	return best
}

// socketBound reports whether a socket is bound to port: in LISTEN state
// for TCP, in any state for UDP.
func socketBound(socks []Socket, port int, proto string) bool {
	for _, s := range socks {
		if s.Proto == proto && int(s.Local.Port()) == port && (proto == "udp" || s.State == TCPListen) {
			return true
		}
	}
	return false
}

// probeScript is the raw-socket client run with python3 on a lab host. It
// plays a dialogue of sends, regex expectations and an expected close, and
// prints one JSON object: ok, what was received, the failing move and why.
// It reads its dialogue as JSON on its standard input, which /proc does
// not show the submission.
const probeScript = `
import json, re, socket, sys, time
spec = json.load(sys.stdin)
host, port = spec["to"].rsplit(":", 1)
deadline = time.monotonic() + spec["within"]
res = {"ok": False, "got": "", "at": -1, "error": ""}
got = b""
pos = 0
closed = False
udp = spec["proto"] == "udp"
def left():
    d = deadline - time.monotonic()
    if d <= 0:
        raise socket.timeout("timed out")
    return d
def recv(s):
    global got, closed
    s.settimeout(left())
    try:
        data = s.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        data = b""
    if not data and not udp:
        closed = True
    got += data
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.settimeout(left())
    s.connect((host, int(port)))
    for i, op in enumerate(spec["dialog"]):
        res["at"] = i
        if op.get("send"):
            s.sendall(op["send"].encode()) if not udp else s.send(op["send"].encode())
        elif op.get("expect"):
            rx = re.compile(op["expect"])
            while True:
                text = got.decode("utf-8", "replace")
                m = rx.search(text, pos)
                if m:
                    pos = m.end()
                    break
                if closed:
                    raise EOFError("the peer closed the connection first")
                recv(s)
        elif op.get("closed"):
            while not closed:
                recv(s)
        elif op.get("idle"):
            until = time.monotonic() + op["idle"]
            while not closed and time.monotonic() < until:
                s.settimeout(max(0.01, until - time.monotonic()))
                try:
                    data = s.recv(65536)
                    if not data and not udp:
                        closed = True
                    got += data
                except socket.timeout:
                    pass
    res["ok"] = True
    res["at"] = -1
except socket.timeout:
    res["error"] = "timed out"
except EOFError as e:
    res["error"] = str(e)
except OSError as e:
    res["error"] = str(e)
res["got"] = got.decode("utf-8", "replace")
print(json.dumps(res))
`

type probeResult struct {
	OK    bool   `json:"ok"`
	Got   string `json:"got"`
	At    int    `json:"at"`
	Error string `json:"error"`
}

func (r *run) probe(ctx context.Context, st Step) *stepError {
	proto := st.Proto
	if proto == "" {
		proto = "tcp"
	}
	to, err := r.v().expand(st.To, false)
	if err != nil {
		return infraf("probe", "%v", err)
	}
	dialog := make([]ProbeOp, len(st.Dialog))
	var moves []string
	for i, op := range st.Dialog {
		op.Send, _ = r.v().expand(op.Send, false)
		if op.Expect != "" {
			if op.Expect, err = r.v().expand(op.Expect, true); err != nil {
				return infraf("probe", "%v", err)
			}
		}
		dialog[i] = op
		moves = append(moves, describeOp(op))
	}
	what := fmt.Sprintf("a raw %s client on %s talking to %s: %s, within %s", proto, st.Host, to, strings.Join(moves, ", "), st.Within)
	spec, _ := json.Marshal(map[string]any{"to": to, "proto": proto, "within": st.Within.Seconds(), "dialog": dialog})
	res, err := r.e.rt.Exec(ctx, st.Host, r.tool(false, "-c", probeScript), bytes.NewReader(spec))
	if err != nil {
		return infraf(what, "%v", err)
	}
	var pr probeResult
	if err := json.Unmarshal(res.Stdout, &pr); err != nil {
		return infraf(what, "the probe printed no result (exit %d): %s", res.ExitCode, lastLine(string(res.Stderr)))
	}
	if pr.OK {
		return nil
	}
	step := "connecting"
	if pr.At >= 0 && pr.At < len(dialog) {
		step = describeOp(dialog[pr.At])
	}
	fail := failf(what, "%s failed: %s; received %q", step, pr.Error, pr.Got)
	fail.timedOut = pr.Error == probeTimedOut
	return fail
}

// probeTimedOut is probeScript's error when its deadline passed
// (res["error"] on socket.timeout).
const probeTimedOut = "timed out"

func describeOp(op ProbeOp) string {
	switch {
	case op.Send != "":
		return fmt.Sprintf("send %q", op.Send)
	case op.Expect != "":
		return fmt.Sprintf("expect /%s/", op.Expect)
	case op.Idle > 0:
		return fmt.Sprintf("stay silent for %s", op.Idle)
	default:
		return "expect the connection to close"
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func (r *run) resolve(ctx context.Context, host string, st Step) *stepError {
	name, err := r.v().expand(st.Text, false)
	if err != nil {
		return infraf("resolve", "%v", err)
	}
	want, err := r.v().expand(st.Want, false)
	if err != nil {
		return infraf("resolve", "%v", err)
	}
	what := fmt.Sprintf("%s resolves %s to %s within %s", host, name, want, st.Within)
	var last string
	ok, _ := r.poll(ctx, st.Within, pollInterval, func() (bool, error) {
		res, err := r.e.rt.Exec(ctx, host, []string{"getent", "ahosts", name}, nil)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = strings.TrimSpace(string(res.Stdout))
		for _, f := range strings.Fields(last) {
			if f == want {
				return true, nil
			}
		}
		return false, nil
	})
	if ok {
		return nil
	}
	if last == "" {
		last = "no answer"
	}
	return timeoutf(what, "getent ahosts %s gave: %s", name, oneLine(last))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (r *run) connect(ctx context.Context, st Step) *stepError {
	proto := st.Proto
	if proto == "" {
		proto = "tcp"
	}
	to, err := r.v().expand(st.To, false)
	if err != nil {
		return infraf("connect", "%v", err)
	}
	host, port, err := net.SplitHostPort(to)
	if err != nil {
		return infraf("connect", "to %q: %v", to, err)
	}
	// netcat-openbsd, as on every lab host: -v says on stderr that it
	// connected (or why not, exiting 1), -4 keeps to IPv4 as the chat
	// clients of the handout do, and it exits 0 once the peer closes.
	cmd := []string{"nc", "-4", "-v"}
	if proto == "udp" {
		cmd = append(cmd, "-u")
	}
	return r.spawn(ctx, st.Procs[0], st.Host, append(cmd, host, port),
		fmt.Sprintf("nc (raw %s client to %s)", proto, to))
}

// dnscheck asks package dnscheck, through the runtime, whether the hosts
// resolve the team domain; without it, it asks getent in each host. The
// typed report decides: its text is the dnscheck.log transcript, its
// problems (failed results and findings) the failure.
func (r *run) dnscheck(ctx context.Context, st Step) *stepError {
	what := fmt.Sprintf("%s resolve %s to the web server (dnscheck)", strings.Join(st.Hosts, ", "), r.v().Domain)
	if r.e.dnsCheck != nil {
		rep, err := r.e.dnsCheck(ctx, st.Hosts)
		if len(rep.Hosts) > 0 {
			var b strings.Builder
			_ = dnscheck.WriteText(&b, rep)
			r.mu.Lock()
			r.extra = append(r.extra, Transcript{Proc: "dnscheck", Host: "dnscheck", Command: "dnscheck " + strings.Join(st.Hosts, " "), Text: b.String()})
			r.mu.Unlock()
		}
		switch {
		case err == nil && rep.Pass():
			return nil
		case err == nil:
			return failf(what, "%s", strings.Join(rep.Problems(), " | "))
		case !errors.Is(err, ErrNoDNSCheck):
			return infraf(what, "%v", err)
		}
	}
	fallback := st
	fallback.Text, fallback.Want = "${domain}", "${ip:webserver}"
	return r.each(st.Hosts, func(host string) *stepError { return r.resolve(ctx, host, fallback) })
}
