package scenarios

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

// The engine reaches the lab's hosts through runtime.Hosts, by their names
// in the topology (webserver, client1, ...). NewLabRuntime is the hosts of
// a real lab, with the grader's agents on them (Observer); tests use a
// fake.

// DNSCheck checks whether every host resolves the team's domain, both
// through its resolv.conf and directly at the lab's DNS server, and
// returns dnscheck's typed report: the step passes when the report does,
// keeps its text as the dnscheck.log transcript and says what failed from
// its results and findings (dnscheck.Report.Problems). An error means the
// check could not be judged (an ERROR, not a FAIL), with the report when
// there is one; one that is ErrNoDNSCheck makes the step ask getent
// instead (WithDNSChecker). grading's lab runtime has one.
type DNSCheck func(ctx context.Context, hosts []string) (dnscheck.Report, error)

// ErrNoDNSCheck means the dnscheck binary is not available here.
var ErrNoDNSCheck = errors.New("dnscheck binary unavailable")

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

// hostAction does what a host step asks of a host.
func hostAction(ctx context.Context, rt runtime.Hosts, host string, action HostAction) error {
	switch action {
	case HostStop:
		return rt.Stop(ctx, host)
	case HostKill:
		return rt.Kill(ctx, host)
	case HostStart:
		return rt.Start(ctx, host)
	case HostDisconnect:
		return rt.Disconnect(ctx, host)
	case HostReconnect:
		return rt.Reconnect(ctx, host)
	}
	return errors.New("host " + host + ": unknown action " + string(action))
}
