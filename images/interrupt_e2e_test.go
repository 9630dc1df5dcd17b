package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/mountinfo"
)

// TestInterruptedBaseBuildLeavesNothingBehind cancels a real debootstrap
// once it has mounted /proc in the new root (the moment a careless cleanup
// would delete through a mount) and checks that no mount, no folder and no
// image change is left.
func TestInterruptedBaseBuildLeavesNothingBehind(t *testing.T) {
	cli, refs := ensured(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			t.Skip("not root: debootstrap needs root; set CI=1 to make this a failure")
		}
		t.Fatal("debootstrap needs root (CI is set)")
	}
	before, err := cli.ImageInspect(t.Context(), refs.Base)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Ensure(ctx, runtimeOf(t), WithRebuild(), WithTempDir(tmp))
		done <- err
	}()

	// Wait for debootstrap's first mount under our folder, or for Ensure
	// to end without one.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(8 * time.Minute)
	realTmp, err := filepath.EvalSymlinks(tmp)
	if err != nil {
		t.Fatal(err)
	}
wait:
	for {
		select {
		case err := <-done:
			t.Fatalf("Ensure ended before debootstrap mounted anything: %v", err)
		case <-deadline:
			t.Fatal("debootstrap mounted nothing within 8 minutes")
		case <-tick.C:
			info, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			if len(mountinfo.Under(info, realTmp)) > 0 {
				break wait
			}
		}
	}
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Ensure after cancel: %v, want context.Canceled", err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if m := mountinfo.Under(info, realTmp); len(m) > 0 {
		t.Errorf("mounts left behind: %v", m)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in the temp folder: %v", left)
	}
	after, err := cli.ImageInspect(context.Background(), refs.Base)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != before.ID {
		t.Errorf("the base image changed from %s to %s by a cancelled build", before.ID, after.ID)
	}
}
