package chat

import (
	"testing"
	"time"
)

// TestPassGap checks the spacing of the flusher's write passes: it follows
// what a pass costs, so a cheap pass (a few clients) is followed at once
// and only an expensive one makes messages wait for a batch, longer on an
// oversubscribed machine.
func TestPassGap(t *testing.T) {
	s := NewServer() // defaults: share 0.25, batch delay 250ms
	for _, tc := range []struct {
		name       string
		cost, took time.Duration
		want       time.Duration
	}{
		// Two clients: microseconds, far below the old fixed 40ms.
		{"cheap pass", 20 * time.Microsecond, 25 * time.Microsecond, 80 * time.Microsecond},
		// One preemption does not make a small server batch.
		{"cheap pass preempted", 20 * time.Microsecond, 5 * time.Millisecond, 80 * time.Microsecond},
		// A thousand sockets: the flusher stays within a quarter of a CPU.
		{"costly pass", 12 * time.Millisecond, 13 * time.Millisecond, 48 * time.Millisecond},
		// The pass got 30% of a CPU: the gap grows with the square of
		// the shortfall, (0.6/0.3)^2 = 4 times.
		{"oversubscribed machine", 12 * time.Millisecond, 40 * time.Millisecond, 192 * time.Millisecond},
		{"capped by the batch delay", 200 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond},
		{"clock went backwards", -time.Millisecond, 0, 0},
	} {
		if got := s.passGap(tc.cost, tc.took); got != tc.want {
			t.Errorf("%s: passGap(%v, %v) = %v, want %v", tc.name, tc.cost, tc.took, got, tc.want)
		}
	}

	if got := NewServer(WithBatchDelay(0)).passGap(time.Second, time.Second); got != 0 {
		t.Errorf("batch delay 0: passGap = %v, want 0 (no batching)", got)
	}
	if got := NewServer(WithFlushShare(1)).passGap(10*time.Millisecond, 12*time.Millisecond); got > 12*time.Millisecond {
		t.Errorf("share 1: passGap = %v, want at most the pass itself", got)
	}
	for _, bad := range []float64{0, -1, 2} {
		if got := NewServer(WithFlushShare(bad)).flushShare; got != 1 {
			t.Errorf("WithFlushShare(%v): share %v, want 1", bad, got)
		}
	}
}

// TestFlusherClockCountsCPU checks that a pass's cost is CPU time, which a
// sleep does not add to (where the platform has a thread CPU clock).
func TestFlusherClockCountsCPU(t *testing.T) {
	pinFlusher()
	defer unpinFlusher()
	start := flusherClock()
	time.Sleep(50 * time.Millisecond)
	slept := flusherClock() - start
	if slept < 0 {
		t.Fatalf("clock went backwards: %v", slept)
	}
	if !threadCPUClock {
		t.Skip("no thread CPU clock on this platform: a pass's cost is its duration")
	}
	if slept >= 40*time.Millisecond {
		t.Errorf("a 50ms sleep counted as %v of CPU time", slept)
	}
}
