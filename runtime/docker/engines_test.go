package docker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// engineHost is the engine these tests use: $DOCKER_HOST or the default
// socket.
func engineHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// TestConnectEngineByURLAndContext reaches the test's engine by its URL and
// through a docker context written by the docker CLI's own store, as
// "docker context create graders --docker host=..." would.
func TestConnectEngineByURLAndContext(t *testing.T) {
	ctx := context.Background()
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	s := store.New(contextStoreDir(), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(ctxdocker.DockerEndpoint, func() any { return &ctxdocker.EndpointMeta{} }),
	))
	if err := s.CreateOrUpdate(store.Metadata{Name: "graders", Metadata: map[string]any{},
		Endpoints: map[string]any{ctxdocker.DockerEndpoint: ctxdocker.EndpointMeta{Host: engineHost()}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{engineHost(), "graders", "default"} {
		d, err := ConnectEngine(ctx, name)
		if err != nil {
			t.Fatalf("ConnectEngine(%q): %v", name, err)
		}
		if !d.Alive(ctx) {
			t.Errorf("%s: connected, yet not alive", name)
		}
		if name != "default" && d.Name() != name {
			t.Errorf("Name() = %q, want %q", d.Name(), name)
		}
		d.Close()
	}
}

// TestConnectEngineRefusesWithOneLine: an engine that is not there, a
// context that does not exist and a name that is neither give one line
// each, as runtime.ErrEngineUnreachable (lab's exit code 4).
func TestConnectEngineRefusesWithOneLine(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, tt := range []struct{ engine, want string }{
		{"unix://" + t.TempDir() + "/none.sock", "cannot reach the Docker engine at unix://"},
		{"tcp://127.0.0.1:1", "cannot reach the Docker engine at tcp://127.0.0.1:1"},
		{"graders", `no docker context "graders" (docker context ls lists them)`},
		{"not a name!", "not a URL (unix://, tcp://, ssh://) nor a docker context name"},
		{"ssh://", "engine ssh://:"},
	} {
		_, err := ConnectEngine(context.Background(), tt.engine)
		if !errors.Is(err, runtime.ErrEngineUnreachable) {
			t.Errorf("%s: %v is not runtime.ErrEngineUnreachable", tt.engine, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q, want one line with %q", tt.engine, err, tt.want)
		}
	}
}
