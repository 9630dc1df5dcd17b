package provision

import (
	"context"
	"log/slog"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Option configures Lab.
type Option func(*config)

type config struct {
	logger    *slog.Logger
	refs      images.Refs
	imageOpts []images.Option
	labOpts   []lab.Option
	gate      bool
	dnsBin    func(ctx context.Context) ([]byte, error)
	upTimeout time.Duration
	engine    func() runtime.Engine
	retry     Retry
	afterUp   func(ctx context.Context, st lab.LabStatus)

	// The steps themselves; tests replace them so that Lab's sequence,
	// options and retries are tested without an engine.
	ensure func(ctx context.Context, opts ...images.Option) (images.Refs, error)
	up     func(ctx context.Context, eng runtime.Engine, topo topology.Topology, opts ...lab.Option) (lab.LabStatus, error)
	check  func(ctx context.Context, topo topology.Topology, bin []byte) (dnscheck.Report, error)
	down   func(ctx context.Context, name string) error
}

func newConfig(d runtime.Engine, opts []Option) config {
	c := config{
		logger: progress.Discard(),
		gate:   true,
		dnsBin: func(ctx context.Context) ([]byte, error) { return dnscheck.Binary(ctx, "") },
		ensure: func(ctx context.Context, opts ...images.Option) (images.Refs, error) {
			return images.Ensure(ctx, d, opts...)
		},
		engine: func() runtime.Engine { return d },
		up:     lab.Up,
		check: func(ctx context.Context, topo topology.Topology, bin []byte) (dnscheck.Report, error) {
			return Check(ctx, d, topo, bin)
		},
		down: func(ctx context.Context, name string) error { return Teardown(ctx, d, name) },
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.retry.Attempts < 1 {
		c.retry.Attempts = 1
	}
	if c.retry.If == nil {
		c.retry.If = Conflict
	}
	return c
}

// WithLogger reports the images' and lab.Up's steps on l, one Info record
// a step (see images.WithLogger and lab.WithLogger; progress.New makes the
// lab's usual lines). Without it (or with nil) nothing is reported.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithImages runs the DNS server from refs.DNS and the other hosts from
// refs.Host, normally what images.Ensure returned earlier (lab grade
// ensures them once for a whole class). images.Ensure then runs only to
// fill in a field left empty.
func WithImages(refs images.Refs) Option {
	return func(c *config) { c.refs = refs }
}

// WithImageOptions passes opts to the images.Ensure call, after the
// logger's, e.g. images.WithRebuild().
func WithImageOptions(opts ...images.Option) Option {
	return func(c *config) { c.imageOpts = append(c.imageOpts, opts...) }
}

// WithLabOptions passes opts to lab.Up, after the images and the logger
// that Lab sets, so they win: lab.WithZoneDir, lab.WithSandbox,
// lab.WithReadyTimeout, …
func WithLabOptions(opts ...lab.Option) Option {
	return func(c *config) { c.labOpts = append(c.labOpts, opts...) }
}

// WithoutGate skips the DNS gate: Lab returns once lab.Up has seen the
// lab's DNS server answer inside its own container. Grading (whose
// dnscheck is a graded step), labcontainers (whose wait strategies ask
// from the clients) and `lab up --no-dnscheck` do without it.
func WithoutGate() Option {
	return func(c *config) { c.gate = false }
}

// WithDNSCheckBinary makes the gate copy the dnscheck binary load returns
// into the clients. The default is dnscheck.Binary(ctx, ""): bin/dnscheck
// of the module around the working directory, else one built from it.
func WithDNSCheckBinary(load func(ctx context.Context) ([]byte, error)) Option {
	return func(c *config) {
		if load != nil {
			c.dnsBin = load
		}
	}
}

// WithUpTimeout bounds each lab.Up attempt (not the images, nor the gate)
// by d; lab.Up removes what it made when the time runs out. Without it
// only ctx bounds Up.
func WithUpTimeout(d time.Duration) Option {
	return func(c *config) { c.upTimeout = d }
}

// WithEngine makes lab.Up create the lab through the engine newEngine
// returns, called afresh for each attempt, instead of through d (images,
// the gate and the teardown still use d). labcontainers hands lab.Up an
// engine that creates the hosts with testcontainers-go.
func WithEngine(newEngine func() runtime.Engine) Option {
	return func(c *config) {
		if newEngine != nil {
			c.engine = newEngine
		}
	}
}

// WithAfterUp calls fn with lab.Up's status once the lab is up, before the
// gate: `lab up` enables ssh and prints the status there, so that a person
// sees the lab while the clients are being checked.
func WithAfterUp(fn func(ctx context.Context, st lab.LabStatus)) Option {
	return func(c *config) { c.afterUp = fn }
}

// Retry says how Lab tries lab.Up again when it fails on a conflict,
// typically a subnet another Docker network took: on a fresh subnet, after
// removing what an earlier run of the same lab left.
type Retry struct {
	// Attempts is how many times lab.Up is tried in all; less than 2
	// means once.
	Attempts int
	// Next proposes the topology of attempt n (1, 2, …; attempt 0 is the
	// topology given to Lab), normally the same lab on a fresh subnet.
	// Nil tries the same topology again.
	Next func(ctx context.Context, attempt int) (topology.Topology, error)
	// If says which failures are tried again; nil is Conflict.
	If func(error) bool
	// Teardown removes the lab (Teardown, by name) between attempts: a
	// leftover lab of the same name that lab.Up refused to adopt is gone
	// for the next one.
	Teardown bool
}

// WithRetry tries lab.Up again as r says. Without it lab.Up is tried once.
func WithRetry(r Retry) Option {
	return func(c *config) { c.retry = r }
}
