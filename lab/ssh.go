package lab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
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
// and config), instead of the defaults of StateDir and SSHDir.
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

// SSHDir is the folder that holds a lab's SSH keys and config:
// $LAB_STATE_DIR/<name>/ssh, or else lab3/<name>/ssh in the user's config
// folder (~/.config/lab3/<name>/ssh; under sudo, the invoking user's). It
// is the same from whichever folder lab runs, so a lab brought down and up
// again from another checkout keeps its keys, and every config that names
// them stays true. Without a home folder it is .lab/<name>/ssh.
func SSHDir(name string) string {
	if os.Getenv(EnvStateDir) == "" {
		if dir := userConfigDir(); dir != "" {
			return filepath.Join(dir, "lab3", name, "ssh")
		}
	}
	return filepath.Join(StateDir(name), "ssh")
}

// userHome is the home folder of the user lab works for: the one who ran
// sudo, under sudo; "" if there is none.
func userHome() string {
	if uid, _, ok := sudoUser(); ok {
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.HomeDir != "" {
			return u.HomeDir
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return home
}

// userConfigDir is the config folder of the user lab works for
// ($XDG_CONFIG_HOME or ~/.config), "" if there is none.
func userConfigDir() string {
	if _, _, ok := sudoUser(); ok {
		if dir := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
			return dir // kept by sudo -E: the user's own
		}
		if home := userHome(); home != "" {
			return filepath.Join(home, ".config")
		}
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return dir
}

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
	made := firstMissing(abs)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return SSHKeys{}, fmt.Errorf("ssh keys: %w", err)
	}
	// Folders sudo made in the user's home (~/.config itself, on a new
	// account) are the user's.
	if made != "" {
		giveTreeToSudoUser(made)
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

// sudoUser is the user who ran sudo, when lab runs as root under sudo.
func sudoUser() (uid, gid int, ok bool) {
	uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	return uid, gid, os.Geteuid() == 0 && err1 == nil && err2 == nil
}

// giveToSudoUser gives dir and what is in it to the user who ran sudo, when
// lab runs as root under sudo; otherwise it does nothing. A failure leaves
// the files root's, which ssh run as root still reads.
func giveToSudoUser(dir string) {
	uid, gid, ok := sudoUser()
	if !ok {
		return
	}
	// The lab's state folder and what is in it, and the folder of all
	// labs' state (.lab, ~/.config/lab3), which sudo made too.
	state := filepath.Dir(dir)
	_ = os.Lchown(filepath.Dir(state), uid, gid)
	giveTreeToSudoUser(state)
}

// giveTreeToSudoUser gives dir and everything below it to the user who ran
// sudo, as giveToSudoUser does.
func giveTreeToSudoUser(dir string) {
	uid, gid, ok := sudoUser()
	if !ok {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			_ = os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// firstMissing is the outermost folder of dir (absolute) that does not
// exist yet, "" if dir exists.
func firstMissing(dir string) string {
	missing := ""
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = p
		if filepath.Dir(p) == p {
			return missing
		}
	}
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
	fmt.Fprintf(&b, "%s%s, %s), written by lab ssh-config.\n", sshConfigHeader(topo.Name), topo.Domain(), topo.Subnet4)
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

// SystemSSHConfig is where lab ssh-config --install puts lab name's config
// in systemDir, OpenSSH's system-wide drop-in folder
// (/etc/ssh/ssh_config.d on Debian and Ubuntu).
func SystemSSHConfig(systemDir, name string) string {
	return filepath.Join(systemDir, "lab3-"+name+".conf")
}

// sshConfigHeader starts every config SSHConfig writes for lab name: it is
// how an installed copy of it is recognised.
func sshConfigHeader(name string) string { return "# SSH config of lab " + name + " (" }

// InstalledSSHConfigs lists the files besides the lab's own config through
// which ssh reads lab name's SSH config: SystemSSHConfig(systemDir, name),
// and each config of that lab the user's ~/.ssh/config includes, such as
// the one an older lab up wrote in the folder it ran from. Only files
// SSHConfig wrote for that lab are listed.
func InstalledSSHConfigs(name, systemDir string) []string {
	candidates := []string{SystemSSHConfig(systemDir, name)}
	if home := userHome(); home != "" {
		candidates = append(candidates, sshIncludes(filepath.Join(home, ".ssh", "config"), home)...)
	}
	var out []string
	for _, p := range candidates {
		if !slices.Contains(out, p) && isSSHConfigOf(p, name) {
			out = append(out, p)
		}
	}
	return out
}

// isSSHConfigOf reports whether the file at p is a config SSHConfig wrote
// for lab name.
func isSSHConfigOf(p, name string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	return strings.HasPrefix(string(head[:n]), sshConfigHeader(name))
}

// sshIncludes are the files the ssh config at path includes, found as ssh
// finds them: "~/" is home, a relative path is in home/.ssh, and wildcards
// are expanded.
func sshIncludes(path, home string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		keyword, args := sshConfigLine(line)
		if !strings.EqualFold(keyword, "Include") {
			continue
		}
		for _, arg := range args {
			switch {
			case arg == "~":
				arg = home
			case strings.HasPrefix(arg, "~/"):
				arg = filepath.Join(home, arg[2:])
			case !filepath.IsAbs(arg):
				arg = filepath.Join(home, ".ssh", arg)
			}
			matches, _ := filepath.Glob(arg)
			out = append(out, matches...)
		}
	}
	return out
}

// sshConfigLine splits a line of an ssh config into its keyword and
// arguments: "Keyword arg…" or "Keyword=arg…", arguments in double quotes
// kept whole; a comment or a blank line has no keyword.
func sshConfigLine(line string) (keyword string, args []string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return line, nil
	}
	keyword = line[:end]
	rest := strings.TrimSpace(line[end:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	for rest != "" {
		var arg string
		if rest[0] == '"' {
			arg, rest, _ = strings.Cut(rest[1:], `"`)
		} else if i := strings.IndexAny(rest, " \t"); i >= 0 {
			arg, rest = rest[:i], rest[i:]
		} else {
			arg, rest = rest, ""
		}
		if arg != "" {
			args = append(args, arg)
		}
		rest = strings.TrimSpace(rest)
	}
	return keyword, args
}

// StaleSSHConfigError says that an installed SSH config of a lab
// (InstalledSSHConfigs) names keys or a known_hosts the lab no longer has,
// and could not be rewritten.
type StaleSSHConfigError struct {
	Path string
	Err  error
}

// Error is one line.
func (e *StaleSSHConfigError) Error() string {
	why := e.Err
	var pe *fs.PathError
	if errors.As(why, &pe) {
		why = pe.Err // "permission denied", not the name of a temporary file
	}
	return fmt.Sprintf("%s names other keys than the lab has now, and cannot be rewritten (%v)", e.Path, why)
}

// Unwrap is why it could not be rewritten.
func (e *StaleSSHConfigError) Unwrap() error { return e.Err }

// RefreshSSHConfigs rewrites each installed config (InstalledSSHConfigs)
// that is not config, the lab's config now, so that ssh uses the keys and
// known_hosts the lab has now, wherever an earlier lab up put the ones it
// names. It returns the files it rewrote and, for the first it could not
// rewrite, a *StaleSSHConfigError.
func RefreshSSHConfigs(installed []string, config []byte) (rewritten []string, err error) {
	for _, p := range installed {
		if old, rerr := os.ReadFile(p); rerr == nil && bytes.Equal(old, config) {
			continue
		}
		if werr := writeFileAtomic(p, config, 0o644); werr != nil {
			if err == nil {
				err = &StaleSSHConfigError{Path: p, Err: werr}
			}
			continue
		}
		rewritten = append(rewritten, p)
	}
	return rewritten, err
}
