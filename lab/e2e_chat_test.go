package lab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/outputtest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

// buildChat is the bin folder of the static reference chat programs that
// make build made.
func buildChat(t *testing.T) string {
	t.Helper()
	return tier.Bins(t, "chat-server", "chat-client")
}

// waitListening polls, inside the container, until something listens on
// the TCP port.
func waitListening(t *testing.T, ctx context.Context, d runtime.Hosts, ctr string, port int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := d.Exec(ctx, ctr, []string{"ss", "-Htln", fmt.Sprintf("sport = :%d", port)}, nil)
		if err == nil && res.ExitCode == 0 && strings.TrimSpace(string(res.Stdout)) != "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing listens on %s:%d", ctr, port)
		case <-tick.C:
		}
	}
}

func TestE2EDeployAndChatAcrossHosts(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	bin := buildChat(t)
	topo := testTopology(t, "e2e-chat", 30, "10.99.19.0/24")
	upLab(t, d, refs, topo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	plan, err := lab.PlanDeploy(topo, bin, "", lab.DeployAll)
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.Deploy(ctx, d, topo, plan, nil); err != nil {
		t.Fatal(err)
	}
	hosts, web := d.Lab(topo.Name), "webserver"
	run(t, hosts, web, "test", "-x", "/root/chat-server")
	for _, c := range topo.Clients() {
		run(t, hosts, c.Name, "test", "-x", "/root/chat-client")
	}

	server, err := hosts.Spawn(ctx, web, []string{"/root/chat-server", "--mode", "chatroom"}, runtime.SpawnOptions{Workdir: "/root"})
	if err != nil {
		t.Fatal(err)
	}
	serverOut := outputtest.Watch(server.Output())
	waitListening(t, ctx, hosts, web, 5000)

	join := func(host, user string) (runtime.Process, *outputtest.Output) {
		p, err := hosts.Spawn(ctx, host, []string{"/root/chat-client", "--server", "team30.com:5000"}, runtime.SpawnOptions{Workdir: "/root"})
		if err != nil {
			t.Fatal(err)
		}
		w := outputtest.Watch(p.Output())
		w.WaitFor(t, ctx, "Type your username")
		fmt.Fprintln(p.Stdin(), user)
		w.WaitFor(t, ctx, "Your username ("+user+") is valid")
		return p, w
	}
	alice, aliceOut := join("client1", "alice")
	bob, bobOut := join("client2", "bob")
	aliceOut.WaitFor(t, ctx, "bob (IP: 10.99.19.12): connected")

	fmt.Fprintln(alice.Stdin(), "hello bob")
	bobOut.WaitFor(t, ctx, "alice (IP: 10.99.19.11) says: hello bob")
	serverOut.WaitFor(t, ctx, `msg="client connected" name=bob`)

	st, err := lab.Status(ctx, d, topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]string{}
	for _, h := range st.Hosts {
		runs[h.Host] = strings.Join(h.Processes, ", ")
	}
	if !strings.Contains(runs["webserver"], "chat-server --mode chatroom") || !strings.Contains(runs["client1"], "chat-client") {
		t.Errorf("status does not show the chat programs: %v", runs)
	}

	if err := bob.Stdin().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Wait(); err != nil {
		t.Error(err)
	}
	aliceOut.WaitFor(t, ctx, "bob (IP: 10.99.19.12): is offline")
	for _, p := range []runtime.Process{alice, server} {
		if err := p.Signal(ctx, 15); err != nil {
			t.Error(err)
		}
		if _, err := p.Wait(); err != nil {
			t.Error(err)
		}
	}
}

func TestE2EDeployStudentFiles(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-files", 30, "10.99.20.0/24")
	upLab(t, d, refs, topo)
	dir := t.TempDir()
	files := map[string]string{
		"chatroom_server.py": "import socket\nprint(socket.gethostbyname('team30.com'))\n",
		"chatroom_client.py": "print('client')\n",
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := lab.PlanDeploy(topo, "", dir, lab.DeployAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 8 {
		t.Errorf("plan has %d copies, want 2 files x 4 hosts", len(plan))
	}
	ctx := context.Background()
	if err := lab.Deploy(ctx, d, topo, plan, nil); err != nil {
		t.Fatal(err)
	}
	// The handout's server resolves the team's domain, never a literal IP.
	hosts := d.Lab(topo.Name)
	if got := strings.TrimSpace(run(t, hosts, "webserver", "python3", "/root/chatroom_server.py")); got != "10.99.20.3" {
		t.Errorf("python3 chatroom_server.py printed %q", got)
	}
	for _, c := range topo.Clients() {
		run(t, hosts, c.Name, "test", "-f", "/root/chatroom_client.py")
	}
	if res, err := hosts.Exec(ctx, "dnsserver", []string{"test", "-e", "/root/chatroom_client.py"}, nil); err != nil || res.ExitCode == 0 {
		t.Errorf("student files reached the DNS server: %+v %v", res, err)
	}
}
