package images

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPackagesHaveTheStudentsTools(t *testing.T) {
	got := Packages()
	want := []string{"bind9", "dnsutils", "iproute2", "iputils-ping", "nano", "netcat-openbsd", "nftables", "openssh-server", "procps", "python3", "tcpdump", "tmux"}
	if !slices.Equal(got, want) {
		t.Errorf("Packages() = %v, want %v", got, want)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Packages() is not sorted: %v", got)
	}
	got[0] = "changed"
	if Packages()[0] != "bind9" {
		t.Error("Packages() returns the package's own slice")
	}
}

func TestRegistryDockerfileInstallsThePackages(t *testing.T) {
	df, err := assets.ReadFile("base/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)--no-install-recommends \\\n\s*([a-z0-9 .+-]+?)\s*\\`).FindSubmatch(df)
	if m == nil {
		t.Fatalf("no apt-get install line in base/Dockerfile:\n%s", df)
	}
	if got := strings.Fields(string(m[1])); !slices.Equal(got, Packages()) {
		t.Errorf("base/Dockerfile installs %v, Packages() is %v", got, Packages())
	}
}

func TestBaseHashFollowsItsInputs(t *testing.T) {
	base := newBaseSpec(FromDebootstrap)
	if base.hash() != newBaseSpec(FromDebootstrap).hash() {
		t.Fatal("the same inputs give different hashes")
	}
	if len(base.hash()) != 64 {
		t.Fatalf("hash %q is not hex sha256", base.hash())
	}
	tests := []struct {
		name   string
		change func(*baseSpec)
	}{
		{"another package", func(s *baseSpec) { s.Packages = append(s.Packages, "vim-tiny") }},
		{"another suite", func(s *baseSpec) { s.Suite = "trixie" }},
		{"another variant", func(s *baseSpec) { s.Variant = "buildd" }},
		{"another import change", func(s *baseSpec) { s.Changes = append(slices.Clone(s.Changes), "WORKDIR /root") }},
		{"another trim", func(s *baseSpec) { s.Trim = s.Trim[1:] }},
		{"another dpkg exclude", func(s *baseSpec) { s.NoDoc += "path-exclude /usr/share/zoneinfo/*\n" }},
		{"another build method", func(s *baseSpec) { s.Version = "lab3-images/0" }},
		{"the registry source", func(s *baseSpec) { *s = newBaseSpec(FromRegistry) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBaseSpec(FromDebootstrap)
			s.Packages = slices.Clone(s.Packages)
			tt.change(&s)
			if s.hash() == base.hash() {
				t.Errorf("hash did not change")
			}
		})
	}
}

func TestRoleHashFollowsBaseAndContext(t *testing.T) {
	h := roleHash("host", "sha256:1", []byte("ctx"))
	for name, other := range map[string]string{
		"other role":    roleHash("dnsserver", "sha256:1", []byte("ctx")),
		"other base":    roleHash("host", "sha256:2", []byte("ctx")),
		"other context": roleHash("host", "sha256:1", []byte("ctx2")),
		// Length-prefixed parts: moving a byte between parts changes it.
		"shifted bytes": roleHash("hos", "tsha256:1", []byte("ctx")),
	} {
		if other == h {
			t.Errorf("%s: same hash", name)
		}
	}
	if h != roleHash("host", "sha256:1", []byte("ctx")) {
		t.Error("same inputs, different hash")
	}
}

func TestImageRefUsesTwelveHexDigits(t *testing.T) {
	if got, want := imageRef(RepoBase, "1a2b3c4d5e6f7a8b9c0d"), "lab3/base:1a2b3c4d5e6f"; got != want {
		t.Errorf("imageRef = %q, want %q", got, want)
	}
}
