// Package chatclientcmd is the chat-client program, the Lab 3 chat client
// for Milestone 1 (chatroom), 2 (p2p) or 4 (auth), so that cmd/chat-client
// and lab itself (copied into a host under the name chat-client) run the
// same code.
package chatclientcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/internal/version"
)

// Main runs the program on the process's arguments and streams and returns
// its exit status.
func Main() int {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "chat-client:", err)
		return 1
	}
	return 0
}

func run(args []string, stdin *os.File, stdout *os.File, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	mode := fs.String("mode", "chatroom", "milestone: chatroom, p2p or auth")
	server := fs.String("server", "team30.com:5000", "chat server, NAME:PORT or IP:PORT")
	p2pPort := fs.Int("p2p-port", 6000, "UDP port for direct messages, the same on every client")
	bind := fs.String("bind", "", "local IP for the TCP connection and the UDP socket (default: any)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chat-client", version.String(""))
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all settings are flags, see -h", fs.Arg(0))
	}
	m, err := chat.ParseMode(*mode)
	if err != nil {
		return err
	}
	if *p2pPort < 1 || *p2pPort > 65535 {
		return fmt.Errorf("--p2p-port %d: want a port from 1 to 65535", *p2pPort)
	}
	if *bind != "" && net.ParseIP(*bind) == nil {
		return fmt.Errorf("--bind %q: want an IP address such as 127.0.0.11", *bind)
	}
	cl := &chat.Client{
		Server:  *server,
		Mode:    m,
		P2PPort: *p2pPort,
		Bind:    *bind,
		In:      stdin,
		Out:     stdout,
		Prompt:  term.IsTerminal(int(stdout.Fd())),
	}
	if fd := int(stdin.Fd()); term.IsTerminal(fd) {
		cl.ReadPassword = func() (string, error) {
			pw, err := term.ReadPassword(fd)
			fmt.Fprintln(stdout)
			return string(pw), err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = cl.Run(ctx)
	var rej *chat.RejectedError
	if errors.As(err, &rej) {
		return errors.New("the server refused: " + rej.Msg)
	}
	return err
}
