// Package runtime is the one interface between the lab's packages and a
// container engine: an Engine (networks, volumes, containers found by
// label, images) and, through Engine.Lab, the Hosts of one lab, addressed
// by host name (webserver, client1, ...), never by container name. It holds
// no engine code: runtime/docker implements it over the Docker Engine API,
// runtime/fake in memory for tests.
package runtime

import (
	"context"
	"io"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Engine is one container engine.
type Engine interface {
	// Name is how the engine was named when connecting, or its address.
	Name() string
	// Alive reports whether the engine still answers, within a few
	// seconds.
	Alive(ctx context.Context) bool
	// CPUs is how many CPUs the engine's machine has, 0 if it does not
	// say.
	CPUs(ctx context.Context) int
	// Close releases the connection to the engine.
	Close() error

	// Networks lists every network with its subnets.
	Networks(ctx context.Context) ([]NetworkInfo, error)
	// CreateNetwork creates a dual-stack bridge network.
	CreateNetwork(ctx context.Context, spec NetworkSpec) (id string, err error)
	// RemoveNetwork removes a network; one already gone is not an error.
	RemoveNetwork(ctx context.Context, id string) error

	// Volumes lists the names of the volumes carrying all the labels.
	Volumes(ctx context.Context, labels map[string]string) ([]string, error)
	// CreateVolume creates a named volume, or finds the one of that name,
	// and returns where its files are on the engine's machine.
	CreateVolume(ctx context.Context, name string, labels map[string]string) (mountpoint string, err error)
	// RemoveVolume removes a volume; one already gone is not an error.
	RemoveVolume(ctx context.Context, name string) error

	// Containers lists the containers, running or not, carrying all the
	// labels; nil lists every container.
	Containers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// CreateContainer creates (but does not start) a host of a lab.
	CreateContainer(ctx context.Context, spec ContainerSpec) (id string, err error)
	// RemoveContainer removes a container (by ID or name), running or
	// not, with its anonymous volumes; one already gone is not an error.
	RemoveContainer(ctx context.Context, id string) error

	Images

	// Lab is the hosts of the lab called name on this engine. It costs
	// no round trip; a host that does not exist is reported by the
	// operation on it (ErrNotFound).
	Lab(name string) Hosts
}

// Hosts are the hosts of one lab, addressed by their names in the
// topology. Every operation on a host that has no container fails with an
// error that errors.Is ErrNotFound.
type Hosts interface {
	// Exec runs cmd on a running host and returns its exit code and
	// output; stdin, if not nil, is its standard input, closed at EOF. Of
	// stdout and of stderr, the first MaxExecOutput bytes are kept.
	Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (ExecResult, error)
	// Spawn starts cmd on a running host and returns at once; the process
	// lives until it exits or ctx ends, when it is killed.
	Spawn(ctx context.Context, host string, cmd []string, opts SpawnOptions) (Process, error)

	// CopyFiles writes files into a host, running or only created, in
	// one go: each at its absolute Path with its Mode and ModTime, owned
	// by root, missing parents created. At most MaxCopy bytes in all.
	CopyFiles(ctx context.Context, host string, files []File) error
	// ReadFile reads one regular file out of a host.
	ReadFile(ctx context.Context, host, path string) ([]byte, error)
	// CopyIn copies a local file, or a folder with everything in it,
	// into a running host at remote (absolute). A remote folder, or a
	// path ending in "/", receives the source under its own name, as cp
	// does. Links and special files are refused (ErrCopy). Each file
	// keeps its modification time. It returns the files written, Src set.
	CopyIn(ctx context.Context, host, local, remote string) ([]File, error)
	// CopyOut copies a file, or a folder with everything in it, out of a
	// host to local. An existing local folder receives it under its own
	// name. Only regular files and folders are written, never outside
	// local, each with its modification time on the host. It returns the
	// local files written.
	CopyOut(ctx context.Context, host, remote, local string) ([]string, error)

	// Start starts a host; one already running is left alone. A
	// sandboxed host (label LabelBlock) is cut off from everything
	// outside its subnet before Start returns.
	Start(ctx context.Context, host string) error
	// Stop stops a host gracefully.
	Stop(ctx context.Context, host string) error
	// Kill kills a host with SIGKILL, as a crash would.
	Kill(ctx context.Context, host string) error
	// Restart stops a host (killing it after a second) and starts it
	// again with the same addresses, as Start does.
	Restart(ctx context.Context, host string) error
	// Disconnect removes a host from the lab's network, as if its cable
	// were pulled.
	Disconnect(ctx context.Context, host string) error
	// Reconnect puts a host back on the lab's network with its fixed
	// addresses.
	Reconnect(ctx context.Context, host string) error

	// Processes lists the command lines of the processes on a host.
	Processes(ctx context.Context, host string) ([]string, error)
	// PIDCount returns how many processes and threads a host holds and
	// the most it may hold (0: no limit), without starting a process
	// there.
	PIDCount(ctx context.Context, host string) (current, limit uint64, err error)
	// Logs returns the last tail lines of a host's main output, stdout
	// and stderr together.
	Logs(ctx context.Context, host string, tail int) ([]byte, error)
	// StreamLogs copies a host's logs to stdout and stderr; with follow
	// it keeps streaming until the host stops or ctx ends. tail < 0
	// means all.
	StreamLogs(ctx context.Context, host string, follow bool, tail int, stdout, stderr io.Writer) error

	// Attach runs s.Cmd on a running host for a person and returns its
	// exit code. When the command ends, or ctx does, every process it
	// started that still runs there is stopped (SessionEnv).
	Attach(ctx context.Context, host string, s Session) (int, error)
	// Shell runs cmd interactively on the terminal tty, as Attach does
	// with a TTY.
	Shell(ctx context.Context, host string, cmd []string, workdir string, tty *os.File, out io.Writer) (int, error)
	// Detach starts cmd on a running host and returns at once, leaving
	// it running with no input and its output going nowhere.
	Detach(ctx context.Context, host string, cmd []string, workdir string) error
	// StopPrograms ends what people and the grader started on a host
	// (every process started by an exec, with its children; never the
	// host's init, entrypoint or DNS server), with program set only
	// those whose command line contains it, and their children: SIGTERM,
	// then SIGKILL after two seconds. It returns what it stopped.
	StopPrograms(ctx context.Context, host, program string) ([]Stopped, error)
}

// Images is the part of an engine that builds and moves images.
type Images interface {
	// InspectImage describes an image; a missing one is ErrNotFound.
	InspectImage(ctx context.Context, ref string) (ImageInfo, error)
	// ImportImage makes the image ref from a root file system tar,
	// reading it to its end (or to the first error).
	ImportImage(ctx context.Context, rootfs io.Reader, ref string, opts ImportOptions) error
	// BuildImage builds an image from a build context tar holding a
	// Dockerfile, and returns the build's own error if it fails.
	BuildImage(ctx context.Context, buildContext io.Reader, opts BuildOptions) error
	// TagImage gives the image source the reference target too.
	TagImage(ctx context.Context, source, target string) error
	// RemoveImage removes a reference (the last one takes the image
	// with it) or an image by ID, with its unused parents. An image a
	// container uses is ErrConflict; a missing one ErrNotFound.
	RemoveImage(ctx context.Context, ref string) error
	// ListImages lists the images carrying all the labels.
	ListImages(ctx context.Context, labels map[string]string) ([]ImageInfo, error)
	// SaveImages streams the images refs as one archive, for LoadImages.
	SaveImages(ctx context.Context, refs []string) (io.ReadCloser, error)
	// LoadImages loads an archive SaveImages wrote, reading it to its end,
	// and returns the load's own error if it fails.
	LoadImages(ctx context.Context, archive io.Reader) error
}

// ExecResult is a finished command's exit code and output.
type ExecResult struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// MaxExecOutput bounds what Exec keeps of each of a command's two streams;
// the rest is read and dropped, so a command that prints without end costs
// no more.
const MaxExecOutput = 4 << 20

// MaxCopy bounds the bytes one copy moves in or out of a host: CopyFiles,
// CopyIn, CopyOut. It is the size of the largest writable folder of a
// sandboxed host (64 MiB); Lab 3 moves programs, zone files and captures,
// never more.
const MaxCopy = 64 << 20

// SpawnOptions are how Spawn runs a command.
type SpawnOptions struct {
	// Env is added to the host's environment.
	Env []string
	// Workdir is the working directory ("" for the image's).
	Workdir string
	// User runs the command as this user ("uid", "uid:gid" or a name);
	// "" is root.
	User string
	// MergeStderr sends stderr to stdout on the host itself, so that
	// Output holds the two in the order the program wrote them. Without
	// it the engine delivers the two streams separately, each in order,
	// and Output interleaves them as they arrive (or Stderr takes one).
	MergeStderr bool
	// Stderr, when not nil and MergeStderr is not set, receives the
	// command's stderr, and Output only its stdout. Stderr must not
	// block for long: it holds up the output stream.
	Stderr io.Writer
	// TTY runs the command on a pseudo-terminal: its output is the
	// terminal's, one stream with "\r\n" line ends, and its input is
	// echoed.
	TTY bool
}

// Process is a long-running command started by Spawn.
type Process interface {
	// Stdin is the process's standard input; closing it sends EOF.
	Stdin() io.WriteCloser
	// Output is the process's output as it arrives (see SpawnOptions);
	// io.EOF once the process has exited and all is read. The caller
	// must keep reading: a process that prints faster than it is read is
	// held up, as by a full pipe.
	Output() io.Reader
	// PID is the process's ID on its host (0 if unknown).
	PID() int
	// Signal sends sig to the process.
	Signal(ctx context.Context, sig syscall.Signal) error
	// Wait waits for the process to exit and returns its exit code.
	Wait() (int, error)
}

// File is one file to put on a host.
type File struct {
	Path string      // absolute path on the host
	Mode os.FileMode // its permissions there
	Data []byte
	Src  string // where it came from, for messages (optional)
	// ModTime is its modification time there, as scp -p keeps it; the
	// zero time means the time of the copy.
	ModTime time.Time
}

// Session is a command that Attach runs on a host for a person: what it
// runs, where, and how it reaches the person's terminal or pipes.
type Session struct {
	Cmd     []string
	Workdir string // "" for the image's
	// Stdin is forwarded to the command until it ends (EOF is passed
	// on); nil gives the command no input at all.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output. On a TTY the two
	// are one stream, written to Stdout.
	Stdout, Stderr io.Writer
	// TTY, when set, runs the command on a pseudo-terminal the size of
	// this terminal, following its window changes. The terminal is put in
	// raw mode meanwhile, so Ctrl-C and Ctrl-D go to the command as keys,
	// and it is the command's input (Stdin is ignored).
	TTY *os.File
}

// SessionEnv names the environment variable that tags every process a
// Session starts, children included, so that all of them can be found and
// stopped when the session ends.
const SessionEnv = "LAB_SESSION"

// Stopped is a process StopPrograms ended.
type Stopped struct {
	PID     int    // on its host
	Command string // its command line
}

// NetworkInfo describes an existing network.
type NetworkInfo struct {
	ID      string
	Name    string
	Subnets []netip.Prefix
	Labels  map[string]string
}

// NetworkSpec is a network to create.
type NetworkSpec struct {
	Name             string
	Subnet4, Subnet6 netip.Prefix
	Gateway4         netip.Addr
	Gateway6         netip.Addr
	Labels           map[string]string
	// Internal networks reach nothing outside their subnet (graded labs).
	Internal bool
}

// ContainerInfo describes an existing container.
type ContainerInfo struct {
	ID     string
	Name   string
	State  string // the engine's state: created, running, exited, …
	Status string // the engine's human status, e.g. "Exited (137) 2 minutes ago"
	Labels map[string]string
	// Created is when the engine made the container, by the engine's
	// clock, to the second; zero if the engine does not say.
	Created time.Time
}

// ContainerSpec is a host to create: the container Name (the lab's name,
// "-" and the host's name, topology.Topology.ContainerName) with fixed
// addresses on the lab's Network, NET_ADMIN and an init, unless Sandbox
// confines it.
type ContainerSpec struct {
	Name     string
	Hostname string
	Image    string
	Env      []string
	Labels   map[string]string
	Network  string
	IPv4     netip.Addr
	IPv6     netip.Addr
	// Sandbox, when not nil, confines the host (see Sandbox): limits, only
	// GraderCapabilities, a read-only root file system with tmpfs mounts,
	// and ResolvConf, a file on the engine's machine, bind-mounted
	// read-only as /etc/resolv.conf (the entrypoint cannot write it there).
	Sandbox    *Sandbox
	ResolvConf string
	// Volumes are named volumes to mount: volume → path in the container.
	Volumes map[string]string
	// Binds are folders of the engine's machine to mount read-write:
	// absolute folder → path in the container (lab up --share). Graded
	// labs have none.
	Binds map[string]string
}

// ImageInfo describes an image.
type ImageInfo struct {
	ID     string
	Tags   []string // repo:tag references, without "<none>:<none>"
	Labels map[string]string
	Size   int64 // bytes
}

// ImportOptions are what ImportImage records in the image.
type ImportOptions struct {
	Message string
	// Changes are Dockerfile instructions applied to the image, e.g.
	// `LABEL k="v"`, `ENV PATH=...`, `CMD ["bash"]`.
	Changes []string
}

// BuildOptions are how BuildImage builds. The engine's classic builder
// runs with intermediate containers removed and no parent pulled: the
// lab's images are built from local images only.
type BuildOptions struct {
	Tags    []string
	Labels  map[string]string
	NoCache bool
}
