package lab

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Option configures Up.
type Option func(*upConfig)

type upConfig struct {
	progress     io.Writer
	zoneDir      string
	dnsImage     string
	hostImage    string
	readyTimeout time.Duration
	sandbox      *Sandbox
	pollInterval time.Duration
	now          func() time.Time
	// afterStage lets tests fail Up at a chosen point, to prove cleanup.
	// It is called concurrently for the per-host "create" stage.
	afterStage func(stage string) error
	// mu serialises progress lines from concurrent steps.
	mu *sync.Mutex
}

func newUpConfig(opts []Option) upConfig {
	c := upConfig{
		progress:     io.Discard,
		dnsImage:     DefaultDNSImage,
		hostImage:    DefaultHostImage,
		readyTimeout: 60 * time.Second,
		pollInterval: 50 * time.Millisecond,
		now:          time.Now,
		mu:           &sync.Mutex{},
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c *upConfig) progressf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.progress, format+"\n", args...)
}

// WithProgress makes Up report each step as one line on w.
func WithProgress(w io.Writer) Option {
	return func(c *upConfig) {
		if w != nil {
			c.progress = w
		}
	}
}

// WithZoneDir makes the DNS server serve a student's own zone files from dir
// instead of the generated ones; see ZonesFromDir for what dir must hold.
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
// grading untrusted programs: see Sandbox, and DefaultSandbox for the usual
// limits. The lab's network is made internal. Interactive labs are made
// without it.
func WithSandbox(s Sandbox) Option {
	return func(c *upConfig) { c.sandbox = &s }
}
