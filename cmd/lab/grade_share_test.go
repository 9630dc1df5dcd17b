package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// specRecorder is a gradingtest engine that keeps the spec of every
// container made on it.
type specRecorder struct {
	*gradingtest.Engine
	mu    sync.Mutex
	specs []runtime.ContainerSpec
}

func (r *specRecorder) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	return r.Engine.CreateContainer(ctx, spec)
}

// TestAGradedLabMountsNoFolder: lab up --share is for students' own labs;
// a graded lab's hosts never mount a folder of the machine. lab grade has
// no such flag, and the labs it makes carry no bind mount and no shared
// folder's label, even when a lab of the same machine shares one.
func TestAGradedLabMountsNoFolder(t *testing.T) {
	t.Setenv(images.EnvBase, string(images.FromRegistry))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	eng := &specRecorder{Engine: gradingtest.NewEngine(t, "local")}
	connect := func(context.Context, string) (runtime.Engine, error) { return eng, nil }
	grade := func(args ...string) (int, string, string) {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer devnull.Close()
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"grade"}, args...), devnull, &out, &errb, withEngines(connect))
		return code, out.String(), errb.String()
	}
	sub := gradingtest.SubmissionDir(t, "sub", "chat-server")

	if code, _, stderr := grade("--share", t.TempDir(), sub); code != exitUsage || !strings.Contains(stderr, "unknown flag: --share") {
		t.Errorf("lab grade --share: exit %d, %q; want it unknown (exit %d)", code, stderr, exitUsage)
	}

	// A student's lab on the same engine shares a folder.
	shared := t.TempDir()
	student, err := topology.New("mine", topology.DefaultTeam, netip.MustParsePrefix("10.99.70.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Up(context.Background(), eng, student, lab.WithShare(shared)); err != nil {
		t.Fatal(err)
	}

	results := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := grade("--json", "--scenarios", fakeScenarios(t), "--results", results, "--only", "^fake-relay$", "--lab-prefix", "g", sub)
	if code != exitGradePassed {
		t.Fatalf("lab grade: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	graded, mounted := 0, 0
	for _, spec := range eng.specs {
		if spec.Labels[topology.LabelLab] == student.Name {
			if spec.Binds[shared] == lab.SharedDir {
				mounted++
			}
			continue
		}
		graded++
		if len(spec.Binds) != 0 || spec.Labels[lab.LabelShare] != "" {
			t.Errorf("graded host %s mounts %v (label %q); want no folder of the machine", spec.Name, spec.Binds, spec.Labels[lab.LabelShare])
		}
		if spec.Labels[topology.LabelRole] != string(topology.RoleDNS) && spec.Sandbox == nil {
			t.Errorf("graded host %s is not sandboxed", spec.Name)
		}
	}
	if graded == 0 || mounted != len(student.Hosts) {
		t.Fatalf("recorded %d graded host(s) and %d of the student's %d mounting %s; the test proves nothing", graded, mounted, len(student.Hosts), shared)
	}
}
