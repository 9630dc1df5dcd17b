package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestCpKeepsModificationTimes: issue #26, finding 5. lab cp keeps the
// time a file was last edited, into a host and back out, as scp -p does;
// a copy used to show 1 January 1970.
func TestCpKeepsModificationTimes(t *testing.T) {
	eng := newFakeLab(t)
	if err := eng.AddLab(t.Context(), topology.Default()); err != nil {
		t.Fatal(err)
	}
	edited := time.Date(2025, 3, 14, 15, 9, 26, 0, time.Local)
	src := filepath.Join(t.TempDir(), "chatroom_client.py")
	if err := os.WriteFile(src, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, edited, edited); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := labOnFake(t, eng, "cp", src, "client1:"); code != 0 {
		t.Fatalf("lab cp %s client1: exit %d: %s", src, code, stderr)
	}
	if f, ok := eng.File(topology.DefaultName, "client1", "/root/chatroom_client.py"); !ok || !f.ModTime.Equal(edited) {
		t.Errorf("in client1: modified %v (copied: %v), want %v", f.ModTime, ok, edited)
	}
	back := t.TempDir()
	if code, _, stderr := labOnFake(t, eng, "cp", "client1:chatroom_client.py", back); code != 0 {
		t.Fatalf("lab cp back: exit %d: %s", code, stderr)
	}
	info, err := os.Stat(filepath.Join(back, "chatroom_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(edited) {
		t.Errorf("copied back: modified %v, want %v", info.ModTime(), edited)
	}
}
