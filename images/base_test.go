package images

import (
	"fmt"
	"slices"
	"testing"
)

func TestDebootstrapArgsAreOnePass(t *testing.T) {
	got := debootstrapArgs("bookworm", "/var/cache/lab3", "/tmp/r/rootfs", "http://mirror.example/debian")
	want := []string{
		"--variant=minbase",
		"--include=bind9,dnsutils,iproute2,iputils-ping,nano,netcat-openbsd,nftables,openssh-server,procps,python3,tcpdump,tmux",
		"--cache-dir=/var/cache/lab3",
		"bookworm", "/tmp/r/rootfs", "http://mirror.example/debian",
	}
	if !slices.Equal(got, want) {
		t.Errorf("args:\n got %q\nwant %q", got, want)
	}
}

func TestLabelChange(t *testing.T) {
	got := labelChange(labels("base", "abc"))
	want := `LABEL lab3.image="base" lab3.input-hash="abc" lab3.managed="true"`
	if got != want {
		t.Errorf("labelChange = %s, want %s", got, want)
	}
}

func TestLastLinesPrefersTheError(t *testing.T) {
	l := &lastLines{n: 3}
	fmt.Fprint(l, "I: Retrieving InRelease\nE: Couldn't download packages: tmux\nI: ")
	fmt.Fprint(l, "Cleaning up\nW: see the log\n")
	if got := l.last(); got != "E: Couldn't download packages: tmux" {
		t.Errorf("last = %q", got)
	}
	l = &lastLines{n: 2}
	fmt.Fprint(l, "a\nb\nc\n")
	if got := l.last(); got != "c" || len(l.lines) != 2 {
		t.Errorf("last = %q, lines %q", got, l.lines)
	}
	if got := (&lastLines{n: 1}).last(); got != "no output" {
		t.Errorf("empty last = %q", got)
	}
}
