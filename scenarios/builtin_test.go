package scenarios

import (
	"context"
	"testing"
)

func builtinByName(t *testing.T, name string) Scenario {
	t.Helper()
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no built-in scenario %q", name)
	return Scenario{}
}

// TestBuiltinM1AgainstFakeChat runs built-in Milestone 1 scenarios against an
// in-memory chat room, correct and with one fault each: the correct room
// passes and each fault fails exactly the scenario meant to catch it.
func TestBuiltinM1AgainstFakeChat(t *testing.T) {
	tests := []struct {
		name     string
		fault    func(c *fakeChat)
		scenario string
		want     Status
	}{
		{"broadcast", func(*fakeChat) {}, "m1-broadcast", Passed},
		{"no echo", func(*fakeChat) {}, "m1-no-echo", Passed},
		{"echo fails no-echo", func(c *fakeChat) { c.echo = true }, "m1-no-echo", Failed},
		{"echo still broadcasts", func(c *fakeChat) { c.echo = true }, "m1-broadcast", Passed},
		{"join notice", func(*fakeChat) {}, "m1-join-notice", Passed},
		{"join notice missing", func(c *fakeChat) { c.noJoin = true }, "m1-join-notice", Failed},
		{"broadcast without join notice", func(c *fakeChat) { c.noJoin = true }, "m1-broadcast", Passed},
		{"no echo", func(*fakeChat) {}, "m1-no-echo", Passed},
		{"leave notice", func(*fakeChat) {}, "m1-leave-notice", Passed},
		{"quit", func(*fakeChat) {}, "m1-quit", Passed},
		{"client killed", func(*fakeChat) {}, "robust-client-killed", Passed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chat := newFakeChat()
			tc.fault(chat)
			rt := &fakeRuntime{programs: chat.programs(), exec: chat.exec}
			clock := newFakeClock()
			clock.settle = rt.settle
			e := NewEngine(rt, fakePrograms, defaultVars(), WithClock(clock))
			res := e.Run(context.Background(), builtinByName(t, tc.scenario))
			if res.Status != tc.want {
				t.Errorf("status %s, want %s; failure %+v", res.Status, tc.want, res.Failure)
			}
		})
	}
}
