package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Issue #26, finding 4: after lab down, then lab up from another folder,
// ssh 10.20.30.11 said "REMOTE HOST IDENTIFICATION HAS CHANGED", as the
// installed config named the keys of the folder the lab was first made
// from. These tests run that sequence on the fake engine and ask ssh
// itself (ssh -G, which reads the configs and dials nothing) which key
// and known_hosts it would use, then check them against what the new
// lab's hosts hold.

// sshHome gives the test a home of its own, as a user's: lab's keys go to
// its ~/.config, its ~/.ssh/config is the user's, and the system-wide
// folder --install writes to is a folder of the test's. It returns the
// home and the system folder.
func sshHome(t *testing.T) (home, system string) {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no ssh client on this machine to read the configs (apt-get install -y openssh-client)")
		}
		t.Fatal("no ssh client on this machine")
	}
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv(lab.EnvStateDir, "")
	t.Setenv("SUDO_UID", "")
	system = t.TempDir()
	saved := systemSSHConfigDir
	systemSSHConfigDir = system
	t.Cleanup(func() { systemSSHConfigDir = saved })
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	return home, system
}

// include adds "Include path" at the top of home's ~/.ssh/config, as the
// README says to.
func include(t *testing.T, home, path string) {
	t.Helper()
	config := filepath.Join(home, ".ssh", "config")
	old, _ := os.ReadFile(config)
	if err := os.WriteFile(config, append([]byte("Include "+path+"\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sshLogsIn checks what ssh, reading config (as ~/.ssh/config, or as the
// system-wide copy), would do on ssh ADDR for host of the lab on eng: its
// identity must be one the host authorizes, and its known_hosts must hold
// the key the host presents (a different key there is ssh's "REMOTE HOST
// IDENTIFICATION HAS CHANGED").
func sshLogsIn(t *testing.T, eng *fakeLab, config, host, addr string) {
	t.Helper()
	out, err := exec.Command("ssh", "-G", "-F", config, addr).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -G -F %s %s: %v\n%s", config, addr, err, out)
	}
	var identity, knownHostsFile string
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "identityfile":
			identity = v
		case "userknownhostsfile":
			knownHostsFile = strings.Fields(v)[0]
		}
	}
	key, err := os.ReadFile(identity)
	if err != nil {
		t.Fatalf("ssh %s through %s: identity: %v", addr, config, err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	mine := string(bytes.Fields(ssh.MarshalAuthorizedKey(signer.PublicKey()))[1])
	if authorized := eng.file(topology.DefaultName, host, "/root/.ssh/authorized_keys"); !strings.Contains(authorized, mine) {
		t.Errorf("ssh %s through %s: %s would log in with %s, which %s does not authorize:\n%s", addr, config, host, identity, host, authorized)
	}
	presented, _, _, _, err := ssh.ParseAuthorizedKey([]byte(eng.file(topology.DefaultName, host, "/etc/ssh/ssh_host_ed25519_key.pub")))
	if err != nil {
		t.Fatalf("%s's host key: %v", host, err)
	}
	check, err := knownhosts.New(knownHostsFile)
	if err != nil {
		t.Fatalf("ssh %s through %s: known_hosts: %v", addr, config, err)
	}
	err = check(addr+":22", &net.TCPAddr{IP: net.ParseIP(addr), Port: 22}, presented)
	var kerr *knownhosts.KeyError
	switch {
	case errors.As(err, &kerr) && len(kerr.Want) > 0:
		t.Errorf("ssh %s through %s: REMOTE HOST IDENTIFICATION HAS CHANGED: %s holds another key for %s", addr, config, knownHostsFile, addr)
	case err != nil:
		t.Errorf("ssh %s through %s: %s does not know %s's key: %v", addr, config, knownHostsFile, host, err)
	}
}

// TestSSHAfterUpFromAnotherFolder: the keys are the lab's, not the
// folder's, so after down and up from another folder plain ssh, through
// the user's Include or the system-wide copy, logs in and trusts the hosts
// as before, and nothing warns.
func TestSSHAfterUpFromAnotherFolder(t *testing.T) {
	home, system := sshHome(t)
	eng := newFakeLab(t)
	t.Chdir(t.TempDir())
	upOnFake(t, eng)
	config, err := filepath.Abs(filepath.Join(lab.SSHDir(topology.DefaultName), lab.SSHConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(config, filepath.Join(home, ".config", "lab3", "lab3", "ssh")+"/") {
		t.Errorf("the lab's SSH config is %s, want it under ~/.config/lab3/lab3/ssh", config)
	}
	include(t, home, config)
	if code, _, stderr := labOnFake(t, eng, "ssh-config", "--install"); code != 0 {
		t.Fatalf("ssh-config --install: exit %d: %s", code, stderr)
	}
	installed := lab.SystemSSHConfig(system, topology.DefaultName)
	user := filepath.Join(home, ".ssh", "config")
	sshLogsIn(t, eng, user, "client1", "10.20.30.11")

	if code, _, stderr := labOnFake(t, eng, "down"); code != 0 {
		t.Fatalf("down: exit %d: %s", code, stderr)
	}
	t.Chdir(t.TempDir())
	_, stderr := upOnFake(t, eng)
	if strings.Contains(stderr, "warning") {
		t.Errorf("up from another folder warns:\n%s", stderr)
	}
	for _, c := range []string{user, installed} {
		sshLogsIn(t, eng, c, "client1", "10.20.30.11")
		sshLogsIn(t, eng, c, "webserver", "10.20.30.3")
	}
}

// TestUpRewritesAStaleInstalledConfig: a config an older lab wrote in the
// folder it ran from (.lab/lab3/ssh), included from ~/.ssh/config and
// installed system-wide, names keys the next lab does not have; lab up
// rewrites both, so ssh logs in without a warning.
func TestUpRewritesAStaleInstalledConfig(t *testing.T) {
	home, system := sshHome(t)
	eng := newFakeLab(t)
	old := t.TempDir()
	t.Chdir(old)
	// What lab up did before the keys moved: .lab/<lab>/ssh in the folder.
	t.Setenv(lab.EnvStateDir, filepath.Join(old, ".lab"))
	upOnFake(t, eng)
	stale := filepath.Join(old, ".lab", "lab3", "ssh", lab.SSHConfigFile)
	include(t, home, stale)
	if code, _, stderr := labOnFake(t, eng, "ssh-config", "--install"); code != 0 {
		t.Fatalf("ssh-config --install: exit %d: %s", code, stderr)
	}
	if code, _, stderr := labOnFake(t, eng, "down"); code != 0 {
		t.Fatalf("down: exit %d: %s", code, stderr)
	}

	t.Setenv(lab.EnvStateDir, "")
	t.Chdir(t.TempDir())
	_, stderr := upOnFake(t, eng)
	if strings.Contains(stderr, "warning") {
		t.Errorf("up warns although it could rewrite the stale configs:\n%s", stderr)
	}
	for _, c := range []string{filepath.Join(home, ".ssh", "config"), lab.SystemSSHConfig(system, topology.DefaultName)} {
		sshLogsIn(t, eng, c, "client1", "10.20.30.11")
	}
}

// TestUpWarnsOfAStaleConfigItCannotRewrite: a user who is not root cannot
// rewrite the system-wide copy; lab up says so on one line, with the fix.
func TestUpWarnsOfAStaleConfigItCannotRewrite(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any folder; the warning is for a user who cannot write the system-wide one")
	}
	_, system := sshHome(t)
	eng := newFakeLab(t)
	installed := lab.SystemSSHConfig(system, topology.DefaultName)
	stale := "# SSH config of lab lab3 (team30.com, 10.20.30.0/24), written by lab ssh-config.\nHost 10.20.30.11\n    IdentityFile /gone/id_ed25519\n"
	if err := os.WriteFile(installed, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(system, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(system, 0o755) })
	t.Chdir(t.TempDir())
	_, stderr := upOnFake(t, eng)
	want := "lab: warning: ssh: " + installed + " names other keys than the lab has now, and cannot be rewritten"
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "update it with: sudo lab ssh-config --install\n") {
		t.Errorf("stderr lacks the warning %q … with its fix:\n%s", want, stderr)
	}
}
