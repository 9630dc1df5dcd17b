package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
)

func TestRemotePath(t *testing.T) {
	tests := map[string]string{
		"":             "/root/",
		"client1.pcap": "/root/client1.pcap",
		"captures/":    "/root/captures/",
		"/tmp/x.pcap":  "/tmp/x.pcap",
		"../etc/hosts": "/etc/hosts",
		"a/../b.py":    "/root/b.py",
	}
	for in, want := range tests {
		if got := RemotePath(in); got != want {
			t.Errorf("RemotePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPlanDeployOneFile: --files may name one file, which goes where a
// folder's files would, under its own name; a link is refused as in a
// folder.
func TestPlanDeployOneFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "chatroom_client.py")
	if err := os.WriteFile(src, []byte("print(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanDeploy(topology.Default(), "", src, DeployClient)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 3 {
		t.Fatalf("plan has %d copies, want 3 (the clients)", len(plan))
	}
	for _, f := range plan {
		if f.Dst != "/root/chatroom_client.py" || f.Src != src || f.Mode != 0o755 || string(f.Data) != "print(1)\n" || f.Host == "webserver" {
			t.Errorf("copy %+v", f)
		}
	}
	link := filepath.Join(dir, "link.py")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	if _, err := PlanDeploy(topology.Default(), "", link, DeployAll); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link: %v, want it refused", err)
	}
}
