package main

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/lab/labtest"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// lab down on a fake engine: what it finds on the hosts, what it saves
// where and what it says, with and without a terminal.

const downLab = "down-unit"

// workOnFake is a lab that is up on a fake engine whose hosts answer
// lab's work commands, with its state (and so its saved work) in a folder
// of the test's own.
type workOnFake struct {
	t     *testing.T
	e     *fake.Engine
	hosts *labtest.Hosts
	made  time.Time
	saved string // lab.SavedDir
}

func newWorkOnFake(t *testing.T) *workOnFake {
	t.Helper()
	t.Setenv(lab.EnvStateDir, t.TempDir())
	e := fake.New("fake")
	topo, err := topology.New(downLab, 30, topology.DefaultSubnet4, netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddLab(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	cs, _ := e.Containers(context.Background(), nil)
	return &workOnFake{t: t, e: e, hosts: labtest.New(e), made: cs[0].Created, saved: lab.SavedDir(downLab)}
}

// file puts a file on a host, changed a minute after up.
func (w *workOnFake) file(host, path, data string) {
	w.t.Helper()
	err := w.e.SetFile(downLab, host, runtime.File{Path: path, Mode: 0o644, Data: []byte(data), ModTime: w.made.Add(time.Minute)})
	if err != nil {
		w.t.Fatal(err)
	}
}

// down runs lab --name down-unit down with args, its stdin stdin (nil:
// /dev/null, no terminal) and its stdout stdout (nil: returned as out).
func (w *workOnFake) down(ctx context.Context, stdin, stdout *os.File, args ...string) (code int, out, errOut string) {
	w.t.Helper()
	if stdin == nil {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			w.t.Fatal(err)
		}
		defer devnull.Close()
		stdin = devnull
	}
	var outb, errb bytes.Buffer
	var o io.Writer = &outb
	if stdout != nil {
		o = stdout
	}
	connect := func(context.Context, string) (runtime.Engine, error) { return w.e, nil }
	code = run(ctx, append([]string{"--name", downLab, "down"}, args...), stdin, o, &errb, withEngines(connect))
	return code, outb.String(), errb.String()
}

// removed reports whether nothing of the lab is left.
func (w *workOnFake) removed() bool { return len(w.e.Objects(downLab)) == 0 }

// savedFile is a saved file's content, "" if it is not there.
func (w *workOnFake) savedFile(rel string) string {
	b, _ := os.ReadFile(filepath.Join(w.saved, filepath.FromSlash(rel)))
	return string(b)
}

func TestDownWithoutATerminal(t *testing.T) {
	removedLine := "lab down-unit removed: 5 container(s), 1 network(s), 0 volume(s)\n"
	tests := []struct {
		name    string
		setup   func(w *workOnFake)
		args    []string
		code    int
		out     func(w *workOnFake) string // exactly
		errOut  string                     // contained; "" means none
		removed bool
		saved   map[string]string // below the saved folder → content
	}{
		{
			name:    "nothing changed: removed as before, without a word more",
			setup:   func(w *workOnFake) {},
			out:     func(*workOnFake) string { return removedLine },
			removed: true,
		},
		{
			name: "work is saved, a line a host, then the lab removed",
			setup: func(w *workOnFake) {
				w.hosts.StartCapture(downLab, "webserver", "chatserver.pcap", []byte("pcap"))
				w.file("webserver", "/root/users.json", `{"alice":"pw"}`)
				w.file("client1", "/root/chatroom_client.py", "print('edited')\n")
			},
			out: func(w *workOnFake) string {
				return "webserver: saved 2 files (18 B) in " + filepath.Join(w.saved, "webserver") + "/: lab-capture/chatserver.pcap, users.json\n" +
					"client1: saved 1 file (16 B) in " + filepath.Join(w.saved, "client1") + "/: chatroom_client.py\n" +
					removedLine
			},
			removed: true,
			saved: map[string]string{
				"webserver/lab-capture/chatserver.pcap": "pcap",
				"webserver/users.json":                  `{"alice":"pw"}`,
				"client1/chatroom_client.py":            "print('edited')\n",
			},
		},
		{
			name: "a file too large to save is named and left behind",
			setup: func(w *workOnFake) {
				w.file("client2", "/root/big.pcap", strings.Repeat("x", lab.MaxSavedFile+1))
			},
			out: func(w *workOnFake) string {
				return "client2: saved nothing in " + filepath.Join(w.saved, "client2") + "/; too large to save, left behind: /root/big.pcap (33.6 MB)\n" +
					removedLine
			},
			removed: true,
		},
		{
			name: "--force removes the lab without looking",
			setup: func(w *workOnFake) {
				w.file("webserver", "/root/users.json", "{}")
			},
			args:    []string{"--force"},
			out:     func(*workOnFake) string { return removedLine },
			removed: true,
		},
		{
			name: "a stopped host is named and removed anyway",
			setup: func(w *workOnFake) {
				w.file("client3", "/root/users.json", "{}")
				if err := w.e.Lab(downLab).Kill(context.Background(), "client3"); err != nil {
					t.Fatal(err)
				}
			},
			out:     func(*workOnFake) string { return removedLine },
			errOut:  "lab: warning: client3 was not looked at for work (it is exited (137)); removing it anyway\n",
			removed: true,
		},
		{
			name: "work that cannot be saved keeps the lab",
			setup: func(w *workOnFake) {
				w.file("webserver", "/root/users.json", "{}")
				if err := os.MkdirAll(filepath.Dir(w.saved), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(w.saved, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			code:   exitFailed,
			out:    func(*workOnFake) string { return "" },
			errOut: "; lab down-unit was not removed (lab down --force removes it without saving)\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkOnFake(t)
			tc.setup(w)
			code, out, errOut := w.down(context.Background(), nil, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if want := tc.out(w); out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			if tc.errOut == "" && errOut != "" || !strings.Contains(errOut, tc.errOut) || strings.Count(errOut, "\n") > 1 {
				t.Errorf("stderr %q, want one line with %q", errOut, tc.errOut)
			}
			if w.removed() != tc.removed {
				t.Errorf("lab removed: %v, want %v (left: %v)", w.removed(), tc.removed, w.e.Objects(downLab))
			}
			for rel, want := range tc.saved {
				if got := w.savedFile(rel); got != want {
					t.Errorf("saved %s: %q, want %q", rel, got, want)
				}
			}
			if tc.saved == nil {
				if entries, _ := os.ReadDir(w.saved); len(entries) > 0 {
					t.Errorf("saved %v, want nothing", entries)
				}
			}
		})
	}
}

// terminal is a pseudo-terminal lab runs on: what it shows, and keys.
type terminal struct {
	t    *testing.T
	ptmx *os.File
	tty  *os.File

	mu    sync.Mutex
	shown strings.Builder
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	term := &terminal{t: t, ptmx: ptmx, tty: tty}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.shown.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
	})
	return term
}

// screen is everything shown so far, with the terminal's line ends.
func (term *terminal) screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return strings.ReplaceAll(term.shown.String(), "\r\n", "\n")
}

// waitFor waits until the screen has shown s n times.
func (term *terminal) waitFor(s string, n int) {
	term.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(term.screen(), s) < n {
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q %d time(s):\n%s", s, n, term.screen())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// typeKeys types keys, as a person at the terminal does.
func (term *terminal) typeKeys(keys string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(keys)); err != nil {
		term.t.Fatal(err)
	}
}

func TestDownAsksOnATerminal(t *testing.T) {
	question := "save it under " + filepath.Join("STATE", downLab, "saved") + "/ and remove the lab? [Y/n/q] "
	tests := []struct {
		name    string
		keys    []string // typed, each once the question is shown again
		ctrlC   bool     // then Ctrl-C
		code    int
		errOut  string
		removed bool
		saved   bool
	}{
		{name: "Enter saves, then removes", keys: []string{"\n"}, removed: true, saved: true},
		{name: "y saves, then removes", keys: []string{"y\n"}, removed: true, saved: true},
		{name: "n removes without saving", keys: []string{"n\n"}, removed: true},
		{name: "q keeps the lab", keys: []string{"q\n"}, code: exitFailed,
			errOut: "lab: lab down-unit left as it was: nothing saved or removed\n"},
		{name: "Ctrl-D keeps the lab", keys: []string{"\x04"}, code: exitFailed,
			errOut: "lab: lab down-unit left as it was: nothing saved or removed\n"},
		{name: "Ctrl-C keeps the lab", ctrlC: true, code: exitInterrupted, errOut: "lab: interrupted\n"},
		{name: "another answer asks again", keys: []string{"maybe\n", "Y\n"}, removed: true, saved: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkOnFake(t)
			w.hosts.StartCapture(downLab, "webserver", "chatserver.pcap", []byte("pcap"))
			w.file("client1", "/root/users.json", `{"alice":"pw"}`)
			term := newTerminal(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				code   int
				errOut string
			}
			done := make(chan result, 1)
			go func() {
				code, _, errOut := w.down(ctx, term.tty, term.tty)
				done <- result{code, errOut}
			}()
			term.waitFor("[Y/n/q] ", 1)
			for i, k := range tc.keys {
				if i > 0 {
					term.waitFor("answer y (save, then remove), n (remove without saving) or q (keep the lab): ", i)
				}
				term.typeKeys(k)
			}
			if tc.ctrlC {
				cancel() // what SIGINT does to lab's context
			}
			var res result
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("lab down did not return; the terminal shows:\n%s", term.screen())
			}

			if tc.ctrlC {
				// lab's question still reads the terminal, as in a
				// process that has not exited yet; a line ends that.
				term.typeKeys("\n")
			}
			if tc.removed {
				term.waitFor("lab down-unit removed: 5 container(s)", 1)
			}
			screen := term.screen()
			stateDir := filepath.Dir(filepath.Dir(w.saved))
			for _, want := range []string{
				"lab down-unit holds work that removing it would destroy:\n",
				"  webserver  capture running: chatserver.pcap (lab capture start)\n",
				"  client1    /root/users.json  14 B  changed ",
				strings.Replace(question, "STATE", stateDir, 1),
			} {
				if !strings.Contains(screen, want) {
					t.Errorf("the terminal does not show %q:\n%s", want, screen)
				}
			}
			if res.code != tc.code || res.errOut != tc.errOut && tc.errOut != "" {
				t.Errorf("exit %d, stderr %q; want %d, %q", res.code, res.errOut, tc.code, tc.errOut)
			}
			if w.removed() != tc.removed {
				t.Errorf("lab removed: %v, want %v", w.removed(), tc.removed)
			}
			if got := w.savedFile("client1/users.json") != ""; got != tc.saved {
				t.Errorf("users.json saved: %v, want %v", got, tc.saved)
			}
			if !tc.removed && !w.hosts.Capturing(downLab, "webserver") {
				t.Error("the capture was stopped although the lab was kept")
			}
			if tc.saved && !strings.Contains(screen, "client1: saved 1 file (14 B) in "+filepath.Join(w.saved, "client1")+"/: users.json\n") {
				t.Errorf("the terminal does not say where client1's work went:\n%s", screen)
			}
		})
	}
}
