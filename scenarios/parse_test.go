package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const validHead = "name: t\nmilestone: M1\npoints: 2\nrequirement: quoted\nsteps:\n"

func TestParseValid(t *testing.T) {
	src := validHead + `  - start: {proc: server, host: webserver, role: server}
  - join: {proc: alice, host: client1, user: alice}
  - parallel:
      - expect: {proc: alice, match: 'x ${ip:client1}'}
      - absent: {procs: [server, alice], match: 'y', within: 2s}
  - until: {proc: alice, line: ':l', match: 'Online', without: 'bob', every: 100ms}
  - probe: {host: client2, to: '${domain}:${port}', dialog: [{send: "a\n"}, {expect: b}, {closed: true}, {idle: 1s}]}
  - exit: {proc: alice, code: 0, within: 3s}
`
	sc, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "t" || sc.Milestone != M1 || sc.Points != 2 || !sc.Required || sc.Timeout != DefaultTimeout {
		t.Errorf("header = %+v", sc)
	}
	if got := len(sc.Steps); got != 6 {
		t.Fatalf("steps = %d, want 6", got)
	}
	par := sc.Steps[2]
	if par.Kind != StepParallel || len(par.Children) != 2 || par.Children[1].Within != 2*time.Second || par.Children[0].Within != DefaultWithin {
		t.Errorf("parallel = %+v", par)
	}
	if par.Children[1].Line != 10 {
		t.Errorf("absent line = %d, want 10", par.Children[1].Line)
	}
	if u := sc.Steps[3]; u.Every != 100*time.Millisecond || u.Without != "bob" || u.Text != ":l" {
		t.Errorf("until = %+v", u)
	}
	if p := sc.Steps[4]; len(p.Dialog) != 4 || p.Dialog[0].Send != "a\n" || !p.Dialog[2].Closed || p.Dialog[3].Idle != time.Second {
		t.Errorf("probe dialog = %+v", p.Dialog)
	}
	if e := sc.Steps[5]; e.Code == nil || *e.Code != 0 || e.Within != 3*time.Second {
		t.Errorf("exit = %+v", e)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error, file:line: message
	}{
		{"empty", "", "t.yaml: empty file"},
		{"bad yaml", "name: [\n", "t.yaml:1: bad YAML"},
		{"unknown top field", "nme: x\n", `t.yaml:1: scenario: unknown field "nme"`},
		{"missing name", "milestone: M1\nrequirement: r\nsteps: []\n", `t.yaml:1: scenario: missing "name"`},
		{"bad name", "name: Bad Name\nmilestone: M1\nrequirement: r\nsteps: []\n", `t.yaml:1: name "Bad Name"`},
		{"bad milestone", "name: t\nmilestone: M3\nrequirement: r\nsteps: []\n", `t.yaml:2: milestone "M3": want M1, M2, M4 or DNS`},
		{"negative points", "name: t\nmilestone: M1\npoints: -1\nrequirement: r\nsteps: []\n", "t.yaml:3: points -1"},
		{"points not a number", "name: t\nmilestone: M1\npoints: many\nrequirement: r\nsteps: []\n", `t.yaml:3: scenario: points must be a whole number, got "many"`},
		{"no requirement", "name: t\nmilestone: M1\nsteps: []\n", `t.yaml:1: scenario: missing "requirement"`},
		{"no steps", "name: t\nmilestone: M1\nrequirement: r\nsteps: []\n", "t.yaml:4: steps: a scenario needs at least one step"},
		{"unknown step", validHead + "  - wait: {proc: a}\n", `t.yaml:6: unknown step "wait"`},
		{"two kinds in one step", validHead + "  - type: {proc: a, line: x}\n    expect: {proc: a, match: x}\n", "t.yaml:6: step: want exactly one of"},
		{"unknown step field", validHead + "  - start: {proc: s, host: webserver, role: server, prot: 1}\n", `t.yaml:6: start: unknown field "prot"`},
		{"missing step field", validHead + "  - start: {proc: s, host: webserver}\n", `t.yaml:6: start: missing "role"`},
		{"unknown host", validHead + "  - start: {proc: s, host: mailserver, role: server}\n", `t.yaml:6: start: unknown host "mailserver"`},
		{"bad role", validHead + "  - start: {proc: s, host: webserver, role: peer}\n", `t.yaml:6: start: role "peer": want server or client`},
		{"proc not started", validHead + "  - type: {proc: ghost, line: hi}\n", `t.yaml:6: type: process "ghost" is not started by an earlier step`},
		{"proc started twice", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - start: {proc: s, host: webserver, role: server}\n", `t.yaml:7: start: process "s" is already started`},
		{"bad regex", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - expect: {proc: s, match: 'a(b'}\n", `t.yaml:7: expect: match "a(b" is not a valid regular expression`},
		{"unknown variable", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - expect: {proc: s, match: '${server}'}\n", "t.yaml:7: expect: ${server}: unknown variable"},
		{"ip without host", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - expect: {proc: s, match: '${ip}'}\n", "t.yaml:7: expect: ${ip}: name a host"},
		{"bad duration", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - expect: {proc: s, match: x, within: soon}\n", `t.yaml:7: expect: within must be a duration such as 500ms or 5s (at most 10m), got "soon"`},
		{"password outside M4", validHead + "  - join: {proc: a, host: client1, user: a, password: p}\n", "t.yaml:6: join: action and password are for Milestone 4 scenarios only"},
		{"sibling proc in parallel", validHead + "  - parallel:\n      - start: {proc: s, host: webserver, role: server}\n      - type: {proc: s, line: x}\n", `t.yaml:8: type: process "s" is not started by an earlier step`},
		{"parallel of one", validHead + "  - parallel:\n      - start: {proc: s, host: webserver, role: server}\n", "t.yaml:7: parallel: give at least two steps"},
		{"bad signal", validHead + "  - start: {proc: s, host: webserver, role: server}\n  - kill: {proc: s, signal: STOP}\n", `t.yaml:7: kill: signal "STOP"`},
		{"relative grep path", validHead + "  - grep: {host: webserver, path: root, text: x}\n", `t.yaml:6: grep: path "root" must be absolute`},
		{"bad host action", validHead + "  - host: {host: client1, action: reboot}\n", `t.yaml:6: host: action "reboot"`},
		{"probe dialog entry with two moves", validHead + "  - probe: {host: client1, to: 'x:1', dialog: [{send: a, expect: b}]}\n", "t.yaml:6: probe dialog: each entry needs exactly one of"},
		{"DNS runs no program", "name: t\nmilestone: DNS\nrequirement: r\nsteps:\n  - start: {proc: s, host: webserver, role: server}\n", "t.yaml:5: start: DNS scenarios run no chat program"},
		{"M4 join without action", "name: t\nmilestone: M4\nrequirement: r\nsteps:\n  - join: {proc: a, host: client1, user: a, password: p}\n", `t.yaml:5: join: action "": want login or register`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tc.want)
			}
			if !errors.Is(err, ErrInvalidScenario) {
				t.Errorf("error %v does not wrap ErrInvalidScenario", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n got  %s\n want %s...", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestExpandQuotesRegexValues(t *testing.T) {
	v := defaultVars()
	tests := []struct {
		in    string
		quote bool
		want  string
	}{
		{"${domain}:${port}", false, "team30.com:5000"},
		{"IP: ${ip:client1}", true, `IP: 10\.20\.30\.11`},
		{"${ip6:webserver}", false, "fd00::3"},
		{"team ${team} p2p ${p2p_port}", false, "team 30 p2p 6000"},
		{"${ip:server}", false, "10.20.30.3"},
	}
	for _, tc := range tests {
		got, err := v.expand(tc.in, tc.quote)
		if err != nil || got != tc.want {
			t.Errorf("expand(%q, %v) = %q, %v; want %q", tc.in, tc.quote, got, err, tc.want)
		}
	}
	if _, err := v.expand("${ip:nohost}", false); err == nil {
		t.Error("expand of an unknown host succeeded")
	}
}
