package docker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
)

// sandboxSubnet gives each test process its own 10.97.x.0/24, apart from
// the other end-to-end tests' 10.99.x.
func sandboxSubnet(offset int) string {
	return fmt.Sprintf("10.97.%d.0/24", (os.Getpid()+offset)%250)
}

// TestSandboxConfinesAHost brings a sandboxed lab up and runs what a
// hostile submission would, as the student's user on client1: every limit
// holds, and DNS and the lab's hosts still work.
func TestSandboxConfinesAHost(t *testing.T) {
	d, refs := labcontainers.Engine(t)
	sb := lab.DefaultSandbox()
	topo := testTopology(t, fmt.Sprintf("sbx%d", os.Getpid()), 30, sandboxSubnet(0))
	upLab(t, d, refs, topo, lab.WithSandbox(sb))
	hosts, ctr := d.Lab(topo.Name), "client1"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// student runs a shell script as the sandbox's user and returns its
	// exit code and output.
	student := func(t *testing.T, script string) (int, string) {
		t.Helper()
		res, err := hosts.Exec(ctx, ctr, sb.Command([]string{"sh", "-c", script}), nil)
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		return res.ExitCode, strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
	}
	// A connection refused at once (a reject rule, a closed port) fails
	// well before the 5 s connect timeout; a dropped one only at it. The
	// 3 s threshold tells them apart with room for a loaded machine's
	// scheduling delays.
	connect := `import socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("connected", end="")
except OSError as e:
    print("refused" if time.monotonic() - t < 3 else "slow", e.errno, end="")
`

	t.Run("runs as uid 1000 without capabilities", func(t *testing.T) {
		_, out := student(t, `id -u; id -g; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status | tr -s '\t' ' '`)
		want := "1000\n1000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000"
		if out != want {
			t.Errorf("got:\n%s\nwant:\n%s", out, want)
		}
		if code, out := student(t, `ip route del 10.97.0.0/16 2>&1; ip route add 1.2.3.4 dev eth0`); code == 0 {
			t.Errorf("the student changed routes: %s", out)
		}
	})
	t.Run("memory", func(t *testing.T) {
		code, out := student(t, `python3 -c 'b = bytearray(400 << 20); print("allocated")'`)
		t.Logf("allocating 400 MiB: exit %d %q", code, out)
		if code == 0 || strings.Contains(out, "allocated") {
			t.Errorf("allocated 400 MiB over a %d MiB limit: exit %d %s", sb.Memory>>20, code, out)
		}
		if code, out := student(t, `python3 -c 'b = bytearray(100 << 20); print("allocated")'`); code != 0 {
			t.Errorf("100 MiB under the limit failed: exit %d %s", code, out)
		}
	})
	t.Run("pids", func(t *testing.T) {
		_, _ = student(t, `i=0; while [ $i -lt 300 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null`)
		procs, err := hosts.Processes(ctx, ctr)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("processes after forking 300: %d", len(procs))
		if n := len(procs); n < 100 || int64(n) > sb.PIDs {
			t.Errorf("%d processes after forking 300, want at most %d (and the limit reached)", n, sb.PIDs)
		}
		// The host is full; a restart empties it and blocks the gateway again.
		if err := hosts.Restart(ctx, ctr); err != nil {
			t.Fatal(err)
		}
		res, err := hosts.Exec(ctx, ctr, []string{"ip", "route"}, nil)
		if err != nil || !strings.Contains(string(res.Stdout), "prohibit "+topo.Gateway4().String()) {
			t.Errorf("routes after restart: %v\n%s", err, res.Stdout)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		// Three processes spin for 2 s of wall time; unconfined they would
		// use every core, the quota allows one CPU: 2 s of CPU.
		_, out := student(t, `python3 -c '
import os, multiprocessing, time
def spin():
    end = time.monotonic() + 2
    while time.monotonic() < end: pass
ts = [multiprocessing.Process(target=spin) for _ in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
t = os.times()
print(round(t.children_user + t.children_system, 2))'`)
		used, err := strconv.ParseFloat(out, 64)
		if err != nil || used > 2.6 {
			t.Errorf("used %s s of CPU in 2 s, want about %.1f", out, 2*float64(sb.NanoCPUs)/1e9)
		}
		t.Logf("CPU used in 2 s of spinning: %s s", out)
	})
	t.Run("disk", func(t *testing.T) {
		code, out := student(t, `dd if=/dev/zero of=/root/big bs=1M count=200 2>&1; ls -l /root/big | awk '{print $5}'`)
		size, _ := strconv.ParseInt(strings.Fields(out)[len(strings.Fields(out))-1], 10, 64)
		t.Logf("dd of 200 MiB into /root: %d bytes written, exit %d", size, code)
		if !strings.Contains(out, "No space left") || size > 64<<20 {
			t.Errorf("wrote %d bytes into /root (exit %d): %s", size, code, out)
		}
		for _, dir := range []string{"/", "/etc", "/usr/local/bin", "/opt/lab3", "/var/lib"} {
			if code, out := student(t, "echo x > "+dir+"/sbx-probe"); code == 0 {
				t.Errorf("the student wrote into %s: %s", dir, out)
			}
		}
		_, _ = student(t, "rm -f /root/big")
	})
	t.Run("network", func(t *testing.T) {
		web := topo.WebServer()
		tests := []struct {
			name, addr, port, want string
		}{
			{"gateway v4", topo.Gateway4().String(), "22", "refused 13"},
			{"gateway v6", topo.Gateway6().String(), "22", "refused 13"},
			{"outside v4", "1.1.1.1", "53", "refused 13"},
			{"outside v6", "2606:4700:4700::1111", "53", "refused 13"},
			{"dns server", topo.DNSServer().IPv4.String(), "53", "connected"},
			{"webserver, closed port", web.IPv4.String(), "5000", "refused 111"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, out := student(t, fmt.Sprintf("python3 -c '%s' %s %s", connect, tc.addr, tc.port))
				t.Logf("connect %s:%s: %s", tc.addr, tc.port, out)
				if out != tc.want {
					t.Errorf("connect %s:%s: %s, want %s", tc.addr, tc.port, out, tc.want)
				}
			})
		}
		if _, out := student(t, "cat /etc/resolv.conf; getent ahostsv4 "+topo.Domain()+" | head -1"); !strings.HasPrefix(out, "nameserver "+topo.DNSServer().IPv4.String()+"\n"+web.IPv4.String()+" ") {
			t.Errorf("resolv.conf and lookup of %s: %q", topo.Domain(), out)
		}
	})
}
