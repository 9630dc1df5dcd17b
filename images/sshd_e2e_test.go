package images

import (
	"strings"
	"testing"
)

// TestImagesHaveSSHDButNoHostKeys checks what lab up's ssh relies on: sshd
// and its lab3.conf are in both role images, and no image carries a host
// key made at build time (every lab brings its own).
func TestImagesHaveSSHDButNoHostKeys(t *testing.T) {
	cli, refs := ensured(t)
	for _, ref := range []string{refs.Host, refs.DNS} {
		code, logs := runContainer(t, cli, containerSpec{
			image: ref,
			// Past the role's entrypoint: the DNS server's wants zones.
			entrypoint: []string{"sh", "-c", `test -x /usr/sbin/sshd || { echo no sshd; exit 1; }
grep -qx 'PermitRootLogin prohibit-password' /etc/ssh/sshd_config.d/lab3.conf || { echo no lab3.conf; exit 1; }
ls /etc/ssh/ssh_host_* 2>/dev/null && { echo host keys in the image; exit 1; }
echo sshd ok`},
		})
		if code != 0 || !strings.Contains(logs, "sshd ok") {
			t.Errorf("%s: exit %d:\n%s", ref, code, logs)
		}
	}
}
