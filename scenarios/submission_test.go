package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadSubmissionDefaults(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"chatroom_server.py": "", "chatroom_client.py": "",
		"chatroom_p2p_server.py": "", "chatroom_p2p_client.py": "",
		"auth_server_v2.py": "", "my_auth_client.py": "",
		"report.pdf": "", ".hidden": "",
	})
	sub, err := LoadSubmission(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Milestone]string{
		M1: "python3 chatroom_server.py | python3 chatroom_client.py",
		M2: "python3 chatroom_p2p_server.py | python3 chatroom_p2p_client.py",
		M4: "python3 auth_server_v2.py | python3 my_auth_client.py",
	}
	for m, w := range want {
		c := sub.Programs.Commands[m]
		if got := strings.Join(c[RoleServer], " ") + " | " + strings.Join(c[RoleClient], " "); got != w {
			t.Errorf("%s: %q, want %q", m, got, w)
		}
	}
	if _, ok := sub.Files[".hidden"]; ok {
		t.Error("hidden file deployed")
	}
	if sub.Team != 30 || sub.Port != 5000 || sub.P2PPort != 6000 || !contains(sub.Programs.Env, "PYTHONUNBUFFERED=1") {
		t.Errorf("defaults: team %d port %d p2p %d env %v", sub.Team, sub.Port, sub.P2PPort, sub.Programs.Env)
	}
}

func TestManifest(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"s.py": "", "c.py": "",
		"lab3.yaml": `team: 7
port: 5050
programs:
  m4:
    server: python3 s.py --users u.json
    client: python3 c.py ${self}
auth:
  order: [username, password, action]
  prompts: {username: 'Name\?', action: ''}
`,
	})
	sub, err := LoadSubmission(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Team != 7 || sub.Port != 5050 || sub.P2PPort != 6000 {
		t.Errorf("team %d port %d p2p %d", sub.Team, sub.Port, sub.P2PPort)
	}
	if got := strings.Join(sub.Programs.Commands[M4][RoleServer], " "); got != "python3 s.py --users u.json" {
		t.Errorf("M4 server %q", got)
	}
	if got := strings.Join(sub.Programs.Auth.Order, ","); got != "username,password,action" {
		t.Errorf("order %s", got)
	}
	if p := sub.Programs.Auth.Prompts; p["username"] != `Name\?` || p["action"] != "" || p["password"] != "" {
		t.Errorf("prompts %q", p)
	}
}

func TestSubmissionErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no programs", map[string]string{"notes.txt": ""}, "has none of the handout's files"},
		{"bad yaml", map[string]string{"lab3.yaml": "team: [\n"}, "lab3.yaml:"},
		{"unknown field", map[string]string{"lab3.yaml": "teams: 3\n"}, `field teams not found`},
		{"bad team", map[string]string{"lab3.yaml": "team: 0\nport: 80\n"}, "port 80: must be between 1024 and 65535"},
		{"bad milestone", map[string]string{"lab3.yaml": "programs: {M3: {server: a, client: b}}\n"}, `milestone "M3"`},
		{"one role", map[string]string{"lab3.yaml": "programs: {M1: {server: a}}\n"}, "give both server and client"},
		{"bad role", map[string]string{"lab3.yaml": "programs: {M1: {server: a, peer: b}}\n"}, `role "peer"`},
		{"bad order", map[string]string{"lab3.yaml": "auth: {order: [username, username, password]}\n"}, "list action, username and password once each"},
		{"bad prompt", map[string]string{"lab3.yaml": "auth: {prompts: {password: '('}}\n"}, "is not a regular expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSubmission(writeFiles(t, tc.files))
			if err == nil || !errors.Is(err, ErrSubmission) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, tc.want)
			}
		})
	}
	if _, err := LoadSubmission(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such file or directory: give a folder") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := Reference(t.TempDir()); err == nil || !strings.Contains(err.Error(), "build it with: make build") {
		t.Errorf("missing binaries: %v", err)
	}
}

func TestReferenceCommands(t *testing.T) {
	dir := writeFiles(t, map[string]string{"chat-server": "x", "chat-client": "y"})
	sub, err := Reference(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sub.Programs.Commands[M4][RoleServer], " ")
	if got != "/opt/lab3/bin/chat-server --mode auth --listen ${self}:${port} --users /root/users.db" {
		t.Errorf("M4 server %q", got)
	}
	if len(sub.Bins) != 2 || len(sub.Files) != 0 {
		t.Errorf("bins %d files %d", len(sub.Bins), len(sub.Files))
	}
}

func TestLoadDirAndSelect(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "name: a\nmilestone: M1\nrequirement: r\nsteps:\n  - start: {proc: s, host: webserver, role: server}\n",
		"b.yml":  "name: a\nmilestone: M2\nrequirement: r\nsteps:\n  - start: {proc: s, host: webserver, role: server}\n",
	})
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), `b.yml:1: scenario name "a" is also used by`) {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .yaml files") {
		t.Errorf("empty folder: %v", err)
	}
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Select(all, []string{"M2", "m1-quit"})
	if err != nil || len(m2) != 10 || m2[9].Name != "m1-quit" {
		t.Errorf("select: %d %v", len(m2), err)
	}
	if _, err := Select(all, []string{"m9"}); err == nil {
		t.Error("unknown selection accepted")
	}
}

func TestLoadSubmissionReadsLinkedFiles(t *testing.T) {
	// The broken variants link their five correct programs to handout/.
	sub, err := LoadSubmission(filepath.Join("..", "testdata", "broken", "echo-to-sender"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chatroom_server.py", "chatroom_client.py", "chatroom_p2p_server.py", "chatroom_p2p_client.py", "chatroom_auth_server.py", "chatroom_auth_client.py"} {
		f, ok := sub.Files[name]
		if !ok || len(f.Data) == 0 {
			t.Errorf("%s missing or empty", name)
		}
	}
	want, err := os.ReadFile(filepath.Join("..", "testdata", "handout", "chatroom_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	if string(sub.Files["chatroom_client.py"].Data) != string(want) {
		t.Error("the linked chatroom_client.py is not the handout's")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"team 07/a": "team_07_a", "..": "_", "ok-1.2": "ok-1.2"} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}
