package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestHandoutCommandsE2E runs the handout's own commands against a lab
// (ux-handout, 10.99.62.0/24): ssh and scp from this machine with the
// config lab ssh-config writes, and the demo's terminals in tmux, shown on
// a terminal (a pty from Go).
func TestHandoutCommandsE2E(t *testing.T) {
	needDocker(t)
	const name = "ux-handout"
	labBin := buildLab(t)
	with := func(args ...string) []string { return append([]string{"--name", name}, args...) }
	t.Cleanup(func() { runLab(t, with("down", "--force")...) })
	code, out, errOut := runLab(t, with("up", "--subnet", "10.99.62.0/24", "--no-dnscheck")...)
	if code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "ssh: root@10.99.62.3 with the lab's key: ssh -F ") {
		t.Errorf("up does not say how to ssh in:\n%s", errOut)
	}
	status := func(t *testing.T) lab.LabStatus {
		t.Helper()
		_, out, _ := runLab(t, with("status", "--json")...)
		var st lab.LabStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		return st
	}
	runs := func(t *testing.T, host string) []string {
		t.Helper()
		for _, h := range status(t).Hosts {
			if h.Host == host {
				return h.Processes
			}
		}
		t.Fatalf("status has no host %s", host)
		return nil
	}

	t.Run("ssh and scp as in the handout", func(t *testing.T) {
		if _, err := exec.LookPath("ssh"); err != nil {
			if os.Getenv("CI") == "" {
				t.Skip("no ssh client on this machine (apt-get install -y openssh-client)")
			}
			t.Fatal("no ssh client on this machine")
		}
		code, config, errOut := runLab(t, with("ssh-config")...)
		if code != 0 {
			t.Fatalf("ssh-config: exit %d: %s", code, errOut)
		}
		for _, want := range []string{"Host ux-handout-client1 10.99.62.11 ", "User root", "StrictHostKeyChecking accept-new"} {
			if !strings.Contains(config, want) {
				t.Errorf("config lacks %q:\n%s", want, config)
			}
		}
		cfg := filepath.Join(lab.SSHDir(name), lab.SSHConfigFile)
		ssh := func(t *testing.T, args ...string) string {
			t.Helper()
			c := exec.Command("ssh", append([]string{"-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}, args...)...)
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return strings.TrimSpace(string(out))
		}
		// By the host's address, as the handout writes it, and by its name.
		if got := ssh(t, "10.99.62.11", "hostname"); got != "client1" {
			t.Errorf("ssh 10.99.62.11 hostname = %q, want client1", got)
		}
		if got := ssh(t, "ux-handout-webserver", "whoami"); got != "root" {
			t.Errorf("ssh webserver whoami = %q, want root", got)
		}
		src := filepath.Join(t.TempDir(), "chatroom_server.py")
		if err := os.WriteFile(src, []byte("print('hello from scp')\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("scp", "-F", cfg, "-o", "BatchMode=yes", src, "10.99.62.3:~/").CombinedOutput(); err != nil {
			t.Fatalf("scp to the webserver: %v\n%s", err, out)
		}
		if code, out, _ := runLab(t, with("exec", "webserver", "--", "python3", "chatroom_server.py")...); code != 0 || out != "hello from scp\n" {
			t.Errorf("the copied program: exit %d, %q", code, out)
		}
		back := filepath.Join(t.TempDir(), "back.py")
		if out, err := exec.Command("scp", "-F", cfg, "-o", "BatchMode=yes", "10.99.62.3:chatroom_server.py", back).CombinedOutput(); err != nil {
			t.Fatalf("scp from the webserver: %v\n%s", err, out)
		}
		// sshd is plumbing, not the student's program.
		for _, p := range runs(t, "client2") {
			if strings.Contains(p, "sshd") {
				t.Errorf("status shows %q on client2; want the listener hidden", p)
			}
		}
		// A second up changes nothing and keeps ssh working with the same
		// keys and known_hosts.
		if code, _, errOut := runLab(t, with("up", "--subnet", "10.99.62.0/24", "--no-dnscheck")...); code != 0 {
			t.Fatalf("second up: exit %d: %s", code, errOut)
		}
		if got := ssh(t, "10.99.62.13", "hostname"); got != "client3" {
			t.Errorf("after a second up, ssh 10.99.62.13 hostname = %q", got)
		}
	})

	t.Run("terminals: the demo in tmux", func(t *testing.T) {
		if _, err := exec.LookPath("tmux"); err != nil {
			if os.Getenv("CI") == "" {
				t.Skip("no tmux on this machine (apt-get install -y tmux)")
			}
			t.Fatal("no tmux on this machine")
		}
		// A tmux server of this test's own, never the user's.
		t.Setenv("TMUX_TMPDIR", t.TempDir())
		t.Setenv("TMUX", "")
		t.Cleanup(func() { _ = exec.Command("tmux", "kill-server").Run() })
		dir := t.TempDir()
		for file, body := range map[string]string{
			"chatroom_server.py": "import time\nprint('SERVER', 'LISTENING', flush=True)\ntime.sleep(1000)\n",
			"chatroom_client.py": "print('CLIENT', 'RAN', flush=True)\ninput()\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if code, _, errOut := runLab(t, with("deploy", "--files", dir)...); code != 0 {
			t.Fatalf("deploy: exit %d: %s", code, errOut)
		}
		p := startPTY(t, 40, 160, labBin, with("terminals")...)
		p.expect(t, "SERVER LISTENING")           // the webserver's pane runs the server
		p.expect(t, "python3 chatroom_client.py") // typed in the clients' panes
		deadline := time.Now().Add(15 * time.Second)
		for !slices.Contains(runs(t, "webserver"), "python3 chatroom_server.py") {
			if time.Now().After(deadline) {
				t.Fatalf("webserver runs %q; want the chat server", runs(t, "webserver"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		// What the server prints shows in its pane and is kept.
		if code, logs, errOut := runLab(t, with("logs", "webserver", "chatroom_server.py")...); code != 0 || !strings.Contains(logs, "SERVER LISTENING\n") {
			t.Errorf("logs webserver chatroom_server.py: exit %d, %q %q", code, logs, errOut)
		}
		p.write(t, "\r") // client1's pane has the focus: run its client
		p.expect(t, "CLIENT RAN")
		p.write(t, "\x02d") // Ctrl-b d: detach
		if code := p.wait(t); code != 0 {
			t.Errorf("lab terminals after detaching: exit %d\n%s", code, p.output())
		}
		// Ending the session closes the shells, and what runs in them ends.
		code, out, errOut := runLab(t, with("terminals", "kill")...)
		if code != 0 || out != "ended tmux session lab-ux-handout\n" {
			t.Errorf("terminals kill: exit %d, %q %q", code, out, errOut)
		}
		deadline = time.Now().Add(15 * time.Second)
		for len(runs(t, "webserver")) > 0 || len(runs(t, "client1")) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("after kill: webserver runs %q, client1 %q; want nothing", runs(t, "webserver"), runs(t, "client1"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
