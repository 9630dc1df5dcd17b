package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// lab exec typed at a terminal, on a fake lab whose client runs a program
// that reads one line (a name, as chatroom_client.py asks first) and
// answers with it.

// syncBuffer is a bytes.Buffer that the test reads while lab writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// execAtTerminal runs lab exec with args on a fake lab, its stdin and
// stdout a pty's terminal. The host's program reads one line and prints
// "hello, " and the line; the test types "alice". It returns lab's exit
// code, what the terminal showed, lab's stderr as it was when the
// program started, and its stderr at the end.
func execAtTerminal(t *testing.T, args ...string) (code int, screen, errAtStart, errAtEnd string) {
	t.Helper()
	eng := fake.New("local")
	if err := eng.AddLab(context.Background(), topology.Default()); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	started := make(chan string, 1)
	eng.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		started <- stderr.String()
		if stdin == nil {
			return runtime.ExecResult{Stdout: []byte("hello, \n")}, nil
		}
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		return runtime.ExecResult{Stdout: []byte("hello, " + strings.TrimSpace(line) + "\n")}, nil
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var shown syncBuffer
	go func() { _, _ = io.Copy(&shown, ptmx) }()
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), args, tty, tty, &stderr, withEngines(func(context.Context, string) (runtime.Engine, error) { return eng, nil }))
	}()
	select {
	case errAtStart = <-started:
	case <-time.After(30 * time.Second):
		t.Fatalf("lab exec did not start the program; stderr: %s", stderr.String())
	}
	if _, err := ptmx.Write([]byte("alice\n")); err != nil {
		t.Fatal(err)
	}
	code = <-done
	tty.Close()
	// What lab wrote has reached the terminal once its echo of the
	// program's answer has.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(shown.String(), "hello,") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return code, shown.String(), errAtStart, stderr.String()
}

func TestExecAtATerminalForwardsTyping(t *testing.T) {
	code, screen, _, errOut := execAtTerminal(t, "exec", "client3", "--", "python3", "chatroom_p2p_client.py")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	if !strings.Contains(screen, "hello, alice") {
		t.Errorf("the typed name did not reach the program; the terminal showed %q", screen)
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing: the typing reached the program", errOut)
	}
}

func TestExecWithoutATerminalSaysSoAtOnce(t *testing.T) {
	_, screen, atStart, _ := execAtTerminal(t, "exec", "-T", "client3", "--", "python3", "chatroom_p2p_client.py", "--name", "a b")
	want := "lab: what you type does not reach the command; for an interactive program use: lab exec -it client3 -- python3 chatroom_p2p_client.py --name 'a b'\n"
	if atStart != want {
		t.Errorf("when the program started, stderr was %q, want %q", atStart, want)
	}
	if strings.Contains(screen, "hello, alice") {
		t.Errorf("-T forwarded the typing: %q", screen)
	}
}

func TestExecFlagsThatContradict(t *testing.T) {
	tty, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"exec", "-t", "-T", "client1", "--", "true"}, tty, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "-t and -T contradict each other") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
