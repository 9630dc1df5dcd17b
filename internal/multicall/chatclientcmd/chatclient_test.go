package chatclientcmd

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

// runWith runs the client with stdin holding input and returns its error
// and output.
func runWith(t *testing.T, input string, args ...string) (string, error) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(inW, input)
		inW.Close()
	}()
	err = run(args, inR, out, io.Discard)
	inR.Close()
	data, _ := os.ReadFile(out.Name())
	return string(data), err
}

func TestClientExitStatus(t *testing.T) {
	srv := chattest.NewServer(t)
	out, err := runWith(t, "alice\nhello\n", "--server", srv.Addr, "--bind", "127.0.0.71")
	if err != nil {
		t.Fatalf("run = %v, want success at the end of input", err)
	}
	if !strings.Contains(out, "[Server] Your username (alice) is valid. You can start chatting now.\n") {
		t.Fatalf("output:\n%s", out)
	}
	out, err = runWith(t, "bad name\n", "--server", srv.Addr)
	if err == nil || !strings.Contains(err.Error(), "Invalid username. Please try again.") {
		t.Fatalf("run = %v, want the server's refusal", err)
	}
	if !strings.Contains(out, "[Server] Invalid username. Please try again.\n") {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := runWith(t, "", "--mode", "nonsense"); err == nil {
		t.Fatal("a bad --mode was accepted")
	}
}
