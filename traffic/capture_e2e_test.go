package traffic_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

func exec(t *testing.T, hosts runtime.Hosts, host string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := hosts.Exec(ctx, host, cmd, nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%s: %v: exit %d, %v: %s%s", host, cmd, res.ExitCode, err, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

const chatServer = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5000))
s.listen(5)
c, _ = s.accept()
c.sendall(b"Welcome to this chatroom! Type your username and press enter to continue: ")
c.recv(100)
c.sendall(b"Your username (alice) is valid. You can start chatting now.")
c.recv(100)
c.close()
`

const chatClient = `
import socket, sys
ip = socket.gethostbyname("team30.com")
s = socket.create_connection((ip, 5000), timeout=10)
s.recv(100)
s.sendall(b"alice\n")
s.recv(100)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"hello bob", (sys.argv[1], 6000))
u.recvfrom(100)  # the peer's answer: the datagram is on the wire both ends
s.close()
`

const peer = `
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("", 6000))
d, a = u.recvfrom(100)
u.sendto(b"got it", a)
`

// TestCaptureRealLab runs tcpdump in a real lab while client1 resolves the
// team domain, talks to a server and sends client2 a datagram, then checks
// that the copied captures answer Tasks 3.2 and 3.3 and give a diagram.
func TestCaptureRealLab(t *testing.T) {
	l := labcontainers.NewLab(t, labcontainers.WithName("tc-traffic-e2e"))
	d, topo := l.Docker(), l.Topology
	// eth0 gives Ethernet captures, any gives Linux cooked (SLL2) ones.
	for _, iface := range []string{"eth0", "any"} {
		t.Run(iface, func(t *testing.T) { captureScenario(t, d, topo, iface) })
	}
	t.Run("burst", func(t *testing.T) { captureBurst(t, d, topo) })
}

// captureBurst stops tcpdump, as a busy machine can keep it from its CPU,
// while client1 pings client2 400 times: the kernel must hold every
// packet until tcpdump reads again, on eth0 and on any (at tcpdump's
// defaults it held 36 and 16 of 800), and Stop must let tcpdump read them
// before it ends it (without the wait, beside stress-ng, 587 and 754 of
// 800 reached the file, none counted as dropped).
func captureBurst(t *testing.T, eng runtime.Engine, topo topology.Topology) {
	d := eng.Lab(topo.Name)
	client2, _ := topo.Host("client2")
	for _, iface := range []string{"eth0", "any"} {
		c, err := traffic.StartCapture(context.Background(), eng, topo, []string{"client1"}, traffic.WithInterface(iface))
		if err != nil {
			t.Fatal(err)
		}
		exec(t, d, "client1", "sh", "-c", `pkill -STOP -x tcpdump && ping -c 400 -i 0.002 -q "$1" >/dev/null; pkill -CONT -x tcpdump`, "sh", client2.IPv4.String())
		files, err := c.Stop(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if f := files[0]; f.Dropped != 0 || f.Captured < 800 {
			t.Errorf("-i %s: %d packets captured and %d dropped by the kernel while tcpdump waited; want all 800 captured", iface, f.Captured, f.Dropped)
		}
	}
}

func captureScenario(t *testing.T, eng runtime.Engine, topo topology.Topology, iface string) {
	d := eng.Lab(topo.Name)
	web, c1 := "webserver", "client1"
	client2, _ := topo.Host("client2")

	c2 := "client2"
	exec(t, d, web, "sh", "-c", `python3 -c "$1" >/tmp/chat.log 2>&1 </dev/null &`, "sh", chatServer)
	exec(t, d, c2, "sh", "-c", `python3 -c "$1" >/tmp/peer.log 2>&1 </dev/null &`, "sh", peer)
	for _, l := range []struct{ ctr, cmd, port string }{{web, "-ltn", ":5000"}, {c2, "-lun", ":6000"}} {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(exec(t, d, l.ctr, "ss", l.cmd), l.port) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: test program never listened on %s", l.ctr, l.port)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	ctx := context.Background()
	started := time.Now()
	c, err := traffic.StartCapture(ctx, eng, topo, []string{"webserver", "client1", "client2"}, traffic.WithInterface(iface))
	if err != nil {
		t.Fatal(err)
	}
	startTook := time.Since(started)
	exec(t, d, c1, "python3", "-c", chatClient, client2.IPv4.String())
	dir := filepath.Join(t.TempDir(), "captures")
	stopped := time.Now()
	files, err := c.Stop(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capture start %s, stop and copy %s", startTook.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))

	var paths []string
	for _, f := range files {
		if f.Bytes <= 24 || f.Captured == 0 {
			t.Errorf("%s: %d bytes, %d packets captured", f.Path, f.Bytes, f.Captured)
		}
		paths = append(paths, f.Path)
	}
	if filepath.Base(paths[0]) != "chatserver.pcap" {
		t.Errorf("first file %s, want chatserver.pcap", paths[0])
	}
	wantLink := map[string]string{"eth0": "Ethernet", "any": "Linux SLL2"}[iface]
	// Nothing is left in the containers.
	for _, h := range []string{"webserver", "client1", "client2"} {
		if out := exec(t, d, h, "sh", "-c", "ls -A "+traffic.CaptureDir+"; pgrep -x tcpdump || true"); strings.TrimSpace(out) != "" {
			t.Errorf("%s still holds %q", h, out)
		}
	}

	rep, err := traffic.Analyze(ctx, paths, topo)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.LinkType != wantLink {
			t.Errorf("%s: link type %s, want %s for -i %s", f.File, f.LinkType, wantLink, iface)
		}
	}
	hs := rep.Task32
	if hs == nil || !hs.SYNACKFound || hs.Client.Host != "client1" || hs.Server.Port != 5000 ||
		hs.SYN.File != "chatserver.pcap" || hs.SYNACKAck != hs.SYNSeq+1 {
		t.Fatalf("task 3.2 from the real capture:\n%s", rep.Text())
	}
	u := rep.Task33
	if u == nil || u.Src.Host != "client1" || u.Dst.Host != "client2" || u.Length != 8+9 || u.Protocol != 17 {
		t.Fatalf("task 3.3 from the real capture:\n%s", rep.Text())
	}
	// The datagram was answered before the capture stopped, so both ends
	// must have it: nothing is lost when tcpdump is stopped.
	if u.Datagram.File != "client1.pcap" || len(u.AlsoIn) != 1 || u.AlsoIn[0].File != "client2.pcap" {
		var counts []string
		for _, f := range files {
			counts = append(counts, fmt.Sprintf("%s: %d captured, %d dropped by the kernel", filepath.Base(f.Path), f.Captured, f.Dropped))
		}
		t.Errorf("the direct message is not in both client captures (%s):\n%s", strings.Join(counts, "; "), rep.Text())
	}

	dia, err := traffic.Sequence(ctx, paths, topo)
	if err != nil {
		t.Fatal(err)
	}
	mmd := dia.Mermaid()
	for _, want := range []string{"DNS query A team30.com", "TCP [SYN] seq=", "UDP ", "#34;hello bob#34;"} {
		if !strings.Contains(mmd, want) {
			t.Errorf("diagram lacks %q:\n%s", want, mmd)
		}
	}
}
