package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/traffic"
)

func newDiagramCmd(a *app) *cobra.Command {
	var (
		svgPath, mermaidPath string
		from, to, client     string
		maxMessages          int
		src                  captureSource
	)
	cmd := &cobra.Command{
		Use:   "diagram [PCAP...]",
		Short: "Draw the sequence diagram of Delivery Q2 from captures (Mermaid, SVG)",
		Long: `Merge the captures of all hosts, fold each packet seen on both ends into one,
and draw the exchange of Delivery Q2: a new client connects and sends one
direct message (its DNS lookup, the TCP handshake, welcome, username,
confirmation, the notices and peer lists pushed to the other clients, the
UDP datagram, and the FIN exchange when captured).

Prints Mermaid (which GitHub renders) to stdout; --svg FILE writes an SVG
sized for an A4 page and --mermaid FILE writes the Mermaid to a file instead
("-" is stdout). --from and --to choose another window: an RFC 3339 time
(2026-11-25T19:00:00.25Z), seconds after the first packet (12.5s) or a frame
(client1.pcap:17); --client names the client that is new. Files, --dir,
--team and --subnet work as for lab analyze.`,
		Example: `  lab diagram > q2.mmd
  lab diagram --svg q2.svg --mermaid q2.mmd
  lab diagram --client client2
  lab diagram --from client1.pcap:3 --to 4.5s chatserver.pcap client1.pcap client2.pcap`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []traffic.Option
			for _, b := range []struct {
				flag, val string
				opt       func(traffic.Bound) traffic.Option
			}{{"--from", from, traffic.WithFrom}, {"--to", to, traffic.WithTo}} {
				if b.val == "" {
					continue
				}
				bound, err := traffic.ParseBound(b.val)
				if err != nil {
					return fmt.Errorf("%s: %w", b.flag, err)
				}
				opts = append(opts, b.opt(bound))
			}
			if cmd.Flags().Changed("max-messages") && maxMessages < 1 {
				return fmt.Errorf("--max-messages %d: want at least 1", maxMessages)
			}
			if svgPath != "" && svgPath == mermaidPath {
				return errors.New("--svg and --mermaid name the same file: give each its own")
			}
			if client != "" {
				opts = append(opts, traffic.WithClient(client))
			}
			opts = append(opts, traffic.WithMaxMessages(maxMessages))
			ctx := cmd.Context()
			files, topo, err := src.resolve(ctx, cmd, a, args)
			if err != nil {
				return err
			}
			d, err := traffic.Sequence(ctx, files, topo, opts...)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "diagram: %d messages%s from %s to %s: %s\n", len(d.Messages), omitted(d.Omitted),
				d.Window.From.UTC().Format(time.RFC3339Nano), d.Window.To.UTC().Format(time.RFC3339Nano), d.Window.Reason)
			if svgPath == "" && mermaidPath == "" {
				_, err := fmt.Fprint(a.stdout, d.Mermaid())
				return err
			}
			for _, out := range []struct {
				path, what string
				data       func() []byte
			}{{mermaidPath, "Mermaid", func() []byte { return []byte(d.Mermaid()) }}, {svgPath, "SVG", d.SVG}} {
				if out.path == "" {
					continue
				}
				if err := writeOutput(a.stdout, out.path, out.data()); err != nil {
					return err
				}
				if out.path != "-" {
					fmt.Fprintf(a.stderr, "wrote %s (%s)\n", out.path, out.what)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&svgPath, "svg", "", "write the diagram as SVG to this file (\"-\" for stdout)")
	f.StringVar(&mermaidPath, "mermaid", "", "write the Mermaid text to this file (\"-\" for stdout)")
	f.StringVar(&from, "from", "", "start the window here instead of at the new client's DNS query or SYN")
	f.StringVar(&to, "to", "", "end the window here (inclusive) instead of after its direct message")
	f.StringVar(&client, "client", "", "the client that is new in Delivery Q2 (default: found in the captures)")
	f.IntVar(&maxMessages, "max-messages", traffic.DefaultMaxMessages, "draw at most this many messages; a note counts the rest")
	src.flags(cmd)
	return cmd
}

// omitted is the note on messages left out of the drawing.
func omitted(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d more not drawn)", n)
}
