package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// runLab runs the CLI in-process and returns its exit code and output.
func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runLabContext(context.Background(), t, args...)
}

// runLabContext is runLab with a context.
func runLabContext(ctx context.Context, t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var out, errb bytes.Buffer
	code := run(ctx, args, devnull, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUnreachableEngineIsOneLineAndExitCode4(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	for _, args := range [][]string{{"status"}, {"down"}, {"up", "--name", "cli-unreachable"}, {"up", "--log-json", "--name", "cli-unreachable"}, {"exec", "client1", "--", "true"}, {"stop", "client1"}, {"cp", "client1:x", "."}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runLab(t, args...)
			if code != exitEngine {
				t.Errorf("exit code %d, want %d", code, exitEngine)
			}
			want := "cannot reach the Docker engine at unix://"
			if !strings.HasPrefix(stderr, "lab: "+want) || !strings.Contains(stderr, "is dockerd running?") {
				t.Errorf("stderr = %q, want it to start with %q and say what to check", stderr, "lab: "+want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

// TestBadInputIsOneLineAndChangesNothing: every misuse of the command
// line is one line that says what to do, exits 2, and is caught before
// the engine is dialled.
func TestBadInputIsOneLineAndChangesNothing(t *testing.T) {
	// An unreachable engine proves bad input is rejected before any dial.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up", "--team", "0"}, "lab: --team 0: must be between 1 and 9999"},
		{[]string{"up", "--team", "x"}, `lab: --team "x": want a whole number; see: lab up --help`},
		{[]string{"up", "--subnet", "10.1.2.3"}, `lab: --subnet "10.1.2.3": want an IPv4 /24 in CIDR notation, such as 10.20.30.0/24`},
		{[]string{"up", "--subnet", "10.1.0.0/16"}, `lab: --subnet "10.1.0.0/16": want an IPv4 /24 in CIDR notation, such as 10.20.30.0/24`},
		{[]string{"up", "--subnet6", "zzz"}, `lab: --subnet6 "zzz": want an IPv6 /64 in CIDR notation, such as fd00::/64`},
		{[]string{"up", "--subnet6", "fd00::/48"}, `lab: --subnet6 "fd00::/48": want an IPv6 /64 in CIDR notation, such as fd00::/64`},
		{[]string{"up", "--name", "Bad Name"}, `lab: --name "Bad Name": use 1-40 lowercase letters, digits, '-', '_' or '.'`},
		{[]string{"up", "--zone-dir", filepath.Join(tmp, "nope")}, "lab: --zone-dir " + filepath.Join(tmp, "nope") + ": no such folder"},
		{[]string{"up", "--zone-dir", file}, "lab: --zone-dir " + file + ": is a file; give a folder"},
		{[]string{"up", "--bogus"}, "lab: unknown flag: --bogus; see: lab up --help"},
		{[]string{"up", "extra"}, `lab: lab up takes no arguments (got "extra"); see: lab up --help`},
		{[]string{"logs", "--tail", "many", "client1"}, `lab: --tail "many": want a whole number; see: lab logs --help`},
		{[]string{"exec", "client1", "true"}, "lab: usage: lab exec [-i] [-t] [-T] [-d] HOST -- CMD [ARG...]; see: lab exec --help"},
		{[]string{"exec", "client1"}, "lab: usage: lab exec [-i] [-t] [-T] [-d] HOST -- CMD [ARG...] (got 1 argument); see: lab exec --help"},
		{[]string{"exec", "-t", "client1", "--", "true"}, "lab: -t needs a terminal, and stdin is not one: drop -t (use -i to forward piped input)"},
		{[]string{"exec", "-d", "-i", "client1", "--", "true"}, "lab: -d runs the command in the background, with no input: drop -i and -t"},
		{[]string{"shell"}, "lab: usage: lab shell HOST (got no arguments); see: lab shell --help"},
		{[]string{"shell", "client1"}, "lab: lab shell needs a terminal, and stdin is not one; to run a command use: lab exec client1 -- CMD"},
		{[]string{"stop"}, "lab: usage: lab stop HOST [PROGRAM] (got no arguments); see: lab stop --help"},
		{[]string{"deploy", "--files", filepath.Join(tmp, "nope")}, "lab: --files " + filepath.Join(tmp, "nope") + ": no such file or folder"},
		{[]string{"deploy", "--role", "teacher", "--files", file}, `lab: --role "teacher": want all, server or client`},
		{[]string{"deploy", "--bin", filepath.Join(tmp, "nope")}, "lab: --bin " + filepath.Join(tmp, "nope") + ": no such folder; build the chat programs first with: make build"},
		{[]string{"compose", "--name", "other"}, "lab: compose writes the course's lab (lab3, team 30, 10.20.30.0/24) only, so --name other does not apply; for a lab of another name use: lab up --name other"},
		{[]string{"cp", "a.py", "b.py"}, "lab: name a host on one side, e.g. lab cp a.py client1: or lab cp client1:a.py ."},
		{[]string{"cp", "client1:a", "client2:"}, "lab: copy between two hosts in two steps, through this machine: lab cp client1:a . then lab cp FILE client2:"},
		{[]string{"cp", filepath.Join(tmp, "nope.py"), "client1:"}, "lab: lab cp " + filepath.Join(tmp, "nope.py") + ": no such file or folder"},
		{[]string{"frobnicate"}, `lab: unknown command "frobnicate" for "lab"; see: lab --help`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runLab(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestGradeChecksOutputPathsFirst: a report file that cannot be written
// is a usage error before any lab is made, not after the grading.
func TestGradeChecksOutputPathsFirst(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"grade", "--junit", "/nonexistent/dir/j.xml"}, "lab: --junit /nonexistent/dir/j.xml: folder /nonexistent/dir does not exist; create it first or choose another path"},
		{[]string{"grade", "--gradescope", tmp}, "lab: --gradescope " + tmp + ": is a folder; give a file name"},
		{[]string{"grade", "--results", filepath.Join(file, "results")}, "lab: --results " + filepath.Join(file, "results") + ": cannot create it: not a directory"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runLab(t, tc.args...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit code %d, stdout %q; want %d and nothing", code, stdout, exitUsage)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestExitCodes pins the documented codes (cmd/lab/README.md, Exit codes)
// to the errors that lead to them.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"usage", usagef("--team 0"), 2},
		{"input marked as usage", asUsage(errors.New("submission empty")), 2},
		{"engine", fmt.Errorf("%w: cannot reach", runtime.ErrEngineUnreachable), 4},
		{"engine met while grading", asGraderFailure(fmt.Errorf("%w: x", runtime.ErrEngineUnreachable)), 4},
		{"grader failure", asGraderFailure(errors.New("images: build failed")), 3},
		{"lab not up", fmt.Errorf("%w: lab x", lab.ErrNotUp), 3},
		{"host down", kind(runtime.ErrHostDown, errors.New("host client1 is exited (0)")), 3},
		{"interrupted", fmt.Errorf("exec: %w", context.Canceled), 130},
		{"anything else", errors.New("a capture is already running"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestNoGoInternalText(t *testing.T) {
	err := fmt.Errorf("dns: wait for named: %w", context.DeadlineExceeded)
	if got, want := userMessage(err), "dns: wait for named: timed out"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	err = errors.New("exec in lab3-client1: Error response from daemon: container abc is not running")
	if got, want := userMessage(err), "exec in lab3-client1: container abc is not running"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMissingFilesAreSaidPlainly(t *testing.T) {
	_, err := os.Open("/nonexistent/zones")
	if got, want := userMessage(fmt.Errorf("read zones: %w", err)), "read zones: /nonexistent/zones does not exist: check the path"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runLab(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "lab ") || !strings.Contains(out, "go1.") || strings.Count(out, "\n") != 1 {
		t.Errorf("lab --version: exit %d, %q", code, out)
	}
}

func TestComposePrintsAndWritesTheGeneratedFiles(t *testing.T) {
	code, stdout, stderr := runLab(t, "compose")
	if code != 0 || stdout != string(topology.Compose(topology.Default())) {
		t.Fatalf("lab compose: exit %d, stderr %q; stdout differs from topology.Compose(topology.Default())", code, stderr)
	}
	dir := t.TempDir()
	if code, _, stderr := runLab(t, "compose", "--write", "--dir", dir); code != 0 {
		t.Fatalf("lab compose --write: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil || string(got) != stdout {
		t.Errorf("written compose.yaml differs from the printed one (%v)", err)
	}
	zones, _ := topology.Zones(topology.Default())
	for name, want := range zones {
		b, err := os.ReadFile(filepath.Join(dir, topology.ComposeZoneDir(topology.Default()), name))
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("zone file %s not written as generated (%v)", name, err)
		}
	}
}

// TestZoneErrorNamesTheTAsFile: the DNS server reports its copy of a zone
// file; the message names the file in the folder the TA gave.
func TestZoneErrorNamesTheTAsFile(t *testing.T) {
	ze := &lab.ZoneError{Output: "/etc/bind/lab/db.team30.com:5: unknown RR type 'AAA'\n"}
	err := zoneErrorInFolder(fmt.Errorf("up: %w", ze), "/home/ta/zones/")
	want := "up: dns server rejected the zones: /home/ta/zones/db.team30.com:5: unknown RR type 'AAA' (check the zones with named-checkzone, fix them and run lab up again)"
	if got := userMessage(err); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := zoneErrorInFolder(ze, ""); got != error(ze) {
		t.Errorf("without --zone-dir the error changed: %v", got)
	}
}

func TestSplitRemote(t *testing.T) {
	tests := []struct {
		arg        string
		host, path string
		remote     bool
	}{
		{"client1:", "client1", "", true},
		{"client1:client1.pcap", "client1", "client1.pcap", true},
		{"webserver:/tmp/x", "webserver", "/tmp/x", true},
		{"chatroom_client.py", "", "chatroom_client.py", false},
		{"./dir:with:colons", "", "./dir:with:colons", false},
		{":x", "", ":x", false},
	}
	for _, tt := range tests {
		host, p, remote := splitRemote(tt.arg)
		if host != tt.host || p != tt.path || remote != tt.remote {
			t.Errorf("splitRemote(%q) = %q, %q, %v; want %q, %q, %v", tt.arg, host, p, remote, tt.host, tt.path, tt.remote)
		}
	}
}

// TestLogJSONFlag: the commands that print progress take --log-json for
// it, beside their --json for the result.
func TestLogJSONFlag(t *testing.T) {
	a := &app{}
	root := newRootCmd(a)
	for _, name := range []string{"up", "grade"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"json", "log-json"} {
			if f := cmd.Flags().Lookup(flag); f == nil || f.Value.Type() != "bool" || f.DefValue != "false" {
				t.Errorf("lab %s --%s: %v, want a bool flag, off by default", name, flag, f)
			}
		}
	}
}

func TestTyposGetTheNearestCommand(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"stauts", `lab: unknown command "stauts" for "lab"; did you mean: status? see: lab --help` + "\n"},
		{"gade", `lab: unknown command "gade" for "lab"; did you mean: grade? see: lab --help` + "\n"},
		{"xyzzy", `lab: unknown command "xyzzy" for "lab"; see: lab --help` + "\n"},
	} {
		code, out, errOut := runLab(t, tc.typed)
		if code != exitUsage || out != "" || errOut != tc.want {
			t.Errorf("lab %s: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.typed, code, out, errOut, exitUsage, tc.want)
		}
	}
}

func TestHelpListsTheStaffToolsApart(t *testing.T) {
	code, out, _ := runLab(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	staff := strings.Index(out, "Staff tools")
	if staff < 0 {
		t.Fatalf("no staff section:\n%s", out)
	}
	for _, c := range []string{"analyze", "diagram", "grade"} {
		i := strings.Index(out, "\n  "+c+" ")
		if i < staff || !strings.Contains(out[i:], "[staff]") {
			t.Errorf("%s is not listed among the staff tools:\n%s", c, out)
		}
	}
	for _, c := range []string{"up", "exec", "logs", "capture", "down"} {
		if i := strings.Index(out, "\n  "+c+" "); i < 0 || i > staff {
			t.Errorf("%s is not listed among the lab's commands:\n%s", c, out)
		}
	}
	_, out, _ = runLab(t, "analyze", "--help")
	if !strings.Contains(out, "[staff]") && !strings.Contains(out, "Staff tool") {
		t.Errorf("lab analyze --help does not say it is a staff tool:\n%s", out)
	}
}

// TestOutputClosed: lab stops when the reader of its output goes away,
// and only then: a pipe whose reader is open, a file and a socket whose
// peer is there are not closed; a pipe whose reader closed is.
func TestOutputClosed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if outputClosed(int(w.Fd())) {
		t.Error("a pipe with its reader: closed, want open")
	}
	r.Close()
	if !outputClosed(int(w.Fd())) {
		t.Error("a pipe whose reader closed: open, want closed")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if outputClosed(int(f.Fd())) {
		t.Error("a file: closed, want open")
	}
}
