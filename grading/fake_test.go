package grading

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// fakeLab is runtime/fake's engine with what grading meets on a real
// engine, so that Grade runs end to end without Docker:
//
//   - the lab's images: the DNS server answers dig once started, so
//     lab.Up (through provision.Lab) brings a lab up;
//   - the grader's agent on every host (agentScript): a reading finds the
//     host idle, K signals processes by PID, R resets the host;
//   - a shell for the grader's execs (mkdir, the reset script), getent and
//     the dnscheck binary, which reports on the host from its files;
//   - a chat service any submission's programs run as: chat-server
//     listens (while it runs, a lab's clients connect), chat-client
//     relays each line it reads to the lab's other clients as "<host>
//     says: <line>". A submission whose server is "crash-server" exits at
//     once, so its clients are refused; "silent-server" runs without ever
//     listening; "late-server" is silent on its first start in a lab and
//     a chat-server after.
type fakeLab struct {
	*fake.Engine
	t *testing.T

	mu     sync.Mutex
	rooms  map[string]*room // chat rooms by lab
	resets []string         // "lab host", each reset that succeeded
	// failReset makes that many resets of a host (by host name) fail,
	// through the agent and through an exec, as on a host whose
	// processes a fork bomb exhausted.
	failReset map[string]int
	// dnsFails makes dnscheck report a wrong answer on these hosts,
	// dnsSilent no answer at all through their resolv.conf.
	dnsFails, dnsSilent map[string]bool
	// onSpawn, when set, is called as a submission's program starts.
	onSpawn func(lab, host, program string)
	// sandboxed records, per lab, whether its network was internal and
	// its chat hosts confined when the submission was staged there.
	sandboxed map[string]bool
}

// room is one lab's chat: whether its server runs, and its clients'
// outputs by host.
type room struct {
	server  bool
	clients map[string]io.Writer
	starts  int // silent or late servers started
}

func newFakeLab(t *testing.T, name string) *fakeLab {
	f := &fakeLab{Engine: fake.New(name), t: t, rooms: map[string]*room{}, failReset: map[string]int{}, dnsFails: map[string]bool{}, dnsSilent: map[string]bool{}, sandboxed: map[string]bool{}}
	f.ExecFunc = f.exec
	f.SpawnFunc = f.spawn
	return f
}

// The image references the fake's labs run: with them provision.Lab
// builds nothing.
const (
	testDNSImage  = "lab3-dns:test"
	testHostImage = "lab3-host:test"
)

func (f *fakeLab) room(lab string) *room {
	r := f.rooms[lab]
	if r == nil {
		r = &room{clients: map[string]io.Writer{}}
		f.rooms[lab] = r
	}
	return r
}

// reset is one reset of a host, through the agent or an exec: 0 when it
// worked.
func (f *fakeLab) reset(lab, host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReset[host] > 0 {
		f.failReset[host]--
		return 1
	}
	f.resets = append(f.resets, lab+" "+host)
	return 0
}

// sandboxedAt reports whether lab's network was internal and every chat
// host it staged the submission on confined.
func (f *fakeLab) sandboxedAt(lab string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sandboxed[lab]
}

// resetsOf lists the hosts reset in lab, in order.
func (f *fakeLab) resetsOf(lab string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.resets {
		if l, h, _ := strings.Cut(r, " "); l == lab {
			out = append(out, h)
		}
	}
	return out
}

// ip is a host's IPv4 address in lab, from its container.
func (f *fakeLab) ip(lab, host string) string {
	spec, _ := f.Spec(lab + "-" + host)
	return spec.IPv4.String()
}

func (f *fakeLab) exec(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	switch {
	case cmd[0] == "dig":
		return runtime.ExecResult{Stdout: []byte("ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800\n")}, nil
	case cmd[0] == "mkdir":
		spec, _ := f.Spec(lab + "-" + host)
		confined := spec.Sandbox != nil && f.Internal(lab+"_net")
		f.mu.Lock()
		if prev, seen := f.sandboxed[lab]; !seen || prev {
			f.sandboxed[lab] = confined
		}
		f.mu.Unlock()
		return runtime.ExecResult{}, nil
	case cmd[0] == "sh" && len(cmd) > 3 && cmd[3] == "reset":
		if f.reset(lab, host) != 0 {
			return runtime.ExecResult{ExitCode: 126, Stderr: []byte("sh: fork: Resource temporarily unavailable")}, nil
		}
		return runtime.ExecResult{}, nil
	case cmd[0] == "getent":
		return runtime.ExecResult{Stdout: []byte(f.ip(lab, "webserver") + " STREAM " + cmd[len(cmd)-1] + "\n")}, nil
	case cmd[0] == dnscheck.DefaultBinaryPath:
		return f.dnscheck(lab, host, stdin)
	}
	return runtime.ExecResult{ExitCode: 127, Stderr: []byte(cmd[0] + ": not found")}, nil
}

// dnscheck answers as the dnscheck binary does: a JSON report on the
// host, every expectation passing through both paths unless dnsFails
// names the host, whose resolv.conf path then gets a wrong answer.
func (f *fakeLab) dnscheck(lab, host string, stdin io.Reader) (runtime.ExecResult, error) {
	exps, err := dnscheck.DecodeExpectations(stdin)
	if err != nil {
		return runtime.ExecResult{ExitCode: 2, Stderr: []byte(err.Error())}, nil
	}
	f.mu.Lock()
	wrong, silent := f.dnsFails[host], f.dnsSilent[host]
	f.mu.Unlock()
	server := f.ip(lab, "dnsserver") + ":53"
	h := dnscheck.HostReport{Host: host, Direct: server}
	for _, e := range exps {
		for _, path := range []dnscheck.Path{dnscheck.PathResolv, dnscheck.PathDirect} {
			res := dnscheck.Result{Expectation: e, Path: path, Server: server, Pass: true, Reason: dnscheck.ReasonOK, Rcode: "NOERROR", Got: e.Want}
			switch {
			case wrong && path == dnscheck.PathResolv:
				res.Pass, res.Reason, res.Got = false, dnscheck.ReasonWrongAnswer, []string{"192.0.2.66"}
				res.Detail = "want " + strings.Join(e.Want, ", ") + ", got 192.0.2.66"
			case silent && path == dnscheck.PathResolv:
				res.Pass, res.Reason, res.Got, res.Rcode = false, dnscheck.ReasonTimeout, nil, ""
				res.Detail = "no answer in 3 tries of 3s"
			}
			h.Results = append(h.Results, res)
		}
	}
	out, err := json.Marshal(dnscheck.Report{Hosts: []dnscheck.HostReport{h}})
	code := 0
	if wrong || silent {
		code = 1
	}
	return runtime.ExecResult{ExitCode: code, Stdout: out}, err
}

// program is the submission's command inside what the engine spawns: the
// sandbox wraps it in setpriv ... --.
func program(cmd []string) []string {
	if cmd[0] == "setpriv" {
		if i := slices.Index(cmd, "--"); i >= 0 {
			return cmd[i+1:]
		}
	}
	return cmd
}

func (f *fakeLab) spawn(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (int, error) {
	if cmd[0] == "bash" && len(cmd) > 3 && cmd[3] == "lab3-agent" {
		return f.agent(lab, host, stdin, out), nil
	}
	prog := program(cmd)
	if f.onSpawn != nil {
		f.onSpawn(lab, host, prog[0])
	}
	name := prog[0]
	if name == "silent-server" || name == "late-server" {
		f.mu.Lock()
		r := f.room(lab)
		r.starts++
		first := r.starts == 1
		f.mu.Unlock()
		if name == "silent-server" || first {
			_, _ = io.Copy(io.Discard, stdin) // until it is killed
			return 137, nil
		}
		name = "chat-server"
	}
	switch name {
	case "chat-server":
		f.mu.Lock()
		f.room(lab).server = true
		f.mu.Unlock()
		fmt.Fprintln(out, "listening on port", prog[len(prog)-1])
		_, _ = io.Copy(io.Discard, stdin) // until its input ends or it is killed
		f.mu.Lock()
		f.room(lab).server = false
		f.mu.Unlock()
		if ctx.Err() != nil {
			return 137, nil
		}
		return 0, nil
	case "crash-server":
		fmt.Fprintln(out, "Traceback (most recent call last): NameError: name 'sokcet' is not defined")
		return 1, nil
	case "chat-client":
		f.mu.Lock()
		r := f.room(lab)
		if !r.server {
			f.mu.Unlock()
			fmt.Fprintln(out, "ConnectionRefusedError: [Errno 111] Connection refused")
			return 1, nil
		}
		r.clients[host] = out
		f.mu.Unlock()
		fmt.Fprintln(out, "connected")
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			f.mu.Lock()
			var to []io.Writer
			for h, w := range r.clients {
				if h != host {
					to = append(to, w)
				}
			}
			f.mu.Unlock()
			for _, w := range to {
				fmt.Fprintf(w, "%s says: %s\n", host, sc.Text())
			}
		}
		f.mu.Lock()
		delete(r.clients, host)
		f.mu.Unlock()
		if ctx.Err() != nil {
			return 137, nil
		}
		return 0, nil
	}
	fmt.Fprintf(out, "%s: not found\n", prog[0])
	return 127, nil
}

// agent answers agentScript's requests until its input ends: a reading
// finds nothing running (an idle host, so the lab is settled at once), K
// signals the processes by PID, R resets the host.
func (f *fakeLab) agent(lab, host string, stdin io.Reader, out io.Writer) int {
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 2 {
			continue
		}
		switch w[0] {
		case "K":
			code := 0
			sig, _ := strconv.Atoi(strings.TrimPrefix(w[2], "-"))
			for _, p := range w[3:] {
				pid, _ := strconv.Atoi(p)
				if f.SignalProcess(lab, host, pid, syscall.Signal(sig)) != nil {
					code = 1
				}
			}
			fmt.Fprintf(out, "X %d\n", code)
		case "R":
			fmt.Fprintf(out, "X %d\n", f.reset(lab, host))
		}
		fmt.Fprintf(out, "E %s\n", w[1])
	}
	return 0
}

// left lists every container, network and volume the engine still holds.
func (f *fakeLab) left(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	cs, err := f.Containers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+c.Name)
	}
	ns, err := f.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	vs, err := f.Volumes(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		out = append(out, "volume "+v)
	}
	return out
}

// chatSubmission is a submission whose Milestone 1 programs are the
// fake's chat service (server "chat-server", or "crash-server").
func chatSubmission(name, server string) scenarios.Submission {
	return scenarios.Submission{Name: name, Team: 30, Port: scenarios.DefaultPort, P2PPort: scenarios.DefaultP2PPort,
		Files: map[string]scenarios.File{"chatroom_server.py": {Mode: 0o644, Data: []byte("# " + name + "\n")}},
		Programs: scenarios.Programs{PortsKnown: true, Commands: map[scenarios.Milestone]map[scenarios.Role][]string{
			scenarios.M1: {scenarios.RoleServer: {server, "--port", "${port}"}, scenarios.RoleClient: {"chat-client", "${ip:webserver}", "${port}"}},
		}}}
}

// relayScenario is a Milestone 1 scenario the fake's chat service passes.
const relayScenario = `name: fake-relay
milestone: M1
points: 2
requirement: the server relays a client's line to the other clients
steps:
  - start: {proc: server, host: webserver, role: server}
  - expect: {proc: server, match: listening}
  - start: {proc: alice, host: client1, role: client}
  - start: {proc: bob, host: client2, role: client}
  - expect: {procs: [alice, bob], match: connected}
  - type: {proc: alice, line: hello}
  - expect: {proc: bob, match: 'client1 says: hello', within: 3s}
`

// testScenarios are the relay scenario and the built-in dns-resolve.
func testScenarios(t *testing.T) []scenarios.Scenario {
	t.Helper()
	relay, err := scenarios.Parse("fake-relay.yaml", []byte(relayScenario))
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dns, err := scenarios.Select(all, []string{"dns-resolve"})
	if err != nil {
		t.Fatal(err)
	}
	return append([]scenarios.Scenario{relay}, dns...)
}

// fakeDNSCheckBinary stands in for the static dnscheck binary: RunLab only
// copies it into the hosts, where the fake runs it.
func fakeDNSCheckBinary(context.Context) ([]byte, error) { return []byte("\x7fELF fake dnscheck"), nil }
