package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Client is the interactive chat client: it reads the user's lines from In
// and writes what happens to Out, in the handout client's format.
type Client struct {
	// Server is the server's address, HOST:PORT; HOST may be a DNS name.
	Server string
	Mode   Mode
	// P2PPort is the UDP port of every client (Milestone 2 and 4).
	P2PPort int
	// Bind is the local IP for the TCP connection and the UDP socket; empty
	// means any.
	Bind string
	In   io.Reader
	Out  io.Writer
	// Prompt prints the "[Me] " prompt; set it when Out is a terminal.
	Prompt bool
	// ReadPassword, when set, reads the answer to a password prompt
	// without echo; otherwise the answer is the next line of In.
	ReadPassword func() (string, error)
	// LegacyGap separates consecutive chat lines sent to an unframed
	// server, which takes each recv() as one message (default 100ms).
	LegacyGap time.Duration
	// ListWait bounds how long input is held back waiting for the first
	// peer list in p2p and auth modes (default 5s).
	ListWait time.Duration
}

// ErrServerGone is returned by Run when the server ends the session.
var ErrServerGone = errors.New("the server closed the connection")

type datagram struct {
	ip   string
	data string
}

// Run connects, runs the dialogue and then the chat until ":q", the end of
// In, or the server closing the connection.
func (cl *Client) Run(ctx context.Context) error {
	var udp *net.UDPConn
	if cl.Mode.hasPeerList() {
		laddr := &net.UDPAddr{Port: cl.P2PPort}
		if cl.Bind != "" {
			laddr.IP = net.ParseIP(cl.Bind)
		}
		var err error
		if udp, err = net.ListenUDP("udp", laddr); err != nil {
			return fmt.Errorf("open P2P port %d: %w: is another client using it on this address?", cl.P2PPort, err)
		}
		defer udp.Close()
	}
	conn, err := Dial(ctx, cl.Server, WithLocalIP(cl.Bind))
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	in := bufio.NewReader(cl.In)
	prompts := 1
	if cl.Mode == ModeAuth {
		prompts = 3
	}
	greeting, err := conn.Handshake(prompts, func(prompt string) (string, error) {
		cl.show("[Server] " + prompt)
		if cl.ReadPassword != nil && strings.Contains(strings.ToLower(prompt), "password") {
			return cl.ReadPassword()
		}
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("input ended before the dialogue finished")
		}
		return line, nil
	})
	var rej *RejectedError
	if errors.As(err, &rej) {
		cl.show("[Server] " + rej.Msg)
		return err
	}
	if err != nil {
		return err
	}
	cl.show("[Server] " + greeting)

	done := make(chan struct{})
	defer close(done)
	msgs := make(chan Message, 64)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := conn.Next()
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			select {
			case msgs <- m:
			case <-done:
				return
			}
		}
	}()
	dgrams := make(chan datagram, 64)
	if udp != nil {
		go func() {
			buf := make([]byte, 65536)
			for {
				n, addr, err := udp.ReadFromUDP(buf)
				if err != nil {
					return
				}
				select {
				case dgrams <- datagram{ip: addr.IP.String(), data: string(buf[:n])}:
				case <-done:
					return
				}
			}
		}()
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			line, err := in.ReadString('\n')
			if line != "" {
				select {
				case lines <- line:
				case <-done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()

	var peers []Peer
	shownPeers := cl.Mode != ModeAuth
	gap := cl.LegacyGap
	if gap == 0 {
		gap = 100 * time.Millisecond
	}
	var lastSend time.Time
	// Until the first peer list arrives, ":l" and "@user" cannot work and
	// the M4 client has not shown the list yet, so input waits for it. A
	// server that never sends one releases the input after ListWait.
	input := lines
	var listWait <-chan time.Time
	if cl.Mode.hasPeerList() {
		input = nil
		wait := cl.ListWait
		if wait == 0 {
			wait = 5 * time.Second
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		listWait = t.C
	}
	cl.prompt()
	for {
		select {
		case <-listWait:
			input = lines

		case m, ok := <-msgs:
			if !ok {
				err := <-readErr
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					return ErrServerGone
				}
				return fmt.Errorf("read from server: %w", err)
			}
			if m.Kind == KindPeers {
				peers = m.Peers
				input = lines
				if !shownPeers {
					shownPeers = true
					cl.show("Online peers: " + FormatPeerNames(peers))
					cl.prompt()
				}
				continue
			}
			cl.show("[Server] " + m.Text)
			cl.prompt()
		case d := <-dgrams:
			cl.show(fmt.Sprintf("[P2P] %s (IP: %s) says: %s", PeerName(peers, d.ip), d.ip, Sanitize(d.data)))
			cl.prompt()
		case line, ok := <-input:
			if !ok {
				return nil
			}
			msg := PyStrip(line)
			switch {
			case msg == "":
			case msg == ":q":
				return nil
			case msg == ":l" && cl.Mode.hasPeerList():
				cl.show("Online peers: " + FormatPeerNames(peers))
			case strings.HasPrefix(msg, "@") && cl.Mode.hasPeerList():
				cl.direct(udp, peers, msg)
			default:
				if !conn.Framed() {
					if wait := time.Until(lastSend.Add(gap)); wait > 0 {
						time.Sleep(wait)
					}
					lastSend = time.Now()
				}
				if err := conn.Send(msg); err != nil {
					return err
				}
			}
			cl.prompt()
		case <-ctx.Done():
			return nil
		}
	}
}

// direct sends "@user: msg" over UDP to the user's address.
func (cl *Client) direct(udp *net.UDPConn, peers []Peer, line string) {
	user, msg, ok := ParseDirect(line)
	if !ok {
		cl.show("Usage: @username: message")
		return
	}
	for _, p := range peers {
		if p.Name != user {
			continue
		}
		addr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(p.IP, strconv.Itoa(cl.P2PPort)))
		if err == nil {
			_, err = udp.WriteToUDP([]byte(msg), addr)
		}
		if err != nil {
			cl.show(fmt.Sprintf("Unable to send p2p message to %s: %v", user, err))
		}
		return
	}
	cl.show(fmt.Sprintf("User (%s) not found", Sanitize(user)))
}

func (cl *Client) show(s string) {
	if cl.Prompt {
		fmt.Fprint(cl.Out, "\r")
	}
	fmt.Fprintln(cl.Out, s)
}

func (cl *Client) prompt() {
	if cl.Prompt {
		fmt.Fprint(cl.Out, "[Me] ")
	}
}
