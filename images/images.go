// Package images builds the lab's Docker images locally, with no container
// registry: a Debian base made with debootstrap and imported into the
// engine, and two role images (dnsserver, host) that add only files on top
// of it. Builds are cached by a content hash of their inputs.
package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// Refs names the images a lab needs.
type Refs struct{ Base, DNS, Host string }

// Labels put on every image this package builds.
const (
	LabelManaged   = "lab3.managed"    // always "true"
	LabelInputHash = "lab3.input-hash" // sha256 of the image's inputs
	LabelImage     = "lab3.image"      // "base", "dnsserver" or "host"
)

// Repositories of the lab's images. Each image is tagged with the first 12
// hex digits of its input hash and with "latest" (for compose files).
const (
	RepoBase = "lab3/base"
	RepoDNS  = "lab3/dnsserver"
	RepoHost = "lab3/host"
)

// ErrNeedRoot is returned, wrapped, when the base image must be built with
// debootstrap and the process is not root.
var ErrNeedRoot = errors.New("building the base image needs root")

// ErrNoDebootstrap is returned, wrapped, when debootstrap is not installed.
var ErrNoDebootstrap = errors.New("debootstrap not found")

// ErrNoMirror is returned, wrapped, when no Debian mirror can be found.
var ErrNoMirror = errors.New("no Debian mirror found")

// Ensure makes sure the lab's images exist on the engine, building only
// what is missing or out of date.
func Ensure(ctx context.Context, eng runtime.Images, opts ...Option) (Refs, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return Refs{}, err
	}
	lockPath := filepath.Join(filepath.Dir(cfg.cacheDir), "images.lock")
	unlock, err := lockBuilds(ctx, lockPath, func() {
		cfg.logger.Info(fmt.Sprintf("images: waiting for another process building the lab's images (%s)…", lockPath), "stage", "wait", "lock", lockPath)
	})
	if err != nil {
		return Refs{}, err
	}
	defer unlock()
	b := &builder{eng: eng, cfg: cfg}
	base, err := b.ensureBase(ctx)
	if err != nil {
		return Refs{}, err
	}
	refs := Refs{Base: base.ref}
	rs := roles()
	plans := make([]rolePlan, len(rs))
	for i, r := range rs {
		if plans[i], err = b.planRole(ctx, r, base); err != nil {
			return Refs{}, err
		}
	}
	// The role builds are independent and mostly wait on the engine's
	// storage driver, so they run side by side.
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range plans {
		if !p.cached {
			g.Go(func() error {
				_, err := b.buildRole(gctx, p, base)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Refs{}, err
	}
	for _, p := range plans {
		switch p.role.name {
		case "dnsserver":
			refs.DNS = p.ref
		case "host":
			refs.Host = p.ref
		}
	}
	return refs, nil
}

// builtImage is one image that Ensure made sure of.
type builtImage struct {
	ref  string // repo:hash12
	hash string // full input hash
	id   string // image ID
	size int64
}

type builder struct {
	eng runtime.Images
	cfg config
}

// lookup reports whether ref exists and was built from the inputs with the
// given hash.
func (b *builder) lookup(ctx context.Context, ref, hash string) (builtImage, bool, error) {
	res, err := b.eng.InspectImage(ctx, ref)
	if errors.Is(err, runtime.ErrNotFound) {
		return builtImage{}, false, nil
	}
	if err != nil {
		return builtImage{}, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	img := builtImage{ref: ref, hash: hash, id: res.ID, size: res.Size}
	if res.Labels[LabelInputHash] != hash {
		return img, false, nil
	}
	return img, true, nil
}

// finish inspects a freshly built image, tags it :latest, removes the image
// the tag pointed at before (unless a container still uses it) and reports.
func (b *builder) finish(ctx context.Context, what, repo, ref, hash, oldID string, start time.Time) (builtImage, error) {
	img, ok, err := b.lookup(ctx, ref, hash)
	if err != nil {
		return builtImage{}, err
	}
	if !ok {
		return builtImage{}, fmt.Errorf("build %s: image %s is missing its %s label after the build", what, ref, LabelInputHash)
	}
	if err := b.tagLatest(ctx, ref, repo); err != nil {
		return builtImage{}, err
	}
	if oldID != "" && oldID != img.id {
		// Best effort: an image still used by a container stays.
		_ = b.eng.RemoveImage(ctx, oldID)
	}
	took := b.cfg.now().Sub(start).Round(100 * time.Millisecond)
	b.cfg.logger.Info(fmt.Sprintf("%s: built %s (%s) in %s", what, ref, megabytes(img.size), took),
		"image", what, "ref", ref, "stage", "built", "size", img.size, "elapsed", took)
	return img, nil
}

func (b *builder) tagLatest(ctx context.Context, ref, repo string) error {
	if err := b.eng.TagImage(ctx, ref, repo+":latest"); err != nil {
		return fmt.Errorf("tag %s as %s:latest: %w", ref, repo, err)
	}
	return nil
}

func megabytes(n int64) string {
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}

// labels returns the labels of an image built from inputs with hash.
func labels(what, hash string) map[string]string {
	return map[string]string{LabelManaged: "true", LabelInputHash: hash, LabelImage: what}
}

// getenv is os.Getenv; a variable so that option defaults stay testable.
var getenv = os.Getenv
