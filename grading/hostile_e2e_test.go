package grading_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// hostileOnly is the scenarios both grading runs of TestHostileSubmissions
// use: every Milestone 1 check, where the hostile servers attack, and two
// Milestone 4 checks afterwards: m4-register, whose server is unchanged but
// for password-hider's, to show that the lab recovered, and the password
// search that password-hider tries to dodge.
const hostileOnly = `^(m1-.*|m4-register|m4-passwords-hashed)$`

// hostileRSSLimit is the most the lab grade process may hold at once while
// it grades the hostile set.
const hostileRSSLimit = 300 * 1000 * 1000

// hostileMarkerEnv is set, in the grader's environment, to the secret that
// host-file-link's env.txt would expose (through /proc/self/environ).
const hostileMarkerEnv = "LAB3_HOSTILE_MARKER"

// refusedHostile are the hostile folders that must be refused before
// anything runs, each with what its one-line refusal must say.
var refusedHostile = []struct {
	name string
	want []string
}{
	{"host-file-link", []string{"bad submission: ", "host-file-link: env.txt is a symbolic link"}},
	{"many-files", []string{"bad submission:", "holds more than 64 files"}},
	{"sparse-files", []string{"bad submission: ", "sparse-files: blob00.bin is 15.3 MiB", "at most 2 MiB"}},
}

// gradedHostile are the hostile folders that are graded; they attack the
// lab from the Milestone 1 server.
var gradedHostile = []string{"huge-output", "fork-bomb", "memory-hog", "disk-filler", "network-escape",
	"python-startup", "fork-chain", "sysv-shm", "password-hider", "socket-flood"}

// deservedFailures are the checks a graded hostile submission fails
// because its programs deserve it; on every other check it gets exactly
// what the correct submission gets alone (those named here).
var deservedFailures = map[string][]string{
	"python-startup": {"m1-duplicate-rejected"}, // its server has no duplicate-name check
	"fork-chain":     {"m1-restart-at-once"},    // its chain takes the port the moment its server is killed
	"sysv-shm":       nil,
	"password-hider": {"m4-passwords-hashed"}, // it keeps every password rot13'd
	// Its server holds 5,000 sockets, so the grader cannot see which port
	// it listens on: every check of that server fails, saying why.
	"socket-flood": {"m1-broadcast", "m1-duplicate-rejected", "m1-join-notice", "m1-leave-notice",
		"m1-no-echo", "m1-quit", "m1-restart-at-once", "m1-username-rules"},
}

// TestHostileSubmissions grades the hostile test set (testdata/hostile, one
// folder per attack, see each ATTACK.md) with the real lab grade command,
// three at a time, next to a correct submission, and checks that the
// grader holds: the refused folders are refused in one line each, no secret
// behind a link reaches any output, the grader's memory stays bounded, the
// attacks stop at the sandbox's limits, the correct submission gets exactly
// the results it gets alone, and nothing is left behind.
func TestHostileSubmissions(t *testing.T) {
	d, _ := labcontainers.Engine(t)
	labBin := buildLabCommand(t)
	marker := "lab3-secret-" + randomHexT(t, 12)
	t.Setenv(hostileMarkerEnv, marker)
	work := t.TempDir()
	hostile := filepath.Join("..", "testdata", "hostile")
	faithful, err := filepath.Abs(filepath.Join("..", "testdata", "students", "faithful"))
	if err != nil {
		t.Fatal(err)
	}
	var outputs [][]byte // everything the grader printed or wrote, for the marker

	// The folders that cannot be committed as they are attacked: copies
	// with their links, their 10,000 files or their sparse giants.
	secret := filepath.Join(work, "host-secret.txt")
	if err := os.WriteFile(secret, []byte("the grader's own notes: "+marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refusedDirs := map[string]string{}
	for _, r := range refusedHostile {
		refusedDirs[r.name] = composeHostile(t, faithful, filepath.Join(hostile, r.name), filepath.Join(work, "refused", r.name))
	}
	mustSymlink(t, secret, filepath.Join(refusedDirs["host-file-link"], "notes.txt"))
	mustSymlink(t, "/proc/self/environ", filepath.Join(refusedDirs["host-file-link"], "env.txt"))
	for i := 0; i < 10000; i++ {
		name := filepath.Join(refusedDirs["many-files"], fmt.Sprintf("note%05d.txt", i))
		if err := os.WriteFile(name, []byte("note\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i++ {
		f, err := os.Create(filepath.Join(refusedDirs["sparse-files"], fmt.Sprintf("blob%02d.bin", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(16 * 1000 * 1000); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Refused: one line naming the problem, in Go and from lab grade,
	// before anything runs and without reading through the links.
	for _, r := range refusedHostile {
		t.Run("refused/"+r.name, func(t *testing.T) {
			dir := refusedDirs[r.name]
			_, err := scenarios.LoadSubmission(dir)
			if !errors.Is(err, scenarios.ErrSubmission) {
				t.Fatalf("LoadSubmission = %v, want a refusal (ErrSubmission)", err)
			}
			msg := err.Error()
			outputs = append(outputs, []byte(msg))
			checkOneLine(t, "LoadSubmission", msg, r.want)

			results := filepath.Join(work, "results-"+r.name)
			run := runLab(t, labBin, "grade", "--results", results, "--only", hostileOnly, dir)
			outputs = append(outputs, run.stdout, run.stderr)
			if run.code != 1 || len(run.stdout) != 0 {
				t.Errorf("lab grade %s: exit %d, stdout %q; want exit 1 and nothing on stdout", r.name, run.code, run.stdout)
			}
			checkOneLine(t, "lab grade", strings.TrimSuffix(string(run.stderr), "\n"), append([]string{"lab: "}, r.want...))
			if _, err := os.Stat(results); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("lab grade %s made a results folder (%v): nothing may be graded", r.name, err)
			}
			t.Logf("%s: %s (lab grade: %.0f MB RSS)", r.name, run.stderr, float64(run.maxRSS)/1e6)
		})
	}

	// Graded: the correct submission alone, then with the hostile set.
	aloneDir := filepath.Join(work, "alone")
	alone := runLab(t, labBin, "grade", "--labs", "1", "--results", aloneDir, "--only", hostileOnly,
		"--gradescope", filepath.Join(work, "alone-gradescope.json"), "--junit", filepath.Join(work, "alone-junit.xml"),
		"--json", faithful)
	outputs = append(outputs, alone.stdout, alone.stderr)
	aloneReports := decodeReports(t, "alone", alone)
	if alone.code != 0 || len(aloneReports) != 1 || !aloneReports[0].Passed {
		t.Fatalf("faithful alone: exit %d, want 0 with every check passed:\n%s", alone.code, explainAll(aloneReports))
	}

	togetherDir := filepath.Join(work, "together")
	args := []string{"grade", "--parallel", "3", "--labs", "1", "--results", togetherDir, "--only", hostileOnly,
		"--junit", filepath.Join(work, "together-junit.xml"), "--json", faithful}
	for _, h := range gradedHostile {
		args = append(args, composeHostile(t, faithful, filepath.Join(hostile, h), filepath.Join(work, "graded", h)))
	}
	together := runLab(t, labBin, args...)
	outputs = append(outputs, together.stdout, together.stderr)
	reports := decodeReports(t, "together", together)
	byName := map[string]grading.Report{}
	for _, r := range reports {
		byName[r.Submission] = r
	}
	if len(byName) != 1+len(gradedHostile) {
		t.Fatalf("lab grade returned %d reports, want %d:\n%s", len(reports), 1+len(gradedHostile), explainAll(reports))
	}
	if together.code == 0 || together.code == 2 {
		t.Errorf("lab grade of the hostile set exited %d, want 1 (failed) or 3 (incomplete)", together.code)
	}

	t.Logf("lab grade peak RSS: %.0f MB alone, %.0f MB with the hostile set (limit %.0f MB)",
		float64(alone.maxRSS)/1e6, float64(together.maxRSS)/1e6, float64(hostileRSSLimit)/1e6)
	if together.maxRSS > hostileRSSLimit {
		t.Errorf("lab grade held %.0f MB at its peak with the hostile set, want at most %.0f MB",
			float64(together.maxRSS)/1e6, float64(hostileRSSLimit)/1e6)
	}
	t.Logf("faithful graded in %.1fs alone (whole run %.1fs), %.1fs next to the hostile set (whole run %.1fs)",
		aloneReports[0].Duration.Seconds(), alone.elapsed.Seconds(), byName["faithful"].Duration.Seconds(), together.elapsed.Seconds())

	// The correct submission is graded as if it were alone.
	if got, want := checkOutcomes(byName["faithful"]), checkOutcomes(aloneReports[0]); got != want {
		t.Errorf("faithful next to the hostile set got\n%s\nalone it got\n%s\n%s", got, want, explain(byName["faithful"]))
	}

	// Each hostile submission gets a report of its own making: failures
	// are allowed, but no check may be ERROR (a regrade) because of what the
	// submission itself did, or it could keep itself from ever being graded.
	nScenarios := len(aloneReports[0].Results)
	for _, name := range gradedHostile {
		r := byName[name]
		t.Logf("%s: %d/%d, failed %v, incomplete %v, in %.1fs", name, r.Score, r.MaxScore, failedChecks(r, true), r.Incomplete, r.Duration.Seconds())
		if len(r.Results) != nScenarios {
			t.Errorf("%s: %d results, want %d:\n%s", name, len(r.Results), nScenarios, explain(r))
		}
		for _, res := range r.Results {
			if res.Failure != nil {
				t.Logf("  %s %s at %s: %.200s", res.Scenario, res.Status, res.Failure.Step, res.Failure.Got)
			}
			if res.Status == scenarios.Error {
				t.Errorf("%s %s: ERROR (%s: %s): the submission's own attack must not make its check ungradable",
					name, res.Scenario, res.Failure.Expectation, res.Failure.Got)
			}
		}
		if r.Incomplete || r.Error != "" {
			t.Errorf("%s: report incomplete (%q): lab grade would ask for a regrade for ever", name, r.Error)
		}
	}

	// What each attack achieved, from the server's own transcripts.
	serverLogs := func(sub string) map[string]string {
		out := map[string]string{}
		files, _ := filepath.Glob(filepath.Join(togetherDir, sub, "m1-*", "webserver.log"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(filepath.Dir(f))] = string(b)
		}
		if len(out) == 0 {
			t.Errorf("%s: no webserver.log under %s", sub, filepath.Join(togetherDir, sub))
		}
		return out
	}
	status := func(sub, scenario string) scenarios.Status {
		for _, res := range byName[sub].Results {
			if res.Scenario == scenario {
				return res.Status
			}
		}
		return ""
	}

	t.Run("huge-output", func(t *testing.T) {
		dropped := 0
		for sc, log := range serverLogs("huge-output") {
			if len(log) > 600<<10 {
				t.Errorf("%s: webserver.log is %d bytes, want the transcript capped near 512 KiB", sc, len(log))
			}
			if m := regexp.MustCompile(`… (\d+) bytes dropped …`).FindStringSubmatch(log); m != nil {
				n, _ := strconv.Atoi(m[1])
				dropped += n
			}
		}
		if dropped == 0 {
			t.Error("no transcript says bytes were dropped: the server's output never reached the cap")
		}
		t.Logf("huge-output: %.1f MiB of server output dropped from the transcripts", float64(dropped)/(1<<20))
	})
	t.Run("fork-bomb", func(t *testing.T) {
		if st := status("fork-bomb", "m4-register"); st != scenarios.Passed {
			t.Errorf("m4-register after the fork bombs: %s, want passed (the host must be clean again):\n%s", st, explain(byName["fork-bomb"]))
		}
		// Where the grader could not look at the full host, the failure
		// says why.
		for _, res := range byName["fork-bomb"].Results {
			if res.Failure != nil && fmt.Sprint(res.Failure.Step) == "listening" && !strings.Contains(res.Failure.Got, "process table") {
				t.Errorf("%s: %q, want it to name the full process table", res.Scenario, res.Failure.Got)
			}
		}
	})
	t.Run("memory-hog", func(t *testing.T) {
		most := 0
		for _, log := range serverLogs("memory-hog") {
			for _, m := range regexp.MustCompile(`holding (\d+) MiB`).FindAllStringSubmatch(log, -1) {
				n, _ := strconv.Atoi(m[1])
				most = max(most, n)
			}
		}
		if most == 0 || most >= 256 {
			t.Errorf("memory-hog held at most %d MiB, want it stopped below the 256 MiB limit", most)
		}
		if st := status("memory-hog", "m1-broadcast"); st != scenarios.Failed {
			t.Errorf("m1-broadcast with the server out of memory: %s, want failed", st)
		}
		t.Logf("memory-hog: killed after holding %d MiB", most)
	})
	t.Run("disk-filler", func(t *testing.T) {
		limits := map[string]int{"filler.bin": 64, "/tmp/filler.bin": 16}
		re := regexp.MustCompile(`FILLED (\S+): (stopped after|wrote all) (\d+) MiB`)
		seen := map[string]int{}
		for sc, log := range serverLogs("disk-filler") {
			for _, m := range re.FindAllStringSubmatch(log, -1) {
				n, _ := strconv.Atoi(m[3])
				seen[m[1]] = max(seen[m[1]], n)
				if m[2] != "stopped after" || n > limits[m[1]] {
					t.Errorf("%s: %s, want it stopped within %d MiB", sc, m[0], limits[m[1]])
				}
			}
		}
		if len(seen) != len(limits) {
			t.Errorf("disk-filler reported %v, want both files", seen)
		}
		t.Logf("disk-filler: stopped at %v MiB", seen)
	})
	// The attacks on the grader's own tools, on the reset and on the
	// password search: each gets what its programs deserve.
	for name, deserved := range deservedFailures {
		t.Run(name, func(t *testing.T) {
			want := map[string]scenarios.Status{}
			for _, res := range aloneReports[0].Results {
				want[res.Scenario] = res.Status
			}
			for _, sc := range deserved {
				want[sc] = scenarios.Failed
			}
			for _, res := range byName[name].Results {
				if res.Status != want[res.Scenario] {
					got := ""
					if res.Failure != nil {
						got = fmt.Sprintf(" (%s: %.300s)", res.Failure.Expectation, res.Failure.Got)
					}
					t.Errorf("%s: %s%s, want %s", res.Scenario, res.Status, got, want[res.Scenario])
				}
			}
		})
	}
	t.Run("socket-flood/why", func(t *testing.T) {
		for _, res := range byName["socket-flood"].Results {
			if res.Failure != nil && !strings.Contains(res.Failure.Got, "webserver holds ") {
				t.Errorf("%s: %q, want it to say how many sockets webserver holds", res.Scenario, res.Failure.Got)
			}
		}
	})
	t.Run("network-escape", func(t *testing.T) {
		attempts := 0
		for sc, log := range serverLogs("network-escape") {
			for _, line := range strings.Split(log, "\n") {
				if !strings.Contains(line, "ESCAPE ") {
					continue
				}
				attempts++
				if !strings.Contains(line, ": blocked (") {
					t.Errorf("%s: %s", sc, line)
				}
			}
		}
		if attempts == 0 {
			t.Error("network-escape printed no attempt")
		}
	})

	// The secret behind host-file-link's links is nowhere: not in what
	// lab grade printed, not in any file it wrote, not in any writer's
	// output for any report.
	for _, r := range append(aloneReports, reports...) {
		var b bytes.Buffer
		_ = r.WriteGradescope(&b)
		_ = r.WriteTable(&b)
		outputs = append(outputs, b.Bytes())
	}
	for i, out := range outputs {
		if bytes.Contains(out, []byte(marker)) {
			t.Errorf("output %d holds the secret behind the link:\n%s", i, out)
		}
	}
	err = filepath.WalkDir(work, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() || path == secret {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds the secret behind the link", path)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	// Nothing is left behind.
	for _, run := range []labRun{alone, together} {
		for _, name := range gradedLabs(run) {
			checkLabGone(t, d, name)
		}
	}
}

// labRun is one run of the lab command.
type labRun struct {
	stdout, stderr []byte
	code           int
	maxRSS         int64 // bytes, the process's peak resident set
	elapsed        time.Duration
}

// runLab runs the lab command and measures its peak memory.
//
// The peak is read from the process's own VmHWM while it runs, not from
// wait4's ru_maxrss: a child started from this (race-instrumented, large)
// test process inherits the parent's peak at exec, which would charge the
// test's memory to lab grade.
func runLab(t *testing.T, bin string, args ...string) labRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// A test binary that dies (its -timeout) must not leave lab grade
	// grading on: it gets SIGTERM and removes its labs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var hwm int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	run := labRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(began), maxRSS: <-peak}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("lab %s: %v", strings.Join(args, " "), err)
	}
	run.code = cmd.ProcessState.ExitCode()
	return run
}

// vmHWM is a running process's peak resident set in bytes (0 once it is
// gone).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// buildLabCommand is the lab binary that make build made.
func buildLabCommand(t *testing.T) string {
	t.Helper()
	return tier.Bin(t, "lab")
}

// decodeReports reads what lab grade --json printed.
func decodeReports(t *testing.T, what string, run labRun) []grading.Report {
	t.Helper()
	var reports []grading.Report
	if err := json.Unmarshal(run.stdout, &reports); err != nil {
		t.Fatalf("%s: lab grade exited %d and printed no reports (%v):\n%s", what, run.code, err, run.stderr)
	}
	t.Logf("%s: lab grade exited %d in %.1fs:\n%s", what, run.code, run.elapsed.Seconds(), run.stderr)
	return reports
}

func explainAll(reports []grading.Report) string {
	var b strings.Builder
	for _, r := range reports {
		b.WriteString(explain(r))
	}
	return b.String()
}

// checkOutcomes is a report's checks as status and points, one per line.
func checkOutcomes(r grading.Report) string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s %s %d/%d\n", res.Scenario, res.Status, res.Points, res.MaxPoints)
	}
	return b.String()
}

// checkOneLine checks that msg is one line holding every wanted text.
func checkOneLine(t *testing.T, what, msg string, want []string) {
	t.Helper()
	if strings.Contains(msg, "\n") {
		t.Errorf("%s: %d lines, want one:\n%s", what, strings.Count(msg, "\n")+1, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: %q, want it to say %q", what, msg, w)
		}
	}
}

// gradedLabs are the names of the labs a lab grade run brought up, read
// from its progress lines.
func gradedLabs(run labRun) []string {
	var out []string
	for _, m := range regexp.MustCompile(`lab (\S+) (?:up \(|could not start)`).FindAllSubmatch(run.stderr, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// checkLabGone fails when any container, network or volume of the lab is
// still there.
func checkLabGone(t *testing.T, d runtime.Engine, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	labels := map[string]string{topology.LabelLab: name}
	if cs, err := d.Containers(ctx, labels); err != nil || len(cs) != 0 {
		t.Errorf("lab %s left %d containers behind (%v)", name, len(cs), err)
	}
	if vs, err := d.Volumes(ctx, labels); err != nil || len(vs) != 0 {
		t.Errorf("lab %s left volumes %v behind (%v)", name, vs, err)
	}
	nets, err := d.Networks(ctx)
	if err != nil {
		t.Errorf("list networks: %v", err)
	}
	for _, n := range nets {
		if n.Labels[topology.LabelLab] == name {
			t.Errorf("lab %s left network %s behind", name, n.Name)
		}
	}
}

// composeHostile makes the submission of one attack in dst: the correct
// programs of base with the attack's own files (its M1 server, ATTACK.md)
// laid over them. testdata/hostile keeps only what each attack changes.
func composeHostile(t *testing.T, base, attack, dst string) string {
	t.Helper()
	copyRegularFiles(t, base, dst)
	copyRegularFiles(t, attack, dst)
	return dst
}

// copyRegularFiles copies the regular files at the top of src into dst.
func copyRegularFiles(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func randomHexT(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
