package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

func newAnalyzeCmd(a *app) *cobra.Command {
	var (
		asJSON bool
		client string
		src    captureSource
	)
	cmd := &cobra.Command{
		Use:   "analyze [PCAP...]",
		Short: "Answer Milestone 3's Tasks 3.2 and 3.3 from captures",
		Long: `Read captures (classic pcap or pcapng; tcpdump -i eth0 or -i any) and answer
Task 3.2 (the absolute sequence numbers of client1's first TCP handshake with
the chat server) and Task 3.3 (the UDP header of a captured peer-to-peer
datagram), each with the file and frame it was read from.

Without files it reads every capture in results/<lab>/captures/ (what lab
capture stop wrote), chatserver.pcap first. Hosts are named from the lab when
it is up, else from the course's lab (team 30, 10.20.30.0/24) or from --team
and --subnet, so copied captures can be analysed without Docker. Exits 1 when
an answer is missing; the report says why.`,
		Example: `  lab analyze
  lab analyze --json
  lab analyze chatserver.pcap client1.pcap client2.pcap
  lab analyze --team 7 --subnet 10.99.7.0/24 captures/*.pcap`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			files, topo, err := src.resolve(ctx, cmd, a, args)
			if err != nil {
				return err
			}
			var opts []traffic.Option
			if client != "" {
				opts = append(opts, traffic.WithClient(client))
			}
			rep, err := traffic.Analyze(ctx, files, topo, opts...)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				fmt.Fprint(a.stdout, rep.Text())
			}
			if rep.Task32 == nil || !rep.Task32.SYNACKFound || rep.Task33 == nil {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&client, "client", "", "the client of Task 3.2 and one end of Task 3.3's datagram (default client1)")
	src.flags(cmd)
	return cmd
}

// captureSource is where analyze and diagram get their captures and the
// topology that names the addresses in them.
type captureSource struct {
	dir    string
	team   int
	subnet string
}

func (s *captureSource) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.dir, "dir", "", "read every capture in this folder when no files are given (default: results/<lab>/captures)")
	f.IntVar(&s.team, "team", topology.DefaultTeam, "name hosts by this team's lab instead of the running lab's")
	f.StringVar(&s.subnet, "subnet", topology.DefaultSubnet4.String(), "name hosts by the lab on this /24 instead of the running lab's")
}

// resolve checks the input and finds the files and the topology: the
// flags' lab when --team or --subnet is given, else the running lab, else
// the course's lab (with a note on stderr).
func (s *captureSource) resolve(ctx context.Context, cmd *cobra.Command, a *app, args []string) ([]string, topology.Topology, error) {
	given := cmd.Flags().Changed("team") || cmd.Flags().Changed("subnet")
	var topo topology.Topology
	if given {
		p4, err := topology.ParseSubnet(s.subnet)
		if err != nil {
			return nil, topo, err
		}
		if topo, err = topology.New(a.name, s.team, p4, netip.Prefix{}); err != nil {
			return nil, topo, err
		}
	}
	files := args
	if len(files) == 0 {
		dir := s.dir
		if dir == "" {
			dir = defaultCaptureDir(a.name)
		}
		var err error
		if files, err = capturesIn(dir, a.name); err != nil {
			return nil, topo, err
		}
	} else if s.dir != "" {
		return nil, topo, errors.New("give either capture files or --dir, not both")
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil {
			return nil, topo, fmt.Errorf("capture %s: %w", f, cause(err))
		} else if st.IsDir() {
			return nil, topo, fmt.Errorf("capture %s is a folder: give the files in it, or --dir %s", f, f)
		}
	}
	if given {
		return files, topo, nil
	}
	// Captures saved by lab capture stop or lab grade --capture say which
	// lab they came from; that beats whatever lab runs now.
	if saved := filepath.Join(filepath.Dir(files[0]), topology.TopologyFile); fileExists(saved) {
		t, err := topology.Load(saved)
		if err != nil {
			return nil, topo, fmt.Errorf("%w (or name the lab with --team and --subnet)", err)
		}
		return files, t, nil
	}
	topo, err := runningTopology(ctx, a)
	if err != nil {
		return nil, topo, err
	}
	return files, topo, nil
}

// runningTopology is the topology of the lab called a.name when it is up,
// else the course's lab: analysing copied captures needs no Docker.
func runningTopology(ctx context.Context, a *app) (topology.Topology, error) {
	def := topology.Default()
	fallback := func(why string) (topology.Topology, error) {
		fmt.Fprintf(a.stderr, "note: %s, so hosts are named as in the course's lab (%s, %s); use --team and --subnet for another\n",
			why, def.Domain(), def.Subnet4)
		return def, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := a.connect(cctx)
	if err != nil {
		if ctx.Err() != nil {
			return topology.Topology{}, ctx.Err()
		}
		return fallback("no Docker engine answers")
	}
	defer d.Close()
	topo, err := lab.Load(cctx, d, a.name)
	switch {
	case errors.Is(err, lab.ErrNotUp):
		return fallback("lab " + a.name + " is not up")
	case err != nil:
		return topology.Topology{}, err
	}
	return topo, nil
}

// capturesIn lists the captures in dir: the handout's files first, the
// chat server's before the clients' (Task 3.2 is read where the handout
// reads it), then any others by name.
func capturesIn(dir, name string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no captures in %s: capture with lab --name %s capture start and stop, or give the files", dir, name)
		}
		return nil, fmt.Errorf("read captures: %w", err)
	}
	order := []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap", "dnsserver.pcap"}
	rank := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng")) {
			files = append(files, n)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no captures in %s: capture with lab --name %s capture start and stop, or give the files", dir, name)
	}
	slices.SortFunc(files, func(x, y string) int {
		if rx, ry := rank(x), rank(y); rx != ry {
			return rx - ry
		}
		return strings.Compare(x, y)
	})
	for i, f := range files {
		files[i] = filepath.Join(dir, f)
	}
	return files, nil
}

// writeOutput writes data to path, "-" meaning w.
func writeOutput(w io.Writer, path string, data []byte) error {
	if path == "-" {
		_, err := w.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, cause(err))
	}
	return nil
}

// cause drops the operation and path a *os.PathError repeats, for messages
// that name the path already.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
