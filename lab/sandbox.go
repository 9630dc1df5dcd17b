package lab

import (
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// A grading lab's hosts that run untrusted programs (the webserver and the
// clients) are confined by a runtime.Sandbox: bounded memory, processes,
// CPU and disk, no capabilities for the programs and no route off the lab's
// subnet. The DNS server runs no student code and is not confined.
// Interactive labs are not sandboxed.

// Sandbox defaults. A student's program gets at least what a student's
// laptop gives it: a whole CPU (a Python program runs on one, whatever the
// laptop has), never a slice below that, so a correct server that hashes
// with PBKDF2 answers in the time it would at home. Abuse is bounded by
// weight, processes and memory instead: under contention a chat host gets
// half the CPU weight of an unconfined container (the lab's DNS server),
// so a spinning submission takes no more than its share from the labs
// beside it, and the grader's own lab services come first.
const (
	MiB = 1 << 20

	DefaultSandboxMemory    = 256 * MiB
	DefaultSandboxPIDs      = 128
	DefaultSandboxNanoCPUs  = 1_000_000_000 // one CPU
	DefaultSandboxCPUShares = 512           // half Docker's default weight of 1024
	DefaultSandboxUID       = 1000
)

// ToolDir is the writable folder for the grader's files on a sandboxed host
// (the submission, the reference binaries, dnscheck); it allows executables.
const ToolDir = "/opt/lab3"

// DefaultSandbox is the sandbox lab grade uses: 256 MiB of memory without
// swap, 128 processes, one CPU at half the default weight, uid 1000, and tmpfs mounts of 64 MiB for
// /root (the working folder) and ToolDir, 16 MiB for /tmp, 32 MiB for
// /var/tmp (captures), 8 MiB for /run and 16 MiB of /dev/shm.
func DefaultSandbox() runtime.Sandbox {
	return runtime.Sandbox{
		Memory:    DefaultSandboxMemory,
		PIDs:      DefaultSandboxPIDs,
		NanoCPUs:  DefaultSandboxNanoCPUs,
		CPUShares: DefaultSandboxCPUShares,
		UID:       DefaultSandboxUID,
		GID:       DefaultSandboxUID,
		Tmpfs: []runtime.Tmpfs{
			{Path: DeployDir, Size: 64 * MiB, Exec: true, Owned: true},
			{Path: ToolDir, Size: 64 * MiB, Exec: true},
			{Path: "/tmp", Size: 16 * MiB, Shared: true},
			{Path: "/var/tmp", Size: 32 * MiB, Shared: true},
			{Path: "/run", Size: 8 * MiB},
		},
		Shm: 16 * MiB,
	}
}

// resolvDir is where the DNS server of a sandboxed lab holds the volume
// with the chat hosts' resolv.conf.
const resolvDir = "/run/lab3-resolv"

// resolvVolume names a sandboxed lab's resolv.conf volume.
func resolvVolume(topo topology.Topology) string { return topo.Name + "_resolv" }

// LabelSandbox is runtime.Sandbox.Label on a sandboxed lab's network and
// hosts; its chat hosts also carry runtime.LabelBlock.
const LabelSandbox = "lab3.sandbox"
