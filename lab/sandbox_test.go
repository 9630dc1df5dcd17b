package lab

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

func TestUpSandboxed(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	sb := DefaultSandbox()
	st, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(sb))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Up() {
		t.Fatalf("lab not up: %+v", st)
	}
	if !eng.Internal("unit_net") {
		t.Error("network not internal")
	}
	if vols, _ := eng.Volumes(context.Background(), nil); !slices.Contains(vols, "unit_resolv") {
		t.Error("no resolv.conf volume")
	}
	if got := eng.copied("unit", "dnsserver", resolvDir+"/resolv.conf"); got != "nameserver 10.99.1.2\n" {
		t.Errorf("resolv.conf = %q", got)
	}
	// The file must be there before any chat host is created.
	calls := eng.Calls()
	idx := func(call string) int { return slices.Index(calls, call) }
	copyResolv := idx("copy 1 file(s) to unit-dnsserver:" + resolvDir)
	if copyResolv < 0 || copyResolv > idx("create container unit-webserver") || idx("create container unit-dnsserver") > copyResolv {
		t.Errorf("calls out of order: %v", calls)
	}
	dns := eng.spec("unit", "dnsserver")
	if dns.Sandbox != nil || dns.Volumes["unit_resolv"] != resolvDir {
		t.Errorf("dns server spec = %+v, want unconfined with the resolv.conf volume", dns)
	}
	for _, h := range []string{"webserver", "client1", "client2", "client3"} {
		s := eng.spec("unit", h)
		if s.Sandbox == nil || s.Sandbox.Label() != sb.Label() {
			t.Errorf("%s is not sandboxed: %+v", h, s)
		}
		if s.ResolvConf != fake.Mountpoint("unit_resolv")+"/resolv.conf" {
			t.Errorf("%s resolv.conf from %q", h, s.ResolvConf)
		}
		if strings.Join(s.Env, ",") != "HOME=/root" {
			t.Errorf("%s env = %v, want only HOME (NAMESERVER would make the entrypoint write the read-only resolv.conf)", h, s.Env)
		}
		if s.Labels[runtime.LabelBlock] != "10.99.1.1,fd00:0:0:6301::1" || s.Labels[LabelSandbox] != sb.Label() {
			t.Errorf("%s labels = %v", h, s.Labels)
		}
	}
	// Interactive up on a graded lab (or the other way round) is refused.
	_, err = Up(context.Background(), eng, topo, fastPoll)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "other sandbox settings") {
		t.Errorf("unsandboxed up on a sandboxed lab: err = %v, want a conflict", err)
	}
	before := len(eng.Calls())
	if _, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(sb)); err != nil {
		t.Fatal(err)
	}
	if extra := eng.Calls()[before:]; len(extra) != 0 {
		t.Errorf("second sandboxed up changed Docker: %v", extra)
	}
	r, err := Down(context.Background(), eng, topo.Name)
	if err != nil || r != (Removed{Containers: 5, Networks: 1, Volumes: 1}) {
		t.Errorf("down = %+v, %v; want 5 containers, 1 network, the volume", r, err)
	}
}

func TestUpSandboxedFailureRemovesTheVolume(t *testing.T) {
	eng := newFakeEngine()
	eng.failCreate = "unit-client3"
	if _, err := Up(context.Background(), eng, upTopo(t), fastPoll, WithSandbox(DefaultSandbox())); err == nil {
		t.Fatal("up succeeded")
	}
	vols, _ := eng.Volumes(context.Background(), nil)
	if left := eng.Objects("unit"); len(left) != 0 || len(vols) != 0 {
		t.Errorf("left behind: %v, volumes %v", left, vols)
	}
}
