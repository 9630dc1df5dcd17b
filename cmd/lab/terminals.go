package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/internal/multicall"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func newTerminalsCmd(a *app) *cobra.Command {
	var (
		server, client string
		detach         bool
	)
	cmd := &cobra.Command{
		Use:   "terminals",
		Short: "The handout's demo in one command: tmux with the chat server on webserver and a shell on each client",
		Long: `Open tmux with one pane per chat host, as the handout's demo has one terminal
per host: the webserver on top runs the chat server, and below it a shell on
each client (lab shell, as after ssh) has the chat client typed and waits for
Enter. Run lab deploy (or lab cp) first, so that the programs are there.

The programs are the ones found in /root: a single *server*.py or chat-server
on the webserver, a single *client*.py or chat-client on the clients. With
several (the handout's chatroom_server.py, chatroom_p2p_server.py, …) choose
with --server and --client. Running it again attaches to the same tmux session;
detach with Ctrl-b d, and end it with: lab terminals kill.

It uses this machine's tmux (sudo apt-get install -y tmux).`,
		Example: `  lab deploy --files ~/labs/03-lab3
  lab terminals --server 'python3 chatroom_p2p_server.py' --client 'python3 chatroom_p2p_client.py'
  lab terminals          # the reference programs after: lab deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tmux, err := exec.LookPath("tmux")
			if err != nil {
				return errors.New("lab terminals needs tmux on this machine: install it with: sudo apt-get install -y tmux (or open lab shell HOST in one terminal per host)")
			}
			if !detach && !term.IsTerminal(int(a.stdin.Fd())) {
				return usagef("lab terminals needs a terminal to show tmux in, and stdin is not one; use -d to start the session without showing it")
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the lab program: %w", err)
			}
			ctx := cmd.Context()
			d, topo, err := a.loadLab(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			run := tmuxRunner(tmux)
			session := tmuxSession(a.name)
			if _, err := run(ctx, "has-session", "-t", "="+session); err != nil {
				// No session yet: make it.
				t := terminalsPlan{self: self, lab: a.name, session: session, webserver: topo.WebServer().Name}
				for _, h := range topo.Clients() {
					t.clients = append(t.clients, h.Name)
				}
				t.server, t.client = server, client
				var notes []string
				if t.server == "" {
					t.server, notes = guessProgram(ctx, d, a, t.webserver, "server")
				}
				if t.client == "" && len(t.clients) > 0 {
					var more []string
					t.client, more = guessProgram(ctx, d, a, t.clients[0], "client")
					notes = append(notes, more...)
				}
				if t.server != "" {
					// The server's output shows in its pane and is kept
					// for lab logs, as a program exec -d starts.
					hosts, err := a.hostUp(ctx, d, t.webserver)
					if err != nil {
						return err
					}
					if err := a.installLabLog(ctx, hosts, t.webserver); err != nil {
						notes = append(notes, fmt.Sprintf("the server's output shows in its pane only: this lab binary cannot run on the hosts as lab-log (%v)", err))
					} else {
						t.server = keptOutput(t.server)
					}
				}
				if cols, rows, err := term.GetSize(int(a.stdin.Fd())); err == nil {
					t.cols, t.rows = cols, rows
				}
				if err := t.create(ctx, run); err != nil {
					return err
				}
				for _, n := range notes {
					fmt.Fprintf(a.stderr, "lab: %s\n", n)
				}
			}
			if detach {
				fmt.Fprintf(a.stdout, "tmux session %s is ready: attach with: tmux attach -t %s (or: lab%s terminals)\n", session, session, a.nameFlag())
				return nil
			}
			return attachTmux(ctx, a, tmux, session)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "command to run on the webserver, in /root (default: the one chat server found there)")
	f.StringVar(&client, "client", "", "command to type on each client, in /root (default: the one chat client found there)")
	f.BoolVarP(&detach, "detach", "d", false, "make the tmux session but do not show it")
	cmd.AddCommand(&cobra.Command{
		Use:   "kill",
		Short: "End the lab's tmux session and what runs in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tmux, err := exec.LookPath("tmux")
			if err != nil {
				return errors.New("lab terminals needs tmux on this machine: install it with: sudo apt-get install -y tmux")
			}
			session := tmuxSession(a.name)
			run := tmuxRunner(tmux)
			// Each pane's lab shell stops what it started in its host
			// once tmux hangs it up; the panes' process groups are
			// waited for, so that kill returns when that is done.
			panes, _ := run(cmd.Context(), "list-panes", "-s", "-t", "="+session, "-F", "#{pane_pid}")
			if _, err := run(cmd.Context(), "kill-session", "-t", "="+session); err != nil {
				return fmt.Errorf("no tmux session %s to end", session)
			}
			if !waitGroupsGone(cmd.Context(), strings.Fields(panes), paneStopWait) {
				fmt.Fprintf(a.stderr, "lab: warning: the shells of %s are still stopping their programs after %s; lab status shows what runs\n", session, paneStopWait)
			}
			fmt.Fprintf(a.stdout, "ended tmux session %s\n", session)
			return nil
		},
	})
	return cmd
}

// paneStopWait bounds how long terminals kill waits for the panes' shells
// to stop what they started (each takes a few docker execs, and a grace of
// two seconds before SIGKILL).
const paneStopWait = 60 * time.Second

// waitGroupsGone waits until no process is left in any of the process
// groups (tmux makes each pane's process the leader of its own), or until
// limit; it reports whether they all ended.
func waitGroupsGone(ctx context.Context, pgids []string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		alive := false
		for _, id := range pgids {
			if pgid, err := strconv.Atoi(id); err == nil && pgid > 1 && syscall.Kill(-pgid, 0) == nil {
				alive = true
			}
		}
		if !alive {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tmuxSession is the name of a lab's tmux session.
func tmuxSession(labName string) string { return "lab-" + labName }

// tmuxRun runs one tmux command and returns what it printed.
type tmuxRun func(ctx context.Context, args ...string) (string, error)

// tmuxRunner runs the tmux at path.
func tmuxRunner(path string) tmuxRun {
	return func(ctx context.Context, args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, path, args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && len(ee.Stderr) > 0 {
				return "", fmt.Errorf("tmux %s: %s", args[0], oneLine(string(ee.Stderr)))
			}
			return "", fmt.Errorf("tmux %s: %w", args[0], err)
		}
		return strings.TrimSpace(string(out)), nil
	}
}

// keptOutput is the command line to type for line, a command typed at a
// host's shell, so that its output is kept for lab logs as well as shown:
// line run by lab-log. A line with more than one command, redirections or
// variables stays as it is, since lab-log runs one program.
func keptOutput(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 || strings.ContainsAny(line, "\n;&|<>()$`\\\"'*?[]{}~#=") {
		return line
	}
	return multicall.LabLog + " " + strings.Join(f, " ")
}

// terminalsPlan is the tmux session lab terminals makes.
type terminalsPlan struct {
	self, lab, session string
	webserver          string
	clients            []string
	// server runs on the webserver; client is typed on each client.
	server, client string
	// cols and rows are the terminal's size, so that the panes are laid
	// out for it before tmux attaches; 0 leaves tmux's default.
	cols, rows int
}

// shellCommand is the pane command that opens host's shell with this
// same lab program, as tmux runs it (through sh -c).
func (t terminalsPlan) shellCommand(host string) string {
	argv := []string{t.self}
	if t.lab != topology.DefaultName {
		argv = append(argv, "--name", t.lab)
	}
	argv = append(argv, "shell", host)
	return shellJoin(argv)
}

// create makes the session: the webserver's pane on top, the clients' side
// by side below it, each titled with its host; then it starts the server
// and types the client, each pane addressed by its tmux pane ID (%N), so
// that the user's base-index settings do not matter.
func (t terminalsPlan) create(ctx context.Context, run tmuxRun) error {
	cols, rows := t.cols, t.rows
	if cols <= 0 || rows <= 0 {
		// No terminal to measure (-d): tmux's 80x24 would leave the
		// clients one line each; attaching later resizes.
		cols, rows = 200, 50
	}
	newSession := []string{"new-session", "-d", "-P", "-F", "#{pane_id}", "-s", t.session, "-n", "chat",
		"-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows)}
	top, err := run(ctx, append(newSession, t.shellCommand(t.webserver))...)
	if err != nil {
		return err
	}
	panes := map[string]string{t.webserver: top}
	below := top
	for i, h := range t.clients {
		split := []string{"split-window", "-d", "-P", "-F", "#{pane_id}", "-t", below, "-h"}
		if i == 0 {
			split = []string{"split-window", "-d", "-P", "-F", "#{pane_id}", "-t", top, "-v"}
		}
		id, err := run(ctx, append(split, t.shellCommand(h))...)
		if err != nil {
			return err
		}
		panes[h], below = id, id
	}
	steps := [][]string{
		// The server's pane takes the top half, the clients share the rest.
		{"set-window-option", "-t", top, "main-pane-height", fmt.Sprint(rows / 2)},
		{"select-layout", "-t", top, "main-horizontal"},
		{"set-option", "-t", t.session, "pane-border-status", "top"},
		{"set-option", "-t", t.session, "pane-border-format", " #{pane_title} "},
	}
	for _, h := range append([]string{t.webserver}, t.clients...) {
		steps = append(steps, []string{"select-pane", "-t", panes[h], "-T", h})
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return err
		}
	}
	// The commands are typed once each host's shell prompts: typed
	// earlier, the local terminal would echo them before the shell does.
	type typing struct {
		pane, keys string
		enter      bool
	}
	var typed []typing
	if t.server != "" {
		typed = append(typed, typing{top, t.server, true})
	}
	for _, h := range t.clients {
		if t.client != "" {
			typed = append(typed, typing{panes[h], t.client, false})
		}
	}
	for _, k := range typed {
		waitForPrompt(ctx, run, k.pane)
		if _, err := run(ctx, "send-keys", "-t", k.pane, "-l", k.keys); err != nil {
			return err
		}
		if k.enter {
			if _, err := run(ctx, "send-keys", "-t", k.pane, "Enter"); err != nil {
				return err
			}
		}
	}
	if len(t.clients) > 0 {
		if _, err := run(ctx, "select-pane", "-t", panes[t.clients[0]]); err != nil {
			return err
		}
	}
	return nil
}

// promptWait bounds how long create waits for a host's shell to prompt
// before typing anyway; promptPoll is how often it looks.
const (
	promptWait = 15 * time.Second
	promptPoll = 100 * time.Millisecond
)

// waitForPrompt waits until pane shows a shell prompt (its last line ends
// in "#" or "$"), or promptWait has passed.
func waitForPrompt(ctx context.Context, run tmuxRun, pane string) {
	ctx, cancel := context.WithTimeout(ctx, promptWait)
	defer cancel()
	for {
		screen, err := run(ctx, "capture-pane", "-p", "-t", pane)
		if err == nil {
			lines := strings.Split(strings.TrimRight(screen, " \n"), "\n")
			last := strings.TrimSpace(lines[len(lines)-1])
			if strings.HasSuffix(last, "#") || strings.HasSuffix(last, "$") {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(promptPoll):
		}
	}
}

// attachTmux shows the session on this terminal; inside tmux, it switches
// the client to it instead of nesting one tmux in another.
func attachTmux(ctx context.Context, a *app, tmux, session string) error {
	args := []string{"attach-session", "-t", "=" + session}
	if os.Getenv("TMUX") != "" {
		args = []string{"switch-client", "-t", "=" + session}
	}
	c := exec.CommandContext(ctx, tmux, args...)
	c.Stdin, c.Stdout, c.Stderr = a.stdin, a.stdout, a.stderr
	if err := c.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("tmux %s: %w", args[0], err)
	}
	return nil
}

// guessProgram finds the chat program of a role in host's /root: the one
// *server*.py or chat-server (role "server"), *client*.py or chat-client
// (role "client"). With none or several it returns no command and a note
// saying how to choose.
func guessProgram(ctx context.Context, d runtime.Engine, a *app, host, role string) (string, []string) {
	hosts, err := a.hostUp(ctx, d, host)
	if err != nil {
		return "", []string{err.Error()}
	}
	res, err := hosts.Exec(ctx, host, []string{"ls", "-1A", lab.DeployDir}, nil)
	if err != nil || res.ExitCode != 0 {
		return "", []string{fmt.Sprintf("could not list %s's %s: choose the %s with --%s", host, lab.DeployDir, role, role)}
	}
	cmdline, found := pickProgram(strings.Fields(string(res.Stdout)), role)
	switch {
	case cmdline != "":
		return cmdline, nil
	case len(found) == 0:
		return "", []string{fmt.Sprintf("no chat %s in %s:%s (copy it there with lab deploy or lab cp); its pane has a shell", role, host, lab.DeployDir)}
	}
	return "", []string{fmt.Sprintf("%s:%s has several chat %ss (%s): choose one with --%s 'python3 %s'",
		host, lab.DeployDir, role, strings.Join(found, ", "), role, found[0])}
}

// pickProgram chooses the command of role among files: a single Python
// program whose name has the role in it, else the reference binary. found
// lists the candidates when there is not exactly one.
func pickProgram(files []string, role string) (cmdline string, found []string) {
	var py []string
	for _, f := range files {
		if strings.HasSuffix(f, ".py") && strings.Contains(path.Base(f), role) {
			py = append(py, f)
		}
	}
	slices.Sort(py)
	switch {
	case len(py) == 1:
		return "python3 " + shellQuote(py[0]), nil
	case len(py) > 1:
		return "", py
	case slices.Contains(files, "chat-"+role):
		return "./chat-" + role, nil
	}
	return "", nil
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
