package images

import (
	"context"
	"fmt"
	"io"
	"bytes"
	"path"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
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

func roles() []role {
	return []role{
		{
			name: "dnsserver",
			repo: RepoDNS,
			files: []roleFile{
				{src: "roles/dnsserver/named.conf", dst: "/etc/bind/named.conf", mode: 0o644},
				{src: "roles/dnsserver/lab-dns-entrypoint", dst: "/usr/local/sbin/lab-dns-entrypoint", mode: 0o755},
			},
			dirs:       []string{"/etc/bind/lab"},
			entrypoint: "/usr/local/sbin/lab-dns-entrypoint",
		},
		{
			name: "host",
			repo: RepoHost,
			files: []roleFile{
				{src: "roles/host/lab-host-entrypoint", dst: "/usr/local/sbin/lab-host-entrypoint", mode: 0o755},
			},
			entrypoint: "/usr/local/sbin/lab-host-entrypoint",
		},
	}
}

// dockerfile returns the role's Dockerfile: COPY instructions only, so a
// role build never runs a command or installs a package.
func (r role) dockerfile(baseRef string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "FROM %s\n", baseRef)
	for _, f := range r.files {
		fmt.Fprintf(&b, "COPY %s %s\n", path.Base(f.src), f.dst)
	}
	// WORKDIR makes a missing folder; the second one restores the default.
	for _, d := range r.dirs {
		fmt.Fprintf(&b, "WORKDIR %s\n", d)
	}
	if len(r.dirs) > 0 {
		b.WriteString("WORKDIR /\n")
	}
	fmt.Fprintf(&b, "ENTRYPOINT [%q]\n", r.entrypoint)
	// An empty CMD drops the base's CMD ["bash"], which the entrypoint
	// would otherwise run.
	b.WriteString("CMD []\n")
	return b.String()
}

// context returns the role's build context: its Dockerfile and files.
func (r role) context(baseRef string) ([]byte, error) {
	files := []contextFile{{Name: "Dockerfile", Mode: 0o644, Data: []byte(r.dockerfile(baseRef))}}
	for _, f := range r.files {
		data, err := assets.ReadFile(f.src)
		if err != nil {
			return nil, fmt.Errorf("build context %s: %w", r.name, err)
		}
		files = append(files, contextFile{Name: path.Base(f.src), Mode: f.mode, Data: data})
	}
	return contextTar(files)
}

// roleHash is the input hash of a role image: the base image it is built
// on and its build context.
func roleHash(name, baseID string, ctxTar []byte) string {
	return hashBytes([]byte(hashVersion), []byte(name), []byte(baseID), ctxTar)
}

func (b *builder) ensureRole(ctx context.Context, r role, base builtImage) (builtImage, error) {
	ctxTar, err := r.context(base.ref)
	if err != nil {
		return builtImage{}, err
	}
	hash := roleHash(r.name, base.id, ctxTar)
	ref := imageRef(r.repo, hash)
	old, ok, err := b.lookup(ctx, ref, hash)
	if err != nil {
		return builtImage{}, err
	}
	if ok && !b.cfg.rebuild {
		if err := b.tagLatest(ctx, ref, r.repo); err != nil {
			return builtImage{}, err
		}
		b.cfg.progressf("%s: cached %s (%s)", r.name, ref, megabytes(old.size))
		return old, nil
	}
	start := b.cfg.now()
	b.cfg.progressf("%s: building %s from %s…", r.name, ref, base.ref)
	if err := b.build(ctx, r.name, bytes.NewReader(ctxTar), client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      labels(r.name, hash),
		NoCache:     b.cfg.rebuild,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	}); err != nil {
		return builtImage{}, err
	}
	return b.finish(ctx, r.name, r.repo, ref, hash, old.id, start)
}

// build runs an image build and reads its output to the end, returning the
// build's own error message if it failed.
func (b *builder) build(ctx context.Context, what string, buildCtx io.Reader, opts client.ImageBuildOptions) error {
	res, err := b.eng.ImageBuild(ctx, buildCtx, opts)
	if err != nil {
		return fmt.Errorf("build %s: %w", what, err)
	}
	defer res.Body.Close()
	if err := readJSONMessages(res.Body); err != nil {
		return fmt.Errorf("build %s: %w", what, err)
	}
	return nil
}
