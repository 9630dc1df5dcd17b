package lab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func TestPlanDeploy(t *testing.T) {
	topo := topology.Default()
	bin := t.TempDir()
	for _, n := range []string{"chat-server", "chat-client"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("ELF "+n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	student := t.TempDir()
	for n, mode := range map[string]os.FileMode{"chatroom_server.py": 0o644, "run.sh": 0o755, ".hidden": 0o644} {
		if err := os.WriteFile(filepath.Join(student, n), []byte(n), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(student, "__pycache__"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, files, role string
		want              string // host:dst:mode, in order
		wantErr           string
	}{
		{name: "reference binaries", want: "webserver:/root/chat-server:755 client1:/root/chat-client:755 client2:/root/chat-client:755 client3:/root/chat-client:755"},
		{name: "reference server only", role: "server", want: "webserver:/root/chat-server:755"},
		{name: "reference clients only", role: "client", want: "client1:/root/chat-client:755 client2:/root/chat-client:755 client3:/root/chat-client:755"},
		{name: "student files everywhere but the DNS server", files: student, want: "webserver:/root/chatroom_server.py:644 client1:/root/chatroom_server.py:644 client2:/root/chatroom_server.py:644 client3:/root/chatroom_server.py:644 webserver:/root/run.sh:755 client1:/root/run.sh:755 client2:/root/run.sh:755 client3:/root/run.sh:755"},
		{name: "student files on clients", files: student, role: "client", want: "client1:/root/chatroom_server.py:644 client2:/root/chatroom_server.py:644 client3:/root/chatroom_server.py:644 client1:/root/run.sh:755 client2:/root/run.sh:755 client3:/root/run.sh:755"},
		{name: "bad role", role: "dns", wantErr: `role "dns": want all, server or client`},
		{name: "missing folder", files: filepath.Join(student, "nope"), wantErr: "no such file or directory"},
		{name: "empty folder", files: filepath.Join(student, "__pycache__"), wantErr: "holds no files to copy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanDeploy(topo, bin, tc.files, tc.role)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrDeploy) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrDeploy containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range plan {
				got = append(got, f.Host+":"+f.Dst+":"+strconv.FormatUint(uint64(f.Mode.Perm()), 8))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("plan:\n got %s\nwant %s", strings.Join(got, " "), tc.want)
			}
		})
	}
	t.Run("missing binaries say how to build them", func(t *testing.T) {
		_, err := PlanDeploy(topo, t.TempDir(), "", "")
		if err == nil || !strings.Contains(err.Error(), "chat-server not found: build it first with: make build") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDeployCopiesIntoTheLabsContainers(t *testing.T) {
	topo := mustTopo(t, "other", 30, "10.99.9.0/24")
	eng := newFakeEngine()
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	plan := []FileCopy{{Host: "webserver", Src: "x", Dst: "/root/x", Mode: 0o644, Data: []byte("x")}}
	before := len(eng.Calls())
	var progress strings.Builder
	if err := Deploy(context.Background(), eng, topo, plan, &progress); err != nil {
		t.Fatal(err)
	}
	calls := eng.Calls()[before:]
	if strings.Join(calls, ",") != "copy 1 file(s) to other-webserver:/root" || eng.copied("other", "webserver", "/root/x") != "x" ||
		progress.String() != "webserver: /root/x (1 bytes)\n" {
		t.Errorf("copied %v, progress %q", calls, progress.String())
	}
	if err := Deploy(context.Background(), eng, topo, []FileCopy{{Host: "nohost", Src: "x", Dst: "/root/x", Data: []byte("x")}}, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("deploy to a host the lab lacks: %v, want ErrNotFound", err)
	}
}

// TestPlanDeployRefusesAHostileFolder checks that deploy refuses what
// folder.Read refuses (its own tests hold the whole hostile set) in one
// line, before anything is copied, and never with a file's contents.
func TestPlanDeployRefusesAHostileFolder(t *testing.T) {
	const marker = "MARKER-host-secret-5f3a"
	topo := topology.Default()
	for _, tc := range []struct {
		name    string
		make    func(t *testing.T, dir string)
		wantErr string
	}{
		{"link to a host file", func(t *testing.T, dir string) {
			secret := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(secret, []byte(marker), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(secret, filepath.Join(dir, "notes.txt")); err != nil {
				t.Fatal(err)
			}
		}, "notes.txt is a symbolic link"},
		{"named pipe", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "pipe is a named pipe, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			plan, err := PlanDeploy(topo, t.TempDir(), dir, "")
			if !errors.Is(err, ErrDeploy) {
				t.Fatalf("err = %v, want ErrDeploy", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cannot deploy: ") || !strings.Contains(msg, tc.wantErr) || strings.Contains(msg, "\n") || strings.Contains(msg, marker) {
				t.Errorf("err = %q, want one line \"cannot deploy: …%s…\" without the file's contents", msg, tc.wantErr)
			}
			if plan != nil {
				t.Errorf("planned %d copies of a refused folder", len(plan))
			}
		})
	}
}
