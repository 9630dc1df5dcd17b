package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pollInterval is how often state without an event (bound ports, DNS) is
// re-read.
const pollInterval = 100 * time.Millisecond

func (r *run) listening(ctx context.Context, st Step) *stepError {
	proto := st.Proto
	if proto == "" {
		proto = "tcp"
	}
	portS := st.Port
	if portS == "" {
		portS = "${port}"
	}
	x, err := r.e.vars.expand(portS, false)
	if err != nil {
		return infraf("listening", "%v", err)
	}
	port, err := strconv.Atoi(x)
	if err != nil || port < 1 || port > 65535 {
		return infraf("listening", "port %q is not a port number", x)
	}
	what := fmt.Sprintf("a program listens on %s port %d on %s within %s", proto, port, st.Host, st.Within)
	files := []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"}
	var execErr error
	ok, _ := r.poll(ctx, st.Within, pollInterval, func() (bool, error) {
		res, err := r.e.rt.Exec(ctx, st.Host, append([]string{"cat"}, files...), nil)
		if err != nil {
			execErr = err
			return false, nil
		}
		return portBound(string(res.Stdout), port, proto), nil
	})
	if ok {
		return nil
	}
	if execErr != nil {
		return infraf(what, "reading %s: %v", files[0], execErr)
	}
	return failf(what, "nothing listened on port %d", port)
}

// portBound reports whether a /proc/net/{tcp,udp}[6] table has a socket
// bound to port: in LISTEN state (0A) for TCP, in any state for UDP.
func portBound(table string, port int, proto string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains(f[1], ":") {
			continue
		}
		local := f[1][strings.LastIndex(f[1], ":")+1:]
		p, err := strconv.ParseUint(local, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if proto == "udp" || f[3] == "0A" {
			return true
		}
	}
	return false
}

// probeScript is the raw-socket client run with python3 on a lab host. It
// plays a dialogue of sends, regex expectations and an expected close, and
// prints one JSON object: ok, what was received, the failing move and why.
const probeScript = `
import json, re, socket, sys, time
spec = json.loads(sys.argv[1])
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
	to, err := r.e.vars.expand(st.To, false)
	if err != nil {
		return infraf("probe", "%v", err)
	}
	dialog := make([]ProbeOp, len(st.Dialog))
	var moves []string
	for i, op := range st.Dialog {
		op.Send, _ = r.e.vars.expand(op.Send, false)
		if op.Expect != "" {
			if op.Expect, err = r.e.vars.expand(op.Expect, true); err != nil {
				return infraf("probe", "%v", err)
			}
		}
		dialog[i] = op
		moves = append(moves, describeOp(op))
	}
	what := fmt.Sprintf("a raw %s client on %s talking to %s: %s, within %s", proto, st.Host, to, strings.Join(moves, ", "), st.Within)
	spec, _ := json.Marshal(map[string]any{"to": to, "proto": proto, "within": st.Within.Seconds(), "dialog": dialog})
	res, err := r.e.rt.Exec(ctx, st.Host, []string{"python3", "-c", probeScript, string(spec)}, nil)
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
	return failf(what, "%s failed: %s; received %q", step, pr.Error, pr.Got)
}

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

func (r *run) grep(ctx context.Context, st Step) *stepError {
	text, err := r.e.vars.expand(st.Text, false)
	if err != nil {
		return infraf("grep", "%v", err)
	}
	want := st.Want
	if want == "" {
		want = "absent"
	}
	what := fmt.Sprintf("%q is %s in every file under %s on %s", text, want, st.Path, st.Host)
	if want == "present" {
		what = fmt.Sprintf("%q appears in a file under %s on %s", text, st.Path, st.Host)
	}
	// -D skip: a FIFO left by the program must not hang the check.
	res, err := r.e.rt.Exec(ctx, st.Host, []string{"grep", "-r", "-l", "-F", "-a", "-D", "skip", "--", text, st.Path}, nil)
	if err != nil {
		return infraf(what, "%v", err)
	}
	files := strings.Fields(string(res.Stdout))
	switch {
	case res.ExitCode > 1 && len(files) == 0:
		return infraf(what, "grep failed: %s", lastLine(string(res.Stderr)))
	case want == "absent" && len(files) > 0:
		return failf(what, "found in clear in %s", strings.Join(files, ", "))
	case want == "present" && len(files) == 0:
		return failf(what, "no file contains it")
	}
	return nil
}

func (r *run) resolve(ctx context.Context, host string, st Step) *stepError {
	name, err := r.e.vars.expand(st.Text, false)
	if err != nil {
		return infraf("resolve", "%v", err)
	}
	want, err := r.e.vars.expand(st.Want, false)
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
	return failf(what, "getent ahosts %s gave: %s", name, oneLine(last))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// connectScript is a tiny netcat run with python3 on a lab host: it relays
// stdin lines to a TCP or UDP peer and prints everything the peer sends. It
// exits 0 when the peer closes the connection and 1 if it cannot connect.
const connectScript = `
import os, select, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
udp = sys.argv[2] == "udp"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
try:
    s.connect((host, int(port)))
except OSError as e:
    print("connect %s: %s" % (sys.argv[1], e), file=sys.stderr, flush=True)
    sys.exit(1)
print("connected to %s" % sys.argv[1], file=sys.stderr, flush=True)
watch = [s, 0]
while True:
    r, _, _ = select.select(watch, [], [])
    if s in r:
        try:
            data = s.recv(65536)
        except (ConnectionResetError, ConnectionRefusedError):
            data = b""
        if not data and not udp:
            print("connection closed by peer", file=sys.stderr, flush=True)
            sys.exit(0)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if 0 in r:
        line = os.read(0, 65536)
        if not line:
            watch = [s]
        else:
            s.send(line)
`

func (r *run) connect(ctx context.Context, st Step) *stepError {
	proto := st.Proto
	if proto == "" {
		proto = "tcp"
	}
	to, err := r.e.vars.expand(st.To, false)
	if err != nil {
		return infraf("connect", "%v", err)
	}
	return r.spawn(ctx, st.Procs[0], st.Host, []string{"python3", "-c", connectScript, to, proto},
		fmt.Sprintf("python3 (raw %s client to %s)", proto, to))
}

// dnscheck asks package dnscheck, through the runtime, whether the hosts
// resolve the team domain; without it, it asks getent in each host.
func (r *run) dnscheck(ctx context.Context, st Step) *stepError {
	what := fmt.Sprintf("%s resolve %s to the web server (dnscheck)", strings.Join(st.Hosts, ", "), r.e.vars.Domain)
	if dc, ok := r.e.rt.(DNSChecker); ok {
		pass, report, err := dc.CheckDNS(ctx, st.Hosts)
		if report != "" {
			r.mu.Lock()
			r.extra = append(r.extra, Transcript{Proc: "dnscheck", Host: "dnscheck", Command: "dnscheck " + strings.Join(st.Hosts, " "), Text: report})
			r.mu.Unlock()
		}
		switch {
		case err == nil && pass:
			return nil
		case err == nil:
			return failf(what, "%s", failingLines(report))
		case !errors.Is(err, ErrNoDNSCheck):
			return infraf(what, "%v", err)
		}
	}
	fallback := st
	fallback.Text, fallback.Want = "${domain}", "${ip:webserver}"
	return r.each(st.Hosts, func(host string) *stepError { return r.resolve(ctx, host, fallback) })
}

// failingLines keeps the lines of a dnscheck report that say what failed.
func failingLines(report string) string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		low := strings.ToLower(l)
		if (strings.Contains(low, "fail") && !strings.Contains(low, " 0 failed")) || strings.Contains(low, "finding") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	if len(out) == 0 {
		return oneLine(report)
	}
	return strings.Join(out, " | ")
}
