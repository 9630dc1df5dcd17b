package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Observer is the grader's agent on each host of a lab (LabRuntime): it
// reads the state of a host that no event announces, where each thread of
// the given processes is blocked and the host's sockets with their queues,
// and signals processes of a host without starting a command there, which
// is cheaper than runtime.Process.Signal one process at a time. The pacing
// rule ("settled", see README.md) and the TCP-level Milestone 4 checks are
// built on it. Hosts without it run scenarios unpaced.
type Observer interface {
	Observe(ctx context.Context, host string, pids []int) (HostState, error)
	SignalAll(ctx context.Context, host string, sig syscall.Signal, pids []int) error
}

// ErrFlooded is an Observer's error for a host that holds far more sockets
// than a chat could need: it does not read their tables, so that a
// submission's flood of sockets cannot make its readings miss their
// deadline, and a check that needs them cannot be judged (the grader
// blames the submission, with that reason).
var ErrFlooded = errors.New("too many for the grader to read its connections")

// HostState is one reading of a host.
type HostState struct {
	Tasks   []TaskState
	Sockets []Socket
}

// TaskState is one thread of an observed process, from
// /proc/PID/task/TID/syscall and stat.
type TaskState struct {
	PID, TID int
	// State is the scheduler state letter of stat (R, S, D, Z, ...).
	State byte
	// Running is true when syscall says "running" (or State is R).
	Running bool
	// Syscall is the number of the system call the thread is blocked in, -1
	// when it is blocked outside one or unknown.
	Syscall int
	// Args are the call's first arguments.
	Args [6]uint64
	// Readable is false when the kernel refused to show the call.
	Readable bool
	// RunTime is the CPU time the thread has used and RunDelay how long it
	// has waited, runnable, for a CPU, both over its life (schedstat's
	// first two fields); Sched is false when the kernel does not keep them.
	RunTime, RunDelay time.Duration
	Sched             bool
}

// Socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Proto         string // tcp or udp
	Local, Remote netip.AddrPort
	State         TCPState
	TxQueue       uint64
	RxQueue       uint64
	// Inode is 0 for a connection still in a listener's accept queue: no
	// program has it yet.
	Inode uint64
	// Timer is the time left on the socket's timer, in clock ticks; for a
	// TIME_WAIT socket it starts again when the same connection is made
	// anew, which tells a new connection from an old one of the same ports.
	Timer uint64
}

// TCPState is the kernel's state number of a socket (/proc/net/tcp "st").
type TCPState int

// The TCP states the engine reads.
const (
	TCPEstablished TCPState = 0x01
	TCPSynSent     TCPState = 0x02
	TCPSynRecv     TCPState = 0x03
	TCPFinWait1    TCPState = 0x04
	TCPFinWait2    TCPState = 0x05
	TCPTimeWait    TCPState = 0x06
	TCPClose       TCPState = 0x07
	TCPCloseWait   TCPState = 0x08
	TCPLastAck     TCPState = 0x09
	TCPListen      TCPState = 0x0A
	TCPClosing     TCPState = 0x0B
)

func (s TCPState) String() string {
	names := map[TCPState]string{
		TCPEstablished: "ESTABLISHED", TCPSynSent: "SYN_SENT", TCPSynRecv: "SYN_RECV",
		TCPFinWait1: "FIN_WAIT1", TCPFinWait2: "FIN_WAIT2", TCPTimeWait: "TIME_WAIT",
		TCPClose: "CLOSE", TCPCloseWait: "CLOSE_WAIT", TCPLastAck: "LAST_ACK",
		TCPListen: "LISTEN", TCPClosing: "CLOSING",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("state %d", int(s))
}

// Linux x86-64 and arm64 system call numbers the pacing rule tells apart.
// Only x86-64 is listed: the lab's images are built for the host, and on
// another architecture the rule degrades to "not running" (see sleeping).
const (
	sysRead           = 0
	sysPoll           = 7
	sysSelect         = 23
	sysNanosleep      = 35
	sysClockNanosleep = 230
	sysPselect6       = 270
	sysPpoll          = 271
)

// ParseTask reads one thread of a process as "PID TID <syscall line>|<stat
// line>": the IDs, then the lines of /proc/PID/task/TID/syscall and stat
// (the grader's agent prints them so, see package grading).
func ParseTask(l string) (TaskState, bool) {
	head, rest, ok := strings.Cut(l, "|")
	if !ok {
		return TaskState{}, false
	}
	f := strings.Fields(head)
	if len(f) < 2 {
		return TaskState{}, false
	}
	pid, err1 := strconv.Atoi(f[0])
	tid, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return TaskState{}, false
	}
	t := TaskState{PID: pid, TID: tid, Syscall: -1}
	if i := strings.LastIndexByte(rest, ')'); i >= 0 && i+2 < len(rest) {
		t.State = rest[i+2]
		// schedstat follows stat after a '|' that only the agent writes
		// (a '|' in the program's name comes before the last ')').
		if j := strings.LastIndexByte(rest, '|'); j > i {
			if f := strings.Fields(rest[j+1:]); len(f) >= 2 {
				run, err1 := strconv.ParseInt(f[0], 10, 64)
				delay, err2 := strconv.ParseInt(f[1], 10, 64)
				if err1 == nil && err2 == nil && run >= 0 && delay >= 0 {
					t.RunTime, t.RunDelay, t.Sched = time.Duration(run), time.Duration(delay), true
				}
			}
		}
	}
	sc := f[2:]
	switch {
	case len(sc) == 0:
		// The kernel showed nothing: no permission to read the call.
	case sc[0] == "running":
		t.Running, t.Readable = true, true
	default:
		n, err := strconv.Atoi(sc[0])
		if err != nil {
			break
		}
		t.Readable = true
		t.Syscall = n
		for i := 0; i < 6 && i+1 < len(sc); i++ {
			v, _ := strconv.ParseUint(strings.TrimPrefix(sc[i+1], "0x"), 16, 64)
			t.Args[i] = v
		}
	}
	if t.State == 'R' {
		t.Running = true
	}
	return t, true
}

// ParseSocket reads a line of /proc/net/{tcp,tcp6,udp,udp6} as the kernel
// prints it, after the table's name: "tcp 0: LOCAL REMOTE ST TX:RX TR:WHEN
// RETRNSMT UID TIMEOUT INODE ..." (addresses in hex, in the kernel's byte
// order); a line cut short after the state still counts.
func ParseSocket(f []string) (Socket, bool) {
	if len(f) < 5 || !strings.HasSuffix(f[1], ":") {
		return Socket{}, false
	}
	s := Socket{Proto: strings.TrimSuffix(f[0], "6")}
	var ok1, ok2 bool
	s.Local, ok1 = parseProcAddr(f[2])
	s.Remote, ok2 = parseProcAddr(f[3])
	st, err := strconv.ParseUint(f[4], 16, 8)
	if !ok1 || !ok2 || err != nil {
		return Socket{}, false
	}
	s.State = TCPState(st)
	if len(f) > 5 {
		tx, rx, ok := strings.Cut(f[5], ":")
		if !ok {
			return Socket{}, false
		}
		s.TxQueue, _ = strconv.ParseUint(tx, 16, 64)
		s.RxQueue, _ = strconv.ParseUint(rx, 16, 64)
	}
	if len(f) > 6 {
		if _, when, ok := strings.Cut(f[6], ":"); ok {
			s.Timer, _ = strconv.ParseUint(when, 16, 64)
		}
	}
	if len(f) > 10 {
		s.Inode, _ = strconv.ParseUint(f[10], 10, 64)
	}
	return s, true
}

// parseProcAddr reads "0100007F:1388" (IPv4) or the 32-digit IPv6 form;
// each 32-bit word is in host (little-endian) order.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, false
	}
	var b [16]byte
	for w := 0; w < len(h)/8; w++ {
		v, err := strconv.ParseUint(h[w*8:w*8+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		b[w*4], b[w*4+1], b[w*4+2], b[w*4+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(a, uint16(port)), true
}

// sleeping says whether a thread waits on a timer rather than on input:
// time.sleep (clock_nanosleep), a bare nanosleep on a program's main
// thread, or select/poll on no descriptors. Go's runtime sleeps briefly in
// nanosleep on helper threads, so those do not count.
func (t TaskState) sleeping() bool {
	switch t.Syscall {
	case sysClockNanosleep:
		return true
	case sysNanosleep:
		return t.TID == t.PID
	case sysSelect, sysPselect6:
		return t.Args[0] == 0
	case sysPoll, sysPpoll:
		return t.Args[1] == 0
	}
	return false
}

// readingStdin says whether the thread is blocked in read(0, ...).
func (t TaskState) readingStdin() bool {
	return t.Readable && !t.Running && t.Syscall == sysRead && t.Args[0] == 0
}
