package lablogcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/outputtest"
	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

func TestTheLogIsBoundedAndKeepsTheLatestOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flood.log")
	w, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if n, err := w.Write([]byte(strings.Repeat("x", 36) + "\n")); n != 37 || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	w.Write([]byte("Traceback: the last line\n"))
	w.Close()
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if len(cur) > 1000 || len(old) != 1000 {
		t.Errorf("the log holds %d and %d bytes, want at most 1000 each", len(cur), len(old))
	}
	if !strings.HasSuffix(string(cur), "Traceback: the last line\n") {
		t.Errorf("the latest output is not kept: %q", cur)
	}
}

func TestRunKeepsTheOutputAndTheExit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	var stderr bytes.Buffer
	code := Run([]string{path, "--", "sh", "-c", `echo out; echo err >&2; echo "$PYTHONUNBUFFERED"; exit 3`}, nil, io.Discard, &stderr)
	if code != 3 {
		t.Errorf("exit %d, want 3 (the program's); stderr %q", code, stderr.String())
	}
	b, _ := os.ReadFile(path)
	log := string(b)
	for _, want := range []string{"--- lab: ", " started sh -c ", "\nout\nerr\n1\n", "sh exited with code 3\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	// A second run appends.
	Run([]string{path, "--", "sh", "-c", "echo again"}, nil, io.Discard, &stderr)
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "out\n") || !strings.Contains(string(b), "again\n") {
		t.Errorf("a second run did not append:\n%s", b)
	}
}

func TestRunSaysWhatIsMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	var stderr bytes.Buffer
	if code := Run([]string{path, "--", "no-such-program-here"}, nil, io.Discard, &stderr); code != exitNotFound {
		t.Errorf("exit %d, want %d", code, exitNotFound)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(stderr.String(), "no-such-program-here") || !strings.Contains(string(b), "no-such-program-here") {
		t.Errorf("stderr %q, log %q: neither names the program", stderr.String(), b)
	}
	for _, args := range [][]string{nil, {"--"}, {"--", "sh"}, {path, "--"}} {
		if code := Run(args, nil, io.Discard, &stderr); code != exitUsage {
			t.Errorf("lab-log %q: exit %d, want %d (usage)", args, code, exitUsage)
		}
	}
}

func TestRunPassesSIGTERMOn(t *testing.T) {
	py := tier.Python(t)
	path := filepath.Join(t.TempDir(), "p.log")
	done := make(chan int, 1)
	go func() {
		// Python answers SIGTERM in its handler at once, whatever it
		// waits on (a shell's trap waits for its foreground child).
		done <- Run([]string{path, "--", py, "-c", `import signal, sys, time
def term(*_):
    print("got TERM")
    sys.exit(7)
signal.signal(signal.SIGTERM, term)
print("ready")
time.sleep(60)`}, nil, io.Discard, os.Stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A line of its own: the start line quotes the command, which
		// holds the word too.
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "\nready\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the program did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The signal a lab stop sends to lab-log reaches the program.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 7 {
		t.Errorf("exit %d, want 7 (the program's answer to SIGTERM)", code)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "got TERM") {
		t.Errorf("the program did not see SIGTERM:\n%s", b)
	}
}

func TestRunSaysWhichSignalEndedTheProgram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	if code := Run([]string{path, "--", "sh", "-c", "kill -TERM $$"}, nil, io.Discard, os.Stderr); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "sh was killed by SIGTERM\n") {
		t.Errorf("the log does not name the signal:\n%s", b)
	}
}

func TestProgramNameForStop(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"python3", "chatroom_server.py"}, "chatroom_server.py"},
		{[]string{"python3", "-u", "chatroom_p2p_server.py", "5000"}, "chatroom_p2p_server.py"},
		{[]string{"./chat-server", "--mode", "p2p"}, "./chat-server"},
		{[]string{"tcpdump", "-i", "eth0"}, "tcpdump"},
	}
	for _, tt := range tests {
		if got := ProgramName(tt.argv); got != tt.want {
			t.Errorf("ProgramName(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}

// The form lab terminals types shows the output and keeps it under the
// program's name; Ctrl-C, which the terminal sends the whole job, reaches
// the program once, and lab-log keeps what the program says as it ends.
func TestRunOnATerminalShowsAndKeeps(t *testing.T) {
	py := tier.Python(t)
	dir = t.TempDir()
	t.Cleanup(func() { dir = Dir })
	prog := filepath.Join(t.TempDir(), "chatroom_server.py")
	if err := os.WriteFile(prog, []byte(`import os, signal, sys, time
seen = 0
def intr(*_):
    global seen
    seen += 1
    print("got", seen)
signal.signal(signal.SIGINT, intr)
print("pid", os.getpid(), "read", sys.stdin.readline().strip())
while not seen:
    time.sleep(0.01)
time.sleep(0.5)
print("interrupted", seen, "times")
sys.exit(130)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// lab-log's terminal: a pipe whose output the test waits on.
	pr, pw := io.Pipe()
	out := outputtest.Watch(pr)
	done := make(chan int, 1)
	go func() {
		done <- Run([]string{py, prog}, strings.NewReader("alice\n"), pw, os.Stderr)
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The whole first line, which says what the program read.
	out.WaitFor(t, ctx, "\n")
	var pid int
	var word string
	fmt.Sscanf(out.String(), "pid %d read %s", &pid, &word)
	if pid == 0 || word != "alice" {
		t.Fatalf("the program did not read the input: %q", out.String())
	}
	// Ctrl-C: the terminal signals the program and lab-log alike (one
	// after the other here, as two signals at once would merge into one).
	syscall.Kill(pid, syscall.SIGINT)
	out.WaitFor(t, ctx, "got 1\n")
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	if code := <-done; code != 130 {
		t.Errorf("exit %d, want 130 (the program's)", code)
	}
	// The terminal ends with the program's last line, once interrupted.
	out.WaitFor(t, ctx, "interrupted 1 times\n")
	log, _ := os.ReadFile(filepath.Join(dir, "chatroom_server.py.log"))
	if !strings.Contains(string(log), "interrupted 1 times\n") {
		t.Errorf("the log lacks the program's last line, once interrupted:\n%s", log)
	}
}
