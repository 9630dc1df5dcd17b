package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestUpShare: lab up --share DIR mounts DIR, by its full path, read-write
// at /shared on every host, and says so.
func TestUpShare(t *testing.T) {
	eng := newFakeLab(t)
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "lab3"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	_, stderr := upOnFake(t, eng, "--share", "lab3")
	dir := filepath.Join(work, "lab3")
	for _, h := range topology.Default().Hosts {
		spec, _ := eng.Spec(topology.Default().ContainerName(h.Name))
		if !maps.Equal(spec.Binds, map[string]string{dir: "/shared"}) {
			t.Errorf("%s mounts %v, want %s at /shared", h.Name, spec.Binds, dir)
		}
	}
	if want := "shared: " + dir + " is /shared on every host, read-write\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	// Up again without --share keeps it, and says so again.
	if _, stderr := upOnFake(t, eng); !strings.Contains(stderr, "shared: "+dir) {
		t.Errorf("up again: stderr lacks the shared folder:\n%s", stderr)
	}
	if shared, err := lab.SharedFolder(t.Context(), eng, topology.DefaultName); err != nil || shared != dir {
		t.Errorf("SharedFolder = %q, %v; want %s", shared, err, dir)
	}
	var out bytes.Buffer
	run(t.Context(), []string{"status"}, nil, &out, io.Discard, withEngines(func(context.Context, string) (runtime.Engine, error) { return eng, nil }))
	if want := "shared: " + dir + " is /shared on every host\n"; !strings.Contains(out.String(), want) {
		t.Errorf("status does not say %q:\n%s", want, out.String())
	}
}

// TestUpShareRefusesABadFolder: a --share that is not a folder is one line
// that names it, exit 2, before anything is made or any folder created.
func TestUpShareRefusesABadFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "chatroom_client.py")
	if err := os.WriteFile(file, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "lab3")
	for _, tt := range []struct{ share, want string }{
		{missing, "lab: --share " + missing + ": no such folder\n"},
		{file, "lab: --share " + file + ": is a file; give a folder\n"},
	} {
		t.Run(filepath.Base(tt.share), func(t *testing.T) {
			eng := newFakeLab(t)
			code, _, stderr := labOnFake(t, eng, "up", "--share", tt.share)
			if code != exitUsage || stderr != tt.want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, exitUsage, tt.want)
			}
			if calls := eng.Calls(); len(calls) != 0 {
				t.Errorf("the engine was used: %q", calls)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("%s was created", missing)
			}
		})
	}
}

// TestUpShareOnALabSharingAnother: the hosts' mounts cannot change while
// the lab is up, so another folder is refused with the way out.
func TestUpShareOnALabSharingAnother(t *testing.T) {
	eng := newFakeLab(t)
	a, b := t.TempDir(), t.TempDir()
	upOnFake(t, eng, "--share", a)
	code, _, stderr := labOnFake(t, eng, "up", "--no-dnscheck", "--share", b)
	want := "lab: lab lab3 is up sharing " + a + " at /shared; to share " + b + " instead, remove it first with: lab down --name lab3, then lab up --share " + b
	if last := lastLine(stderr); code == 0 || last != want {
		t.Errorf("exit %d, last line of stderr:\n%s\nwant:\n%s", code, last, want)
	}
}
