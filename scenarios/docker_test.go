package scenarios

import (
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
)

// TestUnansweredIsTheMachineNotTheSubmission: a graded dnscheck whose only
// failures are queries nobody answered is the grader's problem (an
// overloaded machine), never a failed check; any answer that is wrong, or
// a resolv.conf that points elsewhere, is a verdict.
func TestUnansweredIsTheMachineNotTheSubmission(t *testing.T) {
	ok := dnscheck.Result{Pass: true, Reason: dnscheck.ReasonOK}
	timeout := dnscheck.Result{Reason: dnscheck.ReasonTimeout}
	wrong := dnscheck.Result{Reason: dnscheck.ReasonWrongAnswer}
	nx := dnscheck.Result{Reason: dnscheck.ReasonNXDomain}
	host := func(res []dnscheck.Result, fs ...dnscheck.Finding) dnscheck.HostReport {
		return dnscheck.HostReport{Host: "client1", Results: res, Findings: fs}
	}
	cases := []struct {
		name string
		rep  dnscheck.Report
		want bool
	}{
		{"all passed", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{ok, ok})}}, false},
		{"timeouts only", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout, ok}), host([]dnscheck.Result{timeout, timeout})}}, true},
		{"timeout and the paths disagree", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout, ok}, dnscheck.Finding{Kind: dnscheck.FindingMismatch})}}, true},
		{"the check could not run", dnscheck.Report{Hosts: []dnscheck.HostReport{host(nil, dnscheck.Finding{Kind: dnscheck.FindingRun})}}, true},
		{"a wrong answer beside a timeout", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout}), host([]dnscheck.Result{wrong})}}, false},
		{"NXDOMAIN", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{nx, ok})}}, false},
		{"resolv.conf elsewhere", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout}, dnscheck.Finding{Kind: dnscheck.FindingResolvElsewhere})}}, false},
		{"only a warning", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{ok}, dnscheck.Finding{Kind: dnscheck.FindingResolvExtra, Warning: true})}}, false},
	}
	for _, c := range cases {
		if got := unanswered(c.rep); got != c.want {
			t.Errorf("%s: unanswered = %v, want %v", c.name, got, c.want)
		}
	}
}
