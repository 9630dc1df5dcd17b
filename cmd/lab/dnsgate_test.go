package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestDNSGateLines pins lab up's gate line, now that provision runs the
// check: the same PASS and FAIL lines, exit 1 on FAIL (a check failed; 4
// is an unreachable engine), and a check that could not run is an error
// of its own.
func TestDNSGateLines(t *testing.T) {
	topo := topology.Default()
	ok := dnscheck.Result{Pass: true, Reason: dnscheck.ReasonOK}
	bad := dnscheck.Result{Reason: dnscheck.ReasonWrongAnswer}
	rep := func(rs ...dnscheck.Result) dnscheck.Report {
		return dnscheck.Report{Hosts: []dnscheck.HostReport{{Host: "client1", Results: rs}, {Host: "client2", Results: rs}}, Elapsed: 1234567 * time.Microsecond}
	}

	var out bytes.Buffer
	pass := rep(ok, ok)
	if err := dnsGate(&out, topo, provision.Result{DNS: &pass}, nil); err != nil {
		t.Fatal(err)
	}
	if want := "dnscheck: PASS, 2 clients resolve team30.com: 4 checks passed in 1.235s\n"; out.String() != want {
		t.Errorf("PASS:\n got %q\nwant %q", out.String(), want)
	}

	out.Reset()
	fail := rep(ok, bad)
	err := dnsGate(&out, topo, provision.Result{DNS: &fail}, &provision.Error{Stage: provision.StageDNSCheck, Err: &provision.GateError{Report: fail}})
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("FAIL: err = %v, want exit 1", err)
	}
	if want := "dnscheck: FAIL, 2 of 4 checks failed from the clients; the lab is up: see lab dnscheck --name lab3\n"; out.String() != want {
		t.Errorf("FAIL:\n got %q\nwant %q", out.String(), want)
	}

	out.Reset()
	down := &runtime.DownError{Hosts: []runtime.HostDown{{Lab: "lab3", Host: "client2", State: "exited (0)"}}}
	err = dnsGate(&out, topo, provision.Result{}, &provision.Error{Stage: provision.StageDNSCheck, Err: down})
	if !errors.As(err, &down) || out.Len() != 0 || err.Error() != "dnscheck: "+down.Error() {
		t.Errorf("could not run: err = %v, printed %q", err, out.String())
	}

	out.Reset()
	if err := dnsGate(&out, topo, provision.Result{}, nil); err != nil || out.Len() != 0 {
		t.Errorf("no gate: err %v, printed %q", err, out.String())
	}
}
