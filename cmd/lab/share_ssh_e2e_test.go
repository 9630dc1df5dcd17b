package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestShareCpAndSSHElsewhereE2E is issue #26's findings 4 and 5 on a real
// lab (ux-share, 10.99.64.0/24): up --share makes a folder of this machine
// /shared on every host, read-write; lab cp keeps modification times both
// ways; and after lab down and lab up from another folder, ssh with the
// lab's config still logs in and trusts the hosts (BatchMode: a changed
// host key fails instead of asking).
func TestShareCpAndSSHElsewhereE2E(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no ssh client on this machine (apt-get install -y openssh-client)")
		}
		t.Fatal("no ssh client on this machine")
	}
	const name = "ux-share"
	with := func(args ...string) []string { return append([]string{"--name", name}, args...) }
	t.Cleanup(func() { runLab(t, with("down", "--force")...) })
	// The keys go where a user's go, ~/.config/lab3 (here the test's), not
	// to TestMain's LAB_STATE_DIR; HOME stays, for Docker's own config.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(lab.EnvStateDir, "")

	shared := t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "hello.py"), []byte("print('hello from /shared')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, out, errOut := runLab(t, with("up", "--subnet", "10.99.64.0/24", "--no-dnscheck", "--share", shared)...)
	if code != 0 {
		t.Fatalf("up --share: exit %d\n%s%s", code, out, errOut)
	}
	if want := "shared: " + shared + " is /shared on every host, read-write"; !strings.Contains(errOut, want) {
		t.Errorf("up does not say %q:\n%s", want, errOut)
	}

	t.Run("share", func(t *testing.T) {
		if code, out, errOut := runLab(t, with("exec", "client1", "--", "python3", "/shared/hello.py")...); code != 0 || out != "hello from /shared\n" {
			t.Errorf("client1 runs /shared/hello.py: exit %d, %q %s", code, out, errOut)
		}
		if code, _, errOut := runLab(t, with("exec", "webserver", "--", "sh", "-c", "echo written by webserver > /shared/from-webserver.txt")...); code != 0 {
			t.Fatalf("webserver writes /shared: exit %d: %s", code, errOut)
		}
		if b, err := os.ReadFile(filepath.Join(shared, "from-webserver.txt")); err != nil || string(b) != "written by webserver\n" {
			t.Errorf("what webserver wrote, on this machine: %q, %v", b, err)
		}
	})

	t.Run("cp keeps modification times", func(t *testing.T) {
		edited := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
		src := filepath.Join(t.TempDir(), "chatroom_client.py")
		if err := os.WriteFile(src, []byte("print(1)\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(src, edited, edited); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := runLab(t, with("cp", src, "client1:")...); code != 0 {
			t.Fatalf("cp in: exit %d: %s", code, errOut)
		}
		code, out, errOut := runLab(t, with("exec", "client1", "--", "stat", "-c", "%Y", "chatroom_client.py")...)
		if want := strconv.FormatInt(edited.Unix(), 10) + "\n"; code != 0 || out != want {
			t.Errorf("in client1: stat %%Y = %q (exit %d, %s), want %q", out, code, errOut, want)
		}
		back := t.TempDir()
		if code, _, errOut := runLab(t, with("cp", "client1:chatroom_client.py", back)...); code != 0 {
			t.Fatalf("cp out: exit %d: %s", code, errOut)
		}
		if info, err := os.Stat(filepath.Join(back, "chatroom_client.py")); err != nil || !info.ModTime().Equal(edited) {
			t.Errorf("copied back: %v, %v; want modified %v", info, err, edited)
		}
	})

	t.Run("ssh after down and up elsewhere", func(t *testing.T) {
		cfg := filepath.Join(lab.SSHDir(name), lab.SSHConfigFile)
		ssh := func(t *testing.T, addr string) string {
			t.Helper()
			out, err := exec.Command("ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", addr, "hostname").CombinedOutput()
			if err != nil {
				t.Fatalf("ssh %s hostname: %v\n%s", addr, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		if got := ssh(t, "10.99.64.11"); got != "client1" {
			t.Fatalf("ssh 10.99.64.11 = %q, want client1", got)
		}
		if code, _, errOut := runLab(t, with("down")...); code != 0 {
			t.Fatalf("down: exit %d: %s", code, errOut)
		}
		t.Chdir(t.TempDir())
		code, out, errOut := runLab(t, with("up", "--subnet", "10.99.64.0/24", "--no-dnscheck")...)
		if code != 0 {
			t.Fatalf("up from another folder: exit %d\n%s%s", code, out, errOut)
		}
		if strings.Contains(errOut, "warning") {
			t.Errorf("up from another folder warns:\n%s", errOut)
		}
		if got := ssh(t, "10.99.64.11"); got != "client1" {
			t.Errorf("after down and up elsewhere, ssh 10.99.64.11 = %q, want client1", got)
		}
	})
}
