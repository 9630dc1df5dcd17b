package fake

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// SetBuildError makes every BuildImage fail with err (nil: succeed), as a
// build whose Dockerfile fails.
func (e *Engine) SetBuildError(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buildErr = err
}

// image IDs are the digest of what made them.
func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// lookup finds an image by reference or ID, with e.mu held.
func (e *Engine) lookup(ref string) (*image, bool) {
	if id, ok := e.tags[ref]; ok {
		return e.images[id], true
	}
	if img, ok := e.images[ref]; ok {
		return img, true
	}
	return nil, false
}

func (e *Engine) info(img *image) runtime.ImageInfo {
	info := img.info
	info.Labels = maps.Clone(img.info.Labels)
	info.Tags = nil
	for ref, id := range e.tags {
		if id == img.info.ID {
			info.Tags = append(info.Tags, ref)
		}
	}
	sort.Strings(info.Tags)
	return info
}

// InspectImage describes an image by reference or ID.
func (e *Engine) InspectImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	if err := e.gone(); err != nil {
		return runtime.ImageInfo{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.lookup(ref)
	if !ok {
		return runtime.ImageInfo{}, notFound("no such image: %s", ref)
	}
	return e.info(img), nil
}

// put stores an image made from data under ref, with e.mu held.
func (e *Engine) put(data []byte, labels map[string]string, refs ...string) {
	id := digest(data)
	e.images[id] = &image{info: runtime.ImageInfo{ID: id, Labels: maps.Clone(labels), Size: int64(len(data))}}
	for _, r := range refs {
		e.tags[r] = id
	}
}

// ImportImage reads rootfs (a tar) and makes ref from it, with the labels
// of its `LABEL k="v" ...` changes.
func (e *Engine) ImportImage(ctx context.Context, rootfs io.Reader, ref string, opts runtime.ImportOptions) error {
	if err := e.gone(); err != nil {
		return err
	}
	data, err := io.ReadAll(rootfs)
	if err != nil {
		return err
	}
	if err := checkTar(data); err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.put(data, labelChanges(opts.Changes), ref)
	e.record("import image %s", ref)
	return nil
}

// BuildImage reads the build context (a tar with a Dockerfile) and makes
// its tags; a rebuild gives a new ID.
func (e *Engine) BuildImage(ctx context.Context, buildContext io.Reader, opts runtime.BuildOptions) error {
	if err := e.gone(); err != nil {
		return err
	}
	data, err := io.ReadAll(buildContext)
	if err != nil {
		return err
	}
	if err := checkTar(data); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.buildErr != nil {
		return e.buildErr
	}
	e.builds++
	e.put(append(data, byte(e.builds)), opts.Labels, opts.Tags...)
	e.record("build image %s", strings.Join(opts.Tags, ","))
	return nil
}

func checkTar(data []byte) error {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// labelChanges reads the labels of `LABEL k="v" ...` changes.
func labelChanges(changes []string) map[string]string {
	out := map[string]string{}
	for _, c := range changes {
		rest, ok := strings.CutPrefix(c, "LABEL ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// TagImage gives source the reference target too.
func (e *Engine) TagImage(ctx context.Context, source, target string) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.lookup(source)
	if !ok {
		return notFound("no such image: %s", source)
	}
	e.tags[target] = img.info.ID
	e.record("tag image %s", target)
	return nil
}

// RemoveImage untags a reference (the last one takes the image along) or
// removes an image by ID with its references; one a container uses is a
// conflict.
func (e *Engine) RemoveImage(ctx context.Context, ref string) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.lookup(ref)
	if !ok {
		return notFound("no such image: %s", ref)
	}
	id := img.info.ID
	refs := 0
	for _, i := range e.tags {
		if i == id {
			refs++
		}
	}
	_, byRef := e.tags[ref]
	if !byRef || refs <= 1 {
		for _, c := range e.ctrs {
			if c.spec.Image == id || e.tags[c.spec.Image] == id {
				return conflict("unable to remove %s: image is being used by container %s", ref, c.info.Name)
			}
		}
	}
	if byRef && refs > 1 {
		delete(e.tags, ref)
	} else {
		for r, i := range e.tags {
			if i == id {
				delete(e.tags, r)
			}
		}
		delete(e.images, id)
	}
	e.record("remove image %s", ref)
	return nil
}

// ListImages lists the images carrying the labels, by ID.
func (e *Engine) ListImages(ctx context.Context, labels map[string]string) ([]runtime.ImageInfo, error) {
	if err := e.gone(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []runtime.ImageInfo
	for _, id := range slices.Sorted(maps.Keys(e.images)) {
		if img := e.images[id]; matches(img.info.Labels, labels) {
			out = append(out, e.info(img))
		}
	}
	return out, nil
}

// savedImage is one image in the fake's save archive.
type savedImage struct {
	Info runtime.ImageInfo `json:"info"`
}

// SaveImages writes the images refs (with all their tags) as one JSON
// archive, for LoadImages.
func (e *Engine) SaveImages(ctx context.Context, refs []string) (io.ReadCloser, error) {
	if err := e.gone(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []savedImage
	for _, ref := range refs {
		img, ok := e.lookup(ref)
		if !ok {
			return nil, notFound("no such image: %s", ref)
		}
		out = append(out, savedImage{Info: e.info(img)})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// LoadImages loads what SaveImages wrote.
func (e *Engine) LoadImages(ctx context.Context, archive io.Reader) error {
	if err := e.gone(); err != nil {
		return err
	}
	var in []savedImage
	if err := json.NewDecoder(archive).Decode(&in); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range in {
		info := s.Info
		e.images[info.ID] = &image{info: runtime.ImageInfo{ID: info.ID, Labels: info.Labels, Size: info.Size}}
		for _, t := range info.Tags {
			e.tags[t] = info.ID
		}
		e.record("load image %s", info.ID)
	}
	return nil
}
