package images

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// Prune removes the images this package built (those labelled
// lab3.managed=true), except the ones keep names, and returns the IDs it
// removed. An image that a container still uses is left in place. Prune with
// a zero Refs removes every lab image not in use; no other image is ever
// touched.
func Prune(ctx context.Context, eng runtime.Images, keep Refs) ([]string, error) {
	imgs, err := eng.ListImages(ctx, map[string]string{LabelManaged: "true"})
	if err != nil {
		return nil, fmt.Errorf("list lab images: %w", err)
	}
	kept := []string{keep.Base, keep.DNS, keep.Host}
	var removed []string
	for _, img := range imgs {
		if img.Labels[LabelManaged] != "true" {
			continue // the filter already says so; never trust it with a removal
		}
		if slices.ContainsFunc(img.Tags, func(t string) bool { return t != "" && slices.Contains(kept, t) }) {
			continue
		}
		// Removing by tag untags; removing by ID would refuse an image
		// with several tags. The last tag takes the image with it.
		targets := slices.Clone(img.Tags)
		if len(targets) == 0 {
			targets = []string{img.ID}
		}
		gone := true
		for _, t := range targets {
			err := eng.RemoveImage(ctx, t)
			switch {
			case err == nil:
			case errors.Is(err, runtime.ErrConflict), errors.Is(err, runtime.ErrNotFound):
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
