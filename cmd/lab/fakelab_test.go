package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

// fakeLab is runtime/fake's engine with hosts enough for lab up, down,
// ssh-config and cp without Docker: the DNS server answers dig, and the
// script that turns sshd on does to the host's files what it does in a
// real host.
type fakeLab struct {
	*fake.Engine
}

// newFakeLab makes the engine, and sets the test's environment as lab up
// needs it to build its images on the fake: from the registry's base (a
// fake build fetches nothing), under a cache folder of the test's own.
func newFakeLab(t *testing.T) *fakeLab {
	t.Setenv(images.EnvBase, string(images.FromRegistry))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := &fakeLab{Engine: fake.New("fake")}
	f.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		switch {
		case cmd[0] == "dig":
			return runtime.ExecResult{Stdout: []byte("ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800\n")}, nil
		case cmd[0] == "sh" && len(cmd) == 3 && strings.Contains(cmd[2], "/usr/sbin/sshd"):
			return runtime.ExecResult{}, f.installSSH(lab, host)
		}
		return runtime.ExecResult{ExitCode: 127, Stderr: []byte(strings.Join(cmd, " ") + ": not found")}, nil
	}
	return f
}

// installSSH is what lab's enableSSHScript does with the keys lab copied
// into /run/lab3-ssh: the users' key is added to root's authorized_keys,
// and the host key and the record of the keys' folder are put in /etc/ssh.
func (f *fakeLab) installSSH(lab, host string) error {
	const from = "/run/lab3-ssh/"
	authorized, _ := f.File(lab, host, "/root/.ssh/authorized_keys")
	add, _ := f.File(lab, host, from+"authorized_keys")
	if !bytes.Contains(authorized.Data, add.Data) {
		authorized.Data = append(authorized.Data, add.Data...)
	}
	for dst, src := range map[string]string{
		"/root/.ssh/authorized_keys":        "",
		"/etc/ssh/ssh_host_ed25519_key":     from + "ssh_host_ed25519_key",
		"/etc/ssh/ssh_host_ed25519_key.pub": from + "ssh_host_ed25519_key.pub",
		"/etc/ssh/lab3-keys-dir":            from + "keys-dir",
	} {
		file := authorized
		if src != "" {
			file, _ = f.File(lab, host, src)
		}
		file.Path = dst
		if err := f.SetFile(lab, host, file); err != nil {
			return err
		}
	}
	return nil
}

// file is a file on a host of lab, "" if there is none.
func (f *fakeLab) file(lab, host, path string) string {
	file, _ := f.File(lab, host, path)
	return string(file.Data)
}

// labOnFake runs lab with args on eng instead of Docker and returns its
// exit code and output.
func labOnFake(t *testing.T, eng runtime.Engine, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var out, errb bytes.Buffer
	connect := func(context.Context, string) (runtime.Engine, error) { return eng, nil }
	code = run(context.Background(), args, devnull, &out, &errb, withEngines(connect))
	return code, out.String(), errb.String()
}

// upOnFake brings the course's lab up on eng with extra up flags, failing
// the test unless it comes up.
func upOnFake(t *testing.T, eng runtime.Engine, flags ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := labOnFake(t, eng, append([]string{"up", "--no-dnscheck"}, flags...)...)
	if code != 0 {
		t.Fatalf("lab up %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(flags, " "), code, stdout, stderr)
	}
	return stdout, stderr
}
