package chatservercmd

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
)

func TestDefaultListen(t *testing.T) {
	host, _ := os.Hostname()
	if _, err := net.LookupHost(host); err != nil {
		t.Skipf("host name %q does not resolve here: %v", host, err)
	}
	addr, err := defaultListen()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(addr, ":5000") {
		t.Fatalf("defaultListen = %q, want port 5000", addr)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--mode", "nonsense"}, {"stray"}, {"--listen", "256.0.0.1:1"}, {"--flush-share", "0"}, {"--flush-share", "1.5"}, {"--batch-delay", "-1s"}} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
