package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestInteractiveE2E drives lab as a person does, from a terminal (a pty
// from Go) and from a script: exec -it, shell, Ctrl-C, closing the
// terminal, stop, status, cp and deploy of one file, on lab cli-tty
// (10.99.23.0/24).
func TestInteractiveE2E(t *testing.T) {
	needDocker(t)
	const name = "cli-tty"
	labBin := buildLab(t)
	with := func(args ...string) []string { return append([]string{"--name", name}, args...) }
	t.Cleanup(func() { runLab(t, with("down", "--force")...) })
	if code, out, errOut := runLab(t, with("up", "--subnet", "10.99.23.0/24", "--no-dnscheck")...); code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	// runs reports what runs on host, as lab status --json names it.
	runs := func(t *testing.T, host string) []string {
		t.Helper()
		_, out, _ := runLab(t, with("status", "--json")...)
		var st lab.LabStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		for _, h := range st.Hosts {
			if h.Host == host {
				return h.Processes
			}
		}
		t.Fatalf("status has no host %s", host)
		return nil
	}
	waitRuns := func(t *testing.T, host, proc string, want bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := runs(t, host)
			if slices.Contains(got, proc) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s runs %q; want %q running: %v", host, got, proc, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("exec -it forwards keys and the window size", func(t *testing.T) {
		p := startPTY(t, 30, 100, labBin, with("exec", "-it", "client1", "--", "sh", "-c", `stty size; read line; echo "got:$line"`)...)
		p.expect(t, "30 100")
		p.write(t, "hello\r")
		p.expect(t, "got:hello")
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d, want 0\n%s", code, p.output())
		}
	})

	t.Run("the size follows the window", func(t *testing.T) {
		p := startPTY(t, 30, 100, labBin, with("exec", "-it", "client1", "--", "sh", "-c", `while read a; do stty size; done`)...)
		if err := pty.Setsize(p.pty, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
			t.Fatal(err)
		}
		// The resize travels to the engine while we type: ask until it
		// has arrived.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(p.output(), "40 120") {
			if time.Now().After(deadline) {
				t.Fatalf("size never became 40 120:\n%s", p.output())
			}
			p.write(t, "\r")
			time.Sleep(100 * time.Millisecond)
		}
		p.write(t, "\x04") // Ctrl-D: read fails, the loop ends
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d after Ctrl-D, want 0\n%s", code, p.output())
		}
	})

	t.Run("Ctrl-C reaches the program", func(t *testing.T) {
		p := startPTY(t, 24, 80, labBin, with("exec", "-it", "webserver", "--", "sleep", "1001")...)
		waitRuns(t, "webserver", "sleep 1001", true)
		p.write(t, "\x03")
		if code := p.wait(t); code != 130 {
			t.Errorf("exit %d, want 130 (SIGINT)\n%s", code, p.output())
		}
		waitRuns(t, "webserver", "sleep 1001", false)
	})

	t.Run("closing the terminal ends the shell and what it started", func(t *testing.T) {
		p := startPTY(t, 24, 80, labBin, with("shell", "client2")...)
		p.write(t, "sleep 1002\r")
		waitRuns(t, "client2", "sleep 1002", true)
		p.pty.Close() // the terminal window closes: SIGHUP
		p.wait(t)
		waitRuns(t, "client2", "sleep 1002", false)
	})

	t.Run("at a terminal, exec without -it forwards typing", func(t *testing.T) {
		p := startPTY(t, 24, 200, labBin, with("exec", "client1", "--", "sh", "-c", `read name; echo "got:$name"`)...)
		p.write(t, "alice\r")
		p.expect(t, "got:alice")
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d, want 0\n%s", code, p.output())
		}
	})

	t.Run("with -T a terminal's user is told at once", func(t *testing.T) {
		p := startPTY(t, 24, 200, labBin, with("exec", "-T", "client1", "--", "sh", "-c", "exit 3")...)
		if code := p.wait(t); code != 3 {
			t.Errorf("exit %d, want 3", code)
		}
		if !strings.Contains(p.output(), "lab: what you type does not reach the command; for an interactive program use: lab --name cli-tty exec -it client1 -- sh -c 'exit 3'") {
			t.Errorf("no hint:\n%s", p.output())
		}
	})

	t.Run("without a terminal, exec ends what it started", func(t *testing.T) {
		code, out, errOut := runLab(t, with("exec", "client3", "--", "sh", "-c", "sleep 1003 & echo started")...)
		if code != 0 || out != "started\n" {
			t.Fatalf("exit %d, %q %q", code, out, errOut)
		}
		waitRuns(t, "client3", "sleep 1003", false)

		cmd := exec.Command(labBin, with("exec", "client3", "--", "sh", "-c", "sleep 1004 & sleep 1005")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitRuns(t, "client3", "sleep 1005", true)
		_ = cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || stderr.String() != "lab: interrupted\n" {
			t.Errorf("after Ctrl-C: %v, stderr %q; want exit 130 and lab: interrupted", err, stderr.String())
		}
		waitRuns(t, "client3", "sleep 1004", false)
		waitRuns(t, "client3", "sleep 1005", false)
	})

	t.Run("stop ends a program and status names what runs", func(t *testing.T) {
		// The built lab, which carries lab-log, as a student runs it.
		bout, err := exec.Command(labBin, with("exec", "-d", "webserver", "--", "sleep", "1006")...).CombinedOutput()
		if err != nil || string(bout) != "webserver: started sleep 1006 in the background; its output: lab --name cli-tty logs webserver sleep; stop it with: lab --name cli-tty stop webserver sleep\n" {
			t.Fatalf("exec -d: %v, %q", err, bout)
		}
		waitRuns(t, "webserver", "sleep 1006", true)
		bout, err = exec.Command(labBin, with("exec", "-d", "webserver", "--", "no-such-program")...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || string(bout) != "lab: no-such-program: no such program on webserver: check the name, or copy it there first with: lab cp\n" {
			t.Errorf("exec -d of a missing program: %v, %q; want exit 1 and one line naming it", err, bout)
		}
		// A program that ends at once is named, not lab-log.
		bout, err = exec.Command(labBin, with("exec", "-d", "webserver", "--", "sh", "-c", "exit 4")...).CombinedOutput()
		if err == nil || !strings.Contains(string(bout), "sh exited 4 at once") || strings.Contains(string(bout), "lab-log") {
			t.Errorf("exec -d of a program that fails at once: %v, %q", err, bout)
		}
		code, out, _ := runLab(t, with("status")...)
		if code != 0 || !strings.Contains(out, "sleep 1006") {
			t.Errorf("status: exit %d, does not name sleep 1006:\n%s", code, out)
		}
		code, out, _ = runLab(t, with("stop", "webserver", "python3")...)
		if code != 0 || out != "webserver: no program matching \"python3\" was running; nothing stopped (see: lab --name cli-tty status)\n" {
			t.Errorf("stop python3: exit %d, %q", code, out)
		}
		code, out, _ = runLab(t, with("stop", "webserver", "sleep")...)
		if code != 0 || !strings.HasPrefix(out, "webserver: stopped sleep 1006 (pid ") {
			t.Errorf("stop sleep: exit %d, %q", code, out)
		}
		waitRuns(t, "webserver", "sleep 1006", false)
		code, out, _ = runLab(t, with("stop", "dnsserver")...)
		if code != 0 || !strings.Contains(out, "nothing stopped") {
			t.Errorf("stop dnsserver: exit %d, %q: named must never be stopped", code, out)
		}
	})

	t.Run("a background program's output is kept for lab logs", func(t *testing.T) {
		dir := t.TempDir()
		script := filepath.Join(dir, "talker.sh")
		if err := os.WriteFile(script, []byte("echo hello from talker\necho 'Traceback: oops' >&2\nexec sleep 1008\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := runLab(t, with("cp", script, "webserver:")...); code != 0 {
			t.Fatalf("cp: exit %d, %s", code, errOut)
		}
		// The built lab, which carries lab-log, as a student runs it.
		out, err := exec.Command(labBin, with("exec", "-d", "webserver", "--", "sh", "talker.sh")...).CombinedOutput()
		if err != nil || string(out) != "webserver: started sh talker.sh in the background; its output: lab --name cli-tty logs webserver talker.sh; stop it with: lab --name cli-tty stop webserver talker.sh\n" {
			t.Fatalf("exec -d: %v, %q", err, out)
		}
		waitRuns(t, "webserver", "sleep 1008", true)
		code, logs, errOut := runLab(t, with("logs", "webserver", "talker.sh")...)
		if code != 0 || !strings.Contains(logs, "hello from talker\nTraceback: oops\n") {
			t.Errorf("logs webserver talker.sh: exit %d, %q %q", code, logs, errOut)
		}
		if code, _, errOut := runLab(t, with("logs", "webserver")...); code != 0 || !strings.Contains(errOut, "logs webserver PROGRAM (") || !strings.Contains(errOut, "talker.sh") {
			t.Errorf("logs webserver: exit %d, stderr %q does not point at the program's log", code, errOut)
		}
		if code, _, errOut := runLab(t, with("logs", "webserver", "nothing.py")...); code != 1 || !strings.HasPrefix(errOut, "lab: webserver keeps no output of nothing.py; it keeps: ") || !strings.Contains(errOut, "talker.sh") {
			t.Errorf("logs of a program that never ran: exit %d, %q", code, errOut)
		}
		if code, out, _ := runLab(t, with("stop", "webserver", "talker.sh")...); code != 0 || strings.Contains(out, "lab-log") {
			t.Errorf("stop: exit %d, %q", code, out)
		}
		waitRuns(t, "webserver", "sleep 1008", false)
		if _, logs, _ := runLab(t, with("logs", "webserver", "talker.sh")...); !strings.Contains(logs, "--- lab: ") || !strings.Contains(logs, "sh was killed by SIGTERM") && !strings.Contains(logs, "sh exited with code") {
			t.Errorf("the log does not say how the program ended:\n%s", logs)
		}
	})

	t.Run("cp both ways and deploy of one file", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "chatroom_client.py")
		if err := os.WriteFile(src, []byte("print('hi')\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runLab(t, with("cp", src, "client1:")...)
		if code != 0 || out != src+" -> client1:/root/chatroom_client.py (12 bytes)\n" {
			t.Fatalf("cp in: exit %d, %q %q", code, out, errOut)
		}
		if code, out, _ := runLab(t, with("exec", "client1", "--", "python3", "chatroom_client.py")...); code != 0 || out != "hi\n" {
			t.Errorf("running the copied file: exit %d, %q", code, out)
		}
		if code, _, errOut := runLab(t, with("exec", "client1", "--", "sh", "-c", "printf pcap > client1.pcap")...); code != 0 {
			t.Fatalf("make a file: %s", errOut)
		}
		code, out, errOut = runLab(t, with("cp", "client1:client1.pcap", dir)...)
		if code != 0 || out != "client1:/root/client1.pcap -> "+filepath.Join(dir, "client1.pcap")+" (4 bytes)\n" {
			t.Errorf("cp out: exit %d, %q %q", code, out, errOut)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "client1.pcap")); err != nil || string(b) != "pcap" {
			t.Errorf("copied out: %q %v", b, err)
		}
		code, _, errOut = runLab(t, with("cp", "client1:nope.pcap", dir)...)
		if code != 1 || errOut != "lab: client1 has no /root/nope.pcap\n" {
			t.Errorf("cp of a missing file: exit %d, %q", code, errOut)
		}
		code, out, errOut = runLab(t, with("deploy", "--files", src, "--role", "client")...)
		if code != 0 || strings.Contains(out, "webserver") || !strings.Contains(out, "client3: /root/chatroom_client.py (12 bytes)") {
			t.Errorf("deploy one file: exit %d, %q %q", code, out, errOut)
		}
	})
}

// buildLab is the lab binary that make build made, which the terminal
// tests run as a process of its own: a terminal's signals go to a
// process, not to a test.
func buildLab(t *testing.T) string {
	t.Helper()
	return tier.Bin(t, "lab")
}

// ptyProc is a program running on a pseudo-terminal, as in a terminal
// window: its controlling terminal is the pty, so Ctrl-C, resizes and
// closing reach it as they would from a person's terminal.
type ptyProc struct {
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	code int
	// readDone is closed when all the program wrote has been read.
	readDone chan struct{}
}

// pollable returns the pty's master as a file in non-blocking mode, which
// Go's poller watches: closing it wakes the goroutine reading it and
// closes the descriptor at once, so the terminal hangs up as when a window
// closes. (A blocking read would keep the master open.)
func pollable(t *testing.T, ptmx *os.File) *os.File {
	t.Helper()
	var fd int
	var derr error
	rc, err := ptmx.SyscallConn()
	if err == nil {
		err = rc.Control(func(f uintptr) { fd, derr = syscall.Dup(int(f)) })
	}
	if err == nil {
		err = derr
	}
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	ptmx.Close()
	return os.NewFile(uintptr(fd), "ptmx")
}

func startPTY(t *testing.T, rows, cols uint16, bin string, args ...string) *ptyProc {
	t.Helper()
	p := &ptyProc{cmd: exec.Command(bin, args...), done: make(chan struct{}), readDone: make(chan struct{})}
	ptmx, err := pty.StartWithSize(p.cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	f := pollable(t, ptmx)
	p.pty = f
	go func() {
		defer close(p.readDone)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		f.Close()
	})
	return p
}

func (p *ptyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *ptyProc) write(t *testing.T, s string) {
	t.Helper()
	if _, err := p.pty.Write([]byte(s)); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

func (p *ptyProc) expect(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.output(), want) {
		select {
		case <-p.done:
			if strings.Contains(p.output(), want) {
				return
			}
			t.Fatalf("exited (%d) before printing %q:\n%s", p.code, want, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 15s:\n%s", want, p.output())
		}
	}
}

func (p *ptyProc) wait(t *testing.T) int {
	t.Helper()
	return p.waitFor(t, 20)
}

// waitFor waits up to seconds for the program to end and returns its exit
// code.
func (p *ptyProc) waitFor(t *testing.T, seconds int) int {
	t.Helper()
	select {
	case <-p.done:
		select {
		case <-p.readDone:
		case <-time.After(5 * time.Second):
		}
		return p.code
	case <-time.After(time.Duration(seconds) * time.Second):
		t.Fatalf("still running after %ds:\n%s", seconds, p.output())
		return -1
	}
}
