package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/student"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

func newCaptureCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "capture",
		Short: "Capture the lab's traffic with tcpdump on the hosts (Milestone 3)",
		Long: `Run tcpdump on the lab's hosts, on each host's own interface, and copy the
captures out under the handout's names: chatserver.pcap (webserver),
client1.pcap, client2.pcap, client3.pcap and dnsserver.pcap.

  lab capture start [HOST...]   start on the named hosts (default: all) and return once all listen
  lab capture stop [--out DIR]  stop, flush and copy the files to results/<lab>/captures/

stop also writes test_lab3.py, the notebook's answer checker, beside the
captures.`,
		Args: cobra.ArbitraryArgs,
		// A bare "lab capture" or an unknown subcommand is a usage error,
		// not cobra's help text with exit status 0.
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"lab capture\": use lab capture start [HOST...] or lab capture stop", args[0])
			}
			return usagef("usage: lab capture start [HOST...] | lab capture stop [--out DIR]")
		},
	}
	cmd.AddCommand(newCaptureStartCmd(a), newCaptureStopCmd(a))
	return cmd
}

func newCaptureStartCmd(a *app) *cobra.Command {
	var iface string
	cmd := &cobra.Command{
		Use:   "start [HOST...]",
		Short: "Start tcpdump on the named hosts (default: all) and return once every one listens",
		Long: `Start tcpdump on the named hosts (default: all five), each on its own interface,
and return only once every tcpdump is listening, so the scenario's first
packet is captured. A capture that is already running is an error: stop it
first with lab capture stop.`,
		Example: `  lab capture start
  lab capture start webserver client1 client2
  lab capture start --interface any`,
		RunE: func(cmd *cobra.Command, hosts []string) error {
			// Host names are the same in every lab; checking them first
			// rejects a typo before anything is dialled or started.
			if err := checkHostNames(hosts); err != nil {
				return err
			}
			ctx := cmd.Context()
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			running, down, err := captureState(ctx, d, topo)
			if err != nil {
				return err
			}
			for _, h := range down {
				if len(hosts) == 0 || slices.Contains(hosts, h) {
					return fmt.Errorf("host %s of lab %s is not running, so nothing can be captured there; start it again with: lab up --name %s, or name the hosts to capture on",
						h, a.name, a.name)
				}
			}
			if len(running) > 0 {
				return fmt.Errorf("a capture is already running in lab %s on %s; stop it first with: lab --name %s capture stop",
					a.name, strings.Join(running, ", "), a.name)
			}
			c, err := traffic.StartCapture(ctx, d, topo, hosts, traffic.WithInterface(iface))
			if err != nil {
				return err
			}
			names := hosts
			if len(names) == 0 {
				for _, h := range topo.Hosts {
					names = append(names, h.Name)
				}
			}
			fmt.Fprintf(a.stdout, "capturing on %s (%s) in lab %s: %s\nstop and copy the files with: lab --name %s capture stop\n",
				strings.Join(names, ", "), iface, a.name, strings.Join(c.Files(), " "), a.name)
			return nil
		},
	}
	cmd.Flags().StringVar(&iface, "interface", "eth0", "interface to capture on in every host; any gives Linux cooked captures")
	return cmd
}

func newCaptureStopCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the running capture, wait until every file is flushed and copy the files out",
		Long: `Stop tcpdump on every host where lab capture start runs it, wait until each has
flushed and closed its file, and copy the files to results/<lab>/captures/
(or --out DIR), replacing files of the same name. Exits 1 when no capture is
running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := out
			if dir == "" {
				dir = defaultCaptureDir(a.name)
			}
			ctx := cmd.Context()
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			running, err := runningCaptures(ctx, d, topo)
			if err != nil {
				return err
			}
			if len(running) == 0 {
				return fmt.Errorf("no capture is running in lab %s; start one with: lab --name %s capture start", a.name, a.name)
			}
			c, err := traffic.RunningCapture(d, topo, running)
			if err != nil {
				return err
			}
			files, err := c.Stop(ctx, dir)
			if err != nil {
				return err
			}
			// Names the hosts for lab analyze and lab diagram once the
			// lab is gone or the files are copied elsewhere.
			if err := topology.Save(dir, topo); err != nil {
				return err
			}
			printCaptureFiles(a.stdout, dir, files)
			// The student's checker goes beside the captures, where the
			// notebook's "from test_lab3 import TestLab3" finds it.
			checker := filepath.Join(dir, student.CheckerName)
			if err := os.WriteFile(checker, student.Checker, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", checker, err)
			}
			fmt.Fprintf(a.stdout, "open the captures in Wireshark for Tasks 3.2 and 3.3; check your answers with %s:\n"+
				"  copy it next to your notebook and run: from test_lab3 import TestLab3; check_progress = TestLab3(%q)\n", checker, dir)
			if stale := staleCaptures(dir, topo, files); len(stale) > 0 {
				fmt.Fprintf(a.stdout, "note: %s in %s %s from an earlier capture; lab analyze and lab diagram read every capture there\n",
					strings.Join(stale, ", "), dir, map[bool]string{true: "is", false: "are"}[len(stale) == 1])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to put the files (default: results/<lab>/captures)")
	return cmd
}

// defaultCaptureDir is where stop copies a lab's captures and where
// analyze and diagram look for them.
func defaultCaptureDir(name string) string {
	return filepath.Join("results", name, "captures")
}

// checkHostNames rejects a name that is not a host of the lab.
func checkHostNames(hosts []string) error {
	def := topology.Default()
	for _, h := range hosts {
		if _, ok := def.Host(h); !ok {
			var all []string
			for _, x := range def.Hosts {
				all = append(all, x.Name)
			}
			return usagef("unknown host %q: want one of %s", h, strings.Join(all, ", "))
		}
	}
	return nil
}

// runningCaptures lists, in topology order, the hosts on which a tcpdump
// started by lab capture start runs. It reads the process table rather
// than the pid files, so that a capture whose tcpdump died does not count
// as running. A stopped host runs nothing, so one killed host does not keep
// stop from stopping the others.
func runningCaptures(ctx context.Context, d runtime.Engine, topo topology.Topology) ([]string, error) {
	running, _, err := captureState(ctx, d, topo)
	return running, err
}

// captureState is runningCaptures plus the hosts that are not running.
func captureState(ctx context.Context, d runtime.Engine, topo topology.Topology) (running, down []string, err error) {
	cs, err := d.Containers(ctx, map[string]string{topology.LabelLab: topo.Name})
	if err != nil {
		return nil, nil, fmt.Errorf("list hosts of lab %s: %w", topo.Name, err)
	}
	up := map[string]bool{}
	for _, c := range cs {
		up[c.Labels[topology.LabelHost]] = c.State == "running"
	}
	hosts := d.Lab(topo.Name)
	marker := " -w " + traffic.CaptureDir + "/"
	found := make([]bool, len(topo.Hosts))
	g, gctx := errgroup.WithContext(ctx)
	for i, h := range topo.Hosts {
		if !up[h.Name] {
			down = append(down, h.Name)
			continue
		}
		g.Go(func() error {
			procs, err := hosts.Processes(gctx, h.Name)
			if err != nil {
				return fmt.Errorf("list processes on %s: %w", h.Name, err)
			}
			found[i] = slices.ContainsFunc(procs, func(p string) bool {
				f := strings.Fields(p)
				return len(f) > 0 && filepath.Base(f[0]) == "tcpdump" && strings.Contains(p, marker)
			})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, h := range topo.Hosts {
		if found[i] {
			running = append(running, h.Name)
		}
	}
	return running, down, nil
}

// printCaptureFiles says where the captures landed, with their sizes and
// tcpdump's own packet counters.
func printCaptureFiles(w io.Writer, dir string, files []traffic.CaptureFile) {
	fmt.Fprintf(w, "captures in %s:\n", dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range files {
		drops := ""
		if f.Dropped > 0 {
			drops = fmt.Sprintf("\t%d dropped", f.Dropped)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d packets%s\n", filepath.Base(f.Path), f.Host, humanBytes(f.Bytes), f.Captured, drops)
	}
	_ = tw.Flush()
}

// staleCaptures names the handout-named files in dir that this stop did
// not write: left over from a capture on other hosts.
func staleCaptures(dir string, topo topology.Topology, written []traffic.CaptureFile) []string {
	var stale []string
	for _, h := range topo.Hosts {
		name := traffic.FileName(h)
		if slices.ContainsFunc(written, func(f traffic.CaptureFile) bool { return filepath.Base(f.Path) == name }) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			stale = append(stale, name)
		}
	}
	return stale
}

// humanBytes is a size for people: 812 B, 14.2 kB, 3.1 MB.
func humanBytes(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
