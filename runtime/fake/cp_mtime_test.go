package fake_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestCopyKeepsModificationTimes: a file copied into a host and back out
// keeps the time it was last edited, both ways, as scp -p does, for a file
// and for each file of a folder.
func TestCopyKeepsModificationTimes(t *testing.T) {
	ctx := context.Background()
	e, hosts := upLab(t)
	edited := map[string]time.Time{
		"chatroom_client.py": time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC),
		"milestone2/p2p.py":  time.Date(2025, 2, 1, 12, 0, 0, 500, time.UTC),
	}
	src := t.TempDir()
	for name, mod := range edited {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("print(1)\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := hosts.CopyIn(ctx, "client1", filepath.Join(src, "chatroom_client.py"), "/root/"); err != nil {
		t.Fatal(err)
	}
	if _, err := hosts.CopyIn(ctx, "client1", filepath.Join(src, "milestone2"), "/root/"); err != nil {
		t.Fatal(err)
	}
	for name, want := range edited {
		f, ok := e.File(topology.DefaultName, "client1", "/root/"+name)
		if !ok {
			t.Fatalf("/root/%s was not copied in", name)
		}
		if !f.ModTime.Equal(want) {
			t.Errorf("in: /root/%s modified %v, want %v", name, f.ModTime, want)
		}
	}

	back := t.TempDir()
	for _, remote := range []string{"/root/chatroom_client.py", "/root/milestone2"} {
		if _, err := hosts.CopyOut(ctx, "client1", remote, back); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range edited {
		info, err := os.Stat(filepath.Join(back, name))
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(want) {
			t.Errorf("out: %s modified %v, want %v", name, info.ModTime(), want)
		}
	}
}
