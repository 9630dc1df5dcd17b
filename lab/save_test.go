package lab

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// findWork is FindWork that fails the test on error.
func (l *workLab) findWork() []HostWork {
	l.t.Helper()
	work, err := FindWork(context.Background(), l.e, l.name)
	if err != nil {
		l.t.Fatal(err)
	}
	return work
}

// running reports whether a command line containing s runs on host.
func (l *workLab) running(host, s string) bool {
	procs, _ := l.e.Lab(l.name).Processes(context.Background(), host)
	return slices.ContainsFunc(procs, func(p string) bool { return strings.Contains(p, s) })
}

// wantFile checks a saved file's content, permissions and time.
func wantFile(t *testing.T, path, data string, perm os.FileMode, mod time.Time) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Errorf("not saved: %v", err)
		return
	}
	got, _ := os.ReadFile(path)
	if string(got) != data || info.Mode().Perm() != perm || !info.ModTime().Equal(mod) {
		t.Errorf("%s: %q %v %s, want %q %v %s", path, got, info.Mode().Perm(), info.ModTime(), data, perm, mod)
	}
}

func TestSaveWorkStopsCapturesAndCopiesFilesOut(t *testing.T) {
	l := newWorkLab(t)
	after := l.made.Add(time.Minute)
	l.hosts.StartCapture(l.name, "webserver", "chatserver.pcap", []byte("the lab's capture"))
	l.file("webserver", "/root/users.json", `{"alice":"x"}`, 0o644, after)
	l.file("client1", "/root/bin/run.sh", "#!/bin/sh\n", 0o755, after.Add(time.Second))
	l.file("client1", "/root/big.pcap", strings.Repeat("x", MaxSavedFile+1), 0o644, after)
	l.detach("client2", "tcpdump", "-w", "client2.pcap")
	l.file("client2", "/root/client2.pcap", "the student's own capture", 0o644, after)
	work := l.findWork()

	dir := t.TempDir()
	saved, err := SaveWork(context.Background(), l.e, l.name, work, dir)
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, s := range saved {
		line := s.Host + ": " + strings.Join(s.Files, " ") + " in " + s.Dir
		for _, f := range s.Skipped {
			line += ", skipped " + f.Path
		}
		got = append(got, line)
	}
	want := []string{
		"webserver: lab-capture/chatserver.pcap users.json in " + filepath.Join(dir, "webserver"),
		"client1: bin/run.sh in " + filepath.Join(dir, "client1") + ", skipped /root/big.pcap",
		"client2: client2.pcap in " + filepath.Join(dir, "client2"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("saved (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
	if got, err := os.ReadFile(filepath.Join(dir, "webserver", CaptureFolder, "chatserver.pcap")); string(got) != "the lab's capture" {
		t.Errorf("the lab's capture: %q, %v", got, err)
	}
	wantFile(t, filepath.Join(dir, "webserver", "users.json"), `{"alice":"x"}`, 0o644, after)
	wantFile(t, filepath.Join(dir, "client1", "bin", "run.sh"), "#!/bin/sh\n", 0o755, after.Add(time.Second))
	wantFile(t, filepath.Join(dir, "client2", "client2.pcap"), "the student's own capture", 0o644, after)
	if _, err := os.Stat(filepath.Join(dir, "client1", "big.pcap")); err == nil {
		t.Error("a file over MaxSavedFile was saved")
	}
	if l.hosts.Capturing(l.name, "webserver") {
		t.Error("the lab's capture still runs: it was not stopped as lab capture stop does")
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.running("client2", "tcpdump") {
		if time.Now().After(deadline) {
			t.Fatal("the student's tcpdump still runs: it was not stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "dnsserver")); err == nil {
		t.Error("a folder was made for a host without work")
	}
}

func TestSaveWorkKeepsAnEarlierSave(t *testing.T) {
	l := newWorkLab(t)
	dir := t.TempDir()
	save := func(data string) {
		t.Helper()
		l.file("client1", "/root/users.json", data, 0o644, l.made.Add(time.Minute))
		if _, err := SaveWork(context.Background(), l.e, l.name, l.findWork(), dir); err != nil {
			t.Fatal(err)
		}
	}
	save("v1")
	save("v2")
	save("v2")
	saved := filepath.Join(dir, "client1", "users.json")
	for path, want := range map[string]string{saved: "v2", saved + ".~1~": "v1"} {
		if got, err := os.ReadFile(path); string(got) != want {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := os.Stat(saved + ".~2~"); err == nil {
		t.Error("saving the same file again kept a second copy")
	}
}

func TestSaveWorkThatCannotBeSavedChangesNothing(t *testing.T) {
	l := newWorkLab(t)
	l.hosts.StartCapture(l.name, "webserver", "chatserver.pcap", []byte("pcap"))
	l.file("webserver", "/root/users.json", "{}", 0o644, l.made.Add(time.Minute))
	// A file where the folder of saved work should be.
	dir := filepath.Join(t.TempDir(), "saved")
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := SaveWork(context.Background(), l.e, l.name, l.findWork(), dir)
	if err == nil || !strings.Contains(err.Error(), "save the work of lab work: mkdir "+dir) {
		t.Fatalf("SaveWork = %v, want an error naming the folder", err)
	}
	if !l.hosts.Capturing(l.name, "webserver") {
		t.Error("the capture was stopped although nothing could be saved")
	}
}

func TestSaveWorkWithNothingToSave(t *testing.T) {
	l := newWorkLab(t)
	dir := filepath.Join(t.TempDir(), "saved")
	saved, err := SaveWork(context.Background(), l.e, l.name, l.findWork(), dir)
	if err != nil || len(saved) != 0 {
		t.Errorf("SaveWork = %v, %v; want nothing saved", saved, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the folder of saved work was made with nothing to save")
	}
}
