package lab

import (
	"context"
	"io"
	"net/netip"
)

// Engine is what Up, Down and Status need from a container engine. *Docker
// implements it; tests use a fake.
type Engine interface {
	Networks(ctx context.Context) ([]NetworkInfo, error)
	CreateNetwork(ctx context.Context, spec NetworkSpec) (id string, err error)
	RemoveNetwork(ctx context.Context, id string) error
	Containers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	CreateContainer(ctx context.Context, spec ContainerSpec) (id string, err error)
	CopyFiles(ctx context.Context, container, dir string, files map[string][]byte) error
	Start(ctx context.Context, container string) error
	ReadFile(ctx context.Context, container, path string) ([]byte, error)
	CreateVolume(ctx context.Context, name string, labels map[string]string) (mountpoint string, err error)
	RemoveContainer(ctx context.Context, container string) error
	Volumes(ctx context.Context, labels map[string]string) ([]string, error)
	RemoveVolume(ctx context.Context, name string) error
	Exec(ctx context.Context, container string, cmd []string, stdin io.Reader) (ExecResult, error)
	Logs(ctx context.Context, container string, tail int) ([]byte, error)
	Processes(ctx context.Context, container string) ([]string, error)
}

// ExecResult is a finished command's exit code and output.
type ExecResult struct {
	ExitCode       int
	Stdout, Stderr []byte
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
	State  string // Docker's state: created, running, exited, …
	Status string // Docker's human status, e.g. "Exited (137) 2 minutes ago"
	Labels map[string]string
}

// ContainerSpec is a container to create.
type ContainerSpec struct {
	Name     string
	Hostname string
	Image    string
	Env      []string
	Labels   map[string]string
	Network  string
	IPv4     netip.Addr
	IPv6     netip.Addr
	// Sandbox, when not nil, confines the host (see Sandbox): limits, no
	// NET_ADMIN, a read-only root file system with tmpfs mounts, and
	// ResolvConf, a file on the engine's machine, bind-mounted read-only
	// as /etc/resolv.conf (the entrypoint cannot write it there).
	Sandbox    *Sandbox
	ResolvConf string
	// Volumes are named volumes to mount: volume → path in the container.
	Volumes map[string]string
}
