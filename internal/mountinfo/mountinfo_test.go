package mountinfo

import (
	"slices"
	"testing"
)

func TestUnder(t *testing.T) {
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
			if got := Under([]byte(info), tt.dir); !slices.Equal(got, tt.want) {
				t.Errorf("Under = %q, want %q", got, tt.want)
			}
		})
	}
}
