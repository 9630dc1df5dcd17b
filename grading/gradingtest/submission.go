package gradingtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// The image references the fake's labs run, for grading.WithLabImages:
// with them provision.Lab builds nothing.
const (
	DNSImage  = "lab3-dns:test"
	HostImage = "lab3-host:test"
)

// Submission is a submission whose Milestone 1 programs are the fake's
// chat service: server is "chat-server", or "crash-server",
// "silent-server" or "late-server" for one that misbehaves (Engine).
func Submission(name, server string) scenarios.Submission {
	return scenarios.Submission{Name: name, Team: 30, Port: scenarios.DefaultPort, P2PPort: scenarios.DefaultP2PPort,
		Files: map[string]scenarios.File{"chatroom_server.py": {Mode: 0o644, Data: []byte("# " + name + "\n")}},
		Programs: scenarios.Programs{PortsKnown: true, Commands: map[scenarios.Milestone]map[scenarios.Role][]string{
			scenarios.M1: {scenarios.RoleServer: {server, "--port", "${port}"}, scenarios.RoleClient: {"chat-client", "${ip:webserver}", "${port}"}},
		}}}
}

// SubmissionDir writes Submission(name, server) as a student's folder
// (a Python file and the lab3.yaml that says to run the fake's chat
// service), for lab grade, and returns its path: a folder called name in
// a temporary folder of t's.
func SubmissionDir(t testing.TB, name, server string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	manifest := "port: 5000\nprograms:\n  M1:\n    server: " + server + " --port ${port}\n    client: chat-client ${ip:webserver} ${port}\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string]string{"chatroom_server.py": "# " + name + "\n", scenarios.ManifestFile: manifest} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// RelayScenario is a Milestone 1 scenario, fake-relay, that the fake's
// chat service passes and a crashed or silent server fails.
const RelayScenario = `name: fake-relay
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

// Relay is RelayScenario, parsed.
func Relay(t testing.TB) scenarios.Scenario {
	t.Helper()
	relay, err := scenarios.Parse("fake-relay.yaml", []byte(RelayScenario))
	if err != nil {
		t.Fatal(err)
	}
	return relay
}

// Scenarios are the relay scenario and the built-in dns-resolve, which
// the fake's dnscheck answers.
func Scenarios(t testing.TB) []scenarios.Scenario {
	t.Helper()
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dns, err := scenarios.Select(all, []string{"dns-resolve"})
	if err != nil {
		t.Fatal(err)
	}
	return append([]scenarios.Scenario{Relay(t)}, dns...)
}

// DNSCheckBinary stands in for the static dnscheck binary, for
// grading.WithDNSCheck: grading only copies it into the hosts, where the
// fake answers for it.
func DNSCheckBinary(context.Context) ([]byte, error) { return []byte("\x7fELF fake dnscheck"), nil }
