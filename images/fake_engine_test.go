package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeEngine is an in-memory image store that records what Ensure asks of
// it. It lets the cache logic run without Docker; the real engine is used
// by ensure_e2e_test.go.
type fakeEngine struct {
	mu       sync.Mutex
	images   map[string]fakeImage // by ref
	imports  []fakeImport
	builds   []fakeBuild
	tags     []string // targets
	removed  []string
	buildErr string          // reported in the build's output stream
	inUse    map[string]bool // image IDs a container uses
	// importErr, if set, is the import's answer after reading importAfter
	// bytes of the tar stream.
	importErr   error
	importAfter int64
}

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
	opts    client.ImageBuildOptions
	entries map[string][]byte
}

func newFakeEngine() *fakeEngine { return &fakeEngine{images: map[string]fakeImage{}} }

func (f *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[ref]
	if !ok {
		return client.ImageInspectResult{}, fmt.Errorf("no such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{
		ID:     img.id,
		Size:   img.size,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: img.labels}},
	}}, nil
}

func (f *fakeEngine) ImageImport(_ context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error) {
	if f.importErr != nil {
		if _, err := io.CopyN(io.Discard, src.Source, f.importAfter); err != nil {
			return nil, err
		}
		return nil, f.importErr
	}
	data, err := io.ReadAll(src.Source)
	if err != nil {
		return nil, err
	}
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		entries[h.Name] = h
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imports = append(f.imports, fakeImport{ref: ref, changes: opts.Changes, entries: entries})
	f.images[ref] = fakeImage{id: digest(data), labels: parseLabelChange(opts.Changes), size: int64(len(data))}
	return io.NopCloser(strings.NewReader(`{"status":"sha256:0123"}` + "\n")), nil
}

func (f *fakeEngine) ImageBuild(_ context.Context, ctxTar io.Reader, opts client.ImageBuildOptions) (client.ImageBuildResult, error) {
	data, err := io.ReadAll(ctxTar)
	if err != nil {
		return client.ImageBuildResult{}, err
	}
	entries, err := readTar(data)
	if err != nil {
		return client.ImageBuildResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.builds = append(f.builds, fakeBuild{opts: opts, entries: entries})
	if f.buildErr != "" {
		out := fmt.Sprintf(`{"stream":"Step 1/2 : FROM x\n"}`+"\n"+`{"errorDetail":{"message":%q},"error":%q}`+"\n", f.buildErr, f.buildErr)
		return client.ImageBuildResult{Body: io.NopCloser(strings.NewReader(out))}, nil
	}
	// A rebuild gives a new ID, as the engine's would.
	id := digest(append(data, byte(len(f.builds))))
	for _, t := range opts.Tags {
		f.images[t] = fakeImage{id: id, labels: opts.Labels, size: 1_000_000}
	}
	return client.ImageBuildResult{Body: io.NopCloser(strings.NewReader(`{"stream":"Successfully built 0123\n"}` + "\n"))}, nil
}

func (f *fakeEngine) ImageTag(_ context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[opts.Source]
	if !ok {
		return client.ImageTagResult{}, fmt.Errorf("no such image: %s: %w", opts.Source, cerrdefs.ErrNotFound)
	}
	f.images[opts.Target] = img
	f.tags = append(f.tags, opts.Target)
	return client.ImageTagResult{}, nil
}

// ImageRemove removes a tag, or an image by ID; an ID listed in inUse is
// refused as the engine refuses an image a container uses.
func (f *fakeEngine) ImageRemove(_ context.Context, id string, _ client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.images[id]; ok {
		if f.inUse[img.id] {
			return client.ImageRemoveResult{}, fmt.Errorf("image is being used by a container: %w", cerrdefs.ErrConflict)
		}
		delete(f.images, id)
		f.removed = append(f.removed, id)
		return client.ImageRemoveResult{}, nil
	}
	found := false
	for ref, img := range f.images {
		if img.id == id {
			if f.inUse[id] {
				return client.ImageRemoveResult{}, fmt.Errorf("image is being used by a container: %w", cerrdefs.ErrConflict)
			}
			delete(f.images, ref)
			found = true
		}
	}
	f.removed = append(f.removed, id)
	if !found {
		return client.ImageRemoveResult{}, fmt.Errorf("no such image %s: %w", id, cerrdefs.ErrNotFound)
	}
	return client.ImageRemoveResult{}, nil
}

// ImageList lists the images, grouping tags by ID, and honours one label
// filter "k=v".
func (f *fakeEngine) ImageList(_ context.Context, opts client.ImageListOptions) (client.ImageListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byID := map[string]*image.Summary{}
	var ids []string
	for ref, img := range f.images {
		match := true
		for kv := range opts.Filters["label"] {
			k, v, _ := strings.Cut(kv, "=")
			if img.labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		s, ok := byID[img.id]
		if !ok {
			s = &image.Summary{ID: img.id, Labels: img.labels}
			byID[img.id] = s
			ids = append(ids, img.id)
		}
		s.RepoTags = append(s.RepoTags, ref)
	}
	slices.Sort(ids)
	var res client.ImageListResult
	for _, id := range ids {
		slices.Sort(byID[id].RepoTags)
		res.Items = append(res.Items, *byID[id])
	}
	return res, nil
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
