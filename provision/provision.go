// Package provision brings a lab up in one step, the same way for every
// caller: the images (images.Ensure, unless given), the lab itself
// (lab.Up, which waits until the DNS server answers inside its container)
// and then the DNS gate, dnscheck from every client with the lab's
// patience. `lab up`, grading and labcontainers all provision through Lab;
// they differ only in options (a sandbox, fixed images, no gate, retries on
// a taken subnet).
package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// The lab's patience with its own DNS server, for the gate, `lab dnscheck`
// and a graded lab's dnscheck: longer than the checker's own default (1 s,
// one retry). The server asked is the lab's own named, whatever zones it
// serves: a zone it cannot load gets SERVFAIL, a name outside them
// REFUSED, and a stopped server is named before any query. So silence is a
// machine too loaded to answer in time (a busy CI runner, a laptop
// building images, a grader running many labs), not a broken server, and
// only silence waits.
const (
	DNSTimeout = 3 * time.Second
	DNSRetries = 2
)

// Stage names a step of Lab.
type Stage string

// Lab's stages, in order.
const (
	StageImages   Stage = "images"
	StageUp       Stage = "up"
	StageDNSCheck Stage = "dnscheck"
)

// Error is how Lab fails: Stage is the step, Err why. Its text is Err's,
// after "images: " or "dnscheck: " for those stages (lab.Up's errors speak
// for themselves). After a StageDNSCheck error the lab is up, and stays up
// so that its zones can be debugged.
type Error struct {
	Stage Stage
	Err   error
}

func (e *Error) Error() string {
	if e.Stage == StageUp {
		return e.Err.Error()
	}
	return string(e.Stage) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// GateError is the gate's failure when the check ran: Report says what
// each client saw. Unanswered tells an overloaded machine (only silence)
// from a wrong answer.
type GateError struct {
	Report dnscheck.Report
}

func (e *GateError) Error() string {
	if e.Unanswered() {
		return fmt.Sprintf("the lab's DNS server gave no answer in %d tries of %s: the machine is overloaded", DNSRetries+1, DNSTimeout)
	}
	passed, failed := e.Counts()
	return fmt.Sprintf("%d of %d checks failed from the clients", failed, passed+failed)
}

// Unanswered reports whether the check failed only on silence: see
// Unanswered.
func (e *GateError) Unanswered() bool { return Unanswered(e.Report) }

// Counts adds up the checks that passed and failed on every client.
func (e *GateError) Counts() (passed, failed int) { return Counts(e.Report) }

// Result is a provisioned lab.
type Result struct {
	// Topology is the lab as made: the last attempt's, when a retry
	// changed its subnet.
	Topology topology.Topology
	// Refs are the images the hosts run.
	Refs images.Refs
	// Status is what lab.Up returned; its Timings are Up's phases.
	Status lab.LabStatus
	// DNS is the gate's report; nil when the gate was off or could not
	// run the check.
	DNS *dnscheck.Report
	// Images and DNSCheck are how long the images and the gate took.
	Images, DNSCheck time.Duration
	// Attempts is how many times lab.Up was tried.
	Attempts int
}

// Timings are the phases in order, for --timings: "images", Up's phases,
// and "dnscheck" when the gate ran.
func (r Result) Timings() []lab.Phase {
	out := []lab.Phase{{Name: "images", Duration: r.Images}}
	out = append(out, r.Status.Timings...)
	if r.DNSCheck > 0 {
		out = append(out, lab.Phase{Name: "dnscheck", Duration: r.DNSCheck})
	}
	return out
}

// Lab provisions the lab topo on d: the images, unless WithImages gave
// them; lab.Up, tried again as WithRetry says; and, unless WithoutGate,
// the DNS gate: dnscheck from every client (Check). A failing step ends
// it, with an *Error naming the step; what Lab found so far is in the
// Result. A gate that ran and failed is an *Error wrapping a *GateError,
// with the report also in Result.DNS. lab.Up removes what it made when it
// fails; a lab that is up stays up, gate or not.
func Lab(ctx context.Context, d runtime.Engine, topo topology.Topology, opts ...Option) (Result, error) {
	c := newConfig(d, opts)
	res := Result{Topology: topo, Refs: c.refs}

	if res.Refs.DNS == "" || res.Refs.Host == "" {
		start := time.Now()
		refs, err := c.ensure(ctx, append([]images.Option{images.WithLogger(c.logger)}, c.imageOpts...)...)
		res.Images = time.Since(start)
		if err != nil {
			return res, &Error{Stage: StageImages, Err: err}
		}
		if res.Refs.DNS == "" {
			res.Refs.DNS = refs.DNS
		}
		if res.Refs.Host == "" {
			res.Refs.Host = refs.Host
		}
		res.Refs.Base = refs.Base
	}

	labOpts := append([]lab.Option{lab.WithLogger(c.logger), lab.WithImages(res.Refs.DNS, res.Refs.Host)}, c.labOpts...)
	for {
		if res.Attempts > 0 && c.retry.Next != nil {
			next, err := c.retry.Next(ctx, res.Attempts)
			if err != nil {
				return res, &Error{Stage: StageUp, Err: err}
			}
			res.Topology = next
		}
		res.Attempts++
		st, err := c.upOnce(ctx, res.Topology, labOpts)
		if err == nil {
			res.Status = st
			break
		}
		if res.Attempts >= c.retry.Attempts || !c.retry.If(err) || ctx.Err() != nil {
			return res, &Error{Stage: StageUp, Err: err}
		}
		if c.retry.Teardown {
			_ = c.down(ctx, res.Topology.Name)
		}
	}
	if c.afterUp != nil {
		c.afterUp(ctx, res.Status)
	}

	if !c.gate {
		return res, nil
	}
	start := time.Now()
	err := c.runGate(ctx, &res)
	res.DNSCheck = time.Since(start)
	if err != nil {
		return res, &Error{Stage: StageDNSCheck, Err: err}
	}
	return res, nil
}

// upOnce is one attempt of lab.Up, within the up timeout.
func (c *config) upOnce(ctx context.Context, topo topology.Topology, opts []lab.Option) (lab.LabStatus, error) {
	if c.upTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.upTimeout)
		defer cancel()
	}
	return c.up(ctx, c.engine(), topo, opts...)
}

// runGate checks from every client and judges the report.
func (c *config) runGate(ctx context.Context, res *Result) error {
	bin, err := c.dnsBin(ctx)
	if err != nil {
		return err
	}
	rep, err := c.check(ctx, res.Topology, bin)
	if err != nil {
		return err
	}
	res.DNS = &rep
	if !rep.Pass() {
		return &GateError{Report: rep}
	}
	return nil
}

// Check runs dnscheck.RunLab on topo's clients with the lab's patience
// (DNSTimeout, DNSRetries); opts come after those and can override them.
func Check(ctx context.Context, eng runtime.Engine, topo topology.Topology, bin []byte, opts ...dnscheck.Option) (dnscheck.Report, error) {
	opts = append([]dnscheck.Option{dnscheck.WithTimeout(DNSTimeout), dnscheck.WithRetries(DNSRetries)}, opts...)
	return dnscheck.RunLab(ctx, eng, topo, bin, opts...)
}

// Unanswered reports whether a failed dnscheck failed only because queries
// went unanswered or the check could not run, never on an answer. On a lab
// whose DNS server and resolv.conf are the lab's own, and which lab.Up saw
// answer, that is the machine (too loaded to answer in time), not the
// lab: an infrastructure problem, not a FAIL. A wrong answer, NXDOMAIN or a
// resolv.conf that points elsewhere is a verdict.
func Unanswered(rep dnscheck.Report) bool {
	failed := false
	for _, h := range rep.Hosts {
		for _, res := range h.Results {
			if res.Pass {
				continue
			}
			if res.Reason != dnscheck.ReasonTimeout {
				return false
			}
			failed = true
		}
		for _, f := range h.Findings {
			switch {
			case f.Warning:
			case f.Kind == dnscheck.FindingRun:
				failed = true
			case f.Kind != dnscheck.FindingMismatch:
				return false
			}
		}
	}
	return failed
}

// Counts adds up the checks that passed and failed on every client.
func Counts(rep dnscheck.Report) (passed, failed int) {
	for _, h := range rep.Hosts {
		p, f := h.Counts()
		passed += p
		failed += f
	}
	return passed, failed
}

// Conflict reports whether lab.Up failed on something in Docker standing
// in the way (lab.ErrConflict: a subnet in use, a leftover lab of the same
// name made otherwise) or on the engine's own "Pool overlaps" for a subnet
// another network took meanwhile: what a fresh subnet and a teardown can
// get past.
func Conflict(err error) bool {
	return err != nil && (errors.Is(err, lab.ErrConflict) || strings.Contains(err.Error(), "overlaps"))
}

// TeardownTimeout bounds Teardown.
const TeardownTimeout = 2 * time.Minute

// Teardown removes the lab called name (lab.Down) on a context of its own
// that survives ctx's cancellation, for up to TeardownTimeout: a
// cancelled grading or test still leaves nothing behind. A removal that
// fails is tried once more: a loaded engine sometimes misses a killed
// container's exit ("did not receive an exit event"), and by then the
// container is dead and a second removal succeeds.
func Teardown(ctx context.Context, eng runtime.Engine, name string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), TeardownTimeout)
	defer cancel()
	_, err := lab.Down(dctx, eng, name)
	if err != nil && dctx.Err() == nil {
		_, err = lab.Down(dctx, eng, name)
	}
	return err
}
