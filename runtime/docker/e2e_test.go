package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/outputtest"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// The end-to-end tests of the Docker runtime bring labs up with lab.Up on
// the local engine (labcontainers.Engine skips without one unless CI is
// set), each with its own name and subnet, removed in t.Cleanup.

func testTopology(t testing.TB, name string, team int, subnet string) topology.Topology {
	t.Helper()
	topo, err := topology.New(name, team, netip.MustParsePrefix(subnet), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// upLab brings a lab up with the built images and removes it after the test.
func upLab(t testing.TB, d *docker.Docker, refs images.Refs, topo topology.Topology, opts ...lab.Option) lab.LabStatus {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := lab.Down(ctx, d, topo.Name); err != nil {
			t.Errorf("cleanup of lab %s: %v", topo.Name, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := lab.Up(ctx, d, topo, append([]lab.Option{lab.WithImages(refs.DNS, refs.Host)}, opts...)...)
	if err != nil {
		t.Fatalf("up %s: %v", topo.Name, err)
	}
	return st
}

// run runs cmd on host and returns its output; a failure is fatal.
func run(t testing.TB, hosts runtime.Hosts, host string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := hosts.Exec(ctx, host, cmd, nil)
	if err != nil {
		t.Fatalf("%s: %v: %v", host, cmd, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("%s: %v: exit %d: %s%s", host, cmd, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

func TestE2EFilesProcessesAndNetworkFaults(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	topo := testTopology(t, "e2e-proc", 30, "10.99.18.0/24")
	upLab(t, d, refs, topo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hosts := d.Lab(topo.Name)
	web := "webserver"

	t.Run("copy and read a file", func(t *testing.T) {
		data := []byte("print('hello')\n")
		if err := hosts.CopyFiles(ctx, web, []runtime.File{{Path: "/root/sub/dir/hello.py", Mode: 0o755, Data: data}}); err != nil {
			t.Fatal(err)
		}
		got, err := hosts.ReadFile(ctx, web, "/root/sub/dir/hello.py")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
		if mode := strings.TrimSpace(run(t, hosts, web, "stat", "-c", "%a", "/root/sub/dir/hello.py")); mode != "755" {
			t.Errorf("mode = %s, want 755", mode)
		}
		if _, err := hosts.ReadFile(ctx, web, "/root/sub"); err == nil {
			t.Error("ReadFile of a directory succeeded")
		}
		if _, err := hosts.ReadFile(ctx, web, "/root/none"); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("ReadFile of a missing file: %v, want ErrNotFound", err)
		}
		if _, err := hosts.Exec(ctx, "client9", []string{"true"}, nil); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Exec on a host the lab lacks: %v, want ErrNotFound", err)
		}
	})

	t.Run("exec passes exit codes and stdin", func(t *testing.T) {
		res, err := hosts.Exec(ctx, web, []string{"sh", "-c", "cat; echo oops >&2; exit 3"}, strings.NewReader("in"))
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 3 || string(res.Stdout) != "in" || string(res.Stderr) != "oops\n" {
			t.Errorf("exec = %d %q %q", res.ExitCode, res.Stdout, res.Stderr)
		}
	})

	t.Run("spawn, talk, signal, wait", func(t *testing.T) {
		p, err := hosts.Spawn(ctx, web, []string{"sh", "-c", `echo "in $PWD as $GREETING"; while read l; do echo "got $l"; done; echo bye >&2; exit 4`},
			runtime.SpawnOptions{Env: []string{"GREETING=hi"}, Workdir: "/tmp"})
		if err != nil {
			t.Fatal(err)
		}
		w := outputtest.Watch(p.Output())
		w.WaitFor(t, ctx, "in /tmp as hi")
		if p.PID() <= 1 {
			t.Errorf("PID = %d", p.PID())
		}
		fmt.Fprintln(p.Stdin(), "line one")
		w.WaitFor(t, ctx, "got line one")
		if err := p.Stdin().Close(); err != nil {
			t.Fatal(err)
		}
		code, err := p.Wait()
		if err != nil || code != 4 {
			t.Errorf("Wait = %d, %v; want 4", code, err)
		}
		w.WaitFor(t, ctx, "bye")

		q, err := hosts.Spawn(ctx, web, []string{"sleep", "600"}, runtime.SpawnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Spawn returns once the shell has printed its PID, which may be
		// before it has exec'd the command: until then ps shows the shell.
		if ps := eventually(func() string {
			return strings.TrimSpace(run(t, hosts, web, "ps", "-o", "args=", "-p", fmt.Sprint(q.PID())))
		}, func(ps string) bool { return ps == "sleep 600" }); ps != "sleep 600" {
			t.Errorf("PID %d is %q, want the command itself", q.PID(), ps)
		}
		if err := q.Signal(ctx, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code, err := q.Wait(); err != nil || code != 128+int(syscall.SIGTERM) {
			t.Errorf("Wait after SIGTERM = %d, %v", code, err)
		}
	})

	t.Run("disconnect and reconnect keep the addresses", func(t *testing.T) {
		c1 := "client1"
		if err := hosts.Disconnect(ctx, c1); err != nil {
			t.Fatal(err)
		}
		if out := run(t, hosts, c1, "ip", "-o", "addr"); strings.Contains(out, "10.99.18.11") {
			t.Errorf("still has its address after disconnect:\n%s", out)
		}
		if err := hosts.Reconnect(ctx, c1); err != nil {
			t.Fatal(err)
		}
		v4, v6, err := d.Addresses(ctx, topo.Name, c1)
		if err != nil || v4.String() != "10.99.18.11" || v6.String() != "fd00:0:0:6312::11" {
			t.Errorf("addresses after reconnect = %s %s %v", v4, v6, err)
		}
		if got := strings.TrimSpace(run(t, hosts, c1, "dig", "+short", "team30.com")); got != "10.99.18.3" {
			t.Errorf("dig after reconnect = %q", got)
		}
		if got := run(t, hosts, c1, "cat", "/etc/resolv.conf"); got != "nameserver 10.99.18.2\n" {
			t.Errorf("resolv.conf after reconnect = %q", got)
		}
	})

	t.Run("status shows what runs", func(t *testing.T) {
		p, err := hosts.Spawn(ctx, web, []string{"sleep", "601"}, runtime.SpawnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.Signal(ctx, syscall.SIGKILL); _, _ = p.Wait() }()
		// As above, the shell may not have exec'd sleep yet.
		st := eventually(func() lab.LabStatus {
			st, err := lab.Status(ctx, d, topo.Name)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, func(st lab.LabStatus) bool {
			return slices.ContainsFunc(st.Hosts, func(h lab.HostStatus) bool {
				return h.Host == "webserver" && strings.Contains(strings.Join(h.Processes, ", "), "sleep 601")
			})
		})
		for _, h := range st.Hosts {
			runs := strings.Join(h.Processes, ", ")
			switch h.Host {
			case "dnsserver":
				if !strings.Contains(runs, "named") {
					t.Errorf("dnsserver runs %q, want named", runs)
				}
			case "webserver":
				if !strings.Contains(runs, "sleep 601") {
					t.Errorf("webserver runs %q, want sleep 601", runs)
				}
			}
		}
	})
}

// eventually calls get until ok accepts its result or 10 s have passed,
// and returns the last result, for the caller to check: for what a
// container shows shortly after an action, such as a spawned command's exec.
func eventually[T any](get func() T, ok func(T) bool) T {
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := get()
		if ok(v) || time.Now().After(deadline) {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
}
