package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// fakeEngine is an in-memory image store that records what Ensure asks of
// it. It lets the cache logic run without Docker; the real engine is used
// by ensure_e2e_test.go. (runtime/fake is the general fake; this one
// records the images' build contexts and import tars for the tests here.)
type fakeEngine struct {
	mu       sync.Mutex
	images   map[string]fakeImage // by ref
	imports  []fakeImport
	builds   []fakeBuild
	tags     []string // targets
	removed  []string
	buildErr string          // the build's own error
	inUse    map[string]bool // image IDs a container uses
	// importErr, if set, is the import's answer after reading importAfter
	// bytes of the tar stream.
	importErr   error
	importAfter int64
}

var _ runtime.Images = (*fakeEngine)(nil)

type fakeImage struct {
	id     string
	labels map[string]string
	size   int64
}

type fakeImport struct {
	ref     string
	changes []string
	entries map[string]*tar.Header
}

type fakeBuild struct {
	opts    runtime.BuildOptions
	entries map[string][]byte
}

func newFakeEngine() *fakeEngine { return &fakeEngine{images: map[string]fakeImage{}} }

func (f *fakeEngine) InspectImage(_ context.Context, ref string) (runtime.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[ref]
	if !ok {
		return runtime.ImageInfo{}, fmt.Errorf("no such image: %s: %w", ref, runtime.ErrNotFound)
	}
	return runtime.ImageInfo{ID: img.id, Size: img.size, Labels: img.labels}, nil
}

func (f *fakeEngine) ImportImage(_ context.Context, src io.Reader, ref string, opts runtime.ImportOptions) error {
	if f.importErr != nil {
		if _, err := io.CopyN(io.Discard, src, f.importAfter); err != nil {
			return err
		}
		return f.importErr
	}
	data, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		entries[h.Name] = h
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imports = append(f.imports, fakeImport{ref: ref, changes: opts.Changes, entries: entries})
	f.images[ref] = fakeImage{id: digest(data), labels: parseLabelChange(opts.Changes), size: int64(len(data))}
	return nil
}

func (f *fakeEngine) BuildImage(_ context.Context, ctxTar io.Reader, opts runtime.BuildOptions) error {
	data, err := io.ReadAll(ctxTar)
	if err != nil {
		return err
	}
	entries, err := readTar(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = append(f.builds, fakeBuild{opts: opts, entries: entries})
	if f.buildErr != "" {
		return errors.New(f.buildErr)
	}
	// A rebuild gives a new ID, as the engine's would.
	id := digest(append(data, byte(len(f.builds))))
	for _, t := range opts.Tags {
		f.images[t] = fakeImage{id: id, labels: opts.Labels, size: 1_000_000}
	}
	return nil
}

func (f *fakeEngine) TagImage(_ context.Context, source, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[source]
	if !ok {
		return fmt.Errorf("no such image: %s: %w", source, runtime.ErrNotFound)
	}
	f.images[target] = img
	f.tags = append(f.tags, target)
	return nil
}

// RemoveImage removes a tag, or an image by ID; an ID listed in inUse is
// refused as the engine refuses an image a container uses.
func (f *fakeEngine) RemoveImage(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.images[id]; ok {
		if f.inUse[img.id] {
			return fmt.Errorf("image is being used by a container: %w", runtime.ErrConflict)
		}
		delete(f.images, id)
		f.removed = append(f.removed, id)
		return nil
	}
	found := false
	for ref, img := range f.images {
		if img.id == id {
			if f.inUse[id] {
				return fmt.Errorf("image is being used by a container: %w", runtime.ErrConflict)
			}
			delete(f.images, ref)
			found = true
		}
	}
	f.removed = append(f.removed, id)
	if !found {
		return fmt.Errorf("no such image %s: %w", id, runtime.ErrNotFound)
	}
	return nil
}

// ListImages lists the images carrying the labels, grouping tags by ID.
func (f *fakeEngine) ListImages(_ context.Context, labels map[string]string) ([]runtime.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byID := map[string]*runtime.ImageInfo{}
	var ids []string
	for ref, img := range f.images {
		match := true
		for k, v := range labels {
			if img.labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		s, ok := byID[img.id]
		if !ok {
			s = &runtime.ImageInfo{ID: img.id, Labels: img.labels}
			byID[img.id] = s
			ids = append(ids, img.id)
		}
		s.Tags = append(s.Tags, ref)
	}
	slices.Sort(ids)
	var out []runtime.ImageInfo
	for _, id := range ids {
		slices.Sort(byID[id].Tags)
		out = append(out, *byID[id])
	}
	return out, nil
}

func (f *fakeEngine) SaveImages(context.Context, []string) (io.ReadCloser, error) {
	return nil, errors.New("the images fake does not save")
}

func (f *fakeEngine) LoadImages(context.Context, io.Reader) error {
	return errors.New("the images fake does not load")
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func readTar(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
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

// parseLabelChange reads the labels of a `LABEL k="v" ...` change.
func parseLabelChange(changes []string) map[string]string {
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
