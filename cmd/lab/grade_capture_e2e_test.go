package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

// TestGradeCaptureOnly grades the reference binaries with --only and
// --capture: one scenario runs, and its captures land in the results folder.
func TestGradeCaptureOnly(t *testing.T) {
	needDocker(t)
	bins := tier.Bins(t, "chat-server", "chat-client")
	results := t.TempDir()
	code, out, errOut := runLab(t, "grade", "--bin", bins, "--results", results, "--only", "^m2-p2p-udp$", "--capture")
	t.Logf("lab grade:\n%s", out)
	if code != 0 {
		t.Fatalf("grade: exit %d\n%s", code, errOut)
	}
	if n := strings.Count(out, "PASS  reference"); n != 1 || !strings.Contains(out, "m2-p2p-udp") {
		t.Errorf("want exactly one scenario, m2-p2p-udp, to run; got %d PASS lines", n)
	}
	for _, f := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "client3.pcap", "dnsserver.pcap"} {
		fi, err := os.Stat(filepath.Join(results, "reference", "m2-p2p-udp", "captures", f))
		if err != nil || fi.Size() < 24 {
			t.Errorf("capture %s: %v (want a pcap file with its header)", f, err)
		}
	}
}
