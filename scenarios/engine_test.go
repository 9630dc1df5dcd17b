package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

var fakePrograms = Programs{Commands: map[Milestone]map[Role][]string{
	M1: {RoleServer: {"srv"}, RoleClient: {"cli"}},
	M2: {RoleServer: {"srv"}, RoleClient: {"cli", "--bind", "${self}", "--server", "${domain}:${port}"}},
}}

func mustParse(t *testing.T, src string) Scenario {
	t.Helper()
	sc, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runFake(t *testing.T, rt *fakeRuntime, src string) (Result, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	clock.settle = rt.settle
	e := NewEngine(rt, fakePrograms, defaultVars(), WithClock(clock))
	return e.Run(context.Background(), mustParse(t, src)), clock
}

// echo prints "you said: LINE" for every line, exits with the number typed
// after "exit ", and prints nothing for "quiet".
func echo(p *fakeProc) {
	p.onLine = func(p *fakeProc, line string) {
		var code int
		switch {
		case line == "quiet":
		case strings.HasPrefix(line, "exit "):
			fmt.Sscan(line[5:], &code)
			p.exit(code)
		default:
			p.emit("you said: " + line + "\n")
		}
	}
	p.emit("ready\n")
}

func echoRuntime() *fakeRuntime {
	return &fakeRuntime{programs: map[string]program{"srv": echo, "cli": echo}}
}

const echoHead = validHead + "  - start: {proc: srv, host: webserver, role: server}\n  - expect: {proc: srv, match: ready}\n"

func TestEngineSteps(t *testing.T) {
	tests := []struct {
		name     string
		steps    string
		wantFail string // substring of "expectation: got"; empty for a pass
		wantLine int
		timedOut bool // the failure is a wait that ran out (Failure.TimedOut)
	}{
		{"expect matches", "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: 'you said: hi'}\n", "", 0, false},
		{"expect consumes output", "  - type: {proc: srv, line: hi}\n  - expect: {proc: srv, match: 'said: hi'}\n  - expect: {proc: srv, match: 'said: hi', within: 3s}\n",
			"srv on webserver prints /said: hi/ within 3s: it did not within 3s", 10, true},
		{"expect times out", "  - type: {proc: srv, line: quiet}\n  - expect: {proc: srv, match: never, within: 5s}\n",
			"srv on webserver prints /never/ within 5s: it did not within 5s", 9, true},
		{"expect expands variables", "  - type: {proc: srv, line: '${ip:client1}'}\n  - expect: {proc: srv, match: 'said: ${ip:client1}$'}\n", "", 0, false},
		{"expect sees exit", "  - type: {proc: srv, line: exit 3}\n  - expect: {proc: srv, match: never}\n",
			"it did not; the program exited with code 3", 9, false},
		{"absent passes", "  - type: {proc: srv, line: hi}\n  - absent: {proc: srv, match: secret, within: 2s}\n", "", 0, false},
		{"absent fails", "  - type: {proc: srv, line: secret}\n  - absent: {proc: srv, match: 'said: \\w+'}\n",
			`srv on webserver does not print /said: \w+/ within 1s: it printed "said: secret"`, 9, false},
		{"absent ignores consumed output", "  - type: {proc: srv, line: secret}\n  - expect: {proc: srv, match: secret}\n  - absent: {proc: srv, match: secret}\n", "", 0, false},
		{"exit with code", "  - type: {proc: srv, line: exit 0}\n  - exit: {proc: srv, code: 0}\n", "", 0, false},
		{"exit with wrong code", "  - type: {proc: srv, line: exit 2}\n  - exit: {proc: srv, code: 0}\n",
			"srv on webserver exits with code 0 within 10s: it exited with code 2", 9, false},
		{"exit times out", "  - exit: {proc: srv, within: 4s}\n",
			"srv on webserver exits within 4s: it was still running after 4s", 8, true},
		{"running fails after exit", "  - type: {proc: srv, line: exit 1}\n  - exit: {proc: srv}\n  - running: {proc: srv}\n",
			"srv is still running: the program exited with code 1", 10, false},
		{"typing into an exited program", "  - type: {proc: srv, line: exit 0}\n  - exit: {proc: srv}\n  - type: {proc: srv, line: hello}\n",
			`type "hello" into srv: the program had already stopped reading`, 10, false},
		{"parallel and procs", "  - start: {proc: cli, host: client1, role: client}\n  - parallel:\n      - type: {proc: srv, line: a}\n      - type: {proc: cli, line: b}\n  - expect: {procs: [srv, cli], match: 'you said: [ab]'}\n", "", 0, false},
		{"first failure in procs order", "  - start: {proc: cli, host: client1, role: client}\n  - expect: {procs: [srv, cli], match: nothing, within: 2s}\n",
			"srv on webserver prints /nothing/", 9, true},
		{"kill", "  - kill: {proc: srv, signal: TERM}\n  - exit: {proc: srv, code: 143}\n", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := runFake(t, echoRuntime(), echoHead+tc.steps)
			if tc.wantFail == "" {
				if res.Status != Passed || res.Points != 2 {
					t.Fatalf("status %s points %d, failure %+v", res.Status, res.Points, res.Failure)
				}
				return
			}
			if res.Status != Failed || res.Failure == nil || res.Points != 0 {
				t.Fatalf("status %s points %d, want a failure %q", res.Status, res.Points, tc.wantFail)
			}
			got := res.Failure.Expectation + ": " + res.Failure.Got
			if !strings.Contains(got, tc.wantFail) {
				t.Errorf("failure:\n got  %s\n want %s", got, tc.wantFail)
			}
			if res.Failure.TimedOut != tc.timedOut {
				t.Errorf("failure timed out %v, want %v", res.Failure.TimedOut, tc.timedOut)
			}
			if res.Failure.Line != tc.wantLine || res.Failure.File != "t.yaml" {
				t.Errorf("failure at %s:%d, want t.yaml:%d", res.Failure.File, res.Failure.Line, tc.wantLine)
			}
		})
	}
}

func TestFailureCarriesEvidence(t *testing.T) {
	rt := echoRuntime()
	// The client's "ready" is awaited so that its transcript's order does
	// not depend on when the fake program runs.
	res, _ := runFake(t, rt, echoHead+"  - start: {proc: cli, host: client2, role: client}\n  - expect: {proc: cli, match: ready}\n  - type: {proc: cli, line: one}\n  - type: {proc: srv, line: two}\n  - expect: {proc: cli, match: three}\n")
	if res.Failure == nil {
		t.Fatal("scenario passed")
	}
	want := []Evidence{
		{Proc: "srv", Host: "webserver", Lines: []string{"### srv on webserver: srv", "ready", "<<< two", "you said: two"}},
		{Proc: "cli", Host: "client2", Lines: []string{"### cli on client2: cli", "ready", "<<< one", "you said: one"}},
	}
	if fmt.Sprint(res.Failure.Evidence) != fmt.Sprint(want) {
		t.Errorf("evidence:\n got  %q\n want %q", res.Failure.Evidence, want)
	}
	if len(res.Transcripts) != 2 || res.Transcripts[1].Host != "client2" || !strings.Contains(res.Transcripts[1].Text, "you said: one") {
		t.Errorf("transcripts = %+v", res.Transcripts)
	}
}

func TestCleanupKillsAndRestores(t *testing.T) {
	rt := echoRuntime()
	res, _ := runFake(t, rt, echoHead+"  - host: {host: client1, action: disconnect}\n  - host: {host: client2, action: stop}\n  - host: {host: client3, action: disconnect}\n  - host: {host: client3, action: reconnect}\n  - expect: {proc: srv, match: never}\n")
	if res.Status != Failed {
		t.Fatalf("status %s", res.Status)
	}
	srv := rt.proc("webserver")
	if srv.running() || len(srv.signals) != 1 || srv.signals[0] != syscall.SIGKILL {
		t.Errorf("server running=%v signals=%v, want killed", srv.running(), srv.signals)
	}
	got := strings.Join(rt.actions, ", ")
	for _, want := range []string{"disconnect client1", "reconnect client1", "stop client2", "start client2"} {
		if !strings.Contains(got, want) {
			t.Errorf("host actions %q lack %q", got, want)
		}
	}
	if strings.Count(got, "reconnect client3") != 1 {
		t.Errorf("client3 was reconnected twice: %s", got)
	}
}

func TestUntil(t *testing.T) {
	// The peer list shows bob for the first two asks, then drops him.
	peers := func(p *fakeProc) {
		n := 0
		p.onLine = func(p *fakeProc, line string) {
			n++
			if n <= 2 {
				p.emit("Online peers: ['alice', 'bob']\n")
			} else {
				p.emit("Online peers: ['alice']\n")
			}
		}
		p.emit("ready\n")
	}
	rt := &fakeRuntime{programs: map[string]program{"srv": peers}}
	res, clock := runFake(t, rt, echoHead+"  - until: {proc: srv, line: ':l', match: 'Online peers: .*', without: bob, every: 200ms, within: 5s}\n")
	if res.Status != Passed {
		t.Fatalf("failure: %+v", res.Failure)
	}
	if got := rt.proc("webserver").lines; len(got) != 3 {
		t.Errorf("typed %q, want three :l", got)
	}
	_ = clock

	rt = &fakeRuntime{programs: map[string]program{"srv": peers}}
	res, _ = runFake(t, rt, echoHead+"  - until: {proc: srv, line: ':l', match: 'Online peers: .*', without: alice, every: 1s, within: 3s}\n")
	if res.Failure == nil || !strings.Contains(res.Failure.Got, `the last answer was "Online peers: ['alice']" (after 3s)`) {
		t.Errorf("failure = %+v", res.Failure)
	}
}

func TestExecSteps(t *testing.T) {
	const tcpTable = "  sl  local_address rem_address   st\n   0: 0300140A:1388 00000000:0000 0A 00000000:00000000\n"
	tests := []struct {
		name     string
		steps    string
		exec     func(host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error)
		wantFail string
		timedOut bool // the failure is a wait that ran out (Failure.TimedOut)
	}{
		{"listening", "  - listening: {host: webserver}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(tcpTable)}, nil
		}, "", false},
		{"not listening", "  - listening: {host: webserver, port: '5001', within: 1s}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(tcpTable)}, nil
		}, "nothing listened on port 5001", true},
		{"server ended, never listening", "  - type: {proc: srv, line: exit 1}\n  - exit: {proc: srv}\n  - listening: {host: webserver, port: '5001', within: 1s}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(tcpTable)}, nil
		}, "nothing listened on port 5001; srv: the program exited with code 1", false},
		{"grep absent", "  - grep: {host: webserver, path: /root, text: pw}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			// The forms go in on stdin: /proc shows the submission none of them.
			spec, _ := io.ReadAll(stdin)
			if len(cmd) != 5 || !strings.Contains(string(spec), `"forms":["cHc="]`) {
				return runtime.ExecResult{}, fmt.Errorf("unexpected search %q <%s", cmd, spec)
			}
			return runtime.ExecResult{Stdout: []byte(`{"files": [], "unread": []}`)}, nil
		}, "", false},
		{"grep finds clear text", "  - grep: {host: webserver, path: /root, text: pw}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(`{"files": ["/root/users.json"], "unread": []}`)}, nil
		}, `"pw" is absent in every file under /root on webserver: found in clear in /root/users.json`, false},
		{"grep that could not read everything", "  - grep: {host: webserver, path: /root, text: pw}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(`{"files": [], "unread": ["/root/big: Cannot allocate memory"]}`)}, nil
		}, "the search could not read 1 path(s), so it proves nothing: /root/big: Cannot allocate memory", false},
		{"grep whose search died", "  - grep: {host: webserver, path: /root, text: pw}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{ExitCode: 137}, nil
		}, "the search printed no result (exit 137)", false},
		{"probe passes", "  - probe: {host: client1, to: '${domain}:${port}', dialog: [{send: \"x\\n\"}, {closed: true}]}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			// The dialogue goes in on stdin: /proc shows no command line of it.
			spec, _ := io.ReadAll(stdin)
			if len(cmd) != 5 || cmd[0] != "python3" || cmd[1] != "-I" || !strings.Contains(string(spec), `"to":"team30.com:5000"`) {
				return runtime.ExecResult{}, fmt.Errorf("unexpected probe %q <%s", cmd, spec)
			}
			return runtime.ExecResult{Stdout: []byte(`{"ok": true, "got": "", "at": -1, "error": ""}`)}, nil
		}, "", false},
		{"probe fails", "  - probe: {host: client1, to: '${domain}:${port}', dialog: [{send: \"x\\n\"}, {closed: true}]}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(`{"ok": false, "got": "Welcome", "at": 1, "error": "timed out"}`)}, nil
		}, `expect the connection to close failed: timed out; received "Welcome"`, true},
		{"probe refused", "  - probe: {host: client1, to: '${domain}:${port}', dialog: [{send: \"x\\n\"}]}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte(`{"ok": false, "got": "", "at": -1, "error": "[Errno 111] Connection refused"}`)}, nil
		}, `connecting failed: [Errno 111] Connection refused`, false},
		{"resolve", "  - resolve: {hosts: [client1, client2], name: '${domain}', want: '${ip:webserver}'}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte("10.20.30.3      STREAM team30.com\n")}, nil
		}, "", false},
		{"resolve wrong address", "  - resolve: {host: client3, name: '${domain}', want: '${ip:webserver}', within: 1s}\n", func(h string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
			return runtime.ExecResult{Stdout: []byte("10.20.30.4 STREAM team30.com\n")}, nil
		}, "client3 resolves team30.com to 10.20.30.3 within 1s: getent ahosts team30.com gave: 10.20.30.4 STREAM team30.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := echoRuntime()
			rt.exec = tc.exec
			res, _ := runFake(t, rt, echoHead+tc.steps)
			if tc.wantFail == "" {
				if res.Status != Passed {
					t.Fatalf("failure: %+v", res.Failure)
				}
				return
			}
			if res.Failure == nil || !strings.Contains(res.Failure.Expectation+": "+res.Failure.Got, tc.wantFail) {
				t.Fatalf("failure = %+v, want %q", res.Failure, tc.wantFail)
			}
			if res.Failure.TimedOut != tc.timedOut {
				t.Errorf("failure timed out %v, want %v", res.Failure.TimedOut, tc.timedOut)
			}
		})
	}
}

func TestInfraErrorIsNotAFailure(t *testing.T) {
	rt := &fakeRuntime{programs: map[string]program{}}
	res, _ := runFake(t, rt, echoHead)
	if res.Status != Error || !strings.Contains(res.Failure.Got, "no such file") {
		t.Errorf("status %s failure %+v, want error", res.Status, res.Failure)
	}
}

func TestCommandVariables(t *testing.T) {
	rt := echoRuntime()
	rt.programs["cli"] = echo
	src := strings.Replace(validHead, "M1", "M2", 1) + "  - start: {proc: c, host: client2, role: client}\n"
	res, _ := runFake(t, rt, src)
	if res.Status != Passed {
		t.Fatal(res.Failure)
	}
	want := "cli --bind 10.20.30.12 --server team30.com:5000"
	if got := strings.Join(rt.proc("client2").cmd, " "); got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	if res.Transcripts[0].Command != want {
		t.Errorf("transcript command %q", res.Transcripts[0].Command)
	}
}

func TestMissingProgramFails(t *testing.T) {
	src := strings.Replace(validHead, "M1", "M4", 1) + "  - start: {proc: s, host: webserver, role: server}\n"
	res, _ := runFake(t, echoRuntime(), src)
	if res.Status != Failed || !strings.Contains(res.Failure.Got, "not handed in: the submission has no M4 server program: add it, or name it in lab3.yaml") {
		t.Errorf("status %s failure %+v", res.Status, res.Failure)
	}
}

func TestDurationUsesClock(t *testing.T) {
	silent := func(p *fakeProc) {}
	rt := &fakeRuntime{programs: map[string]program{"srv": silent}}
	res, _ := runFake(t, rt, validHead+"  - start: {proc: srv, host: webserver, role: server}\n  - absent: {proc: srv, match: x, within: 2s}\n  - exit: {proc: srv, within: 3s}\n")
	if res.Duration != 5*time.Second {
		t.Errorf("duration %s, want exactly 5s of fake time", res.Duration)
	}
}

// dnsFake is a runtime with a dnscheck (WithDNSChecker).
type dnsFake struct {
	*fakeRuntime
	report dnscheck.Report
	err    error
	hosts  []string
}

func (f *dnsFake) CheckDNS(ctx context.Context, hosts []string) (dnscheck.Report, error) {
	f.hosts = hosts
	return f.report, f.err
}

func TestDNSCheckStep(t *testing.T) {
	const src = "name: t\nmilestone: DNS\nrequirement: r\nsteps:\n  - dnscheck: {hosts: [client1, client2]}\n"
	getent := func(host string, cmd []string, _ io.Reader) (runtime.ExecResult, error) {
		if host == "client2" {
			return runtime.ExecResult{ExitCode: 2}, nil
		}
		return runtime.ExecResult{Stdout: []byte("10.20.30.3 STREAM team30.com\n")}, nil
	}
	a := dnscheck.Expectation{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}}
	ok := func(path dnscheck.Path) dnscheck.Result {
		return dnscheck.Result{Expectation: a, Path: path, Server: "10.20.30.2:53", Pass: true, Reason: dnscheck.ReasonOK}
	}
	passing := dnscheck.Report{Hosts: []dnscheck.HostReport{
		{Host: "client1", Results: []dnscheck.Result{ok(dnscheck.PathResolv), ok(dnscheck.PathDirect)}},
		{Host: "client2", Results: []dnscheck.Result{ok(dnscheck.PathResolv), ok(dnscheck.PathDirect)}},
	}}
	failing := dnscheck.Report{Hosts: []dnscheck.HostReport{
		passing.Hosts[0],
		{Host: "client2", Results: []dnscheck.Result{
			{Expectation: a, Path: dnscheck.PathResolv, Server: "10.20.30.66:53", Reason: dnscheck.ReasonTimeout, Detail: "no answer in 3 tries"},
			ok(dnscheck.PathDirect)},
			Findings: []dnscheck.Finding{{Kind: dnscheck.FindingResolvElsewhere, Detail: "first nameserver is 10.20.30.66"},
				{Kind: dnscheck.FindingResolvExtra, Detail: "a second nameserver", Warning: true}}},
	}}
	tests := []struct {
		name       string
		rt         runtime.Hosts
		want       string // failure substring; "" passes
		status     Status
		transcript bool // the report is kept as the dnscheck transcript
	}{
		{"dnscheck passes", &dnsFake{fakeRuntime: echoRuntime(), report: passing}, "", Passed, true},
		{"dnscheck fails", &dnsFake{fakeRuntime: echoRuntime(), report: failing},
			"client2: FAIL resolv team30.com. A via 10.20.30.66:53: timeout: no answer in 3 tries | client2: FAIL resolv-elsewhere: first nameserver is 10.20.30.66", Failed, true},
		{"the machine, not the lab", &dnsFake{fakeRuntime: echoRuntime(), report: failing, err: errors.New("the machine is overloaded")},
			"the machine is overloaded", Error, true},
		{"dnscheck could not run", &dnsFake{fakeRuntime: echoRuntime(), err: errors.New("client2 is stopped")}, "client2 is stopped", Error, false},
		{"no binary falls back to getent", &dnsFake{fakeRuntime: &fakeRuntime{exec: getent}, err: ErrNoDNSCheck}, "client2 resolves team30.com to 10.20.30.3", Failed, false},
		{"no dnscheck falls back to getent", &fakeRuntime{exec: getent}, "getent ahosts team30.com gave: no answer", Failed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithClock(newFakeClock())}
			if f, ok := tc.rt.(*dnsFake); ok {
				opts = append(opts, WithDNSChecker(f.CheckDNS))
			}
			e := NewEngine(tc.rt, fakePrograms, defaultVars(), opts...)
			res := e.Run(context.Background(), mustParse(t, src))
			if res.Status != tc.status {
				t.Errorf("status %s, want %s (failure %+v)", res.Status, tc.status, res.Failure)
			}
			kept := slices.ContainsFunc(res.Transcripts, func(tr Transcript) bool {
				return tr.Proc == "dnscheck" && strings.Contains(tr.Text, "== client2: ")
			})
			if kept != tc.transcript {
				t.Errorf("dnscheck transcript kept: %v, want %v (%+v)", kept, tc.transcript, res.Transcripts)
			}
			if tc.want == "" {
				if got := tc.rt.(*dnsFake).hosts; fmt.Sprint(got) != "[client1 client2]" {
					t.Errorf("checked hosts %v", got)
				}
				return
			}
			if res.Failure == nil || !strings.Contains(res.Failure.Expectation+": "+res.Failure.Got, tc.want) {
				t.Errorf("failure %+v, want %q", res.Failure, tc.want)
			}
		})
	}
}

// floodedFake is a lab whose webserver the submission flooded with
// sockets: every reading of it is ErrFlooded.
type floodedFake struct {
	*fakeRuntime
	reads *atomic.Int32
}

func (f floodedFake) Observe(context.Context, string, []int) (HostState, error) {
	f.reads.Add(1)
	return HostState{}, fmt.Errorf("observe webserver: webserver holds 5000 sockets: %w", ErrFlooded)
}

func (floodedFake) SignalAll(context.Context, string, syscall.Signal, []int) error { return nil }

// TestFloodIsTheSubmissionsFailure: a check that cannot read the server's
// sockets because the submission flooded its host fails at once, on the
// first reading, saying so: an ERROR would be graded again for ever, the
// same way, and held sockets stay held, so waiting shows nothing more.
func TestFloodIsTheSubmissionsFailure(t *testing.T) {
	rt := floodedFake{echoRuntime(), new(atomic.Int32)}
	clock := newFakeClock()
	clock.settle = rt.settle
	e := NewEngine(rt, fakePrograms, defaultVars(), WithClock(clock))
	res := e.Run(context.Background(), mustParse(t, echoHead+"  - listening: {host: webserver, port: '5000', within: 10s}\n"))
	if res.Status != Failed || res.Failure == nil || !strings.Contains(res.Failure.Got, "the submission's programs flooded the host: observe webserver: webserver holds 5000 sockets") || res.Failure.TimedOut {
		t.Fatalf("result %s, failure %+v; want a failure naming the flood, not a wait that ran out", res.Status, res.Failure)
	}
	if n := rt.reads.Load(); n != 1 {
		t.Errorf("the step read the host %d times: a flood ends it at the first reading", n)
	}
}
