// Package gradingtest is a fake lab for grading's tests and for the
// commands built on package grading, in the manner of net/http/httptest:
// runtime/fake's engine with what grading meets on a real engine, so that
// grading.Grade (and lab grade) run end to end without Docker. README.md
// describes what the fake's hosts run.
package gradingtest

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

// Engine is runtime/fake's engine with the lab's hosts scripted:
//
//   - the lab's images: the DNS server answers dig once started, so
//     lab.Up (through provision.Lab) brings a lab up;
//   - the grader's agent on every host: a reading finds the host idle, K
//     signals processes by PID, R resets the host;
//   - a shell for the grader's execs (mkdir, the reset script), getent,
//     the dnscheck binary, which reports on the host from its files, and
//     tcpdump as package traffic starts and stops it;
//   - a chat service any submission's programs run as: chat-server
//     listens (while it runs, a lab's clients connect), chat-client
//     relays each line it reads to the lab's other clients as "<host>
//     says: <line>". A submission whose server is "crash-server" exits at
//     once, so its clients are refused; "silent-server" runs without ever
//     listening; "late-server" is silent on its first start in a lab and
//     a chat-server after.
//
// Its methods may be called from several goroutines; set OnSpawn and
// runtime/fake's hooks before grading starts.
type Engine struct {
	*fake.Engine
	t testing.TB

	// OnSpawn, when set, is called as a submission's program starts, with
	// the program's name (the sandbox's wrapper taken off): a test's hook
	// to act at a known point of a scenario, e.g. make the engine Die.
	OnSpawn func(lab, host, program string)

	mu     sync.Mutex
	rooms  map[string]*room // chat rooms by lab
	resets []string         // "lab host", each reset that succeeded
	// failReset makes that many resets of a host (by host name) fail.
	failReset map[string]int
	// dnsFails and dnsSilent are FailDNS's and SilenceDNS's hosts.
	dnsFails, dnsSilent map[string]bool
	// sandboxed records, per lab, whether its network was internal and
	// its chat hosts confined when the submission was staged there.
	sandboxed map[string]bool
	// captures are the hosts ("lab host") where tcpdump runs.
	captures map[string]bool
}

// room is one lab's chat: whether its server runs, and its clients'
// outputs by host.
type room struct {
	server  bool
	clients map[string]io.Writer
	starts  int // silent or late servers started
}

// NewEngine returns an empty fake engine called name, its hosts scripted
// as Engine says. t is the test its helpers (Left) fail.
func NewEngine(t testing.TB, name string) *Engine {
	e := &Engine{Engine: fake.New(name), t: t, rooms: map[string]*room{}, failReset: map[string]int{},
		dnsFails: map[string]bool{}, dnsSilent: map[string]bool{}, sandboxed: map[string]bool{}, captures: map[string]bool{}}
	e.ExecFunc = e.exec
	e.SpawnFunc = e.spawn
	return e
}

// FailDNS makes dnscheck on host report a wrong answer (192.0.2.66) for
// every expectation through its resolv.conf, as on a host whose resolver
// is wrong.
func (e *Engine) FailDNS(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dnsFails[host] = true
}

// SilenceDNS makes dnscheck on host get no answer through its
// resolv.conf, as on a machine too loaded to answer in time.
func (e *Engine) SilenceDNS(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dnsSilent[host] = true
}

// FailResets makes the next n resets of host (by host name, in any lab)
// fail, through the agent and through an exec alike, as on a host whose
// processes a fork bomb exhausted.
func (e *Engine) FailResets(host string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failReset[host] = n
}

// Resets lists the hosts reset in lab, in order.
func (e *Engine) Resets(lab string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.resets {
		if l, h, _ := strings.Cut(r, " "); l == lab {
			out = append(out, h)
		}
	}
	return out
}

// Sandboxed reports whether lab's network was internal and every chat host
// it staged the submission on confined.
func (e *Engine) Sandboxed(lab string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sandboxed[lab]
}

// Left lists every container, network and volume the engine still holds,
// as "container <name>", "network <name>" and "volume <name>": nothing
// once every lab was torn down. An engine that fails to list fails the
// test.
func (e *Engine) Left() []string {
	e.t.Helper()
	ctx := context.Background()
	var out []string
	cs, err := e.Containers(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		out = append(out, "container "+c.Name)
	}
	ns, err := e.Networks(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	vs, err := e.Volumes(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range vs {
		out = append(out, "volume "+v)
	}
	return out
}
