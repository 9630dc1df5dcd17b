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

// ImageCalls is what was asked of the engine's images: every ImportImage,
// BuildImage, TagImage and RemoveImage that reached it (a dead engine's
// calls do not), each kind in the order asked, failed ones with their
// error. Its maps and slices are the test's to read, not to change.
type ImageCalls struct {
	Imports  []Import
	Builds   []Build
	Tags     []Tag
	Removals []Removal
}

// Import is one ImportImage call.
type Import struct {
	Ref     string
	Options runtime.ImportOptions
	// Files are the root filesystem tar's entries by name (a folder's
	// ends in "/"), with their content; nil when the import failed.
	Files map[string][]byte
	// Read is how many bytes of the stream the engine read.
	Read int64
	Err  error
}

// Build is one BuildImage call.
type Build struct {
	Options runtime.BuildOptions
	// Files are the build context's entries by name ("Dockerfile", …),
	// with their content; nil when the context could not be read.
	Files map[string][]byte
	Err   error
}

// Tag is one TagImage call.
type Tag struct {
	Source, Target string
	Err            error
}

// Removal is one RemoveImage call.
type Removal struct {
	Ref string
	Err error
}

// ImageCalls returns the record of the image calls made so far.
func (e *Engine) ImageCalls() ImageCalls {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.imageCalls
	return ImageCalls{Imports: slices.Clone(c.Imports), Builds: slices.Clone(c.Builds), Tags: slices.Clone(c.Tags), Removals: slices.Clone(c.Removals)}
}

// SetBuildError makes every BuildImage fail with err (nil: succeed), as a
// build whose Dockerfile fails.
func (e *Engine) SetBuildError(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buildErr = err
}

// SetBuildSize gives every image BuildImage makes from now on size bytes,
// as the layers of a real build would (0, the default: the size of its
// build context).
func (e *Engine) SetBuildSize(size int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buildSize = size
}

// AddImage puts an image in place as if someone else had made it (pulled
// it, loaded it or imported it by hand): info's ID (made up if empty),
// Labels and Size, with info.Tags as its references. An image of that ID
// is replaced; a reference that named another image names this one now,
// and other references to the ID stay. Neither Calls nor ImageCalls
// records it.
func (e *Engine) AddImage(info runtime.ImageInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if info.ID == "" {
		info.ID = digest([]byte(e.id()))
	}
	e.put(info, info.Tags...)
}

// SetImportError makes every ImportImage fail with err (nil: succeed)
// once it has read after bytes of its stream (or all of a shorter one),
// as an engine whose disk fills up mid-import; nothing is imported.
func (e *Engine) SetImportError(err error, after int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.importErr, e.importAfter = err, after
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

// put stores the image info describes (its Tags aside) and points refs at
// it, with e.mu held.
func (e *Engine) put(info runtime.ImageInfo, refs ...string) {
	info.Labels = maps.Clone(info.Labels)
	info.Tags = nil
	e.images[info.ID] = &image{info: info}
	for _, r := range refs {
		e.tags[r] = info.ID
	}
}

// ImportImage reads rootfs (a tar) and makes ref from it, with the labels
// of its `LABEL k="v" ...` changes; SetImportError makes it fail.
func (e *Engine) ImportImage(ctx context.Context, rootfs io.Reader, ref string, opts runtime.ImportOptions) error {
	if err := e.gone(); err != nil {
		return err
	}
	e.mu.Lock()
	failErr, after := e.importErr, e.importAfter
	e.mu.Unlock()
	rec := Import{Ref: ref, Options: runtime.ImportOptions{Message: opts.Message, Changes: slices.Clone(opts.Changes)}}
	var data []byte
	var err error
	if failErr != nil {
		rec.Read, err = io.CopyN(io.Discard, rootfs, after)
		if err == nil || errors.Is(err, io.EOF) {
			err = failErr
		}
	} else {
		data, err = io.ReadAll(rootfs)
		rec.Read = int64(len(data))
		if err == nil {
			if rec.Files, err = readTar(data); err != nil {
				err = fmt.Errorf("import %s: %w", ref, err)
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec.Err = err
	e.imageCalls.Imports = append(e.imageCalls.Imports, rec)
	if err != nil {
		return err
	}
	e.put(runtime.ImageInfo{ID: digest(data), Labels: labelChanges(opts.Changes), Size: int64(len(data))}, ref)
	e.record("import image %s", ref)
	return nil
}

// BuildImage reads the build context (a tar with a Dockerfile) and makes
// its tags; a rebuild gives a new ID. SetBuildError makes it fail and
// SetBuildSize sets the size of what it makes.
func (e *Engine) BuildImage(ctx context.Context, buildContext io.Reader, opts runtime.BuildOptions) error {
	if err := e.gone(); err != nil {
		return err
	}
	data, err := io.ReadAll(buildContext)
	var files map[string][]byte
	if err == nil {
		if files, err = readTar(data); err != nil {
			err = fmt.Errorf("build: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		err = e.buildErr
	}
	opts = runtime.BuildOptions{Tags: slices.Clone(opts.Tags), Labels: maps.Clone(opts.Labels), NoCache: opts.NoCache}
	e.imageCalls.Builds = append(e.imageCalls.Builds, Build{Options: opts, Files: files, Err: err})
	if err != nil {
		return err
	}
	size := e.buildSize
	if size == 0 {
		size = int64(len(data))
	}
	id := digest(append(data, byte(len(e.imageCalls.Builds))))
	e.put(runtime.ImageInfo{ID: id, Labels: opts.Labels, Size: size}, opts.Tags...)
	e.record("build image %s", strings.Join(opts.Tags, ","))
	return nil
}

// readTar reads a tar's entries by name, with their content.
func readTar(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[h.Name] = b
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
	var err error
	if !ok {
		err = notFound("no such image: %s", source)
	}
	e.imageCalls.Tags = append(e.imageCalls.Tags, Tag{Source: source, Target: target, Err: err})
	if err != nil {
		return err
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
	err := e.removeImage(ref)
	e.imageCalls.Removals = append(e.imageCalls.Removals, Removal{Ref: ref, Err: err})
	return err
}

// removeImage is RemoveImage with e.mu held.
func (e *Engine) removeImage(ref string) error {
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
		e.put(s.Info, s.Info.Tags...)
		e.record("load image %s", s.Info.ID)
	}
	return nil
}
