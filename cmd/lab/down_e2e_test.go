package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// TestDownSavesWorkE2E holds lab down to a real lab without a terminal:
// the capture lab capture start left running is stopped and its file
// saved whole, a file a program wrote under /root is saved with its time,
// a file lab cp copied in unchanged is not, and the lab is removed.
func TestDownSavesWorkE2E(t *testing.T) {
	needDocker(t)
	t.Setenv(lab.EnvStateDir, t.TempDir())
	const name, subnet = "cli-down", "10.99.26.0/24"
	with := func(args ...string) []string { return append([]string{"--name", name}, args...) }
	t.Cleanup(func() { runLab(t, with("down", "--force")...) })

	if code, _, errOut := runLab(t, with("up", "--subnet", subnet, "--no-dnscheck")...); code != 0 {
		t.Fatalf("up: exit %d\n%s", code, errOut)
	}
	// A file from before up, copied in with its time: not work.
	old := filepath.Join(t.TempDir(), "chatroom_client.py")
	if err := os.WriteFile(old, []byte("print('handout')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, time.Now().Add(-24*time.Hour), time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runLab(t, with("cp", old, "client1:")...); code != 0 {
		t.Fatalf("cp: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runLab(t, with("exec", "client1", "--", "sh", "-c", `mkdir -p m4 && echo '{"alice":"pw"}' >m4/users.json`)...); code != 0 {
		t.Fatalf("exec: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runLab(t, with("capture", "start", "webserver")...); code != 0 {
		t.Fatalf("capture start: exit %d\n%s%s", code, out, errOut)
	}
	// Something to capture.
	runLab(t, with("exec", "client1", "--", "ping", "-c", "2", "-W", "1", "webserver")...)

	code, out, errOut := runLab(t, with("down")...)
	if code != 0 {
		t.Fatalf("down: exit %d\n%s%s", code, out, errOut)
	}
	saved := lab.SavedDir(name)
	for _, want := range []string{
		"webserver: saved 1 file (",
		"in " + filepath.Join(saved, "webserver") + "/: lab-capture/chatserver.pcap\n",
		"client1: saved 1 file (15 B) in " + filepath.Join(saved, "client1") + "/: m4/users.json\n",
		"lab cli-down removed: 5 container(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("down's output lacks %q:\n%s%s", want, out, errOut)
		}
	}
	if strings.Contains(out, "chatroom_client.py") {
		t.Errorf("down saved a file lab cp copied in unchanged:\n%s", out)
	}
	pcap, err := os.ReadFile(filepath.Join(saved, "webserver", lab.CaptureFolder, "chatserver.pcap"))
	if err != nil || len(pcap) < 24 {
		t.Errorf("the saved capture is %d bytes (%v); want at least a pcap header", len(pcap), err)
	}
	info, err := os.Stat(filepath.Join(saved, "client1", "m4", "users.json"))
	if err != nil || time.Since(info.ModTime()) > 10*time.Minute || time.Since(info.ModTime()) < 0 {
		t.Errorf("users.json saved: %v, %v; want the time it was written on the host", info, err)
	}
	if code, out, _ := runLab(t, with("status")...); code != 3 || !strings.Contains(out, "is not up") {
		t.Errorf("status after down: exit %d: %s", code, out)
	}
}
