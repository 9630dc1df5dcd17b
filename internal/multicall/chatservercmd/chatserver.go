// Package chatservercmd is the chat-server program, the Lab 3 chat server
// for Milestone 1 (chatroom), 2 (p2p) or 4 (auth), so that cmd/chat-server
// and lab itself (copied into a host under the name chat-server) run the
// same code.
package chatservercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/internal/cpuprofile"
	"github.com/ntnu-ttm4200/lab3/internal/version"
)

// Main runs the program on the process's arguments and returns its exit
// status.
func Main() int {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "chat-server:", err)
		return 1
	}
	return 0
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	mode := fs.String("mode", "chatroom", "milestone: chatroom, p2p or auth")
	listen := fs.String("listen", "", "address to listen on, HOST:PORT (default: the address of this host's name, port 5000)")
	users := fs.String("users", "users.db", "user store file for --mode auth")
	regTimeout := fs.Duration("registration-timeout", 60*time.Second, "time a client has to finish the username or login dialogue")
	maxLine := fs.Int("max-line", 4096, "longest message accepted from a client, in bytes")
	sendQueue := fs.Int("send-queue", 4096, "messages queued for one client before it is disconnected as too slow")
	pace := fs.Duration("pace", 500*time.Millisecond, "quiet time before and after a peer list sent to a handout-style client")
	writeTimeout := fs.Duration("write-timeout", 10*time.Second, "longest a client may block one write before it is disconnected")
	batchDelay := fs.Duration("batch-delay", 250*time.Millisecond, "longest batching may hold a message back (0: no batching)")
	flushShare := fs.Float64("flush-share", 0.25, "share of one CPU the flusher may spend writing under load: write passes are spaced by their cost over this share (1: back to back)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until the server stops")
	quiet := fs.Bool("quiet", false, "log only warnings and errors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(os.Stdout, "chat-server", version.String(""))
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all settings are flags, see -h", fs.Arg(0))
	}
	m, err := chat.ParseMode(*mode)
	if err != nil {
		return err
	}
	switch {
	case *maxLine < 64:
		return fmt.Errorf("--max-line %d: want at least 64 bytes", *maxLine)
	case *sendQueue < 1:
		return fmt.Errorf("--send-queue %d: want at least 1 message", *sendQueue)
	case *regTimeout <= 0 || *writeTimeout <= 0:
		return errors.New("--registration-timeout and --write-timeout must be positive")
	case *pace < 0 || *batchDelay < 0:
		return errors.New("--pace and --batch-delay cannot be negative")
	case !(*flushShare > 0 && *flushShare <= 1):
		return fmt.Errorf("--flush-share %v: want more than 0 and at most 1", *flushShare)
	}
	if *listen == "" {
		if *listen, err = defaultListen(); err != nil {
			return err
		}
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := []chat.Option{
		chat.WithMode(m),
		chat.WithRegistrationTimeout(*regTimeout),
		chat.WithMaxLine(*maxLine),
		chat.WithSendQueue(*sendQueue),
		chat.WithPace(*pace),
		chat.WithWriteTimeout(*writeTimeout),
		chat.WithBatchDelay(*batchDelay),
		chat.WithFlushShare(*flushShare),
		chat.WithLogger(logger),
	}
	if m == chat.ModeAuth {
		st, err := chat.OpenStore(*users)
		if err != nil {
			return err
		}
		defer st.Close()
		opts = append(opts, chat.WithStore(st))
	}
	stopProfile, err := cpuprofile.Start(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	srv := chat.NewServer(opts...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(*listen); err != nil && !errors.Is(err, chat.ErrServerClosed) {
		return err
	}
	return nil
}

// defaultListen resolves this host's own name, as the handout's server
// does with gethostbyname(gethostname()).
func defaultListen() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("find host name: %w: pass --listen HOST:PORT", err)
	}
	addrs, err := net.LookupHost(host)
	if err != nil || len(addrs) == 0 {
		return "", fmt.Errorf("resolve host name %q: %v: pass --listen HOST:PORT", host, err)
	}
	ip := addrs[0]
	for _, a := range addrs {
		if p := net.ParseIP(a); p != nil && p.To4() != nil {
			ip = a
			break
		}
	}
	return net.JoinHostPort(ip, "5000"), nil
}
