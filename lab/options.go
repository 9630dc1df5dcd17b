package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	share        string
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

// SharedDir is where WithShare mounts the shared folder on every host.
const SharedDir = "/shared"

// LabelShare is on every host of a lab made WithShare: the folder of the
// engine's machine mounted at SharedDir.
const LabelShare = "lab3.share"

// ErrSandboxedShare is returned by Up for a lab asked to be both sandboxed
// and shared: a graded lab never mounts a folder of the machine.
var ErrSandboxedShare = errors.New("a sandboxed (grading) lab never shares a folder")

// WithShare mounts dir, a folder of the engine's machine (this one, for a
// local engine), read-write at SharedDir (/shared) on every host, as
// Kathará gives every host /shared: a student edits there with their own
// editor and runs the result in the lab without a copy. Interactive labs
// only: with WithSandbox, Up refuses (ErrSandboxedShare). A lab made with a
// shared folder keeps it until lab down; an Up without WithShare keeps it
// too, and one that shares another folder is refused (ErrConflict).
func WithShare(dir string) Option {
	return func(c *upConfig) { c.share = dir }
}

// checkShare makes the shared folder absolute and checks that it is a
// folder, before anything is created.
func (c *upConfig) checkShare() error {
	if c.share == "" {
		return nil
	}
	if c.sandbox != nil {
		return fmt.Errorf("share %s: %w", c.share, ErrSandboxedShare)
	}
	abs, err := filepath.Abs(c.share)
	if err != nil {
		return fmt.Errorf("share %s: %w", c.share, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("share %s: %w", c.share, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("share %s: not a folder", c.share)
	}
	c.share = abs
	return nil
}
