//go:build linux

package chat

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPUTime = 3

// threadCPUClock says that flusherClock measures CPU time.
const threadCPUClock = true

// pinFlusher locks the flusher to its thread, so that flusherClock
// measures the flusher and nothing else.
func pinFlusher() { runtime.LockOSThread() }

func unpinFlusher() { runtime.UnlockOSThread() }

// flusherClock returns the CPU time the calling thread has used. A pass's
// cost is the difference between two readings, so the time the thread
// spent waiting for a CPU on a busy machine does not count.
func flusherClock() time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return time.Duration(nanotime())
	}
	return time.Duration(ts.Nano())
}

// writeNonblock is one write(2) to a non-blocking socket, and
// readNonblock one read(2). Neither tells the scheduler about the system
// call: a call that cannot block needs no other thread to take over, and
// the scheduler's bookkeeping would wake the runtime's monitor thread
// (sysmon) again and again, which on a busy server costs more than the
// bookkeeping itself.
func writeNonblock(fd uintptr, b []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func readNonblock(fd uintptr, b []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// nonblocking reports whether fd is in non-blocking mode, which
// writeNonblock and readNonblock need.
func nonblocking(fd uintptr) bool {
	fl, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	return e == 0 && fl&syscall.O_NONBLOCK != 0
}
