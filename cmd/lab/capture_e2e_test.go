package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/outputtest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// TestCaptureAnalyzeDiagramE2E captures a Milestone 2 chat in a real lab
// with lab capture start/stop, then holds lab analyze to tshark's reading
// of the same files and lab diagram to the Delivery Q2 exchange.
func TestCaptureAnalyzeDiagramE2E(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("tshark"); err != nil && os.Getenv("CI") == "" {
		t.Skip("tshark is not installed and CI is unset, so the captures cannot be cross-checked (install it with: make deps)")
	}
	const name, subnet = "cli-capture", "10.99.71.0/24"
	with := func(args ...string) []string { return append([]string{"--name", name}, args...) }
	t.Cleanup(func() { runLab(t, with("down", "--force")...) })

	if code, _, errOut := runLab(t, with("up", "--subnet", subnet, "--no-dnscheck")...); code != 0 {
		t.Fatalf("up: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := runLab(t, with("deploy", "--bin", buildChatPrograms(t))...); code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := docker.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	topo, err := lab.Load(ctx, d, name)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := topo.Host("client1")
	c2, _ := topo.Host("client2")

	started := time.Now()
	code, out, errOut := runLab(t, with("capture", "start")...)
	t.Logf("lab capture start took %s", time.Since(started).Round(time.Millisecond))
	if code != 0 || !strings.Contains(out, "capturing on dnsserver, webserver, client1, client2, client3 (eth0) in lab cli-capture") {
		t.Fatalf("capture start: exit %d\n%s%s", code, out, errOut)
	}
	// start returned, so tcpdump runs everywhere.
	if running, err := runningCaptures(ctx, d, topo); err != nil || len(running) != 5 {
		t.Fatalf("tcpdump runs on %v (%v), want all five hosts", running, err)
	}
	code, _, errOut = runLab(t, with("capture", "start", "client1")...)
	if want := "lab: a capture is already running in lab cli-capture on dnsserver, webserver, client1, client2, client3; stop it first with: lab --name cli-capture capture stop\n"; code != 1 || errOut != want {
		t.Errorf("second start: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}

	// Behind the CLI's check, the library refuses too, and leaves the
	// running capture alone.
	if _, err := traffic.StartCapture(ctx, d, topo, []string{"client1"}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("StartCapture over a running capture: %v", err)
	}
	if running, err := runningCaptures(ctx, d, topo); err != nil || len(running) != 5 {
		t.Fatalf("after a refused start tcpdump runs on %v (%v), want all five hosts", running, err)
	}

	chatM2(t, ctx, d, topo)

	dir := filepath.Join(t.TempDir(), "captures")
	stopped := time.Now()
	code, out, errOut = runLab(t, with("capture", "stop", "--out", dir)...)
	if code != 0 {
		t.Fatalf("capture stop: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("lab capture stop took %s:\n%s", time.Since(stopped).Round(time.Millisecond), out)
	for _, f := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap", "dnsserver.pcap"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() <= 24 {
			t.Errorf("%s: %v, want a capture with packets", f, err)
		}
		if !strings.Contains(out, "  "+f+" ") {
			t.Errorf("stop does not list %s:\n%s", f, out)
		}
	}
	code, _, errOut = runLab(t, with("capture", "stop")...)
	if want := "lab: no capture is running in lab cli-capture; start one with: lab --name cli-capture capture start\n"; code != 1 || errOut != want {
		t.Errorf("second stop: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}

	code, out, errOut = runLab(t, with("analyze", "--json", "--dir", dir)...)
	if code != 0 {
		t.Fatalf("analyze: exit %d\n%s%s", code, out, errOut)
	}
	var rep traffic.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("analyze --json: %v\n%s", err, out)
	}
	hs := rep.Task32
	if hs == nil || !hs.SYNACKFound || hs.SYN.File != "chatserver.pcap" || hs.SYNACK == nil {
		t.Fatalf("task 3.2 not answered from chatserver.pcap: %s", out)
	}
	server := filepath.Join(dir, "chatserver.pcap")
	syn := tsharkFirst(t, server, fmt.Sprintf("tcp.flags.syn==1 && tcp.flags.ack==0 && ip.src==%s", c1.IPv4))
	synack := tsharkFirst(t, server, fmt.Sprintf("tcp.flags.syn==1 && tcp.flags.ack==1 && ip.dst==%s", c1.IPv4))
	if got, want := [2]uint64{uint64(hs.SYN.Frame), uint64(hs.SYNSeq)}, [2]uint64{syn[0], syn[1]}; got != want {
		t.Errorf("SYN (frame, seq): lab analyze %v, tshark %v", got, want)
	}
	if got, want := [3]uint64{uint64(hs.SYNACK.Frame), uint64(hs.SYNACKSeq), uint64(hs.SYNACKAck)}, synack; got != want {
		t.Errorf("SYNACK (frame, seq, ack): lab analyze %v, tshark %v", got, want)
	}
	u := rep.Task33
	if u == nil || u.Src.Host != "client1" || u.Dst.Host != "client2" || u.PayloadLen != len("hi") || u.Protocol != 17 {
		t.Errorf("task 3.3 is not client1's direct message: %+v", u)
	}

	svg := filepath.Join(t.TempDir(), "q2.svg")
	code, out, errOut = runLab(t, with("diagram", "--dir", dir, "--svg", svg, "--mermaid", "-")...)
	if code != 0 {
		t.Fatalf("diagram: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("lab diagram:\n%s", out)
	for _, want := range []string{
		fmt.Sprintf("participant P0 as client1 (%s)", c1.IPv4),
		"DNS query A team30.com",
		fmt.Sprintf("TCP [SYN] seq=%d len=0", hs.SYNSeq),
		fmt.Sprintf("TCP [SYN, ACK] seq=%d ack=%d len=0", hs.SYNACKSeq, hs.SYNACKAck),
		"#34;Welcome to this chatroom",
		fmt.Sprintf("UDP %d → %d len=2 #34;hi#34;", u.Src.Port, u.Dst.Port),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagram lacks %q", want)
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte(c2.IPv4.String())) {
		t.Errorf("SVG not written with the participants (%v)", err)
	}

	t.Run("a stopped host", func(t *testing.T) {
		if err := d.Lab(topo.Name).Stop(ctx, "client3"); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runLab(t, with("capture", "start")...)
		if want := "lab: host client3 of lab cli-capture is not running, so nothing can be captured there; start it again with: lab up --name cli-capture, or name the hosts to capture on\n"; code != 1 || errOut != want {
			t.Errorf("start with client3 stopped: exit %d, stderr %q; want 1 and %q", code, errOut, want)
		}
		if code, out, errOut := runLab(t, with("capture", "start", "client1")...); code != 0 {
			t.Fatalf("start on client1: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut := runLab(t, with("capture", "stop", "--out", dir)...)
		if code != 0 || !strings.Contains(out, "  client1.pcap  client1 ") || strings.Contains(out, "chatserver.pcap  webserver") ||
			!strings.Contains(out, "note: dnsserver.pcap, chatserver.pcap, client2.pcap, client3.pcap in "+dir+" are from an earlier capture") {
			t.Errorf("stop with client3 stopped: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// chatM2 runs the Milestone 2 chat: the p2p server on webserver, client2
// joins, then client1 joins, says one line to the room and sends client2
// one direct message; both leave. Every step waits for what it causes.
func chatM2(t *testing.T, ctx context.Context, eng runtime.Engine, topo topology.Topology) {
	t.Helper()
	d := eng.Lab(topo.Name)
	c1, _ := topo.Host("client1")
	server, err := d.Spawn(ctx, "webserver", []string{"/root/chat-server", "--mode", "p2p"}, runtime.SpawnOptions{Workdir: "/root"})
	if err != nil {
		t.Fatal(err)
	}
	serverOut := outputtest.Watch(server.Output())
	serverOut.WaitFor(t, ctx, `msg="server started"`)
	join := func(host string) (runtime.Process, *outputtest.Output) {
		p, err := d.Spawn(ctx, host, []string{"/root/chat-client", "--mode", "p2p", "--server", topo.Domain() + ":5000"}, runtime.SpawnOptions{Workdir: "/root"})
		if err != nil {
			t.Fatal(err)
		}
		w := outputtest.Watch(p.Output())
		w.WaitFor(t, ctx, "Type your username")
		fmt.Fprintln(p.Stdin(), host)
		w.WaitFor(t, ctx, "Your username ("+host+") is valid")
		return p, w
	}
	second, secondOut := join("client2")
	first, firstOut := join("client1")
	who := fmt.Sprintf("client1 (IP: %s)", c1.IPv4)
	secondOut.WaitFor(t, ctx, who+" connected")
	// The direct message needs client2 in client1's peer list.
	fmt.Fprintln(first.Stdin(), ":l")
	firstOut.WaitFor(t, ctx, "'client2'")
	fmt.Fprintln(first.Stdin(), "hello client2")
	secondOut.WaitFor(t, ctx, who+" said: hello client2")
	fmt.Fprintln(first.Stdin(), "@client2: hi")
	secondOut.WaitFor(t, ctx, "[P2P] "+who+" says: hi")

	for _, p := range []struct {
		proc runtime.Process
		out  *outputtest.Output
	}{{first, firstOut}, {second, secondOut}} {
		if err := p.proc.Stdin().Close(); err != nil {
			t.Fatal(err)
		}
		if code, err := p.proc.Wait(); code != 0 || err != nil {
			t.Errorf("chat-client: exit %d, %v\n%s", code, err, p.out.String())
		}
	}
	serverOut.WaitFor(t, ctx, `msg="client disconnected" name=client2`)
	if err := server.Signal(ctx, syscall.SIGTERM); err != nil {
		t.Error(err)
	}
	if _, err := server.Wait(); err != nil {
		t.Error(err)
	}
}

// tsharkFirst reads the first packet that filter selects in file, as
// tshark shows it: frame number, absolute sequence and acknowledgement
// numbers.
func tsharkFirst(t *testing.T, file, filter string) [3]uint64 {
	t.Helper()
	cmd := exec.Command("tshark", "-r", file, "-T", "fields", "-e", "frame.number", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-Y", filter)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -Y %q: %v\n%s", filter, err, stderr.String())
	}
	line, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("tshark -Y %q printed %q, want frame, seq and ack", filter, out)
	}
	var r [3]uint64
	for i, s := range f {
		if r[i], err = strconv.ParseUint(s, 10, 32); err != nil {
			t.Fatalf("tshark field %q: %v", s, err)
		}
	}
	return r
}

// buildChatPrograms is the folder of the reference chat-server and
// chat-client that make build made, for lab deploy --bin.
func buildChatPrograms(t *testing.T) string {
	t.Helper()
	return tier.Bins(t, "chat-server", "chat-client")
}
