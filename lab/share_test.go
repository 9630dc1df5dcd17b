package lab

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpSharesAFolderWithEveryHost: WithShare mounts the folder, made
// absolute, read-write at /shared on every host, and records it where
// SharedFolder (and so lab status) finds it.
func TestUpSharesAFolderWithEveryHost(t *testing.T) {
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "lab3"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(home)
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll, WithShare("lab3")); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(home, "lab3")
	for _, h := range topo.Hosts {
		spec := eng.spec(topo.Name, h.Name)
		if !maps.Equal(spec.Binds, map[string]string{want: SharedDir}) {
			t.Errorf("%s mounts %v, want %s at %s", h.Name, spec.Binds, want, SharedDir)
		}
		if spec.Labels[LabelShare] != want {
			t.Errorf("%s: label %s = %q, want %q", h.Name, LabelShare, spec.Labels[LabelShare], want)
		}
	}
	if got, err := SharedFolder(context.Background(), eng, topo.Name); err != nil || got != want {
		t.Errorf("SharedFolder = %q, %v; want %q", got, err, want)
	}
}

// TestUpRefusesABadShare: a shared folder that is not there, is a file or
// comes with a sandbox is refused before anything is made.
func TestUpRefusesABadShare(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "chatroom_client.py")
	if err := os.WriteFile(file, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []Option
		want string // in the error
		is   error
	}{
		{"missing", []Option{WithShare(filepath.Join(dir, "nope"))}, "no such file or directory", os.ErrNotExist},
		{"a file", []Option{WithShare(file)}, "not a folder", nil},
		{"sandboxed", []Option{WithShare(dir), WithSandbox(DefaultSandbox())}, "never shares a folder", ErrSandboxedShare},
		{"sandboxed, options the other way round", []Option{WithSandbox(DefaultSandbox()), WithShare(dir)}, "never shares a folder", ErrSandboxedShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newFakeEngine()
			_, err := Up(context.Background(), eng, upTopo(t), append([]Option{fastPoll}, tt.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Up: %v, want an error saying %q", err, tt.want)
			}
			if calls := eng.Calls(); len(calls) != 0 {
				t.Errorf("made %q before refusing", calls)
			}
		})
	}
}

// TestASandboxedLabMountsNoFolder: a grading lab's hosts mount named
// volumes only, never a folder of the machine.
func TestASandboxedLabMountsNoFolder(t *testing.T) {
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(context.Background(), eng, topo, fastPoll, WithSandbox(DefaultSandbox())); err != nil {
		t.Fatal(err)
	}
	for _, h := range topo.Hosts {
		if spec := eng.spec(topo.Name, h.Name); len(spec.Binds) != 0 || spec.Labels[LabelShare] != "" {
			t.Errorf("%s of a sandboxed lab mounts %v (label %q)", h.Name, spec.Binds, spec.Labels[LabelShare])
		}
	}
}

// TestUpKeepsTheLabsSharedFolder: an up without WithShare keeps the
// folder the lab shares, for a host it makes again too; an up that asks
// for another folder, or for one on a lab made without, is refused.
func TestUpKeepsTheLabsSharedFolder(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	eng := newFakeEngine()
	topo := upTopo(t)
	if _, err := Up(ctx, eng, topo, fastPoll, WithShare(a)); err != nil {
		t.Fatal(err)
	}
	if st, err := Up(ctx, eng, topo, fastPoll); err != nil || st.Changed {
		t.Fatalf("up again without --share: changed %v, %v; want nothing changed", st.Changed, err)
	}
	if err := eng.RemoveContainer(ctx, topo.ContainerName("client2")); err != nil {
		t.Fatal(err)
	}
	if _, err := Up(ctx, eng, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	if got := eng.spec(topo.Name, "client2").Binds[a]; got != SharedDir {
		t.Errorf("client2 made again mounts %v, want %s at %s as the other hosts", eng.spec(topo.Name, "client2").Binds, a, SharedDir)
	}
	_, err := Up(ctx, eng, topo, fastPoll, WithShare(b))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "is up sharing "+a) || !strings.Contains(err.Error(), "lab up --share "+b) {
		t.Errorf("up sharing another folder: %v, want a conflict naming both and the way out", err)
	}

	plain := newFakeEngine()
	if _, err := Up(ctx, plain, topo, fastPoll); err != nil {
		t.Fatal(err)
	}
	_, err = Up(ctx, plain, topo, fastPoll, WithShare(a))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "is up without a shared folder") {
		t.Errorf("sharing on a lab made without: %v, want a conflict", err)
	}
}
