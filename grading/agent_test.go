package grading

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// askLocal runs agentScript with this machine's bash, asks it op for this
// test's own process, and returns the answer's lines.
func askLocal(t *testing.T, op string) []string {
	t.Helper()
	return askScript(t, agentScript, op)
}

// askScript is askLocal with another agent script.
func askScript(t *testing.T, script, op string) []string {
	t.Helper()
	cmd := exec.Command("bash", "-c", script, "lab3-agent", resetScript)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("no bash: %v", err)
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	if _, err := fmt.Fprintf(in, "%s 7 %d\n", op, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == "E 7" {
			return lines
		}
		lines = append(lines, sc.Text())
	}
	t.Fatalf("the agent ended without answering: %v (%q)", sc.Err(), lines)
	return nil
}

// TestAgentReadsWaits: the W reading gives each thread of the process
// with its run time and run delay from schedstat, as the O reading does,
// without the socket tables.
func TestAgentReadsWaits(t *testing.T) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/schedstat", os.Getpid())); err != nil {
		t.Skipf("no schedstat here: %v", err)
	}
	lines := askLocal(t, "W")
	w := parseWaits(lines)
	if len(w.Tasks) == 0 || len(w.Sockets) != 0 {
		t.Fatalf("W read %d threads and %d sockets from %q; want this process's threads only", len(w.Tasks), len(w.Sockets), lines)
	}
	for _, task := range w.Tasks {
		if task.PID != os.Getpid() || !task.Sched || task.RunTime <= 0 {
			t.Errorf("thread %+v: want this process's, with the time it ran", task)
		}
	}
	o, err := parseObservation("here", askLocal(t, "O"))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Tasks) < len(w.Tasks)/2 {
		t.Errorf("O read %d threads, W %d", len(o.Tasks), len(w.Tasks))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "W ") {
			t.Errorf("W answered %q", l)
		}
	}
}

func TestParseWaits(t *testing.T) {
	st := parseWaits([]string{"W 12 13 5000000 2000000000 40", "W x 1 2 3 4", "W 12 14 1 -5 1", "T 12 13 0 1|", "W 12 15 7 8 9"})
	if len(st.Tasks) != 2 || st.Tasks[0].TID != 13 || st.Tasks[0].RunDelay.Seconds() != 2 || st.Tasks[1].TID != 15 {
		t.Fatalf("parseWaits = %+v, want threads 13 (waited 2s) and 15", st.Tasks)
	}
}

// TestAgentSkipsAFloodedHostsTables: past its limit of sockets, read from
// /proc/net/sockstat, the agent answers with the counts instead of the
// tables (130,000 lines took it past its deadline), and Observe is then
// scenarios.ErrFlooded, naming the host and its counts. Here the limit is
// one socket, so that this machine's own sockets flood it.
func TestAgentSkipsAFloodedHostsTables(t *testing.T) {
	var used int
	if b, err := os.ReadFile("/proc/net/sockstat"); err != nil || !strings.HasPrefix(string(b), "sockets: used ") {
		t.Skipf("no /proc/net/sockstat here: %v", err)
	} else if _, err := fmt.Sscanf(string(b), "sockets: used %d", &used); err != nil || used < 2 {
		t.Skipf("%d sockets here, too few to flood", used)
	}
	lines := askScript(t, strings.ReplaceAll(agentTemplate, "FLOOD", "1"), "O")
	var flood []string
	for _, l := range lines {
		if strings.HasPrefix(l, "S ") {
			t.Fatalf("a flooded agent read its tables: %q", l)
		}
		if strings.HasPrefix(l, "F ") {
			flood = append(flood, l)
		}
	}
	if len(flood) != 1 {
		t.Fatalf("answer %q, want one F line", lines)
	}
	st, err := parseObservation("webserver", lines)
	if !errors.Is(err, scenarios.ErrFlooded) || !strings.Contains(err.Error(), "webserver holds ") || len(st.Sockets) != 0 {
		t.Errorf("parseObservation = %+v, %v; want ErrFlooded naming webserver", st, err)
	}
	// Under the limit, the same agent reads the tables.
	lines = askScript(t, strings.ReplaceAll(agentTemplate, "FLOOD", "10000000"), "O")
	if st, err := parseObservation("webserver", lines); err != nil || len(st.Tasks) == 0 {
		t.Errorf("under the limit: %+v, %v; want this process's threads", st, err)
	}
}
