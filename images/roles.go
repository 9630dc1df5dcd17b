package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// role is an image that adds files to the base and nothing else.
type role struct {
	name  string
	repo  string
	files []roleFile
	// dirs are created empty; they are where `lab up` copies files in.
	dirs       []string
	entrypoint string
}

// roleFile is an embedded file and where it goes in the image.
type roleFile struct {
	src, dst string
	mode     int64
}

// sshdConfig is sshd's settings in every host: root logs in with a key
// only, the lab's host key. sshd itself runs only when lab up starts it
// (lab.EnableSSH), never in a grading lab.
var sshdConfig = roleFile{src: "roles/ssh/lab3.conf", dst: "/etc/ssh/sshd_config.d/lab3.conf", mode: 0o644}

func roles() []role {
	return []role{
		{
			name: "dnsserver",
			repo: RepoDNS,
			files: []roleFile{
				{src: "roles/dnsserver/named.conf", dst: "/etc/bind/named.conf", mode: 0o644},
				{src: "roles/dnsserver/lab-dns-entrypoint", dst: "/usr/local/sbin/lab-dns-entrypoint", mode: 0o755},
				sshdConfig,
			},
			dirs:       []string{"/etc/bind/lab"},
			entrypoint: "/usr/local/sbin/lab-dns-entrypoint",
		},
		{
			name: "host",
			repo: RepoHost,
			files: []roleFile{
				{src: "roles/host/lab-host-entrypoint", dst: "/usr/local/sbin/lab-host-entrypoint", mode: 0o755},
				sshdConfig,
			},
			entrypoint: "/usr/local/sbin/lab-host-entrypoint",
		},
	}
}

// dockerfile returns the role's Dockerfile. Its one file step is ADD of a
// tar archive, which the engine unpacks over / touching only the archive's
// own entries: a COPY of a folder tree would also reset the owner and mode
// of folders the base already has (such as /etc/bind, root:bind 2755). So a
// role build never runs a command or installs a package, and adds one layer.
func (r role) dockerfile(baseRef string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "FROM %s\n", baseRef)
	fmt.Fprintf(&b, "ADD %s.tar /\n", r.name)
	// ENTRYPOINT also clears the base's CMD ["bash"], which the entrypoint
	// would otherwise run. Every metadata instruction costs the classic
	// builder a container, so there are no others.
	fmt.Fprintf(&b, "ENTRYPOINT [%q]\n", r.entrypoint)
	return b.String()
}

// layer returns the tar archive of the files and folders the role adds.
func (r role) layer() ([]byte, error) {
	var files []contextFile
	for _, d := range r.dirs {
		files = append(files, contextFile{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Dir: true})
	}
	for _, f := range r.files {
		data, err := assets.ReadFile(f.src)
		if err != nil {
			return nil, fmt.Errorf("build context %s: %w", r.name, err)
		}
		files = append(files, contextFile{Name: strings.TrimPrefix(f.dst, "/"), Mode: f.mode, Data: data})
	}
	return contextTar(files)
}

// context returns the role's build context: its Dockerfile and its layer.
func (r role) context(baseRef string) ([]byte, error) {
	layer, err := r.layer()
	if err != nil {
		return nil, err
	}
	return contextTar([]contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(r.dockerfile(baseRef))},
		{Name: r.name + ".tar", Mode: 0o644, Data: layer},
	})
}

// roleHash is the input hash of a role image: the base image it is built
// on and its build context.
func roleHash(name, baseID string, ctxTar []byte) string {
	return hashBytes([]byte(hashVersion), []byte(name), []byte(baseID), ctxTar)
}

// rolePlan is what Ensure found out about one role image before building.
type rolePlan struct {
	role   role
	ctxTar []byte
	hash   string
	ref    string
	old    builtImage // the image the ref names now, if any
	cached bool
}

// planRole computes the role's inputs and looks its image up.
func (b *builder) planRole(ctx context.Context, r role, base builtImage) (rolePlan, error) {
	ctxTar, err := r.context(base.ref)
	if err != nil {
		return rolePlan{}, err
	}
	hash := roleHash(r.name, base.id, ctxTar)
	ref := imageRef(r.repo, hash)
	old, ok, err := b.lookup(ctx, ref, hash)
	if err != nil {
		return rolePlan{}, err
	}
	p := rolePlan{role: r, ctxTar: ctxTar, hash: hash, ref: ref, old: old, cached: ok && !b.cfg.rebuild}
	if p.cached {
		if err := b.tagLatest(ctx, ref, r.repo); err != nil {
			return rolePlan{}, err
		}
		b.cfg.logger.Info(fmt.Sprintf("%s: cached %s (%s)", r.name, ref, megabytes(old.size)), "image", r.name, "ref", ref, "stage", "cached", "size", old.size)
	}
	return p, nil
}

// buildRole builds a planned role image.
func (b *builder) buildRole(ctx context.Context, p rolePlan, base builtImage) (builtImage, error) {
	start := b.cfg.now()
	b.cfg.logger.Info(fmt.Sprintf("%s: building %s from %s…", p.role.name, p.ref, base.ref), "image", p.role.name, "ref", p.ref, "stage", "building", "from", base.ref)
	if err := b.build(ctx, p.role.name, bytes.NewReader(p.ctxTar), runtime.BuildOptions{
		Tags:    []string{p.ref},
		Labels:  labels(p.role.name, p.hash),
		NoCache: b.cfg.rebuild,
	}); err != nil {
		return builtImage{}, err
	}
	return b.finish(ctx, p.role.name, p.role.repo, p.ref, p.hash, p.old.id, start)
}

// build runs an image build to its end, returning the build's own error
// message if it failed.
func (b *builder) build(ctx context.Context, what string, buildCtx io.Reader, opts runtime.BuildOptions) error {
	if err := b.eng.BuildImage(ctx, buildCtx, opts); err != nil {
		return fmt.Errorf("build %s: %w", what, err)
	}
	return nil
}
