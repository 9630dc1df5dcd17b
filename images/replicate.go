package images

import (
	"context"
	"fmt"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// Replicate makes the lab's images (refs, as Ensure returned them on src)
// exist on dst too, streaming "docker save" from src into "docker load" on
// dst for those dst lacks. It builds nothing: an engine elsewhere (ssh://,
// tcp://) has neither the build cache nor, often, debootstrap, and a load
// gives it the very image src grades with, byte for byte.
func Replicate(ctx context.Context, src, dst runtime.Images, refs Refs, opts ...Option) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	var missing []string
	for _, ref := range []string{refs.DNS, refs.Host} {
		if ref == "" {
			continue
		}
		if _, err := dst.InspectImage(ctx, ref); err != nil {
			missing = append(missing, ref)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	start := time.Now()
	cfg.logger.Info(fmt.Sprintf("images: copying %v to another engine…", missing), "stage", "copy", "refs", missing)
	if err := Copy(ctx, src, dst, missing); err != nil {
		return err
	}
	for _, ref := range missing {
		if _, err := dst.InspectImage(ctx, ref); err != nil {
			return fmt.Errorf("load %v: %s is still missing afterwards", missing, ref)
		}
	}
	took := time.Since(start)
	cfg.logger.Info(fmt.Sprintf("images: copied in %.1fs", took.Seconds()), "stage", "copy", "refs", missing, "elapsed", took)
	return nil
}

// Copy streams "docker save" of refs on src into "docker load" on dst, and
// returns the load's own error, if it reports one.
func Copy(ctx context.Context, src, dst runtime.Images, refs []string) error {
	saved, err := src.SaveImages(ctx, refs)
	if err != nil {
		return fmt.Errorf("save %v: %w", refs, err)
	}
	defer saved.Close()
	if err := dst.LoadImages(ctx, saved); err != nil {
		return fmt.Errorf("load %v: %w", refs, err)
	}
	return nil
}
