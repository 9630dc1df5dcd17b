package images

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
)

// Replicator is the part of the Docker Engine API that Replicate needs of
// each engine. It is satisfied by *client.Client.
type Replicator interface {
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageSave(ctx context.Context, imageIDs []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
}

// Replicate makes the lab's images (refs, as Ensure returned them on src)
// exist on dst too, streaming "docker save" from src into "docker load" on
// dst for those dst lacks. It builds nothing: an engine elsewhere (ssh://,
// tcp://) has neither the build cache nor, often, debootstrap, and a load
// gives it the very image src grades with, byte for byte.
func Replicate(ctx context.Context, src, dst Replicator, refs Refs, opts ...Option) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	var missing []string
	for _, ref := range []string{refs.DNS, refs.Host} {
		if ref == "" {
			continue
		}
		if _, err := dst.ImageInspect(ctx, ref); err != nil {
			missing = append(missing, ref)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	start := time.Now()
	cfg.progressf("images: copying %v to another engine…", missing)
	if err := Copy(ctx, src, dst, missing); err != nil {
		return err
	}
	for _, ref := range missing {
		if _, err := dst.ImageInspect(ctx, ref); err != nil {
			return fmt.Errorf("load %v: %s is still missing afterwards", missing, ref)
		}
	}
	cfg.progressf("images: copied in %.1fs", time.Since(start).Seconds())
	return nil
}

// Copy streams "docker save" of refs on src into "docker load" on dst, and
// returns the load's own error, if its progress stream reports one.
func Copy(ctx context.Context, src, dst Replicator, refs []string) error {
	saved, err := src.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save %v: %w", refs, err)
	}
	defer saved.Close()
	loaded, err := dst.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load %v: %w", refs, err)
	}
	defer loaded.Close()
	if err := readJSONMessages(loaded); err != nil {
		return fmt.Errorf("load %v: %w", refs, err)
	}
	return nil
}
