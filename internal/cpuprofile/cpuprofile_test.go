package cpuprofile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartWritesAProfileUntilStopped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := Start(p)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if info, err := os.Stat(p); err != nil || info.Size() == 0 {
		t.Fatalf("profile %s: %v, %v; want a non-empty file", p, info, err)
	}
}

func TestStartWithoutPathDoesNothing(t *testing.T) {
	stop, err := Start("")
	if err != nil {
		t.Fatal(err)
	}
	stop()
}

func TestStartIntoAMissingFolder(t *testing.T) {
	_, err := Start(filepath.Join(t.TempDir(), "no", "cpu.pprof"))
	if err == nil || !strings.HasPrefix(err.Error(), "create CPU profile:") {
		t.Errorf("err = %v, want create CPU profile: …", err)
	}
}
