package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTerminalsTmuxCommands pins the tmux command lines of lab terminals:
// the webserver's pane on top, a pane per client below, each a lab shell
// of this same program, titled with its host; the server started, the
// client typed and waiting for Enter.
func TestTerminalsTmuxCommands(t *testing.T) {
	var got []string
	next := 0
	run := func(_ context.Context, args ...string) (string, error) {
		got = append(got, strings.Join(args, " | "))
		if args[0] == "capture-pane" {
			return "Linux client1 6.1.0 x86_64\n\nroot@client1:~#", nil
		}
		if slices.Contains(args, "#{pane_id}") {
			next++
			return fmt.Sprintf("%%%d", next), nil
		}
		return "", nil
	}
	p := terminalsPlan{self: "/home/student/lab 3/bin/lab", lab: "ux-term", session: tmuxSession("ux-term"), webserver: "webserver",
		clients: []string{"client1", "client2", "client3"}, server: "python3 chatroom_server.py", client: "python3 chatroom_client.py",
		cols: 160, rows: 48}
	if err := p.create(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	shell := func(h string) string { return "'/home/student/lab 3/bin/lab' --name ux-term shell " + h }
	want := []string{
		"new-session | -d | -P | -F | #{pane_id} | -s | lab-ux-term | -n | chat | -x | 160 | -y | 48 | " + shell("webserver"),
		"split-window | -d | -P | -F | #{pane_id} | -t | %1 | -v | " + shell("client1"),
		"split-window | -d | -P | -F | #{pane_id} | -t | %2 | -h | " + shell("client2"),
		"split-window | -d | -P | -F | #{pane_id} | -t | %3 | -h | " + shell("client3"),
		"set-window-option | -t | %1 | main-pane-height | 24",
		"select-layout | -t | %1 | main-horizontal",
		"set-option | -t | lab-ux-term | pane-border-status | top",
		"set-option | -t | lab-ux-term | pane-border-format |  #{pane_title} ",
		"select-pane | -t | %1 | -T | webserver",
		"select-pane | -t | %2 | -T | client1",
		"select-pane | -t | %3 | -T | client2",
		"select-pane | -t | %4 | -T | client3",
		"capture-pane | -p | -t | %1",
		"send-keys | -t | %1 | -l | python3 chatroom_server.py",
		"send-keys | -t | %1 | Enter",
		"capture-pane | -p | -t | %2",
		"send-keys | -t | %2 | -l | python3 chatroom_client.py",
		"capture-pane | -p | -t | %3",
		"send-keys | -t | %3 | -l | python3 chatroom_client.py",
		"capture-pane | -p | -t | %4",
		"send-keys | -t | %4 | -l | python3 chatroom_client.py",
		"select-pane | -t | %2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("tmux commands (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
}

func TestTerminalsShellOfTheDefaultLab(t *testing.T) {
	p := terminalsPlan{self: "/usr/local/bin/lab", lab: "lab3"}
	if got, want := p.shellCommand("client2"), "/usr/local/bin/lab shell client2"; got != want {
		t.Errorf("shellCommand = %q, want %q", got, want)
	}
}

func TestTerminalsPickTheChatPrograms(t *testing.T) {
	handout := []string{"chatroom_auth_client.py", "chatroom_auth_server.py", "chatroom_client.py", "chatroom_server.py", "notes.txt"}
	tests := []struct {
		name      string
		files     []string
		role      string
		want      string
		wantFound []string
	}{
		{"one python server", []string{"chatroom_p2p_server.py", "chatroom_p2p_client.py", "users.db"}, "server", "python3 chatroom_p2p_server.py", nil},
		{"one python client", []string{"chatroom_p2p_server.py", "chatroom_p2p_client.py"}, "client", "python3 chatroom_p2p_client.py", nil},
		{"the reference binary", []string{"chat-server", "chat-client"}, "server", "./chat-server", nil},
		{"python wins over the binary", []string{"chat-client", "my client.py"}, "client", "python3 'my client.py'", nil},
		{"several: the user chooses", handout, "server", "", []string{"chatroom_auth_server.py", "chatroom_server.py"}},
		{"none", []string{".bashrc"}, "client", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found := pickProgram(tc.files, tc.role)
			if got != tc.want || !slices.Equal(found, tc.wantFound) {
				t.Errorf("pickProgram = %q, %q; want %q, %q", got, found, tc.want, tc.wantFound)
			}
		})
	}
}

func TestTerminalsWithoutATerminalIsAUsageError(t *testing.T) {
	code, out, errOut := runLab(t, "terminals")
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "lab: lab terminals needs a terminal") {
		t.Errorf("exit %d, %q %q", code, out, errOut)
	}
}

func TestTerminalsTypeOnceTheShellPrompts(t *testing.T) {
	screens := []string{"", "\n\n", "Linux webserver\n\nroot@webserver:~# "}
	calls := 0
	run := func(_ context.Context, args ...string) (string, error) {
		calls++
		return screens[min(calls-1, len(screens)-1)], nil
	}
	waitForPrompt(context.Background(), run, "%1")
	if calls != 3 {
		t.Errorf("looked at the pane %d times, want 3: until the prompt shows", calls)
	}
}

func TestTerminalsKeepTheServersOutput(t *testing.T) {
	for line, want := range map[string]string{
		"python3 chatroom_server.py":  "lab-log python3 chatroom_server.py",
		"  ./chat-server  --mode p2p": "lab-log ./chat-server --mode p2p",
		"python3 s.py > out.txt":      "python3 s.py > out.txt",
		"cd srv && python3 s.py":      "cd srv && python3 s.py",
		"PORT=5000 python3 s.py":      "PORT=5000 python3 s.py",
		"python3 'my server.py'":      "python3 'my server.py'",
		"":                            "",
	} {
		if got := keptOutput(line); got != want {
			t.Errorf("keptOutput(%q) = %q, want %q", line, got, want)
		}
	}
}
