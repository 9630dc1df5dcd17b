package scenarios

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// Parse reads one scenario file. file names the source in errors, which are
// *ParseError values of the form "file:line: problem".
func Parse(file string, data []byte) (Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Scenario{}, &ParseError{File: file, Line: yamlErrLine(err), Msg: yamlErrMsg(err)}
	}
	if len(doc.Content) == 0 {
		return Scenario{}, &ParseError{File: file, Msg: "empty file: a scenario needs name, milestone, requirement and steps"}
	}
	p := parser{file: file}
	sc := p.scenario(doc.Content[0])
	if p.err != nil {
		return Scenario{}, p.err
	}
	return sc, nil
}

// parser keeps the first error; later calls become no-ops so that the code
// reads top to bottom without an error check after every field.
type parser struct {
	file string
	err  *ParseError
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	if p.err != nil {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	p.err = &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// fields returns a mapping's keys and values, rejecting keys not in allowed.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "%s: want a mapping of %s", what, strings.Join(allowed, ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			p.fail(k, "%s: unknown field %q (want one of %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.fail(k, "%s: field %q given twice", what, k.Value)
		}
		out[k.Value] = v
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(m map[string]*yaml.Node, key, what string, required bool, parent *yaml.Node) string {
	n, ok := m[key]
	if !ok {
		if required {
			p.fail(parent, "%s: missing %q", what, key)
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n, "%s: %s must be a string", what, key)
		return ""
	}
	return n.Value
}

func (p *parser) strList(m map[string]*yaml.Node, key, what string) []string {
	n, ok := m[key]
	if !ok {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "%s: %s must be a list of names", what, key)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			p.fail(c, "%s: %s must be a list of names", what, key)
			return nil
		}
		out = append(out, c.Value)
	}
	return out
}

func (p *parser) integer(m map[string]*yaml.Node, key, what string) (int, bool) {
	n, ok := m[key]
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.fail(n, "%s: %s must be a whole number, got %q", what, key, n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(m map[string]*yaml.Node, key, what string, def bool) bool {
	n, ok := m[key]
	if !ok {
		return def
	}
	v, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.fail(n, "%s: %s must be true or false, got %q", what, key, n.Value)
		return def
	}
	return v
}

func (p *parser) duration(m map[string]*yaml.Node, key, what string, def time.Duration) time.Duration {
	n, ok := m[key]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || d <= 0 || d > 10*time.Minute {
		p.fail(n, "%s: %s must be a duration such as 500ms or 5s (at most 10m), got %q", what, key, n.Value)
		return def
	}
	return d
}

var topLevel = []string{"name", "milestone", "points", "required", "requirement", "visibility", "timeout", "steps"}

func (p *parser) scenario(n *yaml.Node) Scenario {
	m := p.fields(n, "scenario", topLevel...)
	sc := Scenario{File: p.file, Line: n.Line}
	sc.Name = p.str(m, "name", "scenario", true, n)
	if p.err == nil && !scenarioNameRE.MatchString(sc.Name) {
		p.fail(m["name"], "name %q: use lowercase letters, digits and '-' (at most 64)", sc.Name)
	}
	ms := p.str(m, "milestone", "scenario", true, n)
	switch Milestone(ms) {
	case M1, M2, M4, DNS:
		sc.Milestone = Milestone(ms)
	default:
		p.fail(m["milestone"], "milestone %q: want M1, M2, M4 or DNS", ms)
	}
	if v, ok := p.integer(m, "points", "scenario"); ok {
		if v < 0 || v > 1000 {
			p.fail(m["points"], "points %d: must be between 0 and 1000", v)
		}
		sc.Points = v
	}
	sc.Required = p.boolean(m, "required", "scenario", true)
	sc.Requirement = strings.TrimSpace(p.str(m, "requirement", "scenario", true, n))
	if p.err == nil && sc.Requirement == "" {
		p.fail(m["requirement"], "requirement: quote the handout's requirement this scenario checks")
	}
	sc.Visibility = Visible
	if _, ok := m["visibility"]; ok {
		v := p.str(m, "visibility", "scenario", false, n)
		switch Visibility(v) {
		case Visible, Hidden, AfterDueDate, AfterPublished:
			sc.Visibility = Visibility(v)
		default:
			p.fail(m["visibility"], "visibility %q: want visible, hidden, after_due_date or after_published", v)
		}
	}
	sc.Timeout = p.duration(m, "timeout", "scenario", DefaultTimeout)
	steps, ok := m["steps"]
	if !ok {
		p.fail(n, "scenario: missing \"steps\"")
		return sc
	}
	sc.Steps = p.steps(steps)
	if p.err == nil && len(sc.Steps) == 0 {
		p.fail(steps, "steps: a scenario needs at least one step")
	}
	if p.err == nil {
		p.check(sc)
	}
	return sc
}

func (p *parser) steps(n *yaml.Node) []Step {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "steps: want a list of steps such as '- expect: {proc: alice, match: hello}'")
		return nil
	}
	var out []Step
	for _, c := range n.Content {
		out = append(out, p.step(c))
	}
	return out
}

// stepFields lists each kind's fields; the first ones marked with '!' are
// required.
var stepFields = map[StepKind][]string{
	StepStart:     {"!proc", "!host", "!role"},
	StepJoin:      {"!proc", "!host", "!user", "action", "password", "fail", "within"},
	StepType:      {"!proc", "!line"},
	StepAuth:      {"!proc", "!action", "!user", "!password", "within"},
	StepExpect:    {"proc", "procs", "!match", "within"},
	StepUntil:     {"!proc", "!line", "!match", "without", "every", "within"},
	StepConnect:   {"!proc", "!host", "!to", "proto"},
	StepAbsent:    {"proc", "procs", "!match", "within"},
	StepExit:      {"!proc", "code", "within"},
	StepRunning:   {"proc", "procs"},
	StepKill:      {"!proc", "signal"},
	StepListening: {"!host", "port", "proto", "within"},
	StepProbe:     {"!host", "!to", "proto", "!dialog", "within"},
	StepGrep:      {"!host", "!path", "!text", "want", "encoded"},
	StepResolve:   {"host", "hosts", "!name", "!want", "within"},
	StepDNSCheck:  {"host", "hosts", "within"},
	StepHost:      {"!host", "!action"},
	StepPeerList:  {"!proc", "!users", "within"},
	StepSniff:     {"!proc", "!host", "!filter"},
}

func kinds() []string {
	var out []string
	for k := range stepFields {
		out = append(out, string(k))
	}
	out = append(out, string(StepParallel))
	sort.Strings(out)
	return out
}

func (p *parser) step(n *yaml.Node) Step {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		p.fail(n, "step: want exactly one of %s, e.g. '- type: {proc: alice, line: hello}'", strings.Join(kinds(), ", "))
		return Step{}
	}
	k, v := n.Content[0], n.Content[1]
	st := Step{Kind: StepKind(k.Value), Line: k.Line}
	if st.Kind == StepParallel {
		st.Children = p.steps(v)
		for _, c := range st.Children {
			if c.Kind == StepParallel {
				p.fail(v, "parallel: steps inside parallel cannot themselves be parallel")
			}
		}
		if p.err == nil && len(st.Children) < 2 {
			p.fail(v, "parallel: give at least two steps")
		}
		return st
	}
	spec, ok := stepFields[st.Kind]
	if !ok {
		p.fail(k, "unknown step %q (want one of %s)", k.Value, strings.Join(kinds(), ", "))
		return st
	}
	var allowed []string
	for _, f := range spec {
		allowed = append(allowed, strings.TrimPrefix(f, "!"))
	}
	what := string(st.Kind)
	m := p.fields(v, what, allowed...)
	for _, f := range spec {
		if strings.HasPrefix(f, "!") {
			if _, ok := m[f[1:]]; !ok {
				p.fail(v, "%s: missing %q", what, f[1:])
			}
		}
	}
	if p.err != nil {
		return st
	}
	if _, ok := m["proc"]; ok {
		st.Procs = []string{p.str(m, "proc", what, false, v)}
	}
	if list := p.strList(m, "procs", what); list != nil {
		if st.Procs != nil {
			p.fail(m["procs"], "%s: give proc or procs, not both", what)
		}
		st.Procs = list
	}
	st.Host = p.str(m, "host", what, false, v)
	st.Role = Role(p.str(m, "role", what, false, v))
	st.Match = p.str(m, "match", what, false, v)
	st.Without = p.str(m, "without", what, false, v)
	st.Every = p.duration(m, "every", what, DefaultEvery)
	st.Signal = p.str(m, "signal", what, false, v)
	st.Action = p.str(m, "action", what, false, v)
	st.User = p.str(m, "user", what, false, v)
	st.Password = p.str(m, "password", what, false, v)
	st.Proto = p.str(m, "proto", what, false, v)
	st.Port = p.str(m, "port", what, false, v)
	st.To = p.str(m, "to", what, false, v)
	st.Paths = p.strList(m, "path", what)
	if len(st.Paths) > 0 {
		st.Path = st.Paths[0]
	}
	st.Encoded = p.boolean(m, "encoded", what, false)
	st.Users = p.strList(m, "users", what)
	st.Filter = p.str(m, "filter", what, false, v)
	st.Want = p.str(m, "want", what, false, v)
	st.Fail = p.boolean(m, "fail", what, false)
	switch st.Kind {
	case StepType, StepUntil:
		st.Text = p.str(m, "line", what, true, v)
	case StepGrep:
		st.Text = p.str(m, "text", what, true, v)
	case StepResolve, StepDNSCheck:
		if st.Kind == StepResolve {
			st.Text = p.str(m, "name", what, true, v)
		}
		st.Hosts = p.strList(m, "hosts", what)
		if st.Host != "" {
			if st.Hosts != nil {
				p.fail(m["hosts"], "%s: give host or hosts, not both", what)
			}
			st.Hosts = []string{st.Host}
			st.Host = ""
		}
	case StepProbe:
		st.Dialog = p.dialog(m["dialog"])
	}
	if c, ok := p.integer(m, "code", what); ok {
		st.Code = &c
	}
	def := DefaultWithin
	switch st.Kind {
	case StepAbsent:
		def = DefaultWindow
	case StepListening:
		def = defaultListenTO
	}
	st.Within = p.duration(m, "within", what, def)
	return st
}

func (p *parser) dialog(n *yaml.Node) []ProbeOp {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.fail(n, "probe: dialog must be a list such as [{send: \"alice\\n\"}, {expect: valid}, {closed: true}]")
		return nil
	}
	var out []ProbeOp
	for _, c := range n.Content {
		m := p.fields(c, "probe dialog", "send", "expect", "closed", "idle")
		if len(m) != 1 {
			p.fail(c, "probe dialog: each entry needs exactly one of send, expect, closed, idle")
			return nil
		}
		if _, ok := m["idle"]; ok {
			op := ProbeOp{Idle: p.duration(m, "idle", "probe dialog", 0)}
			op.IdleS = op.Idle.Seconds()
			out = append(out, op)
			continue
		}
		var op ProbeOp
		op.Send = p.str(m, "send", "probe dialog", false, c)
		op.Expect = p.str(m, "expect", "probe dialog", false, c)
		if _, ok := m["closed"]; ok {
			op.Closed = p.boolean(m, "closed", "probe dialog", false)
			if !op.Closed {
				p.fail(m["closed"], "probe dialog: closed can only be true")
			}
		}
		out = append(out, op)
	}
	return out
}

// check validates what a single step cannot see: host and process names,
// roles, regexes and ${...} references.
func (p *parser) check(sc Scenario) {
	topo := topology.Default()
	known := map[string]bool{}
	var walk func(steps []Step, defined map[string]bool)
	walk = func(steps []Step, defined map[string]bool) {
		for _, st := range steps {
			if p.err != nil {
				return
			}
			if st.Kind == StepParallel {
				// Children run at once, so none may use a process a sibling starts.
				newly := map[string]bool{}
				for _, c := range st.Children {
					walk([]Step{c}, defined)
					if c.Kind == StepStart || c.Kind == StepJoin || c.Kind == StepConnect || c.Kind == StepSniff {
						newly[c.Procs[0]] = true
						delete(defined, c.Procs[0])
					}
				}
				for k := range newly {
					defined[k] = true
				}
				continue
			}
			p.checkStep(sc, st, topo, defined, known)
		}
	}
	walk(sc.Steps, map[string]bool{})
}

func (p *parser) checkStep(sc Scenario, st Step, topo topology.Topology, defined, known map[string]bool) {
	at := &yaml.Node{Line: st.Line}
	what := string(st.Kind)
	hostOK := func(h string) {
		if _, ok := topo.Host(h); !ok {
			var names []string
			for _, x := range topo.Hosts {
				names = append(names, x.Name)
			}
			p.fail(at, "%s: unknown host %q (want one of %s)", what, h, strings.Join(names, ", "))
		}
	}
	if st.Host != "" {
		hostOK(st.Host)
	}
	for _, h := range st.Hosts {
		hostOK(h)
	}
	switch st.Kind {
	case StepStart, StepJoin, StepConnect, StepSniff:
		name := st.Procs[0]
		if !procNameRE.MatchString(name) {
			p.fail(at, "%s: process name %q: use a lowercase letter then letters, digits, '-' or '_'", what, name)
		}
		if known[name] {
			p.fail(at, "%s: process %q is already started in this scenario; give the new one another name", what, name)
		}
		known[name] = true
		defined[name] = true
		if sc.Milestone == DNS && st.Kind != StepConnect && st.Kind != StepSniff {
			p.fail(at, "%s: DNS scenarios run no chat program", what)
		}
		if st.Kind == StepStart && st.Role != RoleServer && st.Role != RoleClient {
			p.fail(at, "start: role %q: want server or client", st.Role)
		}
		if st.Kind == StepJoin {
			p.checkAuthFields(sc, st, at)
		}
	default:
		if len(st.Procs) == 0 && (st.Kind == StepExpect || st.Kind == StepAbsent || st.Kind == StepRunning) {
			p.fail(at, "%s: name the process with proc or procs", what)
		}
		for _, name := range st.Procs {
			if !defined[name] {
				p.fail(at, "%s: process %q is not started by an earlier step", what, name)
			}
		}
	}
	switch st.Kind {
	case StepExpect, StepAbsent:
		p.checkRegex(at, what, st.Match)
	case StepUntil:
		p.checkRegex(at, what, st.Match)
		if st.Without != "" {
			p.checkRegex(at, what, st.Without)
		}
		p.checkVars(at, what, st.Text)
	case StepConnect:
		p.checkProto(at, st.Proto)
		p.checkVars(at, what, st.To)
	case StepAuth:
		p.checkAuthFields(sc, st, at)
	case StepKill:
		if _, ok := signals[strings.ToUpper(st.Signal)]; st.Signal != "" && !ok {
			p.fail(at, "kill: signal %q: want TERM, INT, HUP or KILL", st.Signal)
		}
	case StepListening:
		p.checkProto(at, st.Proto)
		p.checkVars(at, what, st.Port)
	case StepProbe:
		p.checkProto(at, st.Proto)
		p.checkVars(at, what, st.To)
		for _, op := range st.Dialog {
			p.checkVars(at, what, op.Send)
			if op.Expect != "" {
				p.checkRegex(at, what, op.Expect)
			}
		}
	case StepGrep:
		if st.Want != "" && st.Want != "present" && st.Want != "absent" {
			p.fail(at, "grep: want %q: want present or absent", st.Want)
		}
		for _, path := range st.Paths {
			if !strings.HasPrefix(path, "/") {
				p.fail(at, "grep: path %q must be absolute, e.g. /root", path)
			}
		}
	case StepPeerList:
		for _, u := range st.Users {
			name, host, ok := strings.Cut(u, "@")
			if !ok || name == "" {
				p.fail(at, "peerlist: users entry %q: want name@host, e.g. alice@client1", u)
				continue
			}
			hostOK(host)
		}
	case StepSniff:
		p.checkVars(at, what, st.Filter)
	case StepResolve:
		if len(st.Hosts) == 0 {
			p.fail(at, "resolve: name the host with host or hosts")
		}
		p.checkVars(at, what, st.Text)
		p.checkVars(at, what, st.Want)
	case StepDNSCheck:
		if len(st.Hosts) == 0 {
			p.fail(at, "dnscheck: name the hosts with host or hosts")
		}
	case StepHost:
		switch HostAction(st.Action) {
		case HostStop, HostKill, HostStart, HostDisconnect, HostReconnect:
		default:
			p.fail(at, "host: action %q: want stop, kill, start, disconnect or reconnect", st.Action)
		}
	case StepType:
		p.checkVars(at, what, st.Text)
	}
}

func (p *parser) checkAuthFields(sc Scenario, st Step, at *yaml.Node) {
	what := string(st.Kind)
	if sc.Milestone == M4 {
		if st.Action != "login" && st.Action != "register" {
			p.fail(at, "%s: action %q: want login or register", what, st.Action)
		}
		if st.Password == "" {
			p.fail(at, "%s: Milestone 4 needs a password", what)
		}
		return
	}
	if st.Action != "" || st.Password != "" {
		p.fail(at, "%s: action and password are for Milestone 4 scenarios only", what)
	}
}

func (p *parser) checkProto(at *yaml.Node, proto string) {
	if proto != "" && proto != "tcp" && proto != "udp" {
		p.fail(at, "proto %q: want tcp or udp", proto)
	}
}

func (p *parser) checkVars(at *yaml.Node, what, s string) {
	if err := checkVars(s); err != nil {
		p.fail(at, "%s: %v", what, err)
	}
}

func (p *parser) checkRegex(at *yaml.Node, what, re string) {
	p.checkVars(at, what, re)
	if p.err != nil {
		return
	}
	x, err := defaultVars().expand(re, true)
	if err != nil {
		p.fail(at, "%s: %v", what, err)
		return
	}
	if _, err := regexp.Compile(x); err != nil {
		p.fail(at, "%s: match %q is not a valid regular expression: %v", what, re, err)
	}
}

// defaultVars are the course lab's values; they validate references at load
// time.
func defaultVars() Vars { return VarsFor(topology.Default(), 5000, 6000) }

// VarsFor derives the ${...} values of a lab.
func VarsFor(topo topology.Topology, port, p2pPort int) Vars {
	v := Vars{Domain: topo.Domain(), Port: port, P2PPort: p2pPort, Team: topo.Team,
		IPv4: map[string]string{}, IPv6: map[string]string{}}
	for _, h := range topo.Hosts {
		v.IPv4[h.Name] = h.IPv4.String()
		v.IPv6[h.Name] = h.IPv6.String()
	}
	v.IPv4["server"] = topo.WebServer().IPv4.String()
	v.IPv6["server"] = topo.WebServer().IPv6.String()
	return v
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

func yamlErrLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrMsg(err error) string {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return "bad YAML: " + m[2]
	}
	return "bad YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
}
