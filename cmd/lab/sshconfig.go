package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// systemSSHConfigDir is where OpenSSH's system-wide config includes every
// *.conf from (Debian and Ubuntu's /etc/ssh/ssh_config), and where
// containerlab puts its labs' configs too.
const systemSSHConfigDir = "/etc/ssh/ssh_config.d"

func newSSHConfigCmd(a *app) *cobra.Command {
	var install bool
	cmd := &cobra.Command{
		Use:   "ssh-config",
		Short: "Print (and write) an SSH config for the lab's hosts: ssh and scp as in the handout",
		Long: `Print an OpenSSH client config for the lab's hosts, and write it to
.lab/<lab>/ssh/config: each host by its name (ssh webserver; <lab>-<host> for a
lab other than lab3) and by its addresses (ssh 10.20.30.11), as root, with the
lab's own key (made by lab up, .lab/<lab>/ssh/id_ed25519) and its own
known_hosts. lab up already turns sshd on in every host and writes the file;
this command does it again for a lab that was up before.

With the config included from ~/.ssh/config (add the line
"Include <path>" at its top) or installed system-wide with --install
(/etc/ssh/ssh_config.d/, as containerlab does; needs root), the handout's
commands work as written: ssh 10.20.30.11, scp chatroom_server.py 10.20.30.3:~/
Without it: ssh -F .lab/lab3/ssh/config webserver.

Grading labs (lab grade) never run sshd.`,
		Example: `  lab ssh-config
  ssh -F .lab/lab3/ssh/config client1
  scp -F .lab/lab3/ssh/config chatroom_client.py client1:
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
			if err != nil {
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
				dst := filepath.Join(systemSSHConfigDir, "lab3-"+topo.Name+".conf")
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

// enableSSH makes the lab's keys if it has none (lab.SSHDir: .lab/<lab>/ssh
// under the current folder, or under $LAB_STATE_DIR; when that folder does
// not exist, the folder whose keys the hosts already have), turns sshd on in every host and writes the lab's
// SSH config, whose path it returns.
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
	return lab.WriteSSHConfig(topo, keys)
}
