package images

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
)

// Option configures Ensure.
type Option func(*config)

// BaseSource says where the base image's root filesystem comes from.
type BaseSource string

// The base sources.
const (
	// FromDebootstrap builds the base offline from Debian packages with
	// debootstrap and imports it. It is the default.
	FromDebootstrap BaseSource = "debootstrap"
	// FromRegistry builds the base FROM debian:bookworm-slim with
	// images/base/Dockerfile. It needs a reachable registry and is used only
	// when asked for.
	FromRegistry BaseSource = "registry"
)

// Environment variables read by Ensure when no option says otherwise.
const (
	// EnvBase selects the base source: "debootstrap" (default) or "registry".
	EnvBase = "LAB_BASE"
	// EnvMirror overrides the Debian mirror read from the host's apt sources.
	EnvMirror = "LAB_DEBIAN_MIRROR"
)

type config struct {
	logger   *slog.Logger
	rebuild  bool
	source   BaseSource
	mirror   string
	cacheDir string
	tmpDir   string
	now      func() time.Time
	// debootstrap makes the root filesystem in dir; replaced in tests.
	debootstrap func(ctx context.Context, cfg *config, dir string) error
}

// WithLogger logs one Info record per step on l: whether each image is
// cached or being built, and how long a build took. The message is the
// line a person reads; the attributes are image (base, dnsserver, host),
// ref, stage, and where they apply size (bytes) and elapsed. Without it (or
// with nil) nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRebuild ignores the cache and builds every image again.
func WithRebuild() Option {
	return func(c *config) { c.rebuild = true }
}

// WithBaseSource chooses where the base image comes from, overriding
// LAB_BASE.
func WithBaseSource(s BaseSource) Option {
	return func(c *config) { c.source = s }
}

// WithMirror sets the Debian mirror URL debootstrap downloads from,
// overriding LAB_DEBIAN_MIRROR and the host's apt sources.
func WithMirror(url string) Option {
	return func(c *config) { c.mirror = url }
}

// WithCacheDir sets the folder where debootstrap keeps downloaded packages
// between builds. The default is lab3/debootstrap in the user's cache folder.
func WithCacheDir(dir string) Option {
	return func(c *config) { c.cacheDir = dir }
}

// WithTempDir sets the folder under which the base's root filesystem is
// assembled (about 350 MB, removed afterwards). The default is os.TempDir().
func WithTempDir(dir string) Option {
	return func(c *config) { c.tmpDir = dir }
}

func newConfig(opts []Option) (config, error) {
	c := config{now: time.Now, debootstrap: runDebootstrap}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = progress.Discard()
	}
	if c.source == "" {
		c.source = BaseSource(getenv(EnvBase))
		if c.source == "" {
			c.source = FromDebootstrap
		}
	}
	if c.source != FromDebootstrap && c.source != FromRegistry {
		return config{}, fmt.Errorf("unknown base source %q: set %s to %q or %q", c.source, EnvBase, FromDebootstrap, FromRegistry)
	}
	if c.mirror == "" {
		c.mirror = getenv(EnvMirror)
	}
	if c.mirror != "" && !isMirrorURL(c.mirror) {
		return config{}, fmt.Errorf("mirror %q: want an http://, https:// or file:/// URL (%s or WithMirror)", c.mirror, EnvMirror)
	}
	if c.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		c.cacheDir = filepath.Join(dir, "lab3", "debootstrap")
	}
	if !filepath.IsAbs(c.cacheDir) {
		abs, err := filepath.Abs(c.cacheDir)
		if err != nil {
			return config{}, fmt.Errorf("cache dir %s: %w", c.cacheDir, err)
		}
		c.cacheDir = abs
	}
	if c.tmpDir == "" {
		c.tmpDir = os.TempDir()
	}
	return c, nil
}
