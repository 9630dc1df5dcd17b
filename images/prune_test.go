package images

import (
	"slices"
	"testing"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

func TestPruneRemovesOnlyOutdatedLabImages(t *testing.T) {
	eng := fake.New("fake")
	for _, img := range []runtime.ImageInfo{
		{ID: "sha256:base-now", Labels: labels("base", "a"), Tags: []string{"lab3/base:aaaaaaaaaaaa", "lab3/base:latest"}},
		{ID: "sha256:host-now", Labels: labels("host", "b"), Tags: []string{"lab3/host:bbbbbbbbbbbb"}},
		{ID: "sha256:dns-now", Labels: labels("dnsserver", "c"), Tags: []string{"lab3/dnsserver:cccccccccccc"}},
		{ID: "sha256:host-old", Labels: labels("host", "old"), Tags: []string{"lab3/host:000000000000"}},
		{ID: "sha256:dns-old-used", Labels: labels("dnsserver", "old"), Tags: []string{"lab3/dnsserver:111111111111"}},
		{ID: "sha256:not-ours", Labels: nil, Tags: []string{"debian:bookworm-slim"}},
		{ID: "sha256:other", Labels: map[string]string{"lab3.managed": "false"}, Tags: []string{"someone/else:latest"}},
	} {
		eng.AddImage(img)
	}
	// A container uses the old dnsserver image.
	if _, err := eng.CreateContainer(t.Context(), runtime.ContainerSpec{Name: "user", Image: "sha256:dns-old-used"}); err != nil {
		t.Fatal(err)
	}
	keep := Refs{Base: "lab3/base:aaaaaaaaaaaa", DNS: "lab3/dnsserver:cccccccccccc", Host: "lab3/host:bbbbbbbbbbbb"}

	removed, err := Prune(t.Context(), eng, keep)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sha256:host-old"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, ref := range []string{"lab3/base:aaaaaaaaaaaa", "lab3/base:latest", "lab3/host:bbbbbbbbbbbb", "lab3/dnsserver:cccccccccccc", "lab3/dnsserver:111111111111", "debian:bookworm-slim", "someone/else:latest"} {
		if _, err := eng.InspectImage(t.Context(), ref); err != nil {
			t.Errorf("%s was removed", ref)
		}
	}
}

func TestPruneWithNoRefsRemovesEveryUnusedLabImage(t *testing.T) {
	eng := fake.New("fake")
	eng.AddImage(runtime.ImageInfo{ID: "sha256:base", Labels: labels("base", "a"), Tags: []string{"lab3/base:aaaaaaaaaaaa", "lab3/base:latest"}})
	eng.AddImage(runtime.ImageInfo{ID: "sha256:not-ours", Tags: []string{"debian:bookworm-slim"}})
	removed, err := Prune(t.Context(), eng, Refs{})
	if err != nil {
		t.Fatal(err)
	}
	if left := allImages(t, eng); !slices.Equal(removed, []string{"sha256:base"}) || len(left) != 1 || len(left[0].Tags) != 1 {
		t.Errorf("removed %v, left %v", removed, left)
	}
}
