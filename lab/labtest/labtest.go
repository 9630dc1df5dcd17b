// Package labtest gives end-to-end tests a Docker engine with the lab's
// images built, once per test binary, like httptest gives them a server.
package labtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
)

var (
	once sync.Once
	eng  *lab.Docker
	refs images.Refs
	err  error
	skip string
)

// Docker connects to the local engine and makes sure the lab's images exist,
// once per test binary. The test is skipped in -short mode, and when there is
// no engine and CI is unset; in CI, where an engine must be, it fails.
func Docker(tb testing.TB) (*lab.Docker, images.Refs) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("end-to-end test needs Docker; skipped in -short mode")
	}
	once.Do(func() {
		ctx := context.Background()
		d, cerr := lab.Connect(ctx)
		if cerr != nil {
			if os.Getenv("CI") == "" {
				skip = "no Docker engine here and CI is unset, so the end-to-end test cannot run: " + cerr.Error()
				return
			}
			err = cerr
			return
		}
		bctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		r, berr := images.Ensure(bctx, d.Client())
		if berr != nil {
			err = fmt.Errorf("build images: %w", berr)
			return
		}
		eng, refs = d, r
	})
	if skip != "" {
		tb.Skip(skip)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return eng, refs
}
