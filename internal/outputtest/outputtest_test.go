package outputtest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestWaitForSeesTextSplitAcrossWrites(t *testing.T) {
	r, w := io.Pipe()
	o := Watch(r)
	go func() {
		w.Write([]byte("[Server] Your user"))
		w.Write([]byte("name (alice) is valid\n"))
		w.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.WaitFor(t, ctx, "(alice) is valid")
	if got := o.String(); got != "[Server] Your username (alice) is valid\n" {
		t.Errorf("String() = %q", got)
	}
}

func TestWaitFailsWhenTheStreamEndsWithoutTheText(t *testing.T) {
	r, w := io.Pipe()
	o := Watch(r)
	go func() {
		w.Write([]byte("bye\n"))
		w.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := o.wait(ctx, "welcome")
	if err == nil || ctx.Err() != nil || !strings.HasPrefix(err.Error(), `the output ended without "welcome"`) {
		t.Errorf("wait on an ended stream: %v (ctx: %v), want it to end at once", err, ctx.Err())
	}
}

func TestWaitFailsWhenTheContextEnds(t *testing.T) {
	r, _ := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Watch(r).wait(ctx, "welcome"); err == nil || !strings.HasPrefix(err.Error(), `never saw "welcome"`) {
		t.Errorf("wait = %v", err)
	}
}
