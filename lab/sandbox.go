package lab

import (
	"fmt"
	"strings"
)

// Sandbox confines the hosts of a grading lab that run untrusted programs
// (the webserver and the clients): bounded memory, processes, CPU and disk,
// no capabilities and no route off the lab's subnet. The DNS server runs no
// student code and is not confined. Interactive labs are not sandboxed.
//
// Programs that Command wraps run as UID:GID with no capabilities at all.
// The grader's own commands (resets, probes, captures) run as the
// container's root, which keeps only GraderCapabilities; a privileged exec
// would need the engine to hold every capability, which rootless and other
// confined engines do not.
type Sandbox struct {
	// Memory is the RAM a host may use, in bytes, its tmpfs contents
	// included; there is no swap beyond it.
	Memory int64
	// PIDs bounds the processes and threads on a host, the grader's own
	// commands included.
	PIDs int64
	// NanoCPUs is the CPU time a host may use, in billionths of a CPU.
	NanoCPUs int64
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

// Sandbox defaults, chosen so that three graded labs on two cores cannot
// starve each other: a lab's four chat hosts together get at most two CPUs
// of quota and 1 GiB of memory.
const (
	MiB = 1 << 20

	DefaultSandboxMemory   = 256 * MiB
	DefaultSandboxPIDs     = 128
	DefaultSandboxNanoCPUs = 500_000_000 // half a CPU
	DefaultSandboxUID      = 1000
)

// ToolDir is the writable folder for the grader's files on a sandboxed host
// (the submission, the reference binaries, dnscheck); it allows executables.
const ToolDir = "/opt/lab3"

// GraderCapabilities are what the container's root keeps on a sandboxed
// host, for the grader's own commands: kill and clean up the student's
// processes and files (KILL, DAC_OVERRIDE, FOWNER, CHOWN, SYS_PTRACE to
// read /proc), drop to the student's user (SETUID, SETGID, SETPCAP), block
// the gateway (NET_ADMIN) and capture (NET_RAW). Programs started through
// Sandbox.Command lose all of them, bounding set included, and
// no-new-privileges keeps them from gaining any back.
var GraderCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID", "SETPCAP", "SYS_PTRACE", "NET_ADMIN", "NET_RAW"}

// DefaultSandbox is the sandbox lab grade uses: 256 MiB of memory without
// swap, 128 processes, half a CPU, uid 1000, and tmpfs mounts of 64 MiB for
// /root (the working folder) and ToolDir, 16 MiB for /tmp, 32 MiB for
// /var/tmp (captures), 8 MiB for /run and 16 MiB of /dev/shm.
func DefaultSandbox() Sandbox {
	return Sandbox{
		Memory:   DefaultSandboxMemory,
		PIDs:     DefaultSandboxPIDs,
		NanoCPUs: DefaultSandboxNanoCPUs,
		UID:      DefaultSandboxUID,
		GID:      DefaultSandboxUID,
		Tmpfs: []Tmpfs{
			{Path: DeployDir, Size: 64 * MiB, Exec: true, Owned: true},
			{Path: ToolDir, Size: 64 * MiB, Exec: true},
			{Path: "/tmp", Size: 16 * MiB, Shared: true},
			{Path: "/var/tmp", Size: 32 * MiB, Shared: true},
			{Path: "/run", Size: 8 * MiB},
		},
		Shm: 16 * MiB,
	}
}

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

// tmpfsOptions returns the mounts in the form HostConfig.Tmpfs takes.
func (s Sandbox) tmpfsOptions() map[string]string {
	out := map[string]string{}
	for _, t := range s.Tmpfs {
		opts := []string{fmt.Sprintf("size=%d", t.Size)}
		switch {
		case t.Owned:
			opts = append(opts, "mode=0700", fmt.Sprintf("uid=%d", s.UID), fmt.Sprintf("gid=%d", s.GID))
		case t.Shared:
			opts = append(opts, "mode=1777")
		default:
			opts = append(opts, "mode=0755")
		}
		if t.Exec {
			opts = append(opts, "exec")
		}
		out[t.Path] = strings.Join(opts, ",")
	}
	return out
}

// Label describes the sandbox in one line, for the lab3.sandbox label: a
// lab made with other limits is not silently reused.
func (s Sandbox) Label() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mem=%d,pids=%d,cpu=%d,user=%s,shm=%d", s.Memory, s.PIDs, s.NanoCPUs, s.User(), s.Shm)
	for _, t := range s.Tmpfs {
		fmt.Fprintf(&b, ",%s=%d", t.Path, t.Size)
	}
	return b.String()
}

// resolvDir is where the DNS server of a sandboxed lab holds the volume
// with the chat hosts' resolv.conf.
const resolvDir = "/run/lab3-resolv"

// resolvVolume names a sandboxed lab's resolv.conf volume.
func resolvVolume(topo Topology) string { return topo.Name + "_resolv" }

// blockScript makes everything off the lab's subnet unreachable from a
// sandboxed host, the host's own address on the bridge (the gateway)
// included: prohibit routes fail a connect at once (EACCES) instead of
// letting it time out. Routes more specific than the default leave Docker's
// own default route alone, so disconnect and reconnect keep working, and
// routes without a device survive them.
func blockScript(gw4, gw6 string) string {
	return fmt.Sprintf(`set -e
ip route replace prohibit 0.0.0.0/1
ip route replace prohibit 128.0.0.0/1
ip route replace prohibit %s/32
ip -6 route replace prohibit ::/1
ip -6 route replace prohibit 8000::/1
ip -6 route replace prohibit %s/128`, gw4, gw6)
}

// Labels of sandboxed labs.
const (
	// LabelSandbox is Sandbox.Label on a sandboxed lab's network and hosts.
	LabelSandbox = "lab3.sandbox"
	// LabelBlock is "gateway4,gateway6" on a sandboxed host: the addresses
	// Start makes unreachable, with everything off the subnet.
	LabelBlock = "lab3.block"
)
