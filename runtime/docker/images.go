package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// InspectImage describes an image; a missing one is runtime.ErrNotFound.
func (d *Docker) InspectImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	res, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.ImageInfo{}, Classify(err)
	}
	info := runtime.ImageInfo{ID: res.ID, Size: res.Size, Tags: realTags(res.RepoTags)}
	if res.Config != nil {
		info.Labels = res.Config.Labels
	}
	return info, nil
}

// ImportImage makes ref from a root file system tar ("docker import"),
// reading rootfs to its end, and returns the import's own error, if its
// progress stream reports one.
func (d *Docker) ImportImage(ctx context.Context, rootfs io.Reader, ref string, opts runtime.ImportOptions) error {
	res, err := d.c.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, ref, client.ImageImportOptions{
		Message: opts.Message,
		Changes: opts.Changes,
	})
	if err != nil {
		return Classify(err)
	}
	defer res.Close()
	return readJSONMessages(res)
}

// BuildImage builds with the classic builder, removing intermediate
// containers and pulling no parent, and returns the build's own error
// message if it failed.
func (d *Docker) BuildImage(ctx context.Context, buildContext io.Reader, opts runtime.BuildOptions) error {
	res, err := d.c.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        opts.Tags,
		Labels:      opts.Labels,
		NoCache:     opts.NoCache,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return Classify(err)
	}
	defer res.Body.Close()
	return readJSONMessages(res.Body)
}

// TagImage gives the image source the reference target too.
func (d *Docker) TagImage(ctx context.Context, source, target string) error {
	_, err := d.c.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return Classify(err)
}

// RemoveImage removes a reference, or an image by ID, with its unused
// parents.
func (d *Docker) RemoveImage(ctx context.Context, ref string) error {
	_, err := d.c.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	return Classify(err)
}

// ListImages lists the images carrying all the labels.
func (d *Docker) ListImages(ctx context.Context, labels map[string]string) ([]runtime.ImageInfo, error) {
	res, err := d.c.ImageList(ctx, client.ImageListOptions{Filters: labelFilter(labels)})
	if err != nil {
		return nil, Classify(err)
	}
	out := make([]runtime.ImageInfo, 0, len(res.Items))
	for _, img := range res.Items {
		out = append(out, runtime.ImageInfo{ID: img.ID, Tags: realTags(img.RepoTags), Labels: img.Labels, Size: img.Size})
	}
	return out, nil
}

// SaveImages streams "docker save" of refs.
func (d *Docker) SaveImages(ctx context.Context, refs []string) (io.ReadCloser, error) {
	res, err := d.c.ImageSave(ctx, refs)
	if err != nil {
		return nil, Classify(err)
	}
	return res, nil
}

// LoadImages is "docker load" of archive, and returns the load's own
// error, if its progress stream reports one.
func (d *Docker) LoadImages(ctx context.Context, archive io.Reader) error {
	res, err := d.c.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return Classify(err)
	}
	defer res.Close()
	return readJSONMessages(res)
}

// realTags drops the engine's "<none>:<none>" placeholder.
func realTags(tags []string) []string {
	return slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return t == "<none>:<none>" || t == "" })
}

// jsonMessage is one line of the engine's build, import or load output.
type jsonMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readJSONMessages drains the engine's progress stream and returns the
// first error it reports.
func readJSONMessages(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read engine output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(strings.TrimSpace(m.ErrorDetail.Message))
		}
		if m.Error != "" {
			return errors.New(strings.TrimSpace(m.Error))
		}
	}
}
