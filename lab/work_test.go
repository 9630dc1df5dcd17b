package lab

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab/labtest"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

// workLab is a lab that is up on a fake engine whose hosts answer lab's
// work commands (labtest), and when its hosts were made.
type workLab struct {
	t     *testing.T
	e     *fake.Engine
	hosts *labtest.Hosts
	name  string
	made  time.Time
}

func newWorkLab(t *testing.T) *workLab {
	t.Helper()
	e := fake.New("fake")
	topo := mustTopo(t, "work", 30, "10.99.9.0/24")
	if err := e.AddLab(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	cs, err := e.Containers(context.Background(), nil)
	if err != nil || len(cs) == 0 || cs[0].Created.IsZero() {
		t.Fatalf("the fake's containers %v say not when they were made: %v", cs, err)
	}
	return &workLab{t: t, e: e, hosts: labtest.New(e), name: topo.Name, made: cs[0].Created}
}

// file puts a file on a host, modified at mod.
func (l *workLab) file(host, path, data string, mode os.FileMode, mod time.Time) {
	l.t.Helper()
	if err := l.e.SetFile(l.name, host, runtime.File{Path: path, Mode: mode, Data: []byte(data), ModTime: mod}); err != nil {
		l.t.Fatal(err)
	}
}

// detach starts cmd on a host, as lab exec -d does.
func (l *workLab) detach(host string, cmd ...string) {
	l.t.Helper()
	if err := l.e.Lab(l.name).Detach(context.Background(), host, cmd, DeployDir); err != nil {
		l.t.Fatal(err)
	}
}

// describeWork is FindWork's answer a line a capture, file or unseen host.
func describeWork(work []HostWork) []string {
	var out []string
	for _, w := range work {
		if w.Unseen != "" {
			out = append(out, w.Host+" unseen: "+w.Unseen)
		}
		for _, c := range w.Captures {
			out = append(out, w.Host+" capture: "+c)
		}
		for _, f := range w.Files {
			out = append(out, w.Host+" file: "+f.Path)
		}
	}
	return out
}

func TestFindWork(t *testing.T) {
	program := filepath.Join(t.TempDir(), "chat-server")
	if err := os.WriteFile(program, []byte("the reference server"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(l *workLab, before, after time.Time)
		opts  []WorkOption
		want  []string
	}{
		{
			name: "nothing changed since up",
			setup: func(l *workLab, before, after time.Time) {
				l.file("client1", "/root/.bashrc", "# the image's", 0o644, before)
				l.file("client1", "/root/chatroom_client.py", "copied in by lab cp, unchanged", 0o644, time.Unix(0, 0))
				l.file("client1", "/tmp/scratch", "not under /root", 0o644, after)
			},
		},
		{
			name: "files created or changed under /root",
			setup: func(l *workLab, before, after time.Time) {
				l.file("webserver", "/root/users.json", `{"alice":"x"}`, 0o644, after)
				l.file("webserver", "/root/chatroom_server.py", "edited after lab cp", 0o644, after)
				l.file("client2", "/root/notes/m3 answers.txt", "a folder, a space", 0o644, after)
			},
			want: []string{
				"webserver file: /root/chatroom_server.py",
				"webserver file: /root/users.json",
				"client2 file: /root/notes/m3 answers.txt",
			},
		},
		{
			name: "caches, histories and .ssh are not work",
			setup: func(l *workLab, before, after time.Time) {
				for _, p := range []string{"/root/.cache/pip/http/x", "/root/__pycache__/chat.cpython-311.pyc", "/root/lib/__pycache__/m.pyc",
					"/root/.bash_history", "/root/.python_history", "/root/.ssh/known_hosts", "/root/.viminfo"} {
					l.file("client1", p, "noise", 0o644, after)
				}
				l.file("client1", "/root/.env", "a dotfile of the student's", 0o600, after)
			},
			want: []string{"client1 file: /root/.env"},
		},
		{
			name: "a deployed program is recognised by its content",
			setup: func(l *workLab, before, after time.Time) {
				l.file("webserver", "/root/chat-server", "the reference server", 0o755, after)
				l.file("client1", "/root/chat-server", "the reference serveR", 0o755, after) // same size, other bytes
			},
			opts: []WorkOption{ExceptCopiesOf(program, filepath.Join(t.TempDir(), "missing"))},
			want: []string{"client1 file: /root/chat-server"},
		},
		{
			name: "running captures: the lab's and a student's own",
			setup: func(l *workLab, before, after time.Time) {
				l.hosts.StartCapture(l.name, "webserver", "chatserver.pcap", []byte("pcap"))
				l.detach("client2", "tcpdump", "-i", "eth0", "-w", "client2.pcap")
			},
			want: []string{
				"webserver capture: " + labtest.CaptureCommand("chatserver.pcap"),
				"client2 capture: tcpdump -i eth0 -w client2.pcap",
			},
		},
		{
			name: "a stopped host is not looked at",
			setup: func(l *workLab, before, after time.Time) {
				l.file("client3", "/root/users.json", "{}", 0o644, after)
				if err := l.e.Lab(l.name).Kill(context.Background(), "client3"); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"client3 unseen: it is exited (137)"},
		},
		{
			name: "a host that fails is not looked at",
			setup: func(l *workLab, before, after time.Time) {
				l.file("client1", "/root/users.json", "{}", 0o644, after)
				exec := l.e.ExecFunc
				l.e.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
					if host == "client1" {
						return runtime.ExecResult{}, errors.New("exec in work-client1: connection reset")
					}
					return exec(ctx, lab, host, cmd, stdin)
				}
			},
			want: []string{"client1 unseen: exec in work-client1: connection reset"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newWorkLab(t)
			tc.setup(l, l.made.Add(-time.Hour), l.made.Add(time.Minute))
			work, err := FindWork(context.Background(), l.e, l.name, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeWork(work); !slices.Equal(got, tc.want) {
				t.Errorf("work (-want +got):\n-%s\n+%s", strings.Join(tc.want, "\n-"), strings.Join(got, "\n+"))
			}
			var hosts []string
			for _, w := range work {
				hosts = append(hosts, w.Host)
			}
			if want := []string{"dnsserver", "webserver", "client1", "client2", "client3"}; !slices.Equal(hosts, want) {
				t.Errorf("hosts %v, want every host in topology order %v", hosts, want)
			}
		})
	}
}

func TestFindWorkOfALabThatIsNotUp(t *testing.T) {
	work, err := FindWork(context.Background(), fake.New("fake"), "nowhere")
	if err != nil || len(work) != 0 {
		t.Errorf("FindWork = %v, %v; want no hosts", work, err)
	}
}

func TestParseFileList(t *testing.T) {
	got, err := parseFileList([]byte("1718012345.1234567890 812 644 users.json\x001718012346.0000000000 0 755 a b/c d\x00"))
	if err != nil {
		t.Fatal(err)
	}
	want := []WorkFile{
		{Path: "/root/users.json", Size: 812, Mode: 0o644, ModTime: time.Unix(1718012345, 123456789)},
		{Path: "/root/a b/c d", Size: 0, Mode: 0o755, ModTime: time.Unix(1718012346, 0)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Path != want[i].Path || got[i].Size != want[i].Size || got[i].Mode != want[i].Mode || !got[i].ModTime.Equal(want[i].ModTime) {
			t.Errorf("file %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseFileList([]byte("garbage\x00")); err == nil {
		t.Error("a line find never prints was accepted")
	}
}
