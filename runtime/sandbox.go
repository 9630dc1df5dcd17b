package runtime

import (
	"fmt"
	"strings"
)

// Sandbox confines a host that runs untrusted programs: bounded memory,
// processes, CPU and disk, only GraderCapabilities for root and a
// read-only root file system. It is a description; the implementation
// applies it when it creates the host (ContainerSpec.Sandbox). Package lab
// holds the limits grading uses (lab.DefaultSandbox).
//
// Programs that Command wraps run as UID:GID with no capabilities at all.
// The grader's own commands (resets, probes, captures) run as the host's
// root, which keeps only GraderCapabilities; a privileged exec would need
// the engine to hold every capability, which rootless and other confined
// engines do not.
type Sandbox struct {
	// Memory is the RAM a host may use, in bytes, its tmpfs contents
	// included; there is no swap beyond it.
	Memory int64
	// PIDs bounds the processes and threads on a host, the grader's own
	// commands included.
	PIDs int64
	// NanoCPUs is the CPU time a host may use, in billionths of a CPU.
	NanoCPUs int64
	// CPUShares is the host's CPU weight relative to other containers
	// (Docker's default is 1024): what it gets when the CPUs are contended.
	CPUShares int64
	// UID and GID are the user programs started through Command run as.
	UID, GID int
	// Tmpfs are the only writable places on a host; the root file system
	// is read-only.
	Tmpfs []Tmpfs
	// Shm is the size of /dev/shm in bytes.
	Shm int64
}

// Tmpfs is one size-limited, memory-backed writable folder of a sandboxed
// host. Its contents are lost when the host restarts.
type Tmpfs struct {
	Path string
	Size int64 // bytes
	Exec bool  // programs may be run from it
	// Owned makes it belong to the sandbox's UID:GID with mode 0700 (the
	// working folder); otherwise it belongs to root (mode 1777 if Shared).
	Owned  bool
	Shared bool // writable by everyone, sticky, as /tmp is
}

// GraderCapabilities are what the host's root keeps on a sandboxed host,
// for the grader's own commands: kill and clean up the student's processes
// and files (KILL, DAC_OVERRIDE, FOWNER, CHOWN, SYS_PTRACE to read /proc),
// drop to the student's user (SETUID, SETGID, SETPCAP), block the gateway
// (NET_ADMIN) and capture (NET_RAW). Programs started through
// Sandbox.Command lose all of them, bounding set included, and
// no-new-privileges keeps them from gaining any back.
var GraderCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID", "SETPCAP", "SYS_PTRACE", "NET_ADMIN", "NET_RAW"}

// MaxTimeWait is the most TCP connections a sandboxed host keeps in
// TIME_WAIT (net.ipv4.tcp_max_tw_buckets of its own network namespace);
// past it a closed connection skips TIME_WAIT. A chat lab leaves a few
// dozen; a submission that closes connections in a loop cannot pile up
// the 130,000 that made the grader's readings of the host's sockets miss
// their deadline.
const MaxTimeWait = 2048

// LabelBlock is "gateway4,gateway6" on a sandboxed host: the addresses
// Hosts.Start and Restart make unreachable, with everything off the
// subnet. The lab sets it when it creates the host; it outlives the
// process that did.
const LabelBlock = "lab3.block"

// User is the sandbox's "uid:gid".
func (s Sandbox) User() string { return fmt.Sprintf("%d:%d", s.UID, s.GID) }

// Command wraps cmd so that it runs as the sandbox's user with no
// capabilities, from a root exec in a sandboxed host. The process ID stays
// the same (setpriv execs cmd), so signals still reach the program.
func (s Sandbox) Command(cmd []string) []string {
	return append([]string{"setpriv",
		fmt.Sprintf("--reuid=%d", s.UID), fmt.Sprintf("--regid=%d", s.GID), "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"}, cmd...)
}

// ToolUID is the user the grader's own unprivileged tools run as on a
// sandboxed host (the raw client of a probe): neither root nor the
// submission's user, so the submission's programs can neither trace nor
// signal them, and they hold nothing worth taking over.
const ToolUID = 65534

// ToolCommand wraps one of the grader's own tools that needs no privilege
// so that it runs as ToolUID with no capabilities, as Command does for the
// submission's programs.
func (s Sandbox) ToolCommand(cmd []string) []string {
	return Sandbox{UID: ToolUID, GID: ToolUID}.Command(cmd)
}

// Label describes the sandbox in one line, for the lab3.sandbox label: a
// lab made with other limits is not silently reused.
func (s Sandbox) Label() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mem=%d,pids=%d,cpu=%d,shares=%d,user=%s,shm=%d", s.Memory, s.PIDs, s.NanoCPUs, s.CPUShares, s.User(), s.Shm)
	for _, t := range s.Tmpfs {
		fmt.Fprintf(&b, ",%s=%d", t.Path, t.Size)
	}
	return b.String()
}
