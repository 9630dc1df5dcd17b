package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

func TestEngineErrorTellsPermissionFromAbsence(t *testing.T) {
	const host = "unix:///var/run/docker.sock"
	tests := []struct {
		name string
		err  error
		want string
	}{
		// What the moby client returns: text, os.ErrPermission not wrapped.
		{"moby's permission text", errors.New("permission denied while trying to connect to the docker API at unix:///var/run/docker.sock"),
			"permission denied on unix:///var/run/docker.sock: join the docker group (sudo usermod -aG docker $USER, then log out and in again) or run lab with sudo"},
		{"wrapped EACCES", &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)},
			"permission denied on unix:///var/run/docker.sock: join the docker group"},
		{"no engine", errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"),
			"cannot reach the Docker engine at unix:///var/run/docker.sock: is dockerd running? (start it with: sudo systemctl start docker)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := engineError(tt.err, host)
			if !errors.Is(err, runtime.ErrEngineUnreachable) {
				t.Errorf("%v is not runtime.ErrEngineUnreachable", err)
			}
			got := strings.TrimPrefix(err.Error(), runtime.ErrEngineUnreachable.Error()+": ")
			if !strings.HasPrefix(got, tt.want) || strings.Contains(got, "\n") {
				t.Errorf("got %q, want it to start with %q, on one line", got, tt.want)
			}
		})
	}
}

// TestConnectPermissionDenied dials a socket this user may not open. Root
// may open any socket, so it runs only for other users.
func TestConnectPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens every socket; run as another user to see permission denied")
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chmod(sock, 0); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	_, err = Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "permission denied on unix://"+sock+": join the docker group") {
		t.Errorf("Connect: %v", fmt.Sprint(err))
	}
}
