package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
)

// needDocker skips when there is no engine, unless CI is set: CI has one.
func needDocker(t *testing.T) {
	t.Helper()
	labcontainers.Engine(t) // skips without an engine unless CI is set; builds the images once
}

func TestE2ECommands(t *testing.T) {
	needDocker(t)
	name := []string{"--name", "cli-e2e"}
	t.Cleanup(func() { runLab(t, append(append([]string{}, name...), "down", "--force")...) })
	// --name goes first: after "--" it would belong to the exec'd command.
	with := func(args ...string) []string { return append(append([]string{}, name...), args...) }

	code, out, errOut := runLab(t, with("up", "--subnet", "10.99.22.0/24", "--timings")...)
	if code != 0 {
		t.Fatalf("up: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"lab cli-e2e is up", "HOST", "dnsserver  10.99.22.2", "named", "timings:", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runLab(t, with("up", "--subnet", "10.99.22.0/24")...)
	if code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("second up: exit %d, output:\n%s", code, out)
	}

	// --log-json: the progress lines on stderr are JSON objects; the
	// result on stdout is unchanged.
	code, out, errOut = runLab(t, with("up", "--subnet", "10.99.22.0/24", "--log-json")...)
	if code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("up --log-json: exit %d, output:\n%s", code, out)
	}
	cached := false
	for _, line := range strings.Split(errOut, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // the ssh hint and warnings stay text
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("up --log-json: a progress line is not JSON: %v: %s", err, line)
		}
		cached = cached || (rec["image"] == "dnsserver" && rec["stage"] == "cached")
	}
	if !cached {
		t.Errorf("up --log-json: no record of the cached dnsserver image:\n%s", errOut)
	}

	code, out, _ = runLab(t, with("status", "--json")...)
	var st lab.LabStatus
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || !st.Up() || len(st.Hosts) != 5 {
		t.Errorf("status --json: exit %d, %v:\n%s", code, err, out)
	}

	t.Run("exec passes the exit code through", func(t *testing.T) {
		if code, _, _ := runLab(t, with("exec", "client1", "--", "sh", "-c", "exit 5")...); code != 5 {
			t.Errorf("exit code %d, want 5", code)
		}
		code, out, _ := runLab(t, with("exec", "client1", "--", "cat", "/etc/resolv.conf")...)
		if code != 0 || out != "nameserver 10.99.22.2\n" {
			t.Errorf("exit %d, resolv.conf %q", code, out)
		}
		code, _, errOut := runLab(t, with("exec", "client7", "--", "true")...)
		if code != 1 || !strings.Contains(errOut, `lab cli-e2e has no host "client7" (hosts: dnsserver, webserver, client1, client2, client3)`) {
			t.Errorf("unknown host: exit %d, %q", code, errOut)
		}
	})

	t.Run("deploy student files", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "chatroom_server.py"), []byte("print('hi')\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runLab(t, with("deploy", "--files", dir, "--role", "server")...)
		if code != 0 || !strings.Contains(out, "webserver: /root/chatroom_server.py") || strings.Contains(out, "client1") {
			t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
		}
		if code, out, _ := runLab(t, with("exec", "webserver", "--", "python3", "chatroom_server.py")...); code != 0 || out != "hi\n" {
			t.Errorf("running the deployed file in /root: exit %d, %q", code, out)
		}
		code, _, errOut = runLab(t, with("deploy", "--bin", t.TempDir())...)
		if code != 1 || !strings.Contains(errOut, "chat-server not found: build it first with: make build") {
			t.Errorf("deploy without binaries: exit %d, %q", code, errOut)
		}
	})

	t.Run("logs", func(t *testing.T) {
		// named -g logs to stderr, which logs keeps apart from stdout.
		code, out, errOut := runLab(t, with("logs", "dnsserver", "--tail", "50")...)
		if code != 0 || !strings.Contains(errOut, "all zones loaded") {
			t.Errorf("logs: exit %d\n%s%s", code, out, errOut)
		}
	})

	code, out, _ = runLab(t, with("down")...)
	if code != 0 || !strings.Contains(out, "lab cli-e2e removed: 5 container(s), 1 network(s)") {
		t.Errorf("down: exit %d: %s", code, out)
	}
	code, out, _ = runLab(t, with("down")...)
	if code != 0 || !strings.Contains(out, "nothing to remove") {
		t.Errorf("second down: exit %d: %s", code, out)
	}
	code, out, _ = runLab(t, with("status")...)
	if code != 3 || !strings.Contains(out, "lab cli-e2e is not up") {
		t.Errorf("status after down: exit %d: %s", code, out)
	}
}
