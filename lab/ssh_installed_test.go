package lab

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestSSHDirIsTheLabsNotTheFolders: a lab's keys are kept per lab name in
// the user's config folder, whichever folder lab runs from; LAB_STATE_DIR
// still overrides it.
func TestSSHDirIsTheLabsNotTheFolders(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("SUDO_UID", "")
	t.Setenv(EnvStateDir, "")
	want := filepath.Join(home, ".config", "lab3", "ux", "ssh")
	for _, dir := range []string{t.TempDir(), t.TempDir()} {
		t.Chdir(dir)
		if got := SSHDir("ux"); got != want {
			t.Errorf("from %s: SSHDir = %s, want %s", dir, got, want)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "cfg"))
	if got, want := SSHDir("ux"), filepath.Join(home, "cfg", "lab3", "ux", "ssh"); got != want {
		t.Errorf("with XDG_CONFIG_HOME: SSHDir = %s, want %s", got, want)
	}
	t.Setenv(EnvStateDir, "/srv/state")
	if got, want := SSHDir("ux"), "/srv/state/ux/ssh"; got != want {
		t.Errorf("with %s: SSHDir = %s, want %s", EnvStateDir, got, want)
	}
}

func TestSSHConfigLine(t *testing.T) {
	tests := []struct {
		line    string
		keyword string
		args    []string
	}{
		{"Include /a/config", "Include", []string{"/a/config"}},
		{"  include=~/x.conf  y.conf", "include", []string{"~/x.conf", "y.conf"}},
		{"Include = \"/with space/config\" /b", "Include", []string{"/with space/config", "/b"}},
		{"\tHost webserver 10.20.30.3", "Host", []string{"webserver", "10.20.30.3"}},
		{"# Include /commented", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		keyword, args := sshConfigLine(tt.line)
		if keyword != tt.keyword || !slices.Equal(args, tt.args) {
			t.Errorf("sshConfigLine(%q) = %q %q, want %q %q", tt.line, keyword, args, tt.keyword, tt.args)
		}
	}
}

// TestInstalledSSHConfigs: the system-wide copy and the configs of the
// same lab that ~/.ssh/config includes, found as ssh finds them, and no
// other file.
func TestInstalledSSHConfigs(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SUDO_UID", "")
	system := t.TempDir()
	topo := topology.Default()
	config := SSHConfig(topo, SSHKeys{Dir: "/old/checkout/.lab/lab3/ssh"})
	other := SSHConfig(mustTopo(t, "ux", 7, "10.99.61.0/24"), SSHKeys{Dir: "/x"})
	files := map[string][]byte{
		SystemSSHConfig(system, "lab3"):               config,
		SystemSSHConfig(system, "ux"):                 other,
		filepath.Join(home, "old", "config"):          config, // Include ~/old/config
		filepath.Join(home, ".ssh", "lab3.conf"):      config, // Include lab3.conf, relative to ~/.ssh
		filepath.Join(home, ".ssh", "conf.d", "a"):    config, // Include conf.d/*
		filepath.Join(home, ".ssh", "conf.d", "b"):    []byte("Host *\n    ServerAliveInterval 30\n"),
		filepath.Join(home, ".ssh", "ux.conf"):        other,
		filepath.Join(home, "not-included", "config"): config,
		filepath.Join(home, ".ssh", "config"): []byte("Include ~/old/config\nHost x\n  Include lab3.conf \"conf.d/*\"\n" +
			"Include ux.conf /missing/config\n# Include " + filepath.Join(home, "not-included", "config") + "\n"),
	}
	for p, b := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := InstalledSSHConfigs("lab3", system)
	want := []string{
		SystemSSHConfig(system, "lab3"),
		filepath.Join(home, "old", "config"),
		filepath.Join(home, ".ssh", "lab3.conf"),
		filepath.Join(home, ".ssh", "conf.d", "a"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("InstalledSSHConfigs =\n%q\nwant\n%q", got, want)
	}
}

// TestRefreshSSHConfigs: every installed config that is not the lab's
// config now is rewritten to it; one already right is left alone; one that
// cannot be written is a *StaleSSHConfigError naming it.
func TestRefreshSSHConfigs(t *testing.T) {
	dir := t.TempDir()
	now := SSHConfig(topology.Default(), SSHKeys{Dir: "/home/s/.config/lab3/lab3/ssh"})
	stale := SSHConfig(topology.Default(), SSHKeys{Dir: "/home/s/old/.lab/lab3/ssh"})
	right, wrong := filepath.Join(dir, "right.conf"), filepath.Join(dir, "wrong.conf")
	gone := filepath.Join(dir, "gone", "lab3-lab3.conf")
	for p, b := range map[string][]byte{right: now, wrong: stale} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rewritten, err := RefreshSSHConfigs([]string{right, wrong, gone}, now)
	if !slices.Equal(rewritten, []string{wrong}) {
		t.Errorf("rewrote %q, want only %s", rewritten, wrong)
	}
	if b, _ := os.ReadFile(wrong); string(b) != string(now) {
		t.Errorf("%s still says:\n%s", wrong, b)
	}
	var serr *StaleSSHConfigError
	if !errors.As(err, &serr) || serr.Path != gone || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a StaleSSHConfigError for %s", err, gone)
	}
}
