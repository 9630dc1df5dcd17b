package scenarios

import (
	"fmt"
	"strings"
	"sync"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// fakeChat is an in-memory Milestone 1 chat room behind the fake runtime's
// "srv" and "cli" programs, with switchable faults, so the built-in M1
// scenarios can be checked without Docker.
type fakeChat struct {
	mu      sync.Mutex
	up      bool
	members map[*fakeProc]string
	ips     map[string]string
	echo    bool // fault: the sender gets its own message back
	noJoin  bool // fault: no join notice
}

func newFakeChat() *fakeChat {
	v := defaultVars()
	return &fakeChat{members: map[*fakeProc]string{}, ips: v.IPv4}
}

func (c *fakeChat) programs() map[string]program {
	return map[string]program{"srv": c.server, "cli": c.client}
}

func (c *fakeChat) server(p *fakeProc) {
	c.mu.Lock()
	c.up = true
	c.mu.Unlock()
	p.emit(fmt.Sprintf("[INFO] Server started on IP: %s, Port: 5000\n", c.ips[p.host]))
}

func (c *fakeChat) others(except *fakeProc) []*fakeProc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*fakeProc
	for q := range c.members {
		if q != except || c.echo {
			out = append(out, q)
		}
	}
	return out
}

func (c *fakeChat) client(p *fakeProc) {
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	if !up {
		p.emit("[ERROR] Unable to connect to the server. Error message : [Errno 111] Connection refused\n")
		p.exit(1)
		return
	}
	named := false
	p.onLine = func(p *fakeProc, line string) {
		line = strings.TrimSpace(line)
		if !named {
			c.mu.Lock()
			taken := false
			for _, n := range c.members {
				taken = taken || n == line
			}
			c.mu.Unlock()
			if line == "" || len(line) > 20 || strings.Contains(line, " ") {
				p.emit("[Server] Invalid username. Please try again.\n")
				p.exit(0)
				return
			}
			if taken {
				p.emit("[Server] Username already taken. Please try again.\n")
				p.exit(0)
				return
			}
			named = true
			c.mu.Lock()
			c.members[p] = line
			c.mu.Unlock()
			p.emit(fmt.Sprintf("[Server] Your username (%s) is valid. You can start chatting now.\n[Me] ", line))
			if !c.noJoin {
				for _, q := range c.others(p) {
					if q != p {
						q.emit(fmt.Sprintf("[Server] %s (IP: %s): connected\n[Me] ", line, c.ips[p.host]))
					}
				}
			}
			return
		}
		c.mu.Lock()
		name := c.members[p]
		c.mu.Unlock()
		if line == ":q" {
			c.mu.Lock()
			delete(c.members, p)
			c.mu.Unlock()
			for _, q := range c.others(p) {
				q.emit(fmt.Sprintf("[Server] %s (IP: %s): is offline\n[Me] ", name, c.ips[p.host]))
			}
			p.exit(0)
			return
		}
		for _, q := range c.others(p) {
			q.emit(fmt.Sprintf("[Server] %s (IP: %s) says: %s\n[Me] ", name, c.ips[p.host], line))
		}
		p.emit("[Me] ")
	}
	p.emit("[Server] Welcome to this chatroom! Type your username and press enter to continue: \n[Me] ")
}

// exec answers the listening step: port 5000 is bound once the server is up.
func (c *fakeChat) exec(host string, cmd []string) (runtime.ExecResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up || cmd[0] != "cat" {
		return runtime.ExecResult{}, nil
	}
	return runtime.ExecResult{Stdout: []byte("   0: 0300140A:1388 00000000:0000 0A\n")}, nil
}
