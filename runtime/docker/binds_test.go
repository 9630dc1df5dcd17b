package docker

import (
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestContainerConfigMountsTheSharedFolder: a spec's Binds are bind
// mounts, read-write (lab up --share); a bind mount, unlike -v, fails on a
// missing folder rather than making it.
func TestContainerConfigMountsTheSharedFolder(t *testing.T) {
	_, hc, _ := containerConfig(runtime.ContainerSpec{Name: "lab3-client1", Image: topology.DefaultHostImage, Network: "lab3_net",
		Binds: map[string]string{"/home/student/lab3": "/shared"}})
	want := []mount.Mount{{Type: mount.TypeBind, Source: "/home/student/lab3", Target: "/shared"}}
	if !equalAny(hc.Mounts, want) {
		t.Errorf("mounts = %+v, want %+v", hc.Mounts, want)
	}
	if len(hc.Binds) != 0 {
		t.Errorf("binds = %q; want the shared folder as a mount, which is never created", hc.Binds)
	}
}
