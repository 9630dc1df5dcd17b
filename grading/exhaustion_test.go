package grading

import (
	"context"
	"net/netip"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// fullHosts is a runtime whose listed hosts have a full process table.
type fullHosts struct {
	runtime.Hosts
	full map[string]bool
}

func (f fullHosts) exhausted(_ context.Context, host string) (string, error) {
	if f.full[host] {
		return host + "'s process table is full", nil
	}
	return "", nil
}

// TestBlameExhaustion: a check the grader could not run because the
// submission filled a host's process table is the submission's failure, not
// an ERROR that asks for a regrade ending the same way.
func TestBlameExhaustion(t *testing.T) {
	topo, err := topology.New("exh", 30, netip.MustParsePrefix("10.99.1.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		rt      runtime.Hosts
		status  scenarios.Status
		want    scenarios.Status
		wantGot string
	}{
		{"error on a full host", fullHosts{full: map[string]bool{"webserver": true}}, scenarios.Error, scenarios.Failed, "observe webserver: no agent; webserver's process table is full"},
		{"error on a full client", fullHosts{full: map[string]bool{"client3": true}}, scenarios.Error, scenarios.Failed, "observe webserver: no agent; client3's process table is full"},
		{"error with room left", fullHosts{}, scenarios.Error, scenarios.Error, "observe webserver: no agent"},
		{"failure stays", fullHosts{full: map[string]bool{"webserver": true}}, scenarios.Failed, scenarios.Failed, "observe webserver: no agent"},
		{"runtime that cannot tell", struct{ runtime.Hosts }{}, scenarios.Error, scenarios.Error, "observe webserver: no agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := scenarios.Result{Scenario: "m1-broadcast", Status: tc.status, Failure: &scenarios.Failure{Got: "observe webserver: no agent"}}
			got := blameExhaustion(context.Background(), tc.rt, topo, res)
			if got.Status != tc.want || got.Failure.Got != tc.wantGot {
				t.Errorf("got %s %q, want %s %q", got.Status, got.Failure.Got, tc.want, tc.wantGot)
			}
		})
	}
}
