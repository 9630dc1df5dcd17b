package fake_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// upLab is a fake engine with the default lab up; its hosts echo their
// input and name the command.
func upLab(t *testing.T) (*fake.Engine, runtime.Hosts) {
	t.Helper()
	e := fake.New("fake")
	e.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		switch cmd[0] {
		case "cat":
			b, err := io.ReadAll(stdin)
			return runtime.ExecResult{Stdout: b, Stderr: []byte("done\n")}, err
		case "sleep":
			<-ctx.Done()
			return runtime.ExecResult{ExitCode: 143}, nil
		}
		return runtime.ExecResult{Stdout: []byte(host + ": " + strings.Join(cmd, " "))}, nil
	}
	if err := e.AddLab(context.Background(), topology.Default()); err != nil {
		t.Fatal(err)
	}
	return e, e.Lab(topology.DefaultName)
}

func TestHostsAreTheLabsContainers(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	cs, err := e.Containers(ctx, map[string]string{topology.LabelLab: topology.DefaultName})
	if err != nil || len(cs) != 5 {
		t.Fatalf("containers = %v, %v; want the lab's five", cs, err)
	}
	res, err := hosts.Exec(ctx, "client1", []string{"hostname"}, nil)
	if err != nil || string(res.Stdout) != "client1: hostname" {
		t.Errorf("exec = %q, %v", res.Stdout, err)
	}
	if _, err := hosts.Exec(ctx, "client9", []string{"true"}, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("exec on a host the lab lacks: %v, want ErrNotFound", err)
	}
	if _, err := e.Lab("other").Exec(ctx, "client1", []string{"true"}, nil); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("exec in a lab that is not there: %v, want ErrNotFound", err)
	}
}

func TestStateChanges(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	state := func(host string) string {
		cs, _ := e.Containers(ctx, map[string]string{topology.LabelHost: host})
		return cs[0].Describe()
	}
	if err := hosts.Kill(ctx, "client2"); err != nil {
		t.Fatal(err)
	}
	if got := state("client2"); got != "exited (137)" {
		t.Errorf("killed: %s", got)
	}
	if _, err := hosts.Exec(ctx, "client2", []string{"true"}, nil); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("exec on a stopped host: %v, want ErrConflict", err)
	}
	if err := hosts.Start(ctx, "client2"); err != nil || state("client2") != "running" {
		t.Errorf("start: %v, %s", err, state("client2"))
	}
	if err := hosts.Stop(ctx, "client2"); err != nil || state("client2") != "exited (0)" {
		t.Errorf("stop: %v, %s", err, state("client2"))
	}
	if err := hosts.Disconnect(ctx, "client1"); err != nil || e.Connected(topology.DefaultName, "client1") {
		t.Errorf("disconnect: %v", err)
	}
	if err := hosts.Disconnect(ctx, "client1"); err == nil {
		t.Error("a second disconnect succeeded")
	}
	if err := hosts.Reconnect(ctx, "client1"); err != nil || !e.Connected(topology.DefaultName, "client1") {
		t.Errorf("reconnect: %v", err)
	}
	want := []string{"kill lab3-client2", "start lab3-client2", "stop lab3-client2", "disconnect lab3-client1", "reconnect lab3-client1"}
	if got := e.Calls()[len(e.Calls())-len(want):]; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls end %q, want %q", got, want)
	}

	e.Started = func(lab, host string) *fake.Exit { return &fake.Exit{Code: 1, Logs: "zone not loaded\n"} }
	if err := hosts.Start(ctx, "client2"); err != nil || state("client2") != "exited (1)" {
		t.Errorf("a host told to exit: %v, %s", err, state("client2"))
	}
	if logs, err := hosts.Logs(ctx, "client2", 5); err != nil || string(logs) != "zone not loaded\n" {
		t.Errorf("logs = %q, %v", logs, err)
	}
}

func TestFiles(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	err := hosts.CopyFiles(ctx, "webserver", []runtime.File{{Path: "/root/a/x.py", Mode: 0o755, Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hosts.ReadFile(ctx, "webserver", "/root/a/x.py"); err != nil || string(b) != "x" {
		t.Errorf("read = %q, %v", b, err)
	}
	if f, ok := e.File(topology.DefaultName, "webserver", "/root/a/x.py"); !ok || f.Mode != 0o755 {
		t.Errorf("file = %+v", f)
	}
	if _, err := hosts.ReadFile(ctx, "webserver", "/root/none"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("read of a missing file: %v", err)
	}
	if err := hosts.CopyFiles(ctx, "webserver", []runtime.File{{Path: "rel", Data: []byte("x")}}); err == nil {
		t.Error("a relative path was copied")
	}
	big := []runtime.File{{Path: "/root/big", Data: make([]byte, runtime.MaxCopy+1)}}
	if err := hosts.CopyFiles(ctx, "webserver", big); !errors.Is(err, runtime.ErrCopy) {
		t.Errorf("a copy over MaxCopy: %v, want ErrCopy", err)
	}

	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "c.py"), []byte("print(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := hosts.CopyIn(ctx, "client1", local, "/root/")
	if err != nil || len(files) != 1 || files[0].Path != "/root/"+filepath.Base(local)+"/c.py" {
		t.Fatalf("copy in = %+v, %v", files, err)
	}
	out := t.TempDir()
	written, err := hosts.CopyOut(ctx, "client1", "/root/"+filepath.Base(local), out)
	if err != nil || len(written) != 1 {
		t.Fatalf("copy out = %v, %v", written, err)
	}
	if b, _ := os.ReadFile(written[0]); string(b) != "print(1)\n" {
		t.Errorf("copied back %q", b)
	}
	if _, err := hosts.CopyOut(ctx, "client1", "/nothing", out); !errors.Is(err, runtime.ErrCopy) {
		t.Errorf("copy out of nothing: %v", err)
	}
}

func TestSpawnedProcesses(t *testing.T) {
	ctx := context.Background()
	_, hosts := upLab(t)
	p, err := hosts.Spawn(ctx, "client1", []string{"cat"}, runtime.SpawnOptions{MergeStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(p.Stdin(), "hello\n"); err != nil {
		t.Fatal(err)
	}
	p.Stdin().Close()
	out, _ := io.ReadAll(p.Output())
	if code, err := p.Wait(); code != 0 || err != nil || string(out) != "hello\ndone\n" {
		t.Errorf("cat: %d %v %q", code, err, out)
	}

	var stderr bytes.Buffer
	q, err := hosts.Spawn(ctx, "client1", []string{"sleep", "600"}, runtime.SpawnOptions{Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if procs, _ := hosts.Processes(ctx, "client1"); strings.Join(procs, ",") != "sleep 600" {
		t.Errorf("processes = %q", procs)
	}
	if n, _, _ := hosts.PIDCount(ctx, "client1"); n != 2 {
		t.Errorf("PIDCount = %d, want the init and sleep", n)
	}
	stopped, err := hosts.StopPrograms(ctx, "client1", "sleep")
	if err != nil || len(stopped) != 1 || stopped[0].PID != q.PID() {
		t.Errorf("stopped %+v, %v", stopped, err)
	}
	go func() { _, _ = io.Copy(io.Discard, q.Output()) }()
	if code, _ := q.Wait(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("stopped sleep exited %d", code)
	}

	r, err := hosts.Spawn(ctx, "client2", []string{"sleep", "600"}, runtime.SpawnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, r.Output()) }()
	if err := r.Signal(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.Wait(); code != 137 {
		t.Errorf("killed sleep exited %d", code)
	}
}

// TestSpawnFuncStreams: with SpawnFunc a process answers each line as it
// comes, before its input ends, and a signal (by the process or by PID,
// as kill in the host) ends its context.
func TestSpawnFuncStreams(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	e.SpawnFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (int, error) {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			fmt.Fprintf(out, "%s %s heard %s\n", lab, host, sc.Text())
		}
		if ctx.Err() != nil {
			return 143, nil
		}
		return 0, nil
	}
	p, err := hosts.Spawn(ctx, "client1", []string{"chat"}, runtime.SpawnOptions{MergeStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(p.Output())
	for _, line := range []string{"one", "two"} {
		if _, err := io.WriteString(p.Stdin(), line+"\n"); err != nil {
			t.Fatal(err)
		}
		got, err := out.ReadString('\n')
		if want := "lab3 client1 heard " + line + "\n"; err != nil || got != want {
			t.Fatalf("answer %q (%v), want %q while the input is open", got, err, want)
		}
	}
	if err := e.SignalProcess(topology.DefaultName, "client1", p.PID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if code, _ := p.Wait(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
	if err := e.SignalProcess(topology.DefaultName, "client1", p.PID(), syscall.SIGTERM); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("signal to an ended process: %v, want ErrNotFound", err)
	}
}

// TestDie: a dead engine answers nothing, and what it ran ends.
func TestDie(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	e.SpawnFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader, out io.Writer) (int, error) {
		<-ctx.Done()
		return 0, nil
	}
	p, err := hosts.Spawn(ctx, "client1", []string{"chat"}, runtime.SpawnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Die()
	if e.Alive(ctx) {
		t.Error("a dead engine is alive")
	}
	if _, err := io.ReadAll(p.Output()); !errors.Is(err, runtime.ErrEngineUnreachable) {
		t.Errorf("output of a process on a dead engine: %v, want ErrEngineUnreachable", err)
	}
	if code, _ := p.Wait(); code != 137 {
		t.Errorf("exit %d, want 137", code)
	}
	for what, err := range map[string]error{
		"exec":       func() error { _, err := hosts.Exec(ctx, "client1", []string{"true"}, nil); return err }(),
		"copy":       hosts.CopyFiles(ctx, "client1", []runtime.File{{Path: "/x"}}),
		"stop":       hosts.Stop(ctx, "client1"),
		"containers": func() error { _, err := e.Containers(ctx, nil); return err }(),
		"remove":     e.RemoveContainer(ctx, "lab3-client1"),
		"images":     func() error { _, err := e.ListImages(ctx, nil); return err }(),
	} {
		if !errors.Is(err, runtime.ErrEngineUnreachable) {
			t.Errorf("%s on a dead engine: %v, want ErrEngineUnreachable", what, err)
		}
	}
}

func TestImages(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	_ = tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 9})
	_, _ = tw.Write([]byte("FROM x\n\n\n"))
	_ = tw.Close()
	labels := map[string]string{"lab3.managed": "true"}
	if err := e.BuildImage(ctx, bytes.NewReader(ctxTar.Bytes()), runtime.BuildOptions{Tags: []string{"lab3/host:1"}, Labels: labels}); err != nil {
		t.Fatal(err)
	}
	if err := e.TagImage(ctx, "lab3/host:1", "lab3/host:latest"); err != nil {
		t.Fatal(err)
	}
	img, err := e.InspectImage(ctx, "lab3/host:latest")
	if err != nil || img.Labels["lab3.managed"] != "true" || strings.Join(img.Tags, ",") != "lab3/host:1,lab3/host:latest" {
		t.Fatalf("inspect = %+v, %v", img, err)
	}
	if _, err := e.InspectImage(ctx, "none:1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("inspect of a missing image: %v", err)
	}
	if _, err := e.CreateContainer(ctx, runtime.ContainerSpec{Name: "user", Image: "lab3/host:1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveImage(ctx, "lab3/host:latest"); err != nil {
		t.Errorf("untag of one of two tags: %v", err)
	}
	if err := e.RemoveImage(ctx, "lab3/host:1"); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("removing an image a container uses: %v, want ErrConflict", err)
	}

	saved, err := e.SaveImages(ctx, []string{"lab3/host:1"})
	if err != nil {
		t.Fatal(err)
	}
	other := fake.New("other")
	if err := other.LoadImages(ctx, saved); err != nil {
		t.Fatal(err)
	}
	if got, err := other.InspectImage(ctx, "lab3/host:1"); err != nil || got.ID != img.ID {
		t.Errorf("loaded %+v, %v; want %s", got, err, img.ID)
	}
	if list, _ := other.ListImages(ctx, labels); len(list) != 1 {
		t.Errorf("list = %+v", list)
	}
}
