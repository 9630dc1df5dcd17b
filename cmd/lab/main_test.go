package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// runLab runs the CLI in-process and returns its exit code and output.
func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, devnull, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUnreachableEngineIsOneLineAndExitCode2(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	for _, args := range [][]string{{"status"}, {"down"}, {"up", "--name", "cli-unreachable"}, {"exec", "client1", "--", "true"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runLab(t, args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			want := "cannot reach the Docker engine at unix://"
			if !strings.HasPrefix(stderr, "lab: "+want) || !strings.Contains(stderr, "is dockerd running?") {
				t.Errorf("stderr = %q, want it to start with %q and say what to check", stderr, "lab: "+want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestBadInputIsOneLineAndChangesNothing(t *testing.T) {
	// An unreachable engine proves bad input is rejected before any dial.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up", "--team", "0"}, "lab: invalid topology: team 0: must be between 1 and 9999"},
		{[]string{"up", "--subnet", "10.1.2.3"}, `lab: invalid topology: subnet "10.1.2.3": want CIDR notation such as 10.20.30.0/24`},
		{[]string{"up", "--subnet", "10.1.0.0/16"}, "lab: invalid topology: subnet 10.1.0.0/16: must be an IPv4 /24 such as 10.20.30.0/24"},
		{[]string{"up", "--subnet6", "fd00::/48"}, "lab: invalid topology: IPv6 subnet fd00::/48: must be an IPv6 /64 such as fd00::/64"},
		{[]string{"up", "--name", "Bad Name"}, `lab: invalid topology: lab name "Bad Name": use 1-40 lowercase letters, digits, '-', '_' or '.'`},
		{[]string{"exec", "client1", "true"}, "lab: usage: lab exec HOST -- CMD [ARG...]"},
		{[]string{"frobnicate"}, `lab: unknown command "frobnicate" for "lab"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runLab(t, tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestComposePrintsAndWritesTheGeneratedFiles(t *testing.T) {
	code, stdout, stderr := runLab(t, "compose")
	if code != 0 || stdout != string(lab.Compose(lab.Default())) {
		t.Fatalf("lab compose: exit %d, stderr %q; stdout differs from lab.Compose(lab.Default())", code, stderr)
	}
	dir := t.TempDir()
	if code, _, stderr := runLab(t, "compose", "--write", "--dir", dir); code != 0 {
		t.Fatalf("lab compose --write: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil || string(got) != stdout {
		t.Errorf("written compose.yaml differs from the printed one (%v)", err)
	}
	zones, _ := lab.Zones(lab.Default())
	for name, want := range zones {
		b, err := os.ReadFile(filepath.Join(dir, "lab", "zones", "team30", name))
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("zone file %s not written as generated (%v)", name, err)
		}
	}
}
