package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Milestone names which of the handout's programs a scenario runs.
type Milestone string

// The milestones a scenario can check. DNS runs no chat program.
const (
	M1  Milestone = "M1"
	M2  Milestone = "M2"
	M4  Milestone = "M4"
	DNS Milestone = "DNS"
)

// Role is which program of a milestone a process runs.
type Role string

// The two programs of every milestone.
const (
	RoleServer Role = "server"
	RoleClient Role = "client"
)

// Scenario is one graded check: a requirement of the handout and the steps
// that demonstrate it on the lab's hosts.
type Scenario struct {
	// Name identifies the check in tables, reports and FAULT.md files.
	Name string
	// Milestone selects the programs the scenario's start steps run.
	Milestone Milestone
	// Points are awarded when every step passes.
	Points int
	// Required checks decide the exit status; optional ones are reported only.
	Required bool
	// Requirement quotes the handout.
	Requirement string
	// Visibility is when Gradescope shows the check to students.
	Visibility Visibility
	// Timeout bounds the whole scenario.
	Timeout time.Duration
	// Steps run in order; a Parallel step runs its children at once.
	Steps []Step
	// File and Line locate the scenario's source for error messages.
	File string
	Line int
}

// Visibility is when a check's result is shown to students on Gradescope
// (its results.json "visibility"). Other reports show every check.
type Visibility string

// The visibilities Gradescope knows. A scenario without one is Visible.
const (
	Visible        Visibility = "visible"         // always shown
	Hidden         Visibility = "hidden"          // never shown to students
	AfterDueDate   Visibility = "after_due_date"  // shown once the due date (and any late due date) has passed
	AfterPublished Visibility = "after_published" // shown once the grades are published
)

// StepKind is what a step does.
type StepKind string

// The step kinds a scenario file may use; README.md describes each.
const (
	StepStart     StepKind = "start"     // run a role's program on a host as a named process
	StepJoin      StepKind = "join"      // start a client and complete the username or auth dialogue
	StepType      StepKind = "type"      // type a line into a process
	StepAuth      StepKind = "auth"      // answer the Milestone 4 dialogue in the manifest's order
	StepExpect    StepKind = "expect"    // output matching a regex appears before a deadline
	StepUntil     StepKind = "until"     // type a line repeatedly until the output matches
	StepConnect   StepKind = "connect"   // open a raw TCP or UDP connection as a named process
	StepAbsent    StepKind = "absent"    // output matching a regex does not appear within a window
	StepExit      StepKind = "exit"      // the process exits before a deadline, optionally with a code
	StepRunning   StepKind = "running"   // the process is still alive
	StepKill      StepKind = "kill"      // send a signal to a process
	StepListening StepKind = "listening" // a TCP or UDP port is bound on a host
	StepProbe     StepKind = "probe"     // raw TCP or UDP dialogue from a host
	StepGrep      StepKind = "grep"      // a text is (or is not) in any file under a path on a host
	StepResolve   StepKind = "resolve"   // a host resolves a name to an address
	StepDNSCheck  StepKind = "dnscheck"  // package dnscheck: hosts resolve the team domain
	StepHost      StepKind = "host"      // stop, kill, start, disconnect or reconnect a host
	StepParallel  StepKind = "parallel"  // run child steps at once
	StepPeerList  StepKind = "peerlist"  // a raw client received the peer list as JSON
	StepSniff     StepKind = "sniff"     // tcpdump on a host as a process, for text on the wire
)

// HostAction is what a host step does to a container.
type HostAction string

// The host actions.
const (
	HostStop       HostAction = "stop"
	HostKill       HostAction = "kill"
	HostStart      HostAction = "start"
	HostDisconnect HostAction = "disconnect"
	HostReconnect  HostAction = "reconnect"
)

// Step is one action or expectation. Which fields matter depends on Kind;
// README.md lists them per kind.
type Step struct {
	Kind StepKind
	// Line is the step's line in its file.
	Line int

	Procs    []string      // processes the step acts on or watches
	Host     string        // host of start, join, listening, probe, grep and host steps
	Hosts    []string      // hosts of resolve
	Role     Role          // role of start
	Text     string        // line of type; text of grep; name of resolve
	Match    string        // regex (before variable expansion) of expect, absent and until
	Without  string        // until: regex the matched text must not contain
	Every    time.Duration // until: how long to wait for output after each attempt
	Within   time.Duration // deadline of waits; window of absent
	Code     *int          // exit code wanted by exit
	Signal   string        // signal of kill
	Action   string        // auth action (login or register) or host action
	User     string        // username of join and auth
	Password string        // password of join and auth
	Fail     bool          // join: the dialogue is expected to be refused
	Proto    string        // tcp or udp for listening and probe
	Port     string        // port of listening
	To       string        // HOST:PORT of probe and connect
	Dialog   []ProbeOp     // probe dialogue
	Path     string        // directory of grep (the first of Paths)
	Paths    []string      // directories of grep
	Encoded  bool          // grep: also look for base64, hex and reversed forms of the text
	Users    []string      // peerlist: "name@host" entries the list must hold
	Filter   string        // sniff: tcpdump's capture filter
	Want     string        // grep: present or absent; resolve: the address
	Children []Step        // steps of parallel
}

// ProbeOp is one move of a probe dialogue: send bytes, expect a regex, or
// expect the peer to close the connection.
type ProbeOp struct {
	Send   string        `json:"send,omitempty"`
	Expect string        `json:"expect,omitempty"`
	Closed bool          `json:"closed,omitempty"`
	Idle   time.Duration `json:"-"`
	IdleS  float64       `json:"idle,omitempty"`
}

// Default durations of waits when a step gives none.
const (
	DefaultWithin   = 10 * time.Second
	DefaultWindow   = time.Second
	DefaultEvery    = 250 * time.Millisecond
	DefaultTimeout  = 60 * time.Second
	defaultListenTO = 10 * time.Second
)

// ErrInvalidScenario is returned, wrapped in a *ParseError, for any bad
// scenario file.
var ErrInvalidScenario = errors.New("invalid scenario")

// ParseError locates a problem in a scenario file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes every ParseError match ErrInvalidScenario.
func (e *ParseError) Unwrap() error { return ErrInvalidScenario }

var (
	scenarioNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	procNameRE     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	varRE          = regexp.MustCompile(`\$\{([a-z0-9_]+)(?::([a-z0-9_-]+))?\}`)
)

// Vars are the values a scenario's ${...} references expand to: the team
// domain, the chat port, the P2P port, the team number and each host's
// addresses.
type Vars struct {
	Domain  string
	Port    int
	P2PPort int
	Team    int
	IPv4    map[string]string
	IPv6    map[string]string
}

// expand replaces ${domain}, ${port}, ${p2p_port}, ${team}, ${ip:HOST} and
// ${ip6:HOST}. quote escapes values for use inside a regex.
func (v Vars) expand(s string, quote bool) (string, error) {
	var bad error
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		val, err := v.lookup(sub[1], sub[2])
		if err != nil {
			bad = err
			return m
		}
		if quote {
			return regexp.QuoteMeta(val)
		}
		return val
	})
	return out, bad
}

func (v Vars) lookup(name, arg string) (string, error) {
	switch name {
	case "domain":
		return v.Domain, nil
	case "port":
		return fmt.Sprint(v.Port), nil
	case "p2p_port":
		return fmt.Sprint(v.P2PPort), nil
	case "team":
		return fmt.Sprint(v.Team), nil
	case "ip", "ip6":
		m := v.IPv4
		if name == "ip6" {
			m = v.IPv6
		}
		if a, ok := m[arg]; ok {
			return a, nil
		}
		return "", fmt.Errorf("${%s:%s}: no such host", name, arg)
	}
	return "", fmt.Errorf("${%s}: unknown variable (want domain, port, p2p_port, team, ip:HOST or ip6:HOST)", name)
}

// checkVars reports the first reference that cannot expand for any lab, so
// typos fail at load time rather than mid-grade.
func checkVars(s string) error {
	for _, m := range varRE.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "domain", "port", "p2p_port", "team":
			if m[2] != "" {
				return fmt.Errorf("${%s:%s}: %s takes no argument", m[1], m[2], m[1])
			}
		case "ip", "ip6":
			if m[2] == "" {
				return fmt.Errorf("${%s}: name a host, e.g. ${%s:client1}", m[1], m[1])
			}
		default:
			return fmt.Errorf("${%s}: unknown variable (want domain, port, p2p_port, team, ip:HOST or ip6:HOST)", m[1])
		}
	}
	if i := strings.Index(s, "${"); i >= 0 && !varRE.MatchString(s[i:]) {
		return fmt.Errorf("%q: malformed ${...} reference", s[i:])
	}
	return nil
}
