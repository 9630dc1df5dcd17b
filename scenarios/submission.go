package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/folder"
)

// ManifestFile is the optional file in a submission that says how to run it.
const ManifestFile = "lab3.yaml"

// Where a submission's files live on every host: staged once per lab, then
// copied into the working folder before each scenario so that no scenario
// sees another's files (a registered user, a stale pid file).
const (
	StageDir = "/opt/lab3/submission"
	BinDir   = "/opt/lab3/bin"
	WorkDir  = "/root"
)

// Default ports of the handout.
const (
	DefaultPort    = 5000
	DefaultP2PPort = 6000
)

// ErrSubmission is returned, wrapped, when a submission folder or its
// manifest is unusable.
var ErrSubmission = errors.New("bad submission")

// Submission is one implementation to grade: a student's folder of Python
// files or our reference binaries.
type Submission struct {
	// Name labels reports and the results folder.
	Name string
	// Source is the folder it was loaded from (LoadSubmission), absolute.
	Source string
	// Files are copied to every host's working folder before each scenario.
	Files map[string]File
	// Bins are copied once to BinDir on every host.
	Bins map[string]File
	// Data are the files the grader reads but the programs do not need
	// (folder.IsData: captures, notebooks, the PDF report, and
	// answers.yaml): never copied into the lab's hosts.
	Data map[string]File
	// Team is the team number the programs resolve (team<N>.com).
	Team int
	// TeamFrom says where Team came from: "manifest", "programs" (the
	// domain the programs name), "roster" or "default".
	TeamFrom string
	// Port is the chat server's TCP port; P2PPort the clients' UDP port.
	Port, P2PPort int
	// Programs says how to run each milestone and answer its dialogue.
	Programs Programs
}

// File is a file of a submission.
type File struct {
	Mode os.FileMode
	Data []byte
}

// manifest is lab3.yaml.
type manifest struct {
	Team     int                          `yaml:"team"`
	Port     int                          `yaml:"port"`
	P2PPort  int                          `yaml:"p2p_port"`
	Programs map[string]map[string]string `yaml:"programs"`
	Auth     *struct {
		Order   []string          `yaml:"order"`
		Prompts map[string]string `yaml:"prompts"`
		Words   map[string]string `yaml:"words"`
		Texts   map[string]string `yaml:"texts"`
	} `yaml:"auth"`
}

// handoutFiles are the file names the handout gives each milestone.
var handoutFiles = map[Milestone][2]string{
	M1: {"chatroom_server.py", "chatroom_client.py"},
	M2: {"chatroom_p2p_server.py", "chatroom_p2p_client.py"},
}

// LoadSubmission reads a student's folder: every regular, non-hidden file
// at its top level, and lab3.yaml if present. The folder is read as
// folder.Read reads it: a symbolic link, a special file or too much data
// is refused, and nothing is graded. Without a manifest it runs
// the handout's file names with python3, and for Milestone 4 the one
// *server*.py / *client*.py pair not used by Milestones 1 and 2.
func LoadSubmission(dir string) (Submission, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Submission{}, fmt.Errorf("%w: %s: %v", ErrSubmission, dir, err)
	}
	files, err := folder.Read(abs)
	var refused *folder.Error
	if errors.As(err, &refused) {
		if refused.Name != "" {
			// Name the folder too: lab grade checks a whole class's
			// folders before it grades any.
			return Submission{}, fmt.Errorf("%w: %s: %v", ErrSubmission, dir, err)
		}
		return Submission{}, fmt.Errorf("%w: %v", ErrSubmission, err)
	}
	if err != nil {
		return Submission{}, fmt.Errorf("%w: %s: %v: give a folder with the Python files", ErrSubmission, dir, unwrapPath(err))
	}
	sub := Submission{Name: filepath.Base(abs), Source: abs, Files: map[string]File{}, Team: 30, Port: DefaultPort, P2PPort: DefaultP2PPort}
	sub.Data = map[string]File{}
	for _, f := range files {
		if folder.IsData(f.Name) || f.Name == AnswersFile {
			sub.Data[f.Name] = File{Mode: f.Mode | 0o400, Data: f.Data}
			continue
		}
		sub.Files[f.Name] = File{Mode: f.Mode | 0o400, Data: f.Data}
	}
	sub.Programs = Programs{
		Commands: map[Milestone]map[Role][]string{},
		Auth:     DefaultAuth(),
		Env:      []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"},
		Workdir:  WorkDir,
	}
	for m, f := range handoutFiles {
		if _, ok := sub.Files[f[0]]; ok {
			sub.Programs.Commands[m] = map[Role][]string{RoleServer: {"python3", f[0]}}
		}
		if _, ok := sub.Files[f[1]]; ok {
			if sub.Programs.Commands[m] == nil {
				sub.Programs.Commands[m] = map[Role][]string{}
			}
			sub.Programs.Commands[m][RoleClient] = []string{"python3", f[1]}
		}
	}
	if srv, cli := guessM4(sub.Files); srv != "" && cli != "" {
		sub.Programs.Commands[M4] = map[Role][]string{RoleServer: {"python3", srv}, RoleClient: {"python3", cli}}
	}
	sub.TeamFrom = "default"
	if team, ok := guessTeam(sub.Files); ok {
		sub.Team, sub.TeamFrom = team, "programs"
	}
	if f, ok := sub.Files[ManifestFile]; ok {
		if err := sub.applyManifest(f.Data); err != nil {
			return Submission{}, err
		}
	}
	if len(sub.Programs.Commands) == 0 {
		return Submission{}, fmt.Errorf("%w: %s has none of the handout's files (chatroom_server.py, ...) and no %s saying what to run", ErrSubmission, dir, ManifestFile)
	}
	return sub, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// guessM4 picks the Milestone 4 pair: the only *server*.py and *client*.py
// files that are not the handout's Milestone 1 and 2 files.
func guessM4(files map[string]File) (server, client string) {
	used := map[string]bool{}
	for _, f := range handoutFiles {
		used[f[0]], used[f[1]] = true, true
	}
	var servers, clients []string
	for name := range files {
		if used[name] || !strings.HasSuffix(name, ".py") {
			continue
		}
		switch {
		case strings.Contains(name, "server"):
			servers = append(servers, name)
		case strings.Contains(name, "client"):
			clients = append(clients, name)
		}
	}
	if len(servers) == 1 && len(clients) == 1 {
		return servers[0], clients[0]
	}
	return "", ""
}

// teamRE finds a team domain written in a program, as the handout asks
// ("Get the server IP address using domain name of your team (e.g.,
// team30.com)").
var teamRE = regexp.MustCompile(`(?i)\bteam([0-9]{1,4})\.com\b`)

// guessTeam returns the team whose domain the submission's programs name
// most often, so that its lab serves the domain the programs resolve.
func guessTeam(files map[string]File) (int, bool) {
	count := map[int]int{}
	for name, f := range files {
		if !strings.HasSuffix(name, ".py") {
			continue
		}
		for _, m := range teamRE.FindAllSubmatch(f.Data, -1) {
			if n, err := strconv.Atoi(string(m[1])); err == nil && n >= 1 && n <= 9999 {
				count[n]++
			}
		}
	}
	best, most := 0, 0
	for n, c := range count {
		if c > most || c == most && n < best {
			best, most = n, c
		}
	}
	return best, most > 0
}

var answerKeys = []string{"action", "username", "password"}

// textKeys are the optional exact texts of auth.texts.
var textKeys = []string{"registered", "logged_in", "taken", "invalid"}

func (sub *Submission) applyManifest(data []byte) error {
	var m manifest
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%w: %s: %s: see scenarios/README.md for its fields", ErrSubmission, ManifestFile, strings.TrimPrefix(oneLine(err.Error()), "yaml: "))
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrSubmission, ManifestFile, fmt.Sprintf(format, args...))
	}
	if m.Team != 0 {
		if m.Team < 1 || m.Team > 9999 {
			return bad("team %d: must be between 1 and 9999", m.Team)
		}
		sub.Team, sub.TeamFrom = m.Team, "manifest"
	}
	for _, p := range []struct {
		v   int
		dst *int
		n   string
	}{{m.Port, &sub.Port, "port"}, {m.P2PPort, &sub.P2PPort, "p2p_port"}} {
		if p.v != 0 {
			if p.v < 1024 || p.v > 65535 {
				return bad("%s %d: must be between 1024 and 65535", p.n, p.v)
			}
			*p.dst = p.v
		}
	}
	if m.Port != 0 {
		sub.Programs.PortsKnown = true
	}
	for ms, roles := range m.Programs {
		mile := Milestone(strings.ToUpper(ms))
		if mile != M1 && mile != M2 && mile != M4 {
			return bad("programs: milestone %q: want M1, M2 or M4", ms)
		}
		cmds := map[Role][]string{}
		for role, cmd := range roles {
			r := Role(role)
			if r != RoleServer && r != RoleClient {
				return bad("programs.%s: role %q: want server or client", ms, role)
			}
			words := strings.Fields(cmd)
			if len(words) == 0 {
				return bad("programs.%s.%s: empty command", ms, role)
			}
			cmds[r] = words
		}
		if len(cmds) != 2 {
			return bad("programs.%s: give both server and client", ms)
		}
		sub.Programs.Commands[mile] = cmds
	}
	if m.Auth != nil {
		if len(m.Auth.Order) > 0 {
			seen := map[string]bool{}
			for _, k := range m.Auth.Order {
				if !contains(answerKeys, k) || seen[k] {
					return bad("auth.order %v: list action, username and password once each, in the order your client asks", m.Auth.Order)
				}
				seen[k] = true
			}
			if len(seen) != 3 {
				return bad("auth.order %v: list action, username and password once each, in the order your client asks", m.Auth.Order)
			}
			sub.Programs.Auth.Order = m.Auth.Order
		}
		for k, re := range m.Auth.Prompts {
			if !contains(answerKeys, k) {
				return bad("auth.prompts: %q: want action, username or password", k)
			}
			if _, err := regexp.Compile(re); err != nil {
				return bad("auth.prompts.%s: %q is not a regular expression", k, re)
			}
			sub.Programs.Auth.Prompts[k] = re
		}
		for k, w := range m.Auth.Words {
			if k != "login" && k != "register" {
				return bad("auth.words: %q: want login or register", k)
			}
			if strings.TrimSpace(w) == "" || strings.ContainsAny(w, "\r\n") {
				return bad("auth.words.%s: give the one-line answer your client expects", k)
			}
			sub.Programs.Auth.Words[k] = w
		}
		for k, re := range m.Auth.Texts {
			if !contains(textKeys, k) {
				return bad("auth.texts: %q: want one of %s", k, strings.Join(textKeys, ", "))
			}
			if _, err := regexp.Compile(re); err != nil {
				return bad("auth.texts.%s: %q is not a regular expression", k, re)
			}
			sub.Programs.Auth.Texts[k] = re
		}
	}
	return nil
}

// Reference returns our Go reference binaries as a submission. binDir must
// hold Linux builds of chat-server and chat-client (make build).
func Reference(binDir string) (Submission, error) {
	return ReferenceFrom(func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(binDir, name))
		if err != nil {
			return nil, fmt.Errorf("%v: build it with: make build", unwrapPath(err))
		}
		return data, nil
	})
}

// ReferenceFrom is Reference with the binaries read by load, by name
// (chat-server, chat-client): a static Linux executable for each, which
// may be one program that acts on the name it is run under.
func ReferenceFrom(load func(name string) ([]byte, error)) (Submission, error) {
	sub := Submission{Name: "reference", Files: map[string]File{}, Bins: map[string]File{}, Team: 30, Port: DefaultPort, P2PPort: DefaultP2PPort}
	for _, name := range []string{"chat-server", "chat-client"} {
		data, err := load(name)
		if err != nil {
			return Submission{}, fmt.Errorf("%w: reference %s: %v", ErrSubmission, name, err)
		}
		sub.Bins[name] = File{Mode: 0o755, Data: data}
	}
	modes := map[Milestone]string{M1: "chatroom", M2: "p2p", M4: "auth"}
	sub.Programs = Programs{Commands: map[Milestone]map[Role][]string{}, Auth: DefaultAuth(), Workdir: WorkDir, PortsKnown: true}
	for m, mode := range modes {
		server := []string{BinDir + "/chat-server", "--mode", mode, "--listen", "${self}:${port}"}
		if m == M4 {
			server = append(server, "--users", WorkDir+"/users.db")
		}
		sub.Programs.Commands[m] = map[Role][]string{
			RoleServer: server,
			RoleClient: {BinDir + "/chat-client", "--mode", mode, "--server", "${domain}:${port}", "--p2p-port", "${p2p_port}", "--bind", "${self}"},
		}
	}
	return sub, nil
}

// ApplyRoster sets the team from a course roster (submission name → team)
// unless the manifest fixes one. When the programs name another team's
// domain the programs win, because that is the name they resolve; the
// returned warning says so.
func (s *Submission) ApplyRoster(roster map[string]int) (warning string) {
	team, ok := roster[s.Name]
	switch {
	case !ok || s.TeamFrom == "manifest":
		return ""
	case s.TeamFrom == "programs" && team != s.Team:
		return fmt.Sprintf("%s: the roster says team %d, but the programs resolve team%d.com; grading with team%d.com", s.Name, team, s.Team, s.Team)
	case s.TeamFrom == "programs":
		return ""
	}
	s.Team, s.TeamFrom = team, "roster"
	return ""
}

// Milestones lists the milestones the submission has programs for.
func (s Submission) Milestones() []Milestone {
	var out []Milestone
	for m := range s.Programs.Commands {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SafeName turns a submission name into a folder name: its folder of
// results (grading) and of review sheets.
func SafeName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}
