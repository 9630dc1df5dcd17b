package grading_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// labUpRE reads the lab a progress line says is up: its name and subnet.
var labUpRE = regexp.MustCompile(`lab (\S+) up \(\S+, (\S+)\)`)

// topoWriter logs progress and remembers the graded lab's topology, which
// the analysis needs to name the hosts.
type topoWriter struct {
	t    *testing.T
	mu   sync.Mutex
	name string
	net  netip.Prefix
}

func (w *topoWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	if m := labUpRE.FindSubmatch(b); m != nil {
		if p, err := netip.ParsePrefix(string(m[2])); err == nil {
			w.mu.Lock()
			w.name, w.net = string(m[1]), p
			w.mu.Unlock()
		}
	}
	return len(b), nil
}

// gradeP2P grades the reference binaries on m2-p2p-udp, repeated n times
// in one lab, and returns the report, the results folder and the lab.
func gradeP2P(t *testing.T, sub scenarios.Submission, n int, capture bool) (grading.Report, string, topology.Topology) {
	t.Helper()
	d, refs := labcontainers.Engine(t)
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	one, err := scenarios.Select(all, []string{"m2-p2p-udp"})
	if err != nil {
		t.Fatal(err)
	}
	var selected []scenarios.Scenario
	for range n {
		selected = append(selected, one...)
	}
	dir := t.TempDir()
	w := &topoWriter{t: t}
	prefix := fmt.Sprintf("gc%d", os.Getpid()%100000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reports, err := grading.Grade(ctx, d, []scenarios.Submission{sub},
		grading.WithScenarios(selected),
		grading.WithCapture(capture),
		grading.WithLogger(textLogger(w)),
		grading.WithResultsDir(dir),
		grading.WithLabImages(refs.DNS, refs.Host),
		grading.WithLabPrefix(prefix),
		// The runs are one scenario, so they share one captures folder:
		// they must run one after another, in one lab, whose topology
		// names the hosts of the last run's files.
		grading.WithLabsPerSubmission(1))
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := d.Containers(context.Background(), map[string]string{topology.LabelLab: prefix + "-1"}); err != nil || len(cs) != 0 {
		t.Errorf("lab %s-1 left %d containers behind (%v)", prefix, len(cs), err)
	}
	r := reports[0]
	if !r.Passed || len(r.Results) != n {
		t.Fatalf("reference did not pass m2-p2p-udp %d times:\n%s", n, explain(r))
	}
	topo, err := topology.New(w.name, sub.Team, w.net, netip.Prefix{})
	if err != nil {
		t.Fatalf("graded lab from the progress (%q, %s): %v", w.name, w.net, err)
	}
	return r, dir, topo
}

// median is the middle scenario duration.
func median(r grading.Report) time.Duration {
	var ds []time.Duration
	for _, res := range r.Results {
		ds = append(ds, res.Duration)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// TestGradeCapture grades the reference binaries on m2-p2p-udp with capture
// on, reads the captures the grader saved with package traffic, and checks
// the answers of Tasks 3.2 and 3.3 against tshark. It logs the scenario's
// median time with and without capture: what capture adds.
func TestGradeCapture(t *testing.T) {
	labcontainers.Engine(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("tshark is not installed (apt-get install tshark): cannot compare with Wireshark's reading")
		}
		t.Fatal("tshark is required in CI: apt-get install tshark")
	}
	sub, err := scenarios.Reference(referenceBins(t))
	if err != nil {
		t.Fatal(err)
	}
	const runs = 3
	plain, _, _ := gradeP2P(t, sub, runs, false)
	r, dir, topo := gradeP2P(t, sub, runs, true)
	without, with := median(plain), median(r)
	t.Logf("m2-p2p-udp median of %d runs: %.2fs without capture, %.2fs with capture: capture adds %.2fs",
		runs, without.Seconds(), with.Seconds(), (with - without).Seconds())

	caps := filepath.Join(dir, "reference", "m2-p2p-udp", grading.CaptureDir)
	if got := r.Results[runs-1].Captures; got != caps {
		t.Errorf("Result.Captures = %q, want %q", got, caps)
	}
	for _, h := range topo.Hosts {
		if fi, err := os.Stat(filepath.Join(caps, traffic.FileName(h))); err != nil || fi.Size() < 24 {
			t.Errorf("capture of %s: %v (want a pcap file with its header)", h.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "reference", "m2-p2p-udp", "client2.log")); err != nil {
		t.Errorf("transcripts next to the captures: %v", err)
	}
	files := []string{filepath.Join(caps, "chatserver.pcap"), filepath.Join(caps, "client1.pcap")}
	rep, err := traffic.Analyze(context.Background(), files, topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analysis of the grader's captures:\n%s", rep.Text())
	hs := rep.Task32
	if hs == nil || !hs.SYNACKFound {
		t.Fatalf("Task 3.2: no client1 -> webserver handshake in the captures: %+v", rep)
	}
	if hs.SYNACKAck != hs.SYNSeq+1 {
		t.Errorf("Task 3.2: SYNACK ack %d, want SYN seq %d + 1", hs.SYNACKAck, hs.SYNSeq)
	}
	u := rep.Task33
	if u == nil || u.Src.IP != mustHostIP(t, topo, "client1") || u.Dst.Host == "webserver" || u.Dst.Host == "" {
		t.Errorf("Task 3.3: want a UDP datagram from client1 to another client, got %+v", u)
	}

	// tshark must read the same numbers from the same file.
	cmd := exec.Command(tshark, "-r", files[0], "-T", "fields", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-Y", "tcp.flags.syn==1")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	syn := fmt.Sprintf("%d\t", hs.SYNSeq)
	synack := fmt.Sprintf("%d\t%d", hs.SYNACKSeq, hs.SYNACKAck)
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, syn) }) ||
		!slices.Contains(lines, synack) {
		t.Errorf("tshark's SYN and SYNACK lines lack SYN seq %d and SYNACK %q:\n%s", hs.SYNSeq, synack, out)
	}
}

func mustHostIP(t *testing.T, topo topology.Topology, name string) netip.Addr {
	t.Helper()
	h, ok := topo.Host(name)
	if !ok {
		t.Fatalf("no host %s", name)
	}
	return h.IPv4
}
