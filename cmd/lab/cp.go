package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
)

func newCpCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy a file or folder to or from a host (the handout's scp)",
		Long: `Copy a file or a folder between this machine and a host of the lab, as the
handout does with scp. One of SRC and DST is HOST:PATH; a relative PATH, or
none ("client1:"), is in the host's /root, where lab exec runs. A folder as
destination receives the source under its own name. Files keep their
modification times both ways, as with scp -p. To edit without copying at
all, bring the lab up with a shared folder: lab up --share DIR.`,
		Example: `  lab cp chatroom_client.py client1:
  lab cp client1:client1.pcap .
  lab cp webserver:/tmp/chatserver.pcap captures/`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcHost, srcPath, srcRemote := splitRemote(args[0])
			dstHost, dstPath, dstRemote := splitRemote(args[1])
			switch {
			case srcRemote && dstRemote:
				return usagef("copy between two hosts in two steps, through this machine: lab cp %s . then lab cp FILE %s", args[0], args[1])
			case !srcRemote && !dstRemote:
				return usagef("name a host on one side, e.g. lab cp %s client1: or lab cp client1:%s .", args[0], args[0])
			case !srcRemote:
				if err := needFileOrDir("lab cp", srcPath); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			d, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			if dstRemote {
				hosts, err := a.hostUp(ctx, d, dstHost)
				if err != nil {
					return err
				}
				files, err := hosts.CopyIn(ctx, dstHost, srcPath, lab.RemotePath(dstPath))
				if err != nil {
					return err
				}
				for _, f := range files {
					fmt.Fprintf(a.stdout, "%s -> %s:%s (%d bytes)\n", f.Src, dstHost, f.Path, len(f.Data))
				}
				return nil
			}
			hosts, err := a.hostUp(ctx, d, srcHost)
			if err != nil {
				return err
			}
			written, err := hosts.CopyOut(ctx, srcHost, lab.RemotePath(srcPath), dstPath)
			if err != nil {
				return err
			}
			for _, w := range written {
				size := int64(0)
				if info, err := os.Stat(w); err == nil {
					size = info.Size()
				}
				fmt.Fprintf(a.stdout, "%s:%s -> %s (%d bytes)\n", srcHost, lab.RemotePath(srcPath), w, size)
			}
			if len(written) == 0 {
				fmt.Fprintf(a.stdout, "%s:%s holds no files; nothing copied\n", srcHost, lab.RemotePath(srcPath))
			}
			return nil
		},
	}
}

// splitRemote splits "client1:path" into its host and path; a local path
// (no colon before the first slash) is not remote.
func splitRemote(arg string) (host, p string, remote bool) {
	h, rest, ok := strings.Cut(arg, ":")
	if !ok || h == "" || strings.ContainsAny(h, `/\`) {
		return "", arg, false
	}
	return h, rest, true
}
