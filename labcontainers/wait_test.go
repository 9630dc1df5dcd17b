package labcontainers

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

// fakeHost is a wait.StrategyTarget whose execs answer from a script: the
// i-th exec gets replies[i] (the last one repeats).
type fakeHost struct {
	mu      sync.Mutex
	replies []reply
	cmds    [][]string
	state   container.State
}

type reply struct {
	code int
	out  string
	err  error
}

func (f *fakeHost) Exec(_ context.Context, cmd []string, _ ...tcexec.ProcessOption) (int, io.Reader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.replies[min(len(f.cmds), len(f.replies)-1)]
	f.cmds = append(f.cmds, cmd)
	return r.code, strings.NewReader(r.out), r.err
}

func (f *fakeHost) State(context.Context) (*container.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state
	return &st, nil
}

func (f *fakeHost) Host(context.Context) (string, error) { return "", nil }
func (f *fakeHost) Inspect(context.Context) (*container.InspectResponse, error) {
	return &container.InspectResponse{}, nil
}
func (f *fakeHost) Ports(context.Context) (network.PortMap, error) { return nil, nil }
func (f *fakeHost) MappedPort(context.Context, string) (network.Port, error) {
	return network.Port{}, nil
}
func (f *fakeHost) Logs(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}
func (f *fakeHost) CopyFileFromContainer(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("not in the fake")
}

const soa = "ns.team30.com. admin.team30.com. 1 3600 900 604800 86400"

func TestDNSStrategyWaitsForAnAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       *DNSStrategy
		replies []reply
		cmd     []string
		execs   int
	}{
		{
			name:    "answer at once",
			s:       ForDNS("team30.com"),
			replies: []reply{{out: soa}},
			cmd:     []string{"dig", "+time=1", "+tries=1", "+short", "team30.com", "SOA"},
			execs:   1,
		},
		{
			name:    "no server yet, then an empty answer, then the record",
			s:       ForDNS("team30.com"),
			replies: []reply{{code: 9, out: ";; connection timed out; no servers could be reached"}, {}, {out: soa}},
			cmd:     []string{"dig", "+time=1", "+tries=1", "+short", "team30.com", "SOA"},
			execs:   3,
		},
		{
			name:    "a transient exec error is retried",
			s:       ForDNS("www.team30.com").WithType("A").WithServer("10.20.30.2"),
			replies: []reply{{err: errors.New("exec: connection reset")}, {out: "10.20.30.3"}},
			cmd:     []string{"dig", "+time=1", "+tries=1", "+short", "@10.20.30.2", "www.team30.com", "A"},
			execs:   2,
		},
		{
			name:    "any reply: REFUSED counts",
			s:       ForDNS("team30.com").WithAnyReply(),
			replies: []reply{{code: 9}, {out: ";; ->>HEADER<<- opcode: QUERY, status: REFUSED"}},
			cmd:     []string{"dig", "+time=1", "+tries=1", "team30.com", "SOA"},
			execs:   2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := &fakeHost{replies: tc.replies, state: container.State{Running: true, Status: "running"}}
			if err := tc.s.WithPollInterval(time.Millisecond).WaitUntilReady(context.Background(), host); err != nil {
				t.Fatal(err)
			}
			if len(host.cmds) != tc.execs {
				t.Errorf("%d execs, want %d", len(host.cmds), tc.execs)
			}
			if got := host.cmds[0]; !slices.Equal(got, tc.cmd) {
				t.Errorf("command:\n-%q\n+%q", tc.cmd, got)
			}
		})
	}
}

func TestDNSStrategyGivesUpInOneLine(t *testing.T) {
	t.Run("timeout names the last answer", func(t *testing.T) {
		host := &fakeHost{replies: []reply{{code: 9, out: ";; connection timed out;\n;; no servers could be reached\n"}},
			state: container.State{Running: true, Status: "running"}}
		err := ForDNS("team30.com").WithStartupTimeout(30*time.Millisecond).WithPollInterval(5*time.Millisecond).
			WaitUntilReady(context.Background(), host)
		want := "no DNS answer for team30.com SOA within 30ms (last: ;; connection timed out; ;; no servers could be reached)"
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})
	t.Run("a stopped host ends the wait at once", func(t *testing.T) {
		host := &fakeHost{replies: []reply{{err: errors.New("container is not running")}},
			state: container.State{Running: false, Status: "exited", ExitCode: 137}}
		began := time.Now()
		err := ForDNS("team30.com").WaitUntilReady(context.Background(), host)
		want := "waiting for a DNS answer for team30.com SOA: the host is exited (exit code 137)"
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		if took := time.Since(began); took > time.Second {
			t.Errorf("took %s", took)
		}
	})
	t.Run("a cancelled context", func(t *testing.T) {
		host := &fakeHost{replies: []reply{{}}, state: container.State{Running: true, Status: "running"}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := ForDNS("team30.com").WaitUntilReady(ctx, host); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestDNSStrategyDescribesItself(t *testing.T) {
	for _, tc := range []struct {
		s    *DNSStrategy
		want string
	}{
		{ForDNS("team30.com"), "DNS answer for team30.com SOA through resolv.conf"},
		{ForDNS("ns.team7.com").WithType("AAAA").WithServer("10.99.7.2"), "DNS answer for ns.team7.com AAAA at 10.99.7.2"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	if ForDNS("x.com").Timeout() != nil {
		t.Error("default timeout should be nil (the strategy's own minute)")
	}
	if d := *ForDNS("x.com").WithStartupTimeout(time.Second).Timeout(); d != time.Second {
		t.Errorf("Timeout() = %s", d)
	}
}
