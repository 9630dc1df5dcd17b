// Command chat-bench measures a chat server that speaks the Lab 3
// protocol, framed (this repository's chat-server) or unframed (a
// handout-style server): join ramp, peer-list bytes, fan-out throughput,
// delivery latency and the server's memory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/internal/cpuprofile"
	"github.com/ntnu-ttm4200/lab3/internal/version"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chat-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	var cfg config
	fs.StringVar(&cfg.server, "server", "127.0.0.1:5000", "chat server, HOST:PORT")
	fs.IntVar(&cfg.clients, "clients", 100, "number of clients")
	mode := fs.String("mode", "chatroom", "server mode: chatroom or p2p")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of the steady fan-out phase")
	fs.IntVar(&cfg.senders, "senders", 10, "clients that send during the fan-out phase")
	fs.Float64Var(&cfg.rate, "rate", 20, "messages per second per sender")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "server process to read VmHWM and VmRSS from (0: skip)")
	fs.StringVar(&cfg.bind, "bind", "127.0.0.1", "local IP of the bench clients")
	fs.IntVar(&cfg.dialers, "dialers", 32, "clients joining concurrently during the ramp")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "longest the ramp or the drain may take")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the bench itself to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chat-bench", version.String(""))
		return nil
	}
	m, err := chat.ParseMode(*mode)
	if err != nil || m == chat.ModeAuth {
		return fmt.Errorf("--mode %q: want chatroom or p2p", *mode)
	}
	cfg.mode = m
	if cfg.clients < 2 || cfg.senders < 1 || cfg.senders > cfg.clients || cfg.rate <= 0 {
		return fmt.Errorf("need --clients >= 2, 1 <= --senders <= --clients and --rate > 0")
	}
	if cfg.dialers < 1 || cfg.duration <= 0 || cfg.timeout <= 0 {
		return fmt.Errorf("need --dialers >= 1, --duration > 0 and --timeout > 0")
	}
	if net.ParseIP(cfg.bind) == nil {
		return fmt.Errorf("--bind %q: want an IP address such as 127.0.0.1", cfg.bind)
	}
	stopProfile, err := cpuprofile.Start(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	res.print(stdout)
	return nil
}
