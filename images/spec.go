package images

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// Suite is the Debian release of the base image.
const Suite = "bookworm"

// packages are the Debian packages of the base image, besides minbase.
var packages = []string{
	"bind9",          // named, named-checkconf, named-checkzone
	"dnsutils",       // dig, nslookup
	"iproute2",       // ip, ss
	"iputils-ping",   // ping
	"nano",           // an editor for students
	"netcat-openbsd", // nc
	"nftables",       // nft: a graded host's filter of broadcast, multicast and link-local traffic
	"openssh-server", // sshd, so ssh and scp from the host machine work (lab up starts it)
	"procps",         // ps, kill, top
	"python3",        // students' chat programs
	"tcpdump",        // milestone 3 captures
	"tmux",           // several terminals in one container
}

// Packages returns the Debian packages installed in the base image on top
// of a minimal Debian, sorted.
func Packages() []string { return slices.Clone(packages) }

// hashVersion changes whenever the way images are built changes in a way the
// other inputs do not show, so that every cached image is rebuilt.
const hashVersion = "lab3-images/1"

//go:embed base/Dockerfile roles
var assets embed.FS

// baseSpec is everything the base image is built from.
type baseSpec struct {
	Version    string     `json:"version"`
	Source     BaseSource `json:"source"`
	Suite      string     `json:"suite,omitempty"`
	Variant    string     `json:"variant,omitempty"`
	Packages   []string   `json:"packages,omitempty"`
	Trim       []string   `json:"trim,omitempty"`
	NoDoc      string     `json:"nodoc,omitempty"`
	Changes    []string   `json:"changes,omitempty"`
	Dockerfile string     `json:"dockerfile,omitempty"`
}

// newBaseSpec returns the inputs of the base image for a source.
func newBaseSpec(src BaseSource) baseSpec {
	if src == FromRegistry {
		df, err := assets.ReadFile("base/Dockerfile")
		if err != nil {
			panic(err) // embedded at compile time
		}
		return baseSpec{Version: hashVersion, Source: src, Dockerfile: string(df)}
	}
	return baseSpec{
		Version:  hashVersion,
		Source:   src,
		Suite:    Suite,
		Variant:  "minbase",
		Packages: Packages(),
		Trim:     trimRules(),
		NoDoc:    noDocConfig,
		Changes:  importChanges,
	}
}

// hash is the hex sha256 of the spec.
func (s baseSpec) hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // plain strings and slices always marshal
	}
	return hashBytes(b)
}

func hashBytes(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// imageRef is repo:<first 12 hex digits of hash>.
func imageRef(repo, hash string) string {
	return repo + ":" + hash[:12]
}

// importChanges are applied to the imported root filesystem, besides the
// labels.
var importChanges = []string{
	"ENV LANG=C.UTF-8",
	"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	`CMD ["bash"]`,
}
