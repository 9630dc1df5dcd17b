package scenarios

import (
	"context"
	"errors"
	"io"
	"syscall"
	"time"
)

// Runtime is how the engine reaches the lab's hosts. Hosts are named as in
// the topology (webserver, client1, ...); the implementation maps them to
// containers. NewDockerRuntime adapts *lab.Docker; tests use a fake.
type Runtime interface {
	// Spawn starts cmd on host with stdin and a single combined output stream.
	Spawn(ctx context.Context, host string, cmd, env []string, workdir string) (Process, error)
	// Exec runs cmd on host to completion.
	Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (ExecResult, error)
	// Host changes a host's container or its network attachment.
	Host(ctx context.Context, host string, action HostAction) error
}

// DNSChecker is a Runtime that can run package dnscheck on the lab's hosts.
// The dnscheck step uses it and, on a Runtime without it (or when the
// dnscheck binary is unavailable, ErrNoDNSCheck), asks getent instead.
type DNSChecker interface {
	// CheckDNS reports whether every host resolves the team's domain, both
	// through its resolv.conf and directly at the lab's DNS server, and
	// dnscheck's report.
	CheckDNS(ctx context.Context, hosts []string) (pass bool, report string, err error)
}

// GraderSpawner is a Runtime that starts the grader's own programs on a
// host (the observer agent, tcpdump) as root with the privileges they
// need, whatever limits the submission's programs run under.
type GraderSpawner interface {
	SpawnGrader(ctx context.Context, host string, cmd []string) (Process, error)
}

// Signaller is a Runtime that signals processes of a host without
// starting a command there (the Docker runtime asks its agent on the host),
// which is cheaper than Process.Signal one process at a time.
type Signaller interface {
	SignalAll(ctx context.Context, host string, sig syscall.Signal, pids []int) error
}

// ErrNoDNSCheck means the dnscheck binary is not available here.
var ErrNoDNSCheck = errors.New("dnscheck binary unavailable")

// Process is a program started by Spawn.
type Process interface {
	Stdin() io.WriteCloser
	Output() io.Reader
	Signal(ctx context.Context, sig syscall.Signal) error
	// PID is the program's process ID on its host (0 if unknown).
	PID() int
	// Wait returns the exit code once the program has ended.
	Wait() (int, error)
}

// ExecResult is the outcome of Runtime.Exec.
type ExecResult struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// Clock is the engine's source of time, injected so that tests can assert
// exact deadlines.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM,
	"INT":  syscall.SIGINT,
	"HUP":  syscall.SIGHUP,
	"KILL": syscall.SIGKILL,
}
