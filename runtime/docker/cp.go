package docker

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// statRemote says whether p exists in the container and is a folder.
func (d *Docker) statRemote(ctx context.Context, ctr, p string) (exists, dir bool, err error) {
	res, err := d.c.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: p})
	if cerrdefs.IsNotFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("stat %s:%s: %w", ctr, p, err)
	}
	return true, res.Stat.Mode.IsDir(), nil
}

// copyIn copies a local file, or a folder with everything in it, into a
// running container at remote (absolute). A remote folder, or a path
// ending in "/", receives the source under its own name, as cp and scp do.
// Links and special files are refused. It returns the files written.
func (d *Docker) copyIn(ctx context.Context, ctr, host, local, remote string) ([]runtime.File, error) {
	files, err := runtime.CopyInFiles(local, remote, func(remote string) (bool, bool, error) {
		return d.statRemote(ctx, ctr, strings.TrimSuffix(remote, "/"))
	})
	if err != nil {
		return nil, err
	}
	if err := d.copyFiles(ctx, ctr, files); err != nil {
		return nil, err
	}
	return files, nil
}

// copyOut copies a file, or a folder with everything in it, out of a
// container to local. An existing local folder receives it under its own
// name; otherwise local is the new name. Only regular files and folders
// are written, never outside local. It returns the local files written.
// host names the container's host in messages.
func (d *Docker) copyOut(ctx context.Context, ctr, host, remote, local string) ([]string, error) {
	res, err := d.c.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: remote})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s has no %s", runtime.ErrCopy, host, remote)
		}
		return nil, fmt.Errorf("copy from %s:%s: %w", ctr, remote, Classify(err))
	}
	defer res.Content.Close()
	base := path.Base(strings.TrimSuffix(remote, "/"))
	dst := local
	if info, err := os.Stat(local); err == nil && info.IsDir() {
		dst = filepath.Join(local, base)
	} else if strings.HasSuffix(local, string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: folder %s does not exist", runtime.ErrCopy, local)
	}
	var written []string
	var total int64
	tr := tar.NewReader(res.Content)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return written, fmt.Errorf("copy from %s:%s: %w", ctr, remote, err)
		}
		// Entries are named from the source's base name down.
		name := path.Clean(hdr.Name)
		rel := strings.TrimPrefix(strings.TrimPrefix(name, base), "/")
		if name != base && !strings.HasPrefix(name, base+"/") || strings.HasPrefix(rel, "..") {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return written, fmt.Errorf("%w: %v", runtime.ErrCopy, err)
			}
		case tar.TypeReg:
			if total += hdr.Size; total > runtime.MaxCopy {
				return written, fmt.Errorf("%w: %s holds more than %d MiB", runtime.ErrCopy, remote, runtime.MaxCopy>>20)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return written, fmt.Errorf("%w: %v", runtime.ErrCopy, err)
			}
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return written, fmt.Errorf("%w: %v", runtime.ErrCopy, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return written, fmt.Errorf("%w: write %s: %v", runtime.ErrCopy, target, err)
			}
			written = append(written, target)
		}
	}
	return written, nil
}
