package labcontainers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Compiler checks: DNSStrategy is a testcontainers wait strategy with a
// timeout of its own.
var (
	_ wait.Strategy        = (*DNSStrategy)(nil)
	_ wait.StrategyTimeout = (*DNSStrategy)(nil)
)

// DNSStrategy waits until a host of the lab resolves a name: it runs dig
// inside the host, so the question takes the path the students' programs
// take (the host's resolv.conf, the lab's network, named), and polls until
// the answer holds records, or, WithAnyReply, until any reply comes back.
type DNSStrategy struct {
	name, qtype string
	server      string
	anyReply    bool
	timeout     *time.Duration
	// PollInterval is the time between two questions; 50 ms by default.
	PollInterval time.Duration
}

// ForDNS waits until name's SOA record is answered from inside the target.
func ForDNS(name string) *DNSStrategy {
	return &DNSStrategy{name: name, qtype: "SOA", PollInterval: 50 * time.Millisecond}
}

// WithType asks for another record type than SOA, e.g. "A".
func (s *DNSStrategy) WithType(qtype string) *DNSStrategy {
	s.qtype = qtype
	return s
}

// WithServer asks addr directly instead of the target's resolv.conf.
func (s *DNSStrategy) WithServer(addr string) *DNSStrategy {
	s.server = addr
	return s
}

// WithAnyReply is satisfied by any reply of the server, NXDOMAIN and
// REFUSED included: the server is up and reachable, whatever it serves.
func (s *DNSStrategy) WithAnyReply() *DNSStrategy {
	s.anyReply = true
	return s
}

// WithStartupTimeout bounds the wait; the default is one minute.
func (s *DNSStrategy) WithStartupTimeout(d time.Duration) *DNSStrategy {
	s.timeout = &d
	return s
}

// WithPollInterval sets the time between two questions.
func (s *DNSStrategy) WithPollInterval(d time.Duration) *DNSStrategy {
	s.PollInterval = d
	return s
}

// Timeout is the startup timeout, nil for the default.
func (s *DNSStrategy) Timeout() *time.Duration { return s.timeout }

// String describes the wait, as testcontainers logs it.
func (s *DNSStrategy) String() string {
	at := "through resolv.conf"
	if s.server != "" {
		at = "at " + s.server
	}
	return fmt.Sprintf("DNS answer for %s %s %s", s.name, s.qtype, at)
}

// command is the dig the target runs: one try of one second, so that a
// lost question costs one poll, not dig's default fifteen seconds.
func (s *DNSStrategy) command() []string {
	cmd := []string{"dig", "+time=1", "+tries=1"}
	if !s.anyReply {
		cmd = append(cmd, "+short")
	}
	if s.server != "" {
		cmd = append(cmd, "@"+s.server)
	}
	return append(cmd, s.name, s.qtype)
}

// WaitUntilReady polls until the target gets an answer, the target stops
// running, or the timeout (or ctx) ends the wait. The error is one line
// holding what dig said last.
func (s *DNSStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	timeout := time.Minute
	if s.timeout != nil {
		timeout = *s.timeout
	}
	interval := s.PollInterval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := "no answer yet"
	for {
		code, out, err := target.Exec(ctx, s.command(), tcexec.Multiplexed())
		switch {
		case err != nil && ctx.Err() == nil:
			// An exec fails at once on a host that is not running; any
			// other failure may pass, so it is only remembered.
			if st, serr := target.State(ctx); serr == nil && !st.Running {
				return fmt.Errorf("waiting for a DNS answer for %s %s: the host is %s (exit code %d)", s.name, s.qtype, st.Status, st.ExitCode)
			}
			last = err.Error()
		case err == nil:
			text := readAll(out)
			if code == 0 && (s.anyReply || text != "") {
				return nil
			}
			if text == "" {
				text = fmt.Sprintf("dig exited %d with no answer", code)
			}
			last = text
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("no DNS answer for %s %s within %s (last: %s)", s.name, s.qtype, timeout, oneLine(last))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func readAll(r io.Reader) string {
	if r == nil {
		return ""
	}
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return strings.TrimSpace(b.String())
}

// oneLine folds s onto one short line for an error message.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
