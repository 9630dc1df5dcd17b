package fake_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"

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
	ctxTar := tarOf(t, map[string]string{"Dockerfile": "FROM x\n\n\n"})
	labels := map[string]string{"lab3.managed": "true"}
	if err := e.BuildImage(ctx, bytes.NewReader(ctxTar), runtime.BuildOptions{Tags: []string{"lab3/host:1"}, Labels: labels}); err != nil {
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

// tarOf is a tar archive of files (a name ending in "/" is a folder), in
// name order.
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name]))}
		if strings.HasSuffix(name, "/") {
			h = &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImageCallsRecordWhatWasAsked(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	rootfs := tarOf(t, map[string]string{"etc/": "", "etc/os-release": "ID=debian\n"})
	changes := []string{`LABEL lab3.image="base"`, `CMD ["bash"]`}
	if err := e.ImportImage(ctx, bytes.NewReader(rootfs), "lab3/base:1", runtime.ImportOptions{Message: "m", Changes: changes}); err != nil {
		t.Fatal(err)
	}
	changes[0] = "changed by the caller"
	buildOpts := runtime.BuildOptions{Tags: []string{"lab3/host:1"}, Labels: map[string]string{"lab3.image": "host"}, NoCache: true}
	if err := e.BuildImage(ctx, bytes.NewReader(tarOf(t, map[string]string{"Dockerfile": "FROM lab3/base:1\n"})), buildOpts); err != nil {
		t.Fatal(err)
	}
	if err := e.TagImage(ctx, "lab3/host:1", "lab3/host:latest"); err != nil {
		t.Fatal(err)
	}
	if err := e.TagImage(ctx, "none:1", "none:latest"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("tag of a missing image: %v", err)
	}
	if err := e.RemoveImage(ctx, "lab3/host:latest"); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveImage(ctx, "sha256:none"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("removal of a missing image: %v", err)
	}

	c := e.ImageCalls()
	if len(c.Imports) != 1 || len(c.Builds) != 1 || len(c.Tags) != 2 || len(c.Removals) != 2 {
		t.Fatalf("calls = %+v", c)
	}
	imp := c.Imports[0]
	if imp.Ref != "lab3/base:1" || imp.Options.Message != "m" || !slices.Equal(imp.Options.Changes, []string{`LABEL lab3.image="base"`, `CMD ["bash"]`}) ||
		imp.Read != int64(len(rootfs)) || imp.Err != nil {
		t.Errorf("import = %+v", imp)
	}
	if want := map[string][]byte{"etc/": {}, "etc/os-release": []byte("ID=debian\n")}; !maps.EqualFunc(imp.Files, want, bytes.Equal) {
		t.Errorf("import files = %q, want %q", imp.Files, want)
	}
	if img, err := e.InspectImage(ctx, "lab3/base:1"); err != nil || img.Labels["lab3.image"] != "base" || img.Size != int64(len(rootfs)) {
		t.Errorf("imported image = %+v, %v", img, err)
	}
	b := c.Builds[0]
	if !slices.Equal(b.Options.Tags, buildOpts.Tags) || !maps.Equal(b.Options.Labels, buildOpts.Labels) || !b.Options.NoCache ||
		string(b.Files["Dockerfile"]) != "FROM lab3/base:1\n" || len(b.Files) != 1 || b.Err != nil {
		t.Errorf("build = %+v", b)
	}
	if c.Tags[0] != (fake.Tag{Source: "lab3/host:1", Target: "lab3/host:latest"}) || c.Tags[1].Target != "none:latest" || !errors.Is(c.Tags[1].Err, runtime.ErrNotFound) {
		t.Errorf("tags = %+v", c.Tags)
	}
	if c.Removals[0] != (fake.Removal{Ref: "lab3/host:latest"}) || c.Removals[1].Ref != "sha256:none" || !errors.Is(c.Removals[1].Err, runtime.ErrNotFound) {
		t.Errorf("removals = %+v", c.Removals)
	}

	// A dead engine answers nothing, so it records nothing.
	e.Die()
	_ = e.RemoveImage(ctx, "lab3/host:1")
	if got := e.ImageCalls(); len(got.Removals) != 2 {
		t.Errorf("a dead engine's removal was recorded: %+v", got.Removals)
	}
}

func TestBuildErrorAndSize(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	dockerfile := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	e.SetBuildError(errors.New("pull access denied"))
	err := e.BuildImage(ctx, bytes.NewReader(dockerfile), runtime.BuildOptions{Tags: []string{"a:1"}})
	if err == nil || err.Error() != "pull access denied" {
		t.Fatalf("build = %v, want the build's own error", err)
	}
	if _, err := e.InspectImage(ctx, "a:1"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("a failed build made an image: %v", err)
	}
	if b := e.ImageCalls().Builds; len(b) != 1 || b[0].Err == nil || string(b[0].Files["Dockerfile"]) != "FROM scratch\n" {
		t.Errorf("failed build recorded as %+v", b)
	}
	if err := e.BuildImage(ctx, strings.NewReader("not a tar"), runtime.BuildOptions{Tags: []string{"a:1"}}); err == nil {
		t.Error("a build context that is not a tar was built")
	}

	e.SetBuildError(nil)
	if err := e.BuildImage(ctx, bytes.NewReader(dockerfile), runtime.BuildOptions{Tags: []string{"a:1"}}); err != nil {
		t.Fatal(err)
	}
	e.SetBuildSize(3_000_000)
	if err := e.BuildImage(ctx, bytes.NewReader(dockerfile), runtime.BuildOptions{Tags: []string{"b:1"}}); err != nil {
		t.Fatal(err)
	}
	a, _ := e.InspectImage(ctx, "a:1")
	b, _ := e.InspectImage(ctx, "b:1")
	if a.Size != int64(len(dockerfile)) || b.Size != 3_000_000 {
		t.Errorf("sizes %d and %d, want the context's (%d) and 3000000", a.Size, b.Size, len(dockerfile))
	}
	if a.ID == b.ID {
		t.Errorf("two builds of the same context share ID %s", a.ID)
	}
}

func TestImportError(t *testing.T) {
	ctx := context.Background()
	rootfs := tarOf(t, map[string]string{"big": strings.Repeat("x", 4096)})
	full := errors.New("no space left on device")
	for _, after := range []int64{0, 1024, int64(len(rootfs)) + 1} {
		t.Run(fmt.Sprintf("after %d bytes", after), func(t *testing.T) {
			e := fake.New("fake")
			e.SetImportError(full, after)
			err := e.ImportImage(ctx, bytes.NewReader(rootfs), "base:1", runtime.ImportOptions{})
			if !errors.Is(err, full) {
				t.Fatalf("import = %v, want %v", err, full)
			}
			imp := e.ImageCalls().Imports
			if want := min(after, int64(len(rootfs))); len(imp) != 1 || imp[0].Read != want || imp[0].Files != nil || !errors.Is(imp[0].Err, full) {
				t.Errorf("import recorded as %+v, want %d bytes read", imp, want)
			}
			if imgs, _ := e.ListImages(ctx, nil); len(imgs) != 0 {
				t.Errorf("a failed import made %+v", imgs)
			}
		})
	}
	t.Run("cleared", func(t *testing.T) {
		e := fake.New("fake")
		e.SetImportError(full, 0)
		e.SetImportError(nil, 0)
		if err := e.ImportImage(ctx, bytes.NewReader(rootfs), "base:1", runtime.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a stream that fails", func(t *testing.T) {
		e := fake.New("fake")
		e.SetImportError(full, 1024)
		broken := errors.New("tar writer failed")
		err := e.ImportImage(ctx, io.MultiReader(bytes.NewReader(rootfs[:10]), iotest.ErrReader(broken)), "base:1", runtime.ImportOptions{})
		if !errors.Is(err, broken) {
			t.Errorf("import = %v, want the stream's error", err)
		}
	})
}

func TestAddImage(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	labels := map[string]string{"lab3.managed": "true"}
	e.AddImage(runtime.ImageInfo{ID: "sha256:a", Labels: labels, Size: 7, Tags: []string{"lab3/base:1", "lab3/base:latest"}})
	labels["lab3.managed"] = "changed by the caller"
	img, err := e.InspectImage(ctx, "lab3/base:latest")
	if err != nil || img.ID != "sha256:a" || img.Size != 7 || img.Labels["lab3.managed"] != "true" || !slices.Equal(img.Tags, []string{"lab3/base:1", "lab3/base:latest"}) {
		t.Fatalf("added image = %+v, %v", img, err)
	}

	// Another image under one of its references, as after an import by
	// hand: the other reference stays where it was.
	e.AddImage(runtime.ImageInfo{ID: "sha256:b", Labels: map[string]string{"lab3.managed": "true"}, Tags: []string{"lab3/base:1"}})
	if img, _ := e.InspectImage(ctx, "lab3/base:1"); img.ID != "sha256:b" {
		t.Errorf("lab3/base:1 is %s, want sha256:b", img.ID)
	}
	if img, _ := e.InspectImage(ctx, "lab3/base:latest"); img.ID != "sha256:a" {
		t.Errorf("lab3/base:latest is %s, want sha256:a", img.ID)
	}
	// The same ID again replaces the image's labels.
	e.AddImage(runtime.ImageInfo{ID: "sha256:b", Labels: map[string]string{"lab3.input-hash": "other"}})
	if img, _ := e.InspectImage(ctx, "lab3/base:1"); img.Labels["lab3.input-hash"] != "other" || img.Labels["lab3.managed"] != "" {
		t.Errorf("replaced image = %+v", img)
	}

	e.AddImage(runtime.ImageInfo{Tags: []string{"made:up"}})
	if img, err := e.InspectImage(ctx, "made:up"); err != nil || !strings.HasPrefix(img.ID, "sha256:") {
		t.Errorf("image with a made-up ID = %+v, %v", img, err)
	}
	if c := e.ImageCalls(); len(e.Calls()) != 0 || len(c.Imports)+len(c.Builds)+len(c.Tags)+len(c.Removals) != 0 {
		t.Errorf("AddImage was recorded: %v, %+v", e.Calls(), c)
	}
}

func TestAnImageAContainerUsesStays(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	e.AddImage(runtime.ImageInfo{ID: "sha256:used", Tags: []string{"lab3/dnsserver:old"}})
	if _, err := e.CreateContainer(ctx, runtime.ContainerSpec{Name: "user", Image: "sha256:used"}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"lab3/dnsserver:old", "sha256:used"} {
		if err := e.RemoveImage(ctx, ref); !errors.Is(err, runtime.ErrConflict) {
			t.Errorf("remove %s: %v, want ErrConflict", ref, err)
		}
	}
	if r := e.ImageCalls().Removals; len(r) != 2 || !errors.Is(r[0].Err, runtime.ErrConflict) {
		t.Errorf("removals = %+v", r)
	}
	if err := e.RemoveContainer(ctx, "user"); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveImage(ctx, "lab3/dnsserver:old"); err != nil {
		t.Errorf("remove once no container uses it: %v", err)
	}
}

// Builds side by side, read while they run, as the images package's role
// builds are (run with -race).
func TestImageCallsUnderConcurrentBuilds(t *testing.T) {
	ctx := context.Background()
	e := fake.New("fake")
	ctxTar := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := e.BuildImage(ctx, bytes.NewReader(ctxTar), runtime.BuildOptions{Tags: []string{fmt.Sprintf("img:%d", i)}}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() { _ = e.ImageCalls() })
	}
	wg.Wait()
	if b := e.ImageCalls().Builds; len(b) != 8 {
		t.Errorf("%d builds recorded, want 8", len(b))
	}
}
