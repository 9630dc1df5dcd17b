package lab

import (
	"log/slog"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Option configures Up.
type Option func(*upConfig)

type upConfig struct {
	logger       *slog.Logger
	zoneDir      string
	dnsImage     string
	hostImage    string
	readyTimeout time.Duration
	sandbox      *runtime.Sandbox
	pollInterval time.Duration
	now          func() time.Time
	// afterStage lets tests fail Up at a chosen point, to prove cleanup.
	// It is called concurrently for the per-host "create" stage.
	afterStage func(stage string) error
}

func newUpConfig(opts []Option) upConfig {
	c := upConfig{
		logger:       progress.Discard(),
		dnsImage:     topology.DefaultDNSImage,
		hostImage:    topology.DefaultHostImage,
		readyTimeout: 60 * time.Second,
		pollInterval: 50 * time.Millisecond,
		now:          time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithLogger makes Up report each step as one Info record on l, its
// message the line a person reads (progress.NewText prints just that) and
// its attributes lab, stage and, for a host's step, host. Without it (or
// with nil) Up reports nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *upConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithZoneDir makes the DNS server serve a student's own zone files from dir
// instead of the generated ones; see topology.ZonesFromDir for what dir must hold.
func WithZoneDir(dir string) Option {
	return func(c *upConfig) { c.zoneDir = dir }
}

// WithImages sets the images of the DNS server and of the other hosts,
// normally the references images.Ensure returns. Empty values keep the
// defaults, DefaultDNSImage and DefaultHostImage.
func WithImages(dns, host string) Option {
	return func(c *upConfig) {
		if dns != "" {
			c.dnsImage = dns
		}
		if host != "" {
			c.hostImage = host
		}
	}
}

// WithReadyTimeout bounds how long Up waits for the DNS server to answer
// when ctx itself has no earlier deadline. The default is one minute.
func WithReadyTimeout(d time.Duration) Option {
	return func(c *upConfig) {
		if d > 0 {
			c.readyTimeout = d
		}
	}
}

// WithClock makes Up measure its phases with now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *upConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithSandbox confines the lab's chat hosts (webserver and clients) for
// grading untrusted programs: see runtime.Sandbox, and DefaultSandbox for
// the usual limits. The lab's network is made internal. Interactive labs are made
// without it.
func WithSandbox(s runtime.Sandbox) Option {
	return func(c *upConfig) { c.sandbox = &s }
}
