//go:build !linux

package chat

import (
	"syscall"
	"time"
)

const threadCPUClock = false

func pinFlusher() {}

func unpinFlusher() {}

// flusherClock returns the monotonic time: without a per-thread CPU clock,
// a pass's cost is its duration.
func flusherClock() time.Duration { return time.Duration(nanotime()) }

func writeNonblock(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

func readNonblock(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }

func nonblocking(uintptr) bool { return true }
