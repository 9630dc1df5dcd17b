package runtime

import (
	"strings"
	"testing"
)

func TestSandboxCommandDropsToTheUser(t *testing.T) {
	got := strings.Join(Sandbox{UID: 1000, GID: 1000}.Command([]string{"python3", "server.py"}), " ")
	want := "setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- python3 server.py"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
