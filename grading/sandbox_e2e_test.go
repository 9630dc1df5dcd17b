package grading

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestResetRestartsAHostAfterAForkBomb fills a sandboxed client with
// processes, as a fork bomb in a submission would, so that no command can
// start there any more, and checks that the reset between scenarios still
// returns it to the staged submission, by restarting that host alone.
func TestResetRestartsAHostAfterAForkBomb(t *testing.T) {
	l := labcontainers.NewLab(t, labcontainers.WithName(fmt.Sprintf("tc-sbxreset%d", os.Getpid())), labcontainers.WithSandbox(gradeSandbox))
	d, topo := l.Docker(), l.Topology
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sub := scenarios.Submission{Name: "bomb", Files: map[string]scenarios.File{"chatroom_server.py": {Mode: 0o644, Data: []byte("print('hi')\n")}}}
	if err := deploy(ctx, d, topo, sub); err != nil {
		t.Fatal(err)
	}
	restage := func(ctx context.Context, host string) error { return deployHost(ctx, d, topo, host, sub) }
	rt := NewLabRuntime(d, topo, nil, WithRestage(restage))
	sc := scenarios.Scenario{Name: "m1-any", Milestone: scenarios.M1}
	if err := reset(ctx, rt, topo, sc); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"webserver", "client1"} {
		if _, err := rt.Exec(ctx, h, []string{"touch", "/run/not-restarted"}, nil); err != nil {
			t.Fatal(err)
		}
	}

	// As the submission's programs run (Engine's WithSandbox).
	bomb, err := rt.Spawn(ctx, "client1", gradeSandbox.Command([]string{"sh", "-c", "while :; do sleep 600 & done"}),
		runtime.SpawnOptions{Workdir: scenarios.WorkDir, MergeStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	full := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		procs, err := rt.Processes(ctx, "client1")
		if err == nil && int64(len(procs)) >= gradeSandbox.PIDs-2 {
			full = true
			break
		}
	}
	if !full {
		t.Fatalf("the fork bomb did not reach the %d-process limit", gradeSandbox.PIDs)
	}
	res, err := rt.Exec(ctx, "client1", []string{"true"}, nil)
	t.Logf("a command in the full host: exit %d, err %v", res.ExitCode, err)

	began := time.Now()
	if err := reset(ctx, rt, topo, sc); err != nil {
		t.Fatalf("reset after the fork bomb: %v", err)
	}
	t.Logf("reset with restart took %s", time.Since(began).Round(time.Millisecond))
	if code, _ := bomb.Wait(); code == 0 {
		t.Error("the fork bomb survived the reset")
	}
	check := func(host, script, want string) {
		t.Helper()
		res, err := rt.Exec(ctx, host, []string{"sh", "-c", script}, nil)
		if got := strings.TrimSpace(string(res.Stdout)); err != nil || got != want {
			t.Errorf("%s: %s: got %q (%v), want %q", host, script, got, err, want)
		}
	}
	check("client1", "ls /root; stat -c '%u %a' /root /root/chatroom_server.py", "chatroom_server.py\n1000 700\n1000 644")
	// init, the entrypoint's sleep, the grader's agent (the reset started
	// it again after the restart, and spares it) and this shell.
	check("client1", "set -- /proc/[0-9]*; echo $#", "4")
	check("client1", "grep -l 'lab3-[a]gent' /proc/[0-9]*/cmdline | wc -l", "1") // [a]: not this grep
	check("client1", "ip route | grep -c prohibit", "3")
	check("client1", "ls /run/not-restarted 2>&1 >/dev/null | wc -l", "1")
	check("webserver", "ls /run/not-restarted", "/run/not-restarted")
}
