package lab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// ErrSandboxedSSH is returned by EnableSSH for a sandboxed (grading) lab:
// its hosts never run sshd.
var ErrSandboxedSSH = errors.New("sshd stays off in a sandboxed (grading) lab")

// The files of a lab's SSH folder (SSHDir).
const (
	SSHIdentityFile   = "id_ed25519"           // the key users log in with, 0600
	SSHHostKeyFile    = "ssh_host_ed25519_key" // the key every host of the lab proves itself with, 0600
	SSHKnownHostsFile = "known_hosts"          // the hosts' key under each host's addresses
	SSHConfigFile     = "config"               // what lab ssh-config writes
)

// EnvStateDir names the folder that holds each lab's state (its SSH keys
// and config), instead of .lab in the current folder.
const EnvStateDir = "LAB_STATE_DIR"

// StateDir is the folder of a lab's state: $LAB_STATE_DIR/<name>, or
// .lab/<name> in the current folder (the repository's, where make up runs;
// git ignores it). It is not in results/, which students hand in.
func StateDir(name string) string {
	if dir := os.Getenv(EnvStateDir); dir != "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(".lab", name)
}

// SSHDir is the folder that holds a lab's SSH keys and config.
func SSHDir(name string) string { return filepath.Join(StateDir(name), "ssh") }

// SSHKeys are a lab's two SSH keys, kept in its SSH folder: the one its
// users log in with, and the one its hosts prove themselves with. The host
// key is kept too, so that a lab brought down and up again keeps its
// known_hosts entries valid.
type SSHKeys struct {
	// Dir is the folder the keys are in, as an absolute path.
	Dir string
	// Authorized is the users' public key as an authorized_keys line.
	Authorized []byte
	// HostKey is the hosts' private key (OpenSSH PEM) and HostPublic its
	// public key as an authorized_keys line.
	HostKey, HostPublic []byte
}

// Identity is the path of the private key users log in with.
func (k SSHKeys) Identity() string { return filepath.Join(k.Dir, SSHIdentityFile) }

// KnownHosts is the path of the lab's known_hosts file.
func (k SSHKeys) KnownHosts() string { return filepath.Join(k.Dir, SSHKnownHostsFile) }

// LoadSSHKeys reads the lab's keys from dir, making (ed25519) whichever is
// missing. Private keys are written 0600 and the folder 0700. When lab runs
// as root under sudo, the folder and its files are given to the user who
// ran sudo, whose ssh must read them.
func LoadSSHKeys(dir string) (SSHKeys, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	k := SSHKeys{Dir: abs}
	if _, k.Authorized, err = loadOrMakeKey(filepath.Join(abs, SSHIdentityFile), "lab3 user key"); err != nil {
		return SSHKeys{}, err
	}
	if k.HostKey, k.HostPublic, err = loadOrMakeKey(filepath.Join(abs, SSHHostKeyFile), "lab3 host key"); err != nil {
		return SSHKeys{}, err
	}
	giveToSudoUser(abs)
	return k, nil
}

// loadOrMakeKey reads an OpenSSH private key and returns it with its public
// key line, making and saving an ed25519 key (and its .pub) if there is
// none.
func loadOrMakeKey(path, comment string) (private, public []byte, err error) {
	private, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, nil, fmt.Errorf("make ssh key %s: %w", path, gerr)
		}
		block, merr := ssh.MarshalPrivateKey(priv, comment)
		if merr != nil {
			return nil, nil, fmt.Errorf("make ssh key %s: %w", path, merr)
		}
		private = pem.EncodeToMemory(block)
		if err := writeFileAtomic(path, private, 0o600); err != nil {
			return nil, nil, fmt.Errorf("save ssh key: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("read ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(private)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh key %s: %w (remove it and run lab up again to make a new one)", path, err)
	}
	public = ssh.MarshalAuthorizedKey(signer.PublicKey())
	public = append(bytes.TrimSpace(public), []byte(" "+comment+"\n")...)
	if err := writeFileAtomic(path+".pub", public, 0o644); err != nil {
		return nil, nil, fmt.Errorf("save ssh key: %w", err)
	}
	return private, public, nil
}

// writeFileAtomic writes data to path with perm, through a temporary file
// renamed into place, so that a reader never sees half a key.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// giveToSudoUser gives dir and what is in it to the user who ran sudo, when
// lab runs as root under sudo; otherwise it does nothing. A failure leaves
// the files root's, which ssh run as root still reads.
func giveToSudoUser(dir string) {
	uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	if os.Geteuid() != 0 || err1 != nil || err2 != nil {
		return
	}
	// The lab's state folder and what is in it, and the folder of all
	// labs' state (.lab), which sudo made too.
	state := filepath.Dir(dir)
	_ = os.Lchown(filepath.Dir(state), uid, gid)
	_ = filepath.WalkDir(state, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			_ = os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// sshInstallDir is where EnableSSH puts the keys in a host before its
// script moves them into place with the right owners and modes.
const sshInstallDir = "/run/lab3-ssh"

// sshKeysRecord is the file in each host that names the folder its keys
// came from, so that lab ssh-config run from another folder finds them
// instead of making the lab new ones.
const sshKeysRecord = "/etc/ssh/lab3-keys-dir"

// enableSSHScript installs the lab's host key and adds the users' key to
// root's authorized_keys (keeping keys a user put there), then starts sshd
// unless it runs. sshd daemonizes: its parent is the container's init, so
// lab stop and lab exec's clean-up never take it for a user's program.
const enableSSHScript = `set -e
d=` + sshInstallDir + `
[ -x /usr/sbin/sshd ] || { echo "no sshd in this host's image: make the lab again with: lab down, then lab up" >&2; exit 3; }
install -d -m 700 /root/.ssh
touch /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
grep -qxF "$(cat "$d/authorized_keys")" /root/.ssh/authorized_keys || cat "$d/authorized_keys" >>/root/.ssh/authorized_keys
install -m 600 "$d/` + SSHHostKeyFile + `" /etc/ssh/` + SSHHostKeyFile + `
install -m 644 "$d/` + SSHHostKeyFile + `.pub" /etc/ssh/` + SSHHostKeyFile + `.pub
install -m 644 "$d/keys-dir" ` + sshKeysRecord + `
rm -rf "$d"
mkdir -p /run/sshd
pgrep -x sshd >/dev/null || /usr/sbin/sshd
`

// EnableSSH lets the lab's users ssh and scp into every host as root with
// the lab's key, as into the course's containers: it installs the keys in
// each running host, starts its sshd, and writes the lab's known_hosts.
// Running it again changes nothing. A sandboxed lab is refused
// (ErrSandboxedSSH): grading labs never run sshd.
func EnableSSH(ctx context.Context, eng runtime.Engine, topo topology.Topology, keys SSHKeys) error {
	cs, err := eng.Containers(ctx, map[string]string{topology.LabelLab: topo.Name})
	if err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	var running []string
	for _, c := range cs {
		if c.Labels[LabelSandbox] != "" {
			return fmt.Errorf("ssh: lab %s: %w", topo.Name, ErrSandboxedSSH)
		}
		if c.State == "running" && c.Labels[topology.LabelHost] != "" {
			running = append(running, c.Labels[topology.LabelHost])
		}
	}
	if len(running) == 0 {
		return fmt.Errorf("ssh: %w: lab %s has no running host", ErrNotUp, topo.Name)
	}
	files := []runtime.File{
		{Path: sshInstallDir + "/authorized_keys", Mode: 0o644, Data: keys.Authorized},
		{Path: sshInstallDir + "/keys-dir", Mode: 0o644, Data: []byte(keys.Dir + "\n")},
		{Path: sshInstallDir + "/" + SSHHostKeyFile, Mode: 0o644, Data: keys.HostKey},
		{Path: sshInstallDir + "/" + SSHHostKeyFile + ".pub", Mode: 0o644, Data: keys.HostPublic},
	}
	hosts := eng.Lab(topo.Name)
	var g errgroup.Group
	for _, host := range running {
		ctr := topo.ContainerName(host)
		g.Go(func() error {
			if err := hosts.CopyFiles(ctx, host, files); err != nil {
				return fmt.Errorf("ssh: copy keys into %s: %w", ctr, err)
			}
			res, err := hosts.Exec(ctx, host, []string{"sh", "-c", enableSSHScript}, nil)
			if err != nil {
				return fmt.Errorf("ssh: start sshd in %s: %w", ctr, err)
			}
			if res.ExitCode != 0 {
				return fmt.Errorf("ssh: start sshd in %s: %s", ctr, oneLine(string(res.Stderr)+" "+string(res.Stdout)))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := writeFileAtomic(keys.KnownHosts(), KnownHosts(topo, keys.HostPublic), 0o644); err != nil {
		return fmt.Errorf("ssh: write known_hosts: %w", err)
	}
	giveToSudoUser(keys.Dir)
	return nil
}

// InstalledSSHDir is the folder of the keys EnableSSH last installed in the
// lab's webserver, if that folder still holds them; "" otherwise.
func InstalledSSHDir(ctx context.Context, eng runtime.Engine, topo topology.Topology) string {
	b, err := eng.Lab(topo.Name).ReadFile(ctx, topo.WebServer().Name, sshKeysRecord)
	if err != nil {
		return ""
	}
	dir := strings.TrimSpace(string(b))
	if _, err := os.Stat(filepath.Join(dir, SSHIdentityFile)); !filepath.IsAbs(dir) || err != nil {
		return ""
	}
	return dir
}

// KnownHosts is the lab's known_hosts: the hosts' key under each host's
// addresses.
func KnownHosts(topo topology.Topology, hostPublic []byte) []byte {
	f := strings.Fields(string(hostPublic))
	if len(f) < 2 {
		return nil
	}
	var b bytes.Buffer
	for _, h := range topo.Hosts {
		names := []string{h.IPv4.String()}
		if h.IPv6.IsValid() {
			names = append(names, h.IPv6.String())
		}
		fmt.Fprintf(&b, "%s %s %s\n", strings.Join(names, ","), f[0], f[1])
	}
	return b.Bytes()
}

// SSHAlias is the name a host of the lab goes by in its SSH config: the
// host's own name in the course's lab (ssh webserver), <lab>-<host> in any
// other, so that the configs of several labs can be included together.
func SSHAlias(topo topology.Topology, host string) string {
	if topo.Name == topology.DefaultName {
		return host
	}
	return topo.Name + "-" + host
}

// SSHConfig is an OpenSSH client config for the lab's hosts, as
// containerlab writes one: each host by its alias and by its addresses, as
// root, with the lab's key and known_hosts. Included from ~/.ssh/config (or
// given with ssh -F), it makes the handout's `ssh 10.20.30.11` and
// `scp file 10.20.30.3:~/` work as they are written.
func SSHConfig(topo topology.Topology, keys SSHKeys) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# SSH config of lab %s (%s, %s), written by lab ssh-config.\n", topo.Name, topo.Domain(), topo.Subnet4)
	fmt.Fprintf(&b, "# Use it with ssh -F %s HOST, or put this line at the top of ~/.ssh/config:\n", filepath.Join(keys.Dir, SSHConfigFile))
	fmt.Fprintf(&b, "#   Include %s\n", filepath.Join(keys.Dir, SSHConfigFile))
	for _, h := range topo.Hosts {
		patterns := []string{SSHAlias(topo, h.Name), h.IPv4.String()}
		if h.IPv6.IsValid() {
			patterns = append(patterns, h.IPv6.String())
		}
		fmt.Fprintf(&b, "\nHost %s\n", strings.Join(patterns, " "))
		fmt.Fprintf(&b, "    HostName %s\n", h.IPv4)
		fmt.Fprintf(&b, "    User root\n")
		fmt.Fprintf(&b, "    IdentityFile %s\n", quoteSSH(keys.Identity()))
		fmt.Fprintf(&b, "    IdentitiesOnly yes\n")
		fmt.Fprintf(&b, "    StrictHostKeyChecking accept-new\n")
		fmt.Fprintf(&b, "    UserKnownHostsFile %s\n", quoteSSH(keys.KnownHosts()))
	}
	return b.Bytes()
}

// WriteSSHConfig writes SSHConfig into the lab's SSH folder and returns its
// path.
func WriteSSHConfig(topo topology.Topology, keys SSHKeys) (string, error) {
	p := filepath.Join(keys.Dir, SSHConfigFile)
	if err := writeFileAtomic(p, SSHConfig(topo, keys), 0o644); err != nil {
		return "", fmt.Errorf("write ssh config: %w", err)
	}
	giveToSudoUser(keys.Dir)
	return p, nil
}

// quoteSSH quotes a path for an ssh config when it holds a space.
func quoteSSH(p string) string {
	if strings.ContainsAny(p, " \t") {
		return `"` + p + `"`
	}
	return p
}
