package dnscheck

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// stateLab is a fake lab whose hosts are in the states a test gives them
// (host → "running", "exited", or absent for no container); it records
// what RunLab asked of it.
func stateLab(t *testing.T, topo topology.Topology, states map[string]string) (*fake.Engine, *[]string) {
	ctx := context.Background()
	eng := fake.New("fake")
	if err := eng.AddLab(ctx, topo); err != nil {
		t.Fatal(err)
	}
	for _, h := range topo.Hosts {
		switch states[h.Name] {
		case "running":
		case "exited":
			if err := eng.Lab(topo.Name).Kill(ctx, h.Name); err != nil {
				t.Fatal(err)
			}
		default:
			if err := eng.RemoveContainer(ctx, topo.Name+"-"+h.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	var calls []string
	eng.Fail = func(op, target string) error {
		if op == "copy" {
			mu.Lock()
			calls = append(calls, "copy "+target)
			mu.Unlock()
		}
		return nil
	}
	eng.ExecFunc = func(_ context.Context, _, host string, _ []string, _ io.Reader) (runtime.ExecResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, "exec "+host)
		return runtime.ExecResult{ExitCode: 2, Stderr: []byte("not a real dnscheck")}, nil
	}
	return eng, &calls
}

func TestRunLabNamesHostsThatAreDown(t *testing.T) {
	topo, err := topology.New("unit", 30, netip.MustParsePrefix("10.99.1.0/24"), netip.Prefix{})
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
			eng, calls := stateLab(t, topo, tc.states)
			var opts []Option
			if tc.clients != nil {
				opts = append(opts, WithClients(tc.clients...))
			}
			_, err := RunLab(context.Background(), eng, topo, []byte("binary"), opts...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("RunLab: %v, want the check to run", err)
				}
				if len(*calls) == 0 {
					t.Error("nothing was copied or run")
				}
				return
			}
			var down *runtime.DownError
			if !errors.As(err, &down) || !errors.Is(err, runtime.ErrHostDown) {
				t.Fatalf("err = %v, want a *runtime.DownError", err)
			}
			var got []string
			for _, h := range down.Hosts {
				got = append(got, h.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("lines:\n got %q\nwant %q", got, tc.want)
			}
			if len(*calls) != 0 {
				t.Errorf("RunLab touched containers of a lab with hosts down: %v", *calls)
			}
		})
	}
}
