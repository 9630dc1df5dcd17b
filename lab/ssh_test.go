package lab

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func TestLoadSSHKeysMakesThemOncePrivately(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "unit", "ssh")
	k1, err := LoadSSHKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadSSHKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.Authorized, k2.Authorized) || !bytes.Equal(k1.HostKey, k2.HostKey) {
		t.Error("a second load made new keys; want the lab's keys kept")
	}
	if bytes.Equal(k1.Authorized, k1.HostPublic) {
		t.Error("the users' key and the hosts' key are the same key")
	}
	for _, want := range []struct {
		name string
		perm os.FileMode
	}{{"", 0o700}, {SSHIdentityFile, 0o600}, {SSHHostKeyFile, 0o600}, {SSHIdentityFile + ".pub", 0o644}} {
		fi, err := os.Stat(filepath.Join(dir, want.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want.perm {
			t.Errorf("%s: mode %o, want %o", filepath.Join(dir, want.name), got, want.perm)
		}
	}
	if !strings.HasPrefix(string(k1.Authorized), "ssh-ed25519 ") || !strings.HasSuffix(string(k1.Authorized), " lab3 user key\n") {
		t.Errorf("authorized key %q, want an ed25519 authorized_keys line", k1.Authorized)
	}
	pub, err := os.ReadFile(filepath.Join(dir, SSHIdentityFile+".pub"))
	if err != nil || !bytes.Equal(pub, k1.Authorized) {
		t.Errorf("%s.pub = %q (%v), want the authorized line", SSHIdentityFile, pub, err)
	}
	if !filepath.IsAbs(k1.Dir) || k1.Identity() != filepath.Join(k1.Dir, SSHIdentityFile) {
		t.Errorf("Dir %q, Identity %q: want absolute paths, as ssh reads them from anywhere", k1.Dir, k1.Identity())
	}
}

// TestTheLabsKeysLogIn proves the keys fit together without Docker: an
// SSH server holding the lab's host key accepts the users' key, as the
// authorized_keys line says, and the client accepts the server through
// the lab's known_hosts.
func TestTheLabsKeysLogIn(t *testing.T) {
	keys, err := LoadSSHKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	topo := mustTopo(t, topology.DefaultName, 30, "10.20.30.0/24")
	if err := os.WriteFile(keys.KnownHosts(), KnownHosts(topo, keys.HostPublic), 0o644); err != nil {
		t.Fatal(err)
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(keys.Authorized)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.ParsePrivateKey(keys.HostKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if c.User() == "root" && bytes.Equal(k.Marshal(), authorized.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("not the lab's key")
	}}
	srv.AddHostKey(hostSigner)
	// net.Pipe would not do: both ends send their version first, and a
	// pipe has no buffer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		server, err := ln.Accept()
		if err != nil {
			return
		}
		defer server.Close()
		conn, chans, reqs, err := ssh.NewServerConn(server, srv)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		go func() {
			for c := range chans {
				c.Reject(ssh.Prohibited, "no sessions in this test")
			}
		}()
		conn.Wait()
	}()
	identity, err := os.ReadFile(keys.Identity())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(identity)
	if err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(keys.KnownHosts())
	if err != nil {
		t.Fatal(err)
	}
	// ssh checks the address it dials: the webserver's.
	check := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		return hostKeys("10.20.30.3:22", &net.TCPAddr{IP: net.ParseIP("10.20.30.3"), Port: 22}, key)
	}
	client, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, _, _, err := ssh.NewClientConn(client, "10.20.30.3:22", &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: check,
	})
	if err != nil {
		t.Fatalf("log in with the lab's key: %v", err)
	}
	c.Close()
	wg.Wait()
}

// sshFake is the fake engine with hosts that run the install script.
type sshFake struct {
	*fakeEngine
	mu      sync.Mutex
	scripts map[string]string // host → script run
}

func newSSHFake() *sshFake {
	f := &sshFake{fakeEngine: newFakeEngine(), scripts: map[string]string{}}
	exec := f.ExecFunc
	f.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		if len(cmd) == 3 && cmd[0] == "sh" && cmd[2] == enableSSHScript {
			f.mu.Lock()
			f.scripts[host] = cmd[2]
			f.mu.Unlock()
			// What the script does with the record of the keys' folder.
			dir, _ := f.File(lab, host, sshInstallDir+"/keys-dir")
			return runtime.ExecResult{}, f.SetFile(lab, host, runtime.File{Path: sshKeysRecord, Mode: 0o644, Data: dir.Data})
		}
		return exec(ctx, lab, host, cmd, stdin)
	}
	return f
}

func TestEnableSSHInstallsTheKeysInEveryHost(t *testing.T) {
	eng := newSSHFake()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadSSHKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := EnableSSH(context.Background(), eng, topo, keys); err != nil {
		t.Fatal(err)
	}
	for _, h := range topo.Hosts {
		if eng.copied(topo.Name, h.Name, sshInstallDir+"/authorized_keys") != string(keys.Authorized) ||
			eng.copied(topo.Name, h.Name, sshInstallDir+"/"+SSHHostKeyFile) != string(keys.HostKey) {
			t.Errorf("%s: the keys were not copied in: %v", h.Name, eng.Files(topo.Name, h.Name))
		}
		if eng.scripts[h.Name] == "" {
			t.Errorf("%s: sshd was not started", h.Name)
		}
	}
	known, err := os.ReadFile(keys.KnownHosts())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range topo.Hosts {
		if !strings.Contains(string(known), h.IPv4.String()+","+h.IPv6.String()+" ssh-ed25519 ") {
			t.Errorf("known_hosts lacks %s:\n%s", h.Name, known)
		}
	}
}

func TestEnableSSHRefusesAGradingLab(t *testing.T) {
	eng := newSSHFake()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(DefaultSandbox())); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadSSHKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = EnableSSH(context.Background(), eng, topo, keys)
	if !errors.Is(err, ErrSandboxedSSH) {
		t.Errorf("EnableSSH on a sandboxed lab: %v, want ErrSandboxedSSH", err)
	}
	if len(eng.scripts) != 0 {
		t.Errorf("sshd was started in a sandboxed lab: %v", eng.scripts)
	}
}

func TestEnableSSHNeedsTheLabUp(t *testing.T) {
	keys, err := LoadSSHKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := EnableSSH(context.Background(), newFakeEngine(), upTopo(t), keys); !errors.Is(err, ErrNotUp) {
		t.Errorf("EnableSSH on no lab: %v, want ErrNotUp", err)
	}
}

func TestSSHConfigNamesEveryHostByAliasAndAddress(t *testing.T) {
	keys := SSHKeys{Dir: "/home/student/lab3/.lab/lab3/ssh"}
	got := string(SSHConfig(mustTopo(t, topology.DefaultName, 30, "10.20.30.0/24"), keys))
	want := `
Host webserver 10.20.30.3 fd00::3
    HostName 10.20.30.3
    User root
    IdentityFile /home/student/lab3/.lab/lab3/ssh/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking accept-new
    UserKnownHostsFile /home/student/lab3/.lab/lab3/ssh/known_hosts
`
	if !strings.Contains(got, want) {
		t.Errorf("config lacks the webserver's entry%s\ngot:\n%s", want, got)
	}
	for _, h := range []string{"dnsserver 10.20.30.2", "client1 10.20.30.11", "client2 10.20.30.12", "client3 10.20.30.13"} {
		if !strings.Contains(got, "\nHost "+h+" ") {
			t.Errorf("config lacks Host %s", h)
		}
	}
	other := string(SSHConfig(mustTopo(t, "ux-ssh", 7, "10.99.61.0/24"), keys))
	if !strings.Contains(other, "\nHost ux-ssh-client1 10.99.61.11 ") {
		t.Errorf("another lab's hosts should be named <lab>-<host>:\n%s", other)
	}
}

func TestStatusHidesTheSSHListenerButNotALogin(t *testing.T) {
	got := describeProcesses([]string{
		"/sbin/docker-init -- /usr/local/sbin/lab-host-entrypoint",
		"sleep infinity",
		"sshd: /usr/sbin/sshd [listener] 0 of 10-100 startups",
		"sshd: root@pts/0",
		"python3 chatroom_client.py",
	})
	if want := []string{"sshd: root@pts/0", "python3 chatroom_client.py"}; !slices.Equal(got, want) {
		t.Errorf("RUNS %q, want %q", got, want)
	}
}

// TestTheHostsRememberWhereTheKeysAre: lab ssh-config run from another
// folder finds the keys the lab's hosts have, instead of re-keying them.
func TestTheHostsRememberWhereTheKeysAre(t *testing.T) {
	eng := newSSHFake()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	if got := InstalledSSHDir(context.Background(), eng, topo); got != "" {
		t.Errorf("before EnableSSH: %q, want none", got)
	}
	keys, err := LoadSSHKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := EnableSSH(context.Background(), eng, topo, keys); err != nil {
		t.Fatal(err)
	}
	if got := InstalledSSHDir(context.Background(), eng, topo); got != keys.Dir {
		t.Errorf("InstalledSSHDir = %q, want %q", got, keys.Dir)
	}
	if err := os.RemoveAll(keys.Dir); err != nil {
		t.Fatal(err)
	}
	if got := InstalledSSHDir(context.Background(), eng, topo); got != "" {
		t.Errorf("with the folder gone: %q, want none", got)
	}
}
