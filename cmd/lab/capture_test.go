package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

func TestCaptureBadInputIsOneLineBeforeAnyDial(t *testing.T) {
	// Exit 1, not 2: the input is rejected before the missing engine is
	// dialled, so nothing can have changed.
	offline(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"capture"}, "lab: usage: lab capture start [HOST...] | lab capture stop [--out DIR]"},
		{[]string{"capture", "begin"}, `lab: unknown command "begin" for "lab capture": use lab capture start [HOST...] or lab capture stop`},
		{[]string{"capture", "start", "client1", "client9"}, `lab: unknown host "client9": want one of dnsserver, webserver, client1, client2, client3`},
		{[]string{"capture", "start", "chatserver"}, `lab: unknown host "chatserver": want one of dnsserver, webserver, client1, client2, client3`},
		{[]string{"capture", "stop", "client1"}, `lab: lab capture stop takes no arguments (got "client1"); see: lab capture stop --help`},
		{[]string{"capture", "stop", "--out"}, "lab: flag needs an argument: --out; see: lab capture stop --help"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, stderr := runLab(t, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("exit code %d, stdout %q; want 2 (usage) and nothing", code, out)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCaptureNeedsTheEngine(t *testing.T) {
	offline(t)
	for _, args := range [][]string{{"capture", "start"}, {"capture", "stop"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runLab(t, args...)
			if code != exitEngine || !strings.HasPrefix(stderr, "lab: cannot reach the Docker engine") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 4 and one line about the engine", code, stderr)
			}
		})
	}
}

func TestCaptureFilesAreListedWithSizesAndCounts(t *testing.T) {
	var b strings.Builder
	printCaptureFiles(&b, "results/lab3/captures", []traffic.CaptureFile{
		{Host: "webserver", Path: "results/lab3/captures/chatserver.pcap", Bytes: 14234, Captured: 61},
		{Host: "client1", Path: "results/lab3/captures/client1.pcap", Bytes: 812, Captured: 9, Dropped: 2},
		{Host: "client2", Path: "results/lab3/captures/client2.pcap", Bytes: 3_100_000, Captured: 20000},
	})
	want := `captures in results/lab3/captures:
  chatserver.pcap  webserver  14.2 kB  61 packets
  client1.pcap     client1    812 B    9 packets  2 dropped
  client2.pcap     client2    3.1 MB   20000 packets
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCaptureStaleFilesAreTheHandoutFilesNotWritten(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "dnsserver.pcap", "mine.pcap"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	written := []traffic.CaptureFile{{Host: "webserver", Path: filepath.Join(dir, "chatserver.pcap")}, {Host: "client1", Path: filepath.Join(dir, "client1.pcap")}}
	if got := strings.Join(staleCaptures(dir, topology.Default(), written), " "); got != "dnsserver.pcap" {
		t.Errorf("stale = %q, want dnsserver.pcap", got)
	}
}
