package labcontainers

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
)

// CleanupLab removes the lab when the test ends, passed or failed, as
// testcontainers.CleanupContainer does for one container. Call it right
// after Run, before checking Run's error: a lab that failed half-way is
// returned with the error and must go too. A nil lab is ignored.
func CleanupLab(tb testing.TB, l *Lab) {
	tb.Helper()
	tb.Cleanup(func() {
		if l == nil {
			return
		}
		// The test's own context may be over; removal needs its own.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Terminate(ctx); err != nil {
			tb.Errorf("%v (remove it with: lab down --name %s)", err, l.Topology.Name)
		}
	})
}

var shared struct {
	once sync.Once
	d    *docker.Docker
	refs images.Refs
	skip string
	err  error
}

// Engine is the local Docker engine with the lab's images built, once per
// test binary, for tests that bring labs up (Run, lab.Up, grading.Grade).
// The test is skipped in -short mode and in the unit tier (see
// internal/tier), and when there is no engine and the CI environment
// variable is unset, with a message saying why. In CI,
// where an engine must be, it fails instead.
func Engine(tb testing.TB) (*docker.Docker, images.Refs) {
	tb.Helper()
	tier.Docker(tb)
	shared.once.Do(func() {
		ctx := context.Background()
		d, err := docker.Connect(ctx)
		if err != nil {
			if os.Getenv("CI") == "" {
				shared.skip = "no Docker engine here and CI is unset, so the end-to-end test cannot run: " + err.Error()
				return
			}
			shared.err = fmt.Errorf("CI is set, so a Docker engine must be here: %w", err)
			return
		}
		bctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		refs, err := images.Ensure(bctx, d)
		if err != nil {
			shared.err = fmt.Errorf("build the lab's images: %w", err)
			return
		}
		shared.d, shared.refs = d, refs
	})
	if shared.skip != "" {
		tb.Skip(shared.skip)
	}
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.d, shared.refs
}

// NewLab brings a lab up for the test and removes it when the test ends,
// like httptest.NewServer: Engine (so it skips or fails as Engine does),
// then Run on Engine's connection and images, with testcontainers' log
// lines in the test's log, then CleanupLab. Any failure is fatal.
func NewLab(tb testing.TB, opts ...testcontainers.ContainerCustomizer) *Lab {
	tb.Helper()
	d, refs := Engine(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	all := append([]testcontainers.ContainerCustomizer{
		WithDocker(d), WithImages(refs.DNS, refs.Host), testcontainers.WithLogger(tclog.TestLogger(tb)),
	}, opts...)
	l, err := Run(ctx, all...)
	CleanupLab(tb, l)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}
