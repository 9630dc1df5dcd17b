package dnscheck

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// stateRunner is a Runner that also lists the lab's containers, in the
// states a test gives them; it records what RunLab asked of it.
type stateRunner struct {
	states map[string]string // host → Docker state; absent = no container
	mu     sync.Mutex
	calls  []string
}

func (s *stateRunner) Containers(_ context.Context, labels map[string]string) ([]lab.ContainerInfo, error) {
	var out []lab.ContainerInfo
	for host, state := range s.states {
		status := "Up 3 minutes"
		if state == "exited" {
			status = "Exited (137) 2 seconds ago"
		}
		out = append(out, lab.ContainerInfo{Name: labels[lab.LabelLab] + "-" + host, State: state, Status: status,
			Labels: map[string]string{lab.LabelLab: labels[lab.LabelLab], lab.LabelHost: host}})
	}
	return out, nil
}

func (s *stateRunner) CopyFile(_ context.Context, ctr, dst string, _ os.FileMode, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "copy "+ctr)
	return nil
}

func (s *stateRunner) Exec(_ context.Context, ctr string, cmd []string, _ io.Reader) (lab.ExecResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "exec "+ctr)
	return lab.ExecResult{ExitCode: 2, Stderr: []byte("not a real dnscheck")}, nil
}

func TestRunLabNamesHostsThatAreDown(t *testing.T) {
	topo, err := lab.New("unit", 30, netip.MustParsePrefix("10.99.1.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	running := func(except map[string]string) map[string]string {
		m := map[string]string{"dnsserver": "running", "webserver": "running", "client1": "running", "client2": "running", "client3": "running"}
		for h, s := range except {
			if s == "" {
				delete(m, h)
			} else {
				m[h] = s
			}
		}
		return m
	}
	tests := []struct {
		name    string
		states  map[string]string
		clients []string
		want    []string // one line per host; nil = the check runs
	}{
		{name: "dns server stopped", states: running(map[string]string{"dnsserver": "exited"}),
			want: []string{"dnsserver is stopped (exited (137)): start it with: lab up --name unit"}},
		{name: "client stopped and another missing", states: running(map[string]string{"client2": "exited", "client3": ""}),
			want: []string{"client2 is stopped (exited (137)): start it with: lab up --name unit", "client3 is missing: create it with: lab up --name unit"}},
		{name: "a stopped client that is not checked", states: running(map[string]string{"client2": "exited"}), clients: []string{"client1"}},
		{name: "everything runs", states: running(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &stateRunner{states: tc.states}
			var opts []Option
			if tc.clients != nil {
				opts = append(opts, WithClients(tc.clients...))
			}
			_, err := RunLab(context.Background(), r, topo, []byte("binary"), opts...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("RunLab: %v, want the check to run", err)
				}
				if len(r.calls) == 0 {
					t.Error("nothing was copied or run")
				}
				return
			}
			var down *lab.DownError
			if !errors.As(err, &down) || !errors.Is(err, lab.ErrHostDown) {
				t.Fatalf("err = %v, want a *lab.DownError", err)
			}
			var got []string
			for _, h := range down.Hosts {
				got = append(got, h.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("lines:\n got %q\nwant %q", got, tc.want)
			}
			if len(r.calls) != 0 {
				t.Errorf("RunLab touched containers of a lab with hosts down: %v", r.calls)
			}
		})
	}
}
