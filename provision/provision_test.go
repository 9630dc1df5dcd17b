package provision

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// fakeSteps stands in for images.Ensure, lab.Up, the check and the
// teardown, recording what Lab asked of each, in order.
type fakeSteps struct {
	calls    []string
	refs     images.Refs
	ensure   error
	ups      []error // lab.Up's results, attempt by attempt; past the end nil
	upTopos  []topology.Topology
	upOpts   []int
	upCtx    []context.Context
	engines  []runtime.Engine
	report   dnscheck.Report
	checkErr error
	bin      []byte
	binErr   error
	gotBin   []byte
}

func (f *fakeSteps) option() Option {
	return func(c *config) {
		c.ensure = func(ctx context.Context, opts ...images.Option) (images.Refs, error) {
			f.calls = append(f.calls, fmt.Sprintf("ensure(%d opts)", len(opts)))
			return f.refs, f.ensure
		}
		c.up = func(ctx context.Context, eng runtime.Engine, topo topology.Topology, opts ...lab.Option) (lab.LabStatus, error) {
			n := len(f.upTopos)
			f.calls = append(f.calls, "up "+topo.Subnet4.String())
			f.upTopos = append(f.upTopos, topo)
			f.upOpts = append(f.upOpts, len(opts))
			f.upCtx = append(f.upCtx, ctx)
			f.engines = append(f.engines, eng)
			if n < len(f.ups) && f.ups[n] != nil {
				return lab.LabStatus{}, f.ups[n]
			}
			return lab.LabStatus{Lab: topo.Name, Summary: "lab " + topo.Name + " is up",
				Timings: []lab.Phase{{Name: "plan", Duration: time.Millisecond}, {Name: "dns", Duration: 2 * time.Millisecond}}}, nil
		}
		c.dnsBin = func(context.Context) ([]byte, error) {
			f.calls = append(f.calls, "binary")
			return f.bin, f.binErr
		}
		c.check = func(ctx context.Context, topo topology.Topology, bin []byte) (dnscheck.Report, error) {
			f.calls = append(f.calls, "check "+topo.Name)
			f.gotBin = bin
			return f.report, f.checkErr
		}
		c.down = func(ctx context.Context, name string) error {
			f.calls = append(f.calls, "down "+name)
			return nil
		}
	}
}

var (
	pass    = dnscheck.Result{Pass: true, Reason: dnscheck.ReasonOK}
	timeout = dnscheck.Result{Reason: dnscheck.ReasonTimeout}
	wrong   = dnscheck.Result{Reason: dnscheck.ReasonWrongAnswer}
)

func host(res []dnscheck.Result, fs ...dnscheck.Finding) dnscheck.HostReport {
	return dnscheck.HostReport{Host: "client1", Results: res, Findings: fs}
}

func passing() dnscheck.Report {
	return dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{pass, pass})}}
}

func topo(t *testing.T, subnet string) topology.Topology {
	t.Helper()
	tp, err := topology.New("prov", topology.DefaultTeam, netip.MustParsePrefix(subnet), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// TestLabSequence: images, then Up with them, then the gate with the
// loaded binary; the result carries the report and every timing.
func TestLabSequence(t *testing.T) {
	f := &fakeSteps{refs: images.Refs{Base: "b:1", DNS: "d:1", Host: "h:1"}, report: passing(), bin: []byte("bin")}
	var after []string
	res, err := Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(),
		WithAfterUp(func(_ context.Context, st lab.LabStatus) {
			after = append(after, st.Summary)
			f.calls = append(f.calls, "after")
		}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ensure(1 opts)", "up 10.1.2.0/24", "after", "binary", "check prov"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
	if res.Refs != f.refs {
		t.Errorf("refs = %+v, want %+v", res.Refs, f.refs)
	}
	if res.DNS == nil || !res.DNS.Pass() {
		t.Errorf("DNS = %+v, want the passing report", res.DNS)
	}
	if string(f.gotBin) != "bin" {
		t.Errorf("binary = %q", f.gotBin)
	}
	if res.Attempts != 1 || res.Status.Summary != "lab prov is up" || !slices.Equal(after, []string{"lab prov is up"}) {
		t.Errorf("attempts %d, status %q, after-up %q", res.Attempts, res.Status.Summary, after)
	}
	var names []string
	for _, p := range res.Timings() {
		names = append(names, p.Name)
	}
	if want := []string{"images", "plan", "dns", "dnscheck"}; !slices.Equal(names, want) {
		t.Errorf("timings = %q, want %q", names, want)
	}
	if f.upOpts[0] != 2 {
		t.Errorf("Up got %d options, want 2 (logger, images)", f.upOpts[0])
	}
}

// TestLabImages: given images skip Ensure; a field left empty is filled
// from Ensure, the given one kept.
func TestLabImages(t *testing.T) {
	f := &fakeSteps{refs: images.Refs{Base: "b:1", DNS: "d:1", Host: "h:1"}}
	res, err := Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(),
		WithImages(images.Refs{DNS: "mine/dns", Host: "mine/host"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.calls, []string{"up 10.1.2.0/24"}) || res.Refs.DNS != "mine/dns" || res.Refs.Host != "mine/host" || res.Images != 0 {
		t.Errorf("calls %q, refs %+v, images %v: want Up only, with the given images", f.calls, res.Refs, res.Images)
	}
	if names := res.Timings(); len(names) != 3 || names[0].Name != "images" {
		t.Errorf("timings without the gate = %+v", names)
	}

	f = &fakeSteps{refs: images.Refs{Base: "b:1", DNS: "d:1", Host: "h:1"}}
	res, err = Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(),
		WithImages(images.Refs{DNS: "mine/dns"}), WithImageOptions(images.WithRebuild()),
		WithLabOptions(lab.WithZoneDir("z"), lab.WithSandbox(lab.DefaultSandbox())))
	if err != nil {
		t.Fatal(err)
	}
	if want := (images.Refs{Base: "b:1", DNS: "mine/dns", Host: "h:1"}); res.Refs != want {
		t.Errorf("refs = %+v, want %+v", res.Refs, want)
	}
	if f.calls[0] != "ensure(2 opts)" || f.upOpts[0] != 4 {
		t.Errorf("calls %q, Up options %d: want the logger and the rebuild for Ensure, 2+2 for Up", f.calls, f.upOpts[0])
	}
}

// TestLabFailures: each step's failure names its step, keeps the cause
// reachable and stops what follows.
func TestLabFailures(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")

	f := &fakeSteps{ensure: boom}
	_, err := Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option())
	var pe *Error
	if !errors.As(err, &pe) || pe.Stage != StageImages || !errors.Is(err, boom) || err.Error() != "images: boom" {
		t.Errorf("images: err = %v", err)
	}
	if len(f.calls) != 1 {
		t.Errorf("images: calls = %q, want nothing after Ensure", f.calls)
	}

	conflict := fmt.Errorf("%w: subnet 10.1.2.0/24 is already used by Docker network \"x\"", lab.ErrConflict)
	f = &fakeSteps{ups: []error{conflict}}
	_, err = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}))
	if !errors.As(err, &pe) || pe.Stage != StageUp || !errors.Is(err, lab.ErrConflict) || err.Error() != conflict.Error() {
		t.Errorf("up: err = %v, want lab.Up's own", err)
	}
	if !slices.Equal(f.calls, []string{"up 10.1.2.0/24"}) {
		t.Errorf("up: calls = %q: no retry without WithRetry, no gate", f.calls)
	}

	f = &fakeSteps{binErr: boom}
	res, err := Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}))
	if !errors.As(err, &pe) || pe.Stage != StageDNSCheck || err.Error() != "dnscheck: boom" || res.DNS != nil {
		t.Errorf("binary: err = %v, DNS %v", err, res.DNS)
	}

	f = &fakeSteps{checkErr: &runtime.DownError{Hosts: []runtime.HostDown{{Lab: "prov", Host: "client2", State: "exited (0)"}}}}
	_, err = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}))
	var down *runtime.DownError
	if !errors.As(err, &down) {
		t.Errorf("check: err = %v, want the *runtime.DownError", err)
	}
}

// TestGateVerdict: a failed check is a *GateError with the typed report;
// silence alone is told apart from a wrong answer.
func TestGateVerdict(t *testing.T) {
	for _, c := range []struct {
		name       string
		rep        dnscheck.Report
		unanswered bool
		msg        string
	}{
		{"wrong answer", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{pass, wrong, timeout})}}, false, "dnscheck: 2 of 3 checks failed from the clients"},
		{"silence", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{pass, timeout})}}, true, "dnscheck: the lab's DNS server gave no answer in 3 tries of 3s: the machine is overloaded"},
	} {
		f := &fakeSteps{report: c.rep}
		res, err := Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}))
		var ge *GateError
		if !errors.As(err, &ge) {
			t.Fatalf("%s: err = %v, want a *GateError", c.name, err)
		}
		if ge.Unanswered() != c.unanswered || err.Error() != c.msg {
			t.Errorf("%s: unanswered %v, message %q; want %v, %q", c.name, ge.Unanswered(), err.Error(), c.unanswered, c.msg)
		}
		if res.DNS == nil || len(res.DNS.Hosts) != 1 || res.DNSCheck <= 0 {
			t.Errorf("%s: the result lacks the report (%v) or its time (%v)", c.name, res.DNS, res.DNSCheck)
		}
	}
}

// TestLabRetry: a conflict is tried again on the topology Next proposes,
// after a teardown, up to Attempts; anything else is not.
func TestLabRetry(t *testing.T) {
	ctx := context.Background()
	conflict := fmt.Errorf("%w: subnet in use", lab.ErrConflict)
	overlaps := errors.New("Error response from daemon: invalid pool request: Pool overlaps with other one on this address space")
	subnets := []string{"", "10.1.3.0/24", "10.1.4.0/24", "10.1.5.0/24"}
	next := func(_ context.Context, attempt int) (topology.Topology, error) {
		return topo(t, subnets[attempt]), nil
	}
	engines := 0
	f := &fakeSteps{ups: []error{conflict, overlaps}}
	res, err := Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithEngine(func() runtime.Engine { engines++; return nil }),
		WithRetry(Retry{Attempts: 6, Next: next, Teardown: true}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"up 10.1.2.0/24", "down prov", "up 10.1.3.0/24", "down prov", "up 10.1.4.0/24"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
	if res.Attempts != 3 || res.Topology.Subnet4.String() != "10.1.4.0/24" || engines != 3 {
		t.Errorf("attempts %d, topology %s, engines made %d; want 3, the last subnet, one engine an attempt", res.Attempts, res.Topology.Subnet4, engines)
	}

	// Attempts bound the loop; without Teardown nothing is removed.
	f = &fakeSteps{ups: []error{conflict, conflict, conflict}}
	_, err = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithRetry(Retry{Attempts: 2, Next: next}))
	if !errors.Is(err, lab.ErrConflict) || !slices.Equal(f.calls, []string{"up 10.1.2.0/24", "up 10.1.3.0/24"}) {
		t.Errorf("bounded: err %v, calls %q", err, f.calls)
	}

	// Another failure, or one If declines, is not retried.
	f = &fakeSteps{ups: []error{errors.New("no space left on device")}}
	_, err = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithRetry(Retry{Attempts: 6, Next: next, Teardown: true}))
	if err == nil || len(f.calls) != 1 {
		t.Errorf("not a conflict: err %v, calls %q", err, f.calls)
	}
	f = &fakeSteps{ups: []error{conflict}}
	_, _ = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithRetry(Retry{Attempts: 6, Next: next, If: func(err error) bool { return strings.Contains(err.Error(), "overlaps") }}))
	if len(f.calls) != 1 {
		t.Errorf("If declined: calls %q", f.calls)
	}

	// Next's own failure ends it.
	f = &fakeSteps{ups: []error{conflict}}
	_, err = Lab(ctx, nil, topo(t, "10.1.2.0/24"), f.option(), WithoutGate(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithRetry(Retry{Attempts: 6, Next: func(context.Context, int) (topology.Topology, error) {
			return topology.Topology{}, errors.New("no free subnet")
		}}))
	if err == nil || err.Error() != "no free subnet" {
		t.Errorf("Next failed: err = %v", err)
	}
}

// TestUpTimeout bounds each attempt of Up, and only Up.
func TestUpTimeout(t *testing.T) {
	f := &fakeSteps{report: passing()}
	_, err := Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}),
		WithUpTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dl, ok := f.upCtx[0].Deadline()
	if !ok || time.Until(dl) > time.Minute {
		t.Errorf("Up's context: deadline %v (%v)", dl, ok)
	}
	f = &fakeSteps{report: passing()}
	_, _ = Lab(context.Background(), nil, topo(t, "10.1.2.0/24"), f.option(), WithImages(images.Refs{DNS: "d", Host: "h"}))
	if _, ok := f.upCtx[0].Deadline(); ok {
		t.Error("Up's context has a deadline without WithUpTimeout")
	}
}

// TestUnansweredIsTheMachineNotTheLab: a dnscheck whose only failures are
// queries nobody answered is the machine's problem (an overloaded
// machine), never a failed check; any answer that is wrong, or a
// resolv.conf that points elsewhere, is a verdict.
func TestUnansweredIsTheMachineNotTheLab(t *testing.T) {
	nx := dnscheck.Result{Reason: dnscheck.ReasonNXDomain}
	cases := []struct {
		name string
		rep  dnscheck.Report
		want bool
	}{
		{"all passed", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{pass, pass})}}, false},
		{"timeouts only", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout, pass}), host([]dnscheck.Result{timeout, timeout})}}, true},
		{"timeout and the paths disagree", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout, pass}, dnscheck.Finding{Kind: dnscheck.FindingMismatch})}}, true},
		{"the check could not run", dnscheck.Report{Hosts: []dnscheck.HostReport{host(nil, dnscheck.Finding{Kind: dnscheck.FindingRun})}}, true},
		{"a wrong answer beside a timeout", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout}), host([]dnscheck.Result{wrong})}}, false},
		{"NXDOMAIN", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{nx, pass})}}, false},
		{"resolv.conf elsewhere", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{timeout}, dnscheck.Finding{Kind: dnscheck.FindingResolvElsewhere})}}, false},
		{"only a warning", dnscheck.Report{Hosts: []dnscheck.HostReport{host([]dnscheck.Result{pass}, dnscheck.Finding{Kind: dnscheck.FindingResolvExtra, Warning: true})}}, false},
	}
	for _, c := range cases {
		if got := Unanswered(c.rep); got != c.want {
			t.Errorf("%s: Unanswered = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestConflict(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("%w: a container named x exists that lab did not create", lab.ErrConflict), true},
		{fmt.Errorf("create network: %w", errors.New("Pool overlaps with other one on this address space")), true},
		{context.DeadlineExceeded, false},
	} {
		if got := Conflict(c.err); got != c.want {
			t.Errorf("Conflict(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestTeardown removes the lab on a cancelled context, and tries a failed
// removal once more: the first removal of a container fails, as a loaded
// engine's sometimes does ("did not receive an exit event").
func TestTeardown(t *testing.T) {
	eng := fake.New("fake")
	tp := topo(t, "10.1.2.0/24")
	if err := eng.AddLab(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	failed := 0
	eng.Fail = func(op, target string) error {
		if op == "remove container" && failed == 0 {
			failed++
			return errors.New("did not receive an exit event")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The fake's Containers fails on a cancelled context: Teardown's own
	// context must be live.
	if err := Teardown(ctx, eng, tp.Name); err != nil {
		t.Fatal(err)
	}
	if failed != 1 {
		t.Errorf("failed removals %d, want 1", failed)
	}
	if left := eng.Objects(tp.Name); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}
