package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/connhelper"
	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// ConnectEngine reaches one named Docker engine, for grading spread over
// several: a URL (unix:///path, tcp://host:port with TLS from
// DOCKER_CERT_PATH and DOCKER_TLS_VERIFY as the docker CLI reads them, or
// ssh://[user@]host, which runs "docker system dial-stdio" there), the name
// of a docker context ("docker context ls"), or "" for the environment's
// engine as Connect. Like Connect it fails within about two seconds with
// one line if nothing answers.
func ConnectEngine(ctx context.Context, engine string) (*Docker, error) {
	if engine == "" {
		return Connect(ctx)
	}
	opts, err := engineOptions(engine)
	if err != nil {
		return nil, fmt.Errorf("%w: engine %s: %v", runtime.ErrEngineUnreachable, engine, err)
	}
	d, err := connectWith(ctx, append([]client.Opt{client.FromEnv}, opts...)...)
	if err != nil {
		return nil, err
	}
	d.name = engine
	return d, nil
}

// engineOptions are the client options that reach engine: its URL, with
// the connection helper of an ssh:// one, or a docker context's endpoint.
func engineOptions(engine string) ([]client.Opt, error) {
	if !strings.Contains(engine, "://") {
		return contextOptions(engine)
	}
	helper, err := connhelper.GetConnectionHelper(engine)
	if err != nil {
		return nil, err
	}
	if helper == nil {
		return []client.Opt{client.WithHost(engine)}, nil
	}
	return []client.Opt{client.WithHost(helper.Host), client.WithDialContext(helper.Dialer)}, nil
}

// contextOptions reads a docker context from the docker CLI's store
// ($DOCKER_CONFIG/contexts, ~/.docker/contexts by default), TLS material
// included, as "docker --context NAME" would.
func contextOptions(name string) ([]client.Opt, error) {
	if name == "default" {
		return nil, nil // the environment's engine: client.FromEnv
	}
	if err := store.ValidateContextName(name); err != nil {
		return nil, fmt.Errorf("not a URL (unix://, tcp://, ssh://) nor a docker context name: %v", err)
	}
	s := store.New(contextStoreDir(), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(ctxdocker.DockerEndpoint, func() any { return &ctxdocker.EndpointMeta{} }),
	))
	meta, err := s.GetMetadata(name)
	if err != nil {
		return nil, fmt.Errorf("no docker context %q (docker context ls lists them)", name)
	}
	epMeta, err := ctxdocker.EndpointFromContext(meta)
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %v", name, err)
	}
	ep, err := ctxdocker.WithTLSData(s, name, epMeta)
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %v", name, err)
	}
	return ep.ClientOpts()
}

// Name is how the engine was named to ConnectEngine, or its address.
func (d *Docker) Name() string {
	if d.name != "" {
		return d.name
	}
	return d.c.DaemonHost()
}

// Alive reports whether the engine still answers a ping within a few
// seconds: grading uses it to tell an engine that went away from a
// submission whose lab broke.
func (d *Docker) Alive(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, 3*connectTimeout)
	defer cancel()
	_, err := d.c.Ping(pctx, client.PingOptions{})
	return err == nil
}

// contextStoreDir is where the docker CLI keeps its contexts. (The CLI's
// own config package says the same, but links its credential helpers.)
func contextStoreDir() string {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "contexts")
}

// CPUs is how many CPUs the engine's machine has, 0 if it does not say.
func (d *Docker) CPUs(ctx context.Context) int {
	res, err := d.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return 0
	}
	return res.Info.NCPU
}
