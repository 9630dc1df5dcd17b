package images

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestBuildLockMakesTheSecondBuilderWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "images.lock")
	unlock, err := lockBuilds(t.Context(), path, func() { t.Error("the first builder waited") })
	if err != nil {
		t.Fatal(err)
	}

	waiting := make(chan struct{})
	got := make(chan func(), 1)
	go func() {
		second, err := lockBuilds(t.Context(), path, func() { close(waiting) })
		if err != nil {
			t.Error(err)
		}
		got <- second
	}()
	<-waiting // the second builder found the lock taken
	select {
	case <-got:
		t.Fatal("the second builder got the lock while the first held it")
	default:
	}
	unlock()
	if second := <-got; second != nil {
		second()
	}
}

func TestBuildLockWaitEndsWithTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.lock")
	unlock, err := lockBuilds(t.Context(), path, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(t.Context())
	_, err = lockBuilds(ctx, path, cancel) // gives up as soon as it must wait
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
