package docker

import (
	"bytes"
	"context"
	"io"
	"os"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Lab is the hosts of the lab called name: host h is the container
// <name>-h on the network <name>_net. Addressing costs no round trip.
func (d *Docker) Lab(name string) runtime.Hosts {
	return labHosts{d: d, topo: topology.Topology{Name: name}}
}

// labHosts implements runtime.Hosts over one lab's containers.
type labHosts struct {
	d    *Docker
	topo topology.Topology // only its Name: the naming of containers and network
}

func (l labHosts) ctr(host string) string { return l.topo.ContainerName(host) }

func (l labHosts) Exec(ctx context.Context, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
	return l.d.exec(ctx, l.ctr(host), cmd, stdin)
}

func (l labHosts) Spawn(ctx context.Context, host string, cmd []string, opts runtime.SpawnOptions) (runtime.Process, error) {
	p, err := l.d.spawn(ctx, l.ctr(host), cmd, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (l labHosts) CopyFiles(ctx context.Context, host string, files []runtime.File) error {
	return l.d.copyFiles(ctx, l.ctr(host), files)
}

func (l labHosts) ReadFile(ctx context.Context, host, path string) ([]byte, error) {
	return l.d.readFile(ctx, l.ctr(host), path)
}

func (l labHosts) CopyIn(ctx context.Context, host, local, remote string) ([]runtime.File, error) {
	return l.d.copyIn(ctx, l.ctr(host), host, local, remote)
}

func (l labHosts) CopyOut(ctx context.Context, host, remote, local string) ([]string, error) {
	return l.d.copyOut(ctx, l.ctr(host), host, remote, local)
}

func (l labHosts) Start(ctx context.Context, host string) error {
	return l.d.start(ctx, l.ctr(host))
}

func (l labHosts) Stop(ctx context.Context, host string) error {
	return l.d.stop(ctx, l.ctr(host))
}

func (l labHosts) Kill(ctx context.Context, host string) error {
	return l.d.kill(ctx, l.ctr(host))
}

func (l labHosts) Restart(ctx context.Context, host string) error {
	return l.d.restart(ctx, l.ctr(host))
}

func (l labHosts) Disconnect(ctx context.Context, host string) error {
	return l.d.disconnect(ctx, l.ctr(host), l.topo.NetworkName(), host)
}

func (l labHosts) Reconnect(ctx context.Context, host string) error {
	return l.d.reconnect(ctx, l.ctr(host), l.topo.NetworkName(), host)
}

func (l labHosts) Processes(ctx context.Context, host string) ([]string, error) {
	return l.d.processes(ctx, l.ctr(host))
}

func (l labHosts) PIDCount(ctx context.Context, host string) (current, limit uint64, err error) {
	return l.d.pidCount(ctx, l.ctr(host))
}

func (l labHosts) Logs(ctx context.Context, host string, tail int) ([]byte, error) {
	var buf bytes.Buffer
	err := l.d.streamLogs(ctx, l.ctr(host), false, tail, &buf, &buf)
	return buf.Bytes(), err
}

func (l labHosts) StreamLogs(ctx context.Context, host string, follow bool, tail int, stdout, stderr io.Writer) error {
	return l.d.streamLogs(ctx, l.ctr(host), follow, tail, stdout, stderr)
}

func (l labHosts) Attach(ctx context.Context, host string, s runtime.Session) (int, error) {
	return l.d.attach(ctx, l.ctr(host), s)
}

func (l labHosts) Shell(ctx context.Context, host string, cmd []string, workdir string, tty *os.File, out io.Writer) (int, error) {
	return l.d.shell(ctx, l.ctr(host), cmd, workdir, tty, out)
}

func (l labHosts) Detach(ctx context.Context, host string, cmd []string, workdir string) error {
	return l.d.detach(ctx, l.ctr(host), host, cmd, workdir)
}

func (l labHosts) StopPrograms(ctx context.Context, host, program string) ([]runtime.Stopped, error) {
	return l.d.stopPrograms(ctx, l.ctr(host), program)
}
