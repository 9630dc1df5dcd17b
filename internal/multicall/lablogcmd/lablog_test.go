package lablogcmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	code := Run([]string{path, "--", "sh", "-c", `echo out; echo err >&2; echo "$PYTHONUNBUFFERED"; exit 3`}, &stderr)
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
	Run([]string{path, "--", "sh", "-c", "echo again"}, &stderr)
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "out\n") || !strings.Contains(string(b), "again\n") {
		t.Errorf("a second run did not append:\n%s", b)
	}
}

func TestRunSaysWhatIsMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	var stderr bytes.Buffer
	if code := Run([]string{path, "--", "no-such-program-here"}, &stderr); code != exitNotFound {
		t.Errorf("exit %d, want %d", code, exitNotFound)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(stderr.String(), "no-such-program-here") || !strings.Contains(string(b), "no-such-program-here") {
		t.Errorf("stderr %q, log %q: neither names the program", stderr.String(), b)
	}
	if code := Run([]string{path, "sh"}, &stderr); code != exitUsage {
		t.Errorf("bad usage: exit %d, want %d", code, exitUsage)
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
time.sleep(60)`}, os.Stderr)
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
	if code := Run([]string{path, "--", "sh", "-c", "kill -TERM $$"}, os.Stderr); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "sh was killed by SIGTERM\n") {
		t.Errorf("the log does not name the signal:\n%s", b)
	}
}
