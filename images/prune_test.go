package images

import (
	"slices"
	"testing"
)

func TestPruneRemovesOnlyOutdatedLabImages(t *testing.T) {
	eng := newFakeEngine()
	eng.images = map[string]fakeImage{
		"lab3/base:aaaaaaaaaaaa":      {id: "sha256:base-now", labels: labels("base", "a")},
		"lab3/base:latest":            {id: "sha256:base-now", labels: labels("base", "a")},
		"lab3/host:bbbbbbbbbbbb":      {id: "sha256:host-now", labels: labels("host", "b")},
		"lab3/dnsserver:cccccccccccc": {id: "sha256:dns-now", labels: labels("dnsserver", "c")},
		"lab3/host:000000000000":      {id: "sha256:host-old", labels: labels("host", "old")},
		"lab3/dnsserver:111111111111": {id: "sha256:dns-old-used", labels: labels("dnsserver", "old")},
		"debian:bookworm-slim":        {id: "sha256:not-ours", labels: nil},
		"someone/else:latest":         {id: "sha256:other", labels: map[string]string{"lab3.managed": "false"}},
	}
	eng.inUse = map[string]bool{"sha256:dns-old-used": true}
	keep := Refs{Base: "lab3/base:aaaaaaaaaaaa", DNS: "lab3/dnsserver:cccccccccccc", Host: "lab3/host:bbbbbbbbbbbb"}

	removed, err := Prune(t.Context(), eng, keep)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sha256:host-old"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, ref := range []string{"lab3/base:aaaaaaaaaaaa", "lab3/base:latest", "lab3/host:bbbbbbbbbbbb", "lab3/dnsserver:cccccccccccc", "lab3/dnsserver:111111111111", "debian:bookworm-slim", "someone/else:latest"} {
		if _, ok := eng.images[ref]; !ok {
			t.Errorf("%s was removed", ref)
		}
	}
}

func TestPruneWithNoRefsRemovesEveryUnusedLabImage(t *testing.T) {
	eng := newFakeEngine()
	eng.images = map[string]fakeImage{
		"lab3/base:aaaaaaaaaaaa": {id: "sha256:base", labels: labels("base", "a")},
		"lab3/base:latest":       {id: "sha256:base", labels: labels("base", "a")},
		"debian:bookworm-slim":   {id: "sha256:not-ours"},
	}
	removed, err := Prune(t.Context(), eng, Refs{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"sha256:base"}) || len(eng.images) != 1 {
		t.Errorf("removed %v, left %v", removed, eng.images)
	}
}
