package images

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestMountsUnder(t *testing.T) {
	info := `22 1 0:21 / / rw,relatime - overlay overlay rw
30 22 0:25 / /tmp/lab3-rootfs-1/rootfs/proc rw - proc proc rw
31 22 0:26 / /tmp/lab3-rootfs-1/rootfs/sys rw - sysfs sysfs rw
32 31 0:27 / /tmp/lab3-rootfs-1/rootfs/sys/fs/cgroup rw - cgroup2 cgroup rw
33 22 0:28 / /tmp/lab3-rootfs-10/rootfs/proc rw - proc proc rw
34 22 0:29 / /tmp/with\040space/rootfs/dev rw - devtmpfs udev rw
`
	tests := []struct {
		dir  string
		want []string
	}{
		{"/tmp/lab3-rootfs-1", []string{
			// Deepest first, so that nested mounts go before their parents.
			"/tmp/lab3-rootfs-1/rootfs/sys/fs/cgroup",
			"/tmp/lab3-rootfs-1/rootfs/proc",
			"/tmp/lab3-rootfs-1/rootfs/sys",
		}},
		{"/tmp/with space", []string{"/tmp/with space/rootfs/dev"}},
		{"/tmp/lab3-rootfs-2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if got := mountsUnder([]byte(info), tt.dir); !slices.Equal(got, tt.want) {
				t.Errorf("mountsUnder = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDebootstrapArgsAreOnePass(t *testing.T) {
	got := debootstrapArgs("bookworm", "/var/cache/lab3", "/tmp/r/rootfs", "http://mirror.example/debian")
	want := []string{
		"--variant=minbase",
		"--include=bind9,dnsutils,iproute2,iputils-ping,nano,netcat-openbsd,openssh-server,procps,python3,tcpdump,tmux",
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

func TestReadJSONMessages(t *testing.T) {
	tests := []struct {
		name, stream, wantErr string
	}{
		{"success", `{"stream":"Step 1/2 : FROM x\n"}` + "\n" + `{"stream":"Successfully built 1\n"}`, ""},
		{"import status", `{"status":"sha256:abc"}`, ""},
		{"error detail", `{"stream":"Step 1/2\n"}{"errorDetail":{"message":"COPY failed: no such file\n"},"error":"COPY failed"}`, "COPY failed: no such file"},
		{"bare error", `{"error":"no space left on device"}`, "no space left on device"},
		{"cut short", `{"stream":"Ste`, "read engine output: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readJSONMessages(strings.NewReader(tt.stream))
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
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
