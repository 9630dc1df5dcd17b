package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeFaultsOf switches on, in the fake chat, the fault of each broken
// fixture, by the fixture's folder name.
var fakeFaultsOf = map[string]fakeFaults{
	// testdata/broken
	"echo-to-sender":         {echo: true},
	"no-duplicate-check":     {noDuplicate: true},
	"no-join-notice":         {noJoin: true},
	"invalid-name-accepted":  {nameLimit: 21},
	"no-leave-push":          {noLeavePush: true},
	"p2p-via-server":         {p2pOverTCP: func(user, text string) string { return "@" + user + ":" + text }},
	"plaintext-passwords":    {store: plaintextStore{}},
	"accepts-wrong-password": {anyPassword: true},
	"accepts-reregistration": {reregister: true},
	// testdata/students/broken
	"base64-passwords":          {store: base64Store{}},
	"keeps-rejected-connection": {keepRefused: true},
	"list-not-json":             {listRepr: true},
	"no-offline-notice":         {noOffline: true},
	"p2p-over-tcp":              {p2pOverTCP: func(user, text string) string { return text }},
	"no-reuseaddr":              {noReuseAddr: true},
	"crash-on-first-join":       {crashOnJoin: true, noReuseAddr: true},
}

// fakeOnlyFaults are faults with no broken fixture, each with the checks
// it must fail: the fake alone shows that those checks catch them.
var fakeOnlyFaults = []struct {
	name   string
	faults fakeFaults
	fails  []string
}{
	{"m1 newcomer gets its own join notice", fakeFaults{selfJoin: true}, []string{"m1-join-notice"}},
	{"m1 20-character name refused", fakeFaults{nameLimit: 19}, []string{"m1-username-rules"}},
	{"m2 newcomer gets its own join notice", fakeFaults{p2pSelfJoin: true}, []string{"m2-join-notice"}},
	{"m2 20-character name refused", fakeFaults{p2pNameLimit: 19}, []string{"m2-username-rules"}},
	{"m4 registers a name milestone 1 refuses", fakeFaults{anyName: true}, []string{"m4-username-rules"}},
}

// handoutPrograms is how the grader runs testdata/handout, whose programs
// the fake chat plays: with no manifest, so the engine learns the ports
// from the hosts' socket tables, as it does for a student's submission.
// (Under -race this once caught learnP2P writing the run's variables
// while a parallel join read them.)
func handoutPrograms(t *testing.T) Programs {
	t.Helper()
	sub, err := LoadSubmission(filepath.Join("..", "testdata", "handout"))
	if err != nil {
		t.Fatal(err)
	}
	return sub.Programs
}

// runOnFakeChat runs one scenario on a new fake lab running the fake chat
// with faults f.
func runOnFakeChat(prog Programs, f fakeFaults, sc Scenario) Result {
	rt := newFakeChat(f)
	clock := newFakeClock()
	clock.settle = rt.settle
	e := NewEngine(rt, prog, defaultVars(), WithClock(clock))
	return e.Run(context.Background(), sc)
}

// TestBuiltinAgainstFakeChat runs every built-in M1, M2 and M4 scenario on
// the fake chat (the handout's programs), correct and with the fault of
// each broken fixture and of fakeOnlyFaults: correct, every scenario
// passes; with a fault, exactly the checks its FAULT.md names fail and the
// milestone's others pass. So each check catches its fault and no other
// check is lost to it, which the fast tier relies on when it grades a
// broken fixture on its fault's milestone only (issue 22); grading's
// TestGradeCanaries checks the same of the real programs on Docker.
func TestBuiltinAgainstFakeChat(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	byMilestone := map[Milestone][]Scenario{}
	for _, sc := range all {
		byMilestone[sc.Milestone] = append(byMilestone[sc.Milestone], sc)
	}
	type fakeCase struct {
		name      string
		milestone Milestone
		faults    fakeFaults
		fails     []string // the checks that fail; none for the correct fake
	}
	var tests []fakeCase
	for _, m := range []Milestone{M1, M2, M4} {
		tests = append(tests, fakeCase{name: "correct " + string(m), milestone: m})
	}
	milestones := checkMilestones(t)
	for _, fx := range brokenFixtures(t) {
		f, ok := fakeFaultsOf[fx.fault]
		if !ok {
			t.Errorf("broken fixture %s has no fault in the fake chat: add it to fakeFaultsOf", fx.dir)
			continue
		}
		m, err := fx.milestoneOf(milestones)
		if err != nil {
			t.Error(err)
			continue
		}
		tests = append(tests, fakeCase{name: fx.fault, milestone: m, faults: f, fails: fx.checks})
	}
	for name := range fakeFaultsOf {
		if !isBrokenFixture(name) {
			t.Errorf("fakeFaultsOf has %q, which is no broken fixture", name)
		}
	}
	for _, ff := range fakeOnlyFaults {
		fx := brokenFixture{dir: ff.name, checks: ff.fails}
		m, err := fx.milestoneOf(milestones)
		if err != nil {
			t.Error(err)
			continue
		}
		tests = append(tests, fakeCase{name: ff.name, milestone: m, faults: ff.faults, fails: ff.fails})
	}
	prog := handoutPrograms(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if len(byMilestone[tc.milestone]) == 0 {
				t.Fatalf("no built-in scenario of milestone %q", tc.milestone)
			}
			for _, sc := range byMilestone[tc.milestone] {
				t.Run(sc.Name, func(t *testing.T) {
					want := Passed
					if slices.Contains(tc.fails, sc.Name) {
						want = Failed
					}
					if res := runOnFakeChat(prog, tc.faults, sc); res.Status != want {
						t.Errorf("%s, want %s:\n%s", res.Status, want, explainResult(res))
					}
				})
			}
		})
	}
}

// explainResult is what a test says of an unexpected result: the failure
// and every transcript.
func explainResult(res Result) string {
	var b strings.Builder
	if f := res.Failure; f != nil {
		fmt.Fprintf(&b, "%s:%d %s: %s: %s\n", f.File, f.Line, f.Step, f.Expectation, f.Got)
	}
	for _, tr := range res.Transcripts {
		fmt.Fprintf(&b, "--- %s on %s: %s\n%s\n", tr.Proc, tr.Host, tr.Command, tr.Text)
	}
	return b.String()
}
