package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// systemSSHConfigDir is where OpenSSH's system-wide config includes every
// *.conf from (Debian and Ubuntu's /etc/ssh/ssh_config), and where
// containerlab puts its labs' configs too. Tests point it elsewhere.
var systemSSHConfigDir = "/etc/ssh/ssh_config.d"

func newSSHConfigCmd(a *app) *cobra.Command {
	var install bool
	cmd := &cobra.Command{
		Use:   "ssh-config",
		Short: "Print (and write) an SSH config for the lab's hosts: ssh and scp as in the handout",
		Long: `Print an OpenSSH client config for the lab's hosts, and write it to
~/.config/lab3/<lab>/ssh/config: each host by its name (ssh webserver;
<lab>-<host> for a lab other than lab3) and by its addresses
(ssh 10.20.30.11), as root, with the lab's own key (made by the first lab up,
~/.config/lab3/<lab>/ssh/id_ed25519) and its own known_hosts. The keys are
kept per lab name, not per folder: a lab brought down and up again, from
this folder or another, has the same keys, so the config stays true. lab up
already turns sshd on in every host and writes the file; this command does
it again for a lab that was up before.

With the config included from ~/.ssh/config (add the line
"Include <path>" at its top) or installed system-wide with --install
(/etc/ssh/ssh_config.d/, as containerlab does; needs root), the handout's
commands work as written: ssh 10.20.30.11, scp chatroom_server.py 10.20.30.3:~/
Without it: ssh -F ~/.config/lab3/lab3/ssh/config webserver. Every lab up
and ssh-config rewrites an installed copy that names other keys (one an
older lab wrote in the folder it ran from), or says how to when it cannot.

Grading labs (lab grade) never run sshd.`,
		Example: `  lab ssh-config
  ssh -F ~/.config/lab3/lab3/ssh/config client1
  scp -F ~/.config/lab3/lab3/ssh/config chatroom_client.py client1:
  sudo lab ssh-config --install && ssh 10.20.30.11`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			path, err := enableSSH(ctx, d, topo)
			var stale *lab.StaleSSHConfigError
			switch {
			case errors.As(err, &stale) && install && stale.Path == lab.SystemSSHConfig(systemSSHConfigDir, topo.Name):
				// --install rewrites it below.
			case errors.As(err, &stale):
				fmt.Fprintf(a.stderr, "lab: warning: %s\n", oneLine(err.Error()))
			case err != nil:
				return err
			}
			config, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if _, err := a.stdout.Write(config); err != nil {
				return err
			}
			if install {
				dst := lab.SystemSSHConfig(systemSSHConfigDir, topo.Name)
				if err := os.WriteFile(dst, config, 0o644); err != nil {
					if errors.Is(err, fs.ErrPermission) {
						return fmt.Errorf("--install: cannot write %s: run it as root (sudo lab%s ssh-config --install), or add \"Include %s\" at the top of ~/.ssh/config", dst, a.nameFlag(), path)
					}
					return fmt.Errorf("--install: %w", err)
				}
				fmt.Fprintf(a.stderr, "installed %s: ssh %s works as written\n", dst, topo.WebServer().IPv4)
				return nil
			}
			fmt.Fprintf(a.stderr, "wrote %s; use it with: ssh -F %s %s, or add \"Include %s\" at the top of ~/.ssh/config\n",
				path, path, lab.SSHAlias(topo, topo.WebServer().Name), path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&install, "install", false, "also install it as "+systemSSHConfigDir+"/lab3-<lab>.conf, so that plain ssh and scp find it (needs root)")
	return cmd
}

// enableSSH makes the lab's keys if it has none (lab.SSHDir:
// ~/.config/lab3/<lab>/ssh, or under $LAB_STATE_DIR; when that folder does
// not exist, the folder whose keys the hosts already have), turns sshd on
// in every host, writes the lab's SSH config, whose path it returns, and
// rewrites the installed copies of it that name other keys. One it cannot
// rewrite is an error (a *lab.StaleSSHConfigError, with how to fix it)
// returned with the path.
func enableSSH(ctx context.Context, d runtime.Engine, topo topology.Topology) (string, error) {
	dir := lab.SSHDir(topo.Name)
	if _, err := os.Stat(dir); err != nil {
		// Not made here: the lab's keys may be where lab up ran.
		if installed := lab.InstalledSSHDir(ctx, d, topo); installed != "" {
			dir = installed
		}
	}
	keys, err := lab.LoadSSHKeys(dir)
	if err != nil {
		return "", err
	}
	if err := lab.EnableSSH(ctx, d, topo, keys); err != nil {
		return "", err
	}
	path, err := lab.WriteSSHConfig(topo, keys)
	if err != nil {
		return "", err
	}
	return path, refreshInstalledSSHConfigs(topo, path)
}

// refreshInstalledSSHConfigs makes every installed copy of the lab's SSH
// config (lab.InstalledSSHConfigs) the config at path, so that plain ssh
// uses the keys the lab has now. A copy it cannot rewrite is an error that
// says how to.
func refreshInstalledSSHConfigs(topo topology.Topology, path string) error {
	config, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	_, err = lab.RefreshSSHConfigs(lab.InstalledSSHConfigs(topo.Name, systemSSHConfigDir), config)
	var stale *lab.StaleSSHConfigError
	if !errors.As(err, &stale) {
		return err
	}
	if stale.Path == lab.SystemSSHConfig(systemSSHConfigDir, topo.Name) {
		name := ""
		if topo.Name != topology.DefaultName {
			name = " --name " + topo.Name
		}
		return fmt.Errorf("ssh: %w; update it with: sudo lab%s ssh-config --install", stale, name)
	}
	return fmt.Errorf("ssh: %w; in ~/.ssh/config, include %s instead", stale, path)
}
