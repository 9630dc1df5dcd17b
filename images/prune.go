package images

import (
	"context"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Pruner is the part of the Docker Engine API that Prune uses. It is
// satisfied by *client.Client from github.com/moby/moby/client.
type Pruner interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageRemove(ctx context.Context, imageID string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
}

// Prune removes the images this package built (those labelled
// lab3.managed=true), except the ones keep names, and returns the IDs it
// removed. An image that a container still uses is left in place. Prune with
// a zero Refs removes every lab image not in use; no other image is ever
// touched.
func Prune(ctx context.Context, eng Pruner, keep Refs) ([]string, error) {
	res, err := eng.ImageList(ctx, client.ImageListOptions{
		Filters: client.Filters{}.Add("label", LabelManaged+"=true"),
	})
	if err != nil {
		return nil, fmt.Errorf("list lab images: %w", err)
	}
	kept := []string{keep.Base, keep.DNS, keep.Host}
	var removed []string
	for _, img := range res.Items {
		if img.Labels[LabelManaged] != "true" {
			continue // the filter already says so; never trust it with a removal
		}
		if slices.ContainsFunc(img.RepoTags, func(t string) bool { return t != "" && slices.Contains(kept, t) }) {
			continue
		}
		// Removing by tag untags; removing by ID would refuse an image
		// with several tags. The last tag takes the image with it.
		targets := slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return t == "<none>:<none>" })
		if len(targets) == 0 {
			targets = []string{img.ID}
		}
		gone := true
		for _, t := range targets {
			_, err := eng.ImageRemove(ctx, t, client.ImageRemoveOptions{PruneChildren: true})
			switch {
			case err == nil:
			case cerrdefs.IsConflict(err), cerrdefs.IsNotFound(err):
				// In use by a container, or already gone with a parent.
				gone = false
			default:
				return removed, fmt.Errorf("remove image %s: %w", t, err)
			}
		}
		if gone {
			removed = append(removed, img.ID)
		}
	}
	return removed, nil
}
