// Package outputtest collects a process's output in end-to-end tests and
// lets them wait for text to appear in it, without polling.
package outputtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// Output collects a stream and wakes waiters as it grows.
type Output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
	eof     chan struct{} // closed when the stream ends
}

// Watch reads r until it ends, in a goroutine of its own.
func Watch(r io.Reader) *Output {
	o := &Output{changed: make(chan struct{}, 1), eof: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			select {
			case o.changed <- struct{}{}:
			default:
			}
			if err != nil {
				close(o.eof)
				return
			}
		}
	}()
	return o
}

// String is the output so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// WaitFor returns once the output holds s. It fails the test when ctx
// ends first, or when the stream ends without it.
func (o *Output) WaitFor(t testing.TB, ctx context.Context, s string) {
	t.Helper()
	if err := o.wait(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func (o *Output) wait(ctx context.Context, s string) error {
	for !strings.Contains(o.String(), s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("never saw %q; output so far:\n%s", s, o.String())
		case <-o.changed:
		case <-o.eof:
			if !strings.Contains(o.String(), s) {
				return fmt.Errorf("the output ended without %q:\n%s", s, o.String())
			}
		}
	}
	return nil
}
