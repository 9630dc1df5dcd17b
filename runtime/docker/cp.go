package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// copyFiles writes files into a running or created container in one
// archive: each at its absolute Path with its Mode and ModTime, parents
// created.
func (d *Docker) copyFiles(ctx context.Context, ctr string, files []runtime.File) error {
	archive, err := tarFiles(ctr, files, time.Now())
	if err != nil {
		return err
	}
	if err := d.copyTar(ctx, ctr, archive); err != nil {
		if len(files) == 1 {
			return fmt.Errorf("copy to %s:%s: %w", ctr, files[0].Path, err)
		}
		return fmt.Errorf("copy %d file(s) to %s: %w", len(files), ctr, err)
	}
	return nil
}

// tarFiles is the archive copyFiles extracts at "/" in ctr: one entry a
// file, named by its path from "/", with its mode and its ModTime, or now
// for a file without one (a generated file is as new as its copy).
func tarFiles(ctr string, files []runtime.File, now time.Time) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	total := 0
	for _, f := range files {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("copy to %s:%s: destination must be an absolute path", ctr, f.Path)
		}
		if total += len(f.Data); total > runtime.MaxCopy {
			return nil, fmt.Errorf("%w: copy to %s: more than %d MiB at once", runtime.ErrCopy, ctr, runtime.MaxCopy>>20)
		}
		if f.ModTime.IsZero() {
			f.ModTime = now
		}
		if err := addTarFile(tw, f); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

func addTarFile(tw *tar.Writer, f runtime.File) error {
	// Paths are relative to "/", where the archive is extracted; Docker
	// creates missing parent directories (0755) and leaves existing ones
	// alone because the archive holds no entries for them. Docker and tar
	// set each file's modification time from its header; PAX keeps it to
	// the nanosecond.
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(path.Clean(f.Path), "/"),
		Mode:     int64(f.Mode.Perm()),
		Size:     int64(len(f.Data)),
		ModTime:  f.ModTime,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar %s: %w", f.Path, err)
	}
	if _, err := tw.Write(f.Data); err != nil {
		return fmt.Errorf("tar %s: %w", f.Path, err)
	}
	return nil
}

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
// are written, never outside local, each with its modification time in
// the container. It returns the local files written. host names the
// container's host in messages.
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
	written, err := extract(tar.NewReader(res.Content), base, dst, remote)
	if err != nil && !errors.Is(err, runtime.ErrCopy) {
		err = fmt.Errorf("copy from %s:%s: %w", ctr, remote, err)
	}
	return written, err
}

// extract writes the entries of a copy out of a host, named from base (the
// source's base name) down, below dst: its regular files and folders, each
// with its modification time on the host, as scp -p keeps it. remote names
// the source in messages. It returns the files written.
func extract(tr *tar.Reader, base, dst, remote string) ([]string, error) {
	var written []string
	var total int64
	type dirTime struct {
		path string
		mod  time.Time
	}
	var dirs []dirTime
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return written, err
		}
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
			dirs = append(dirs, dirTime{target, hdr.ModTime})
		case tar.TypeReg:
			if total += hdr.Size; total > runtime.MaxCopy {
				return written, fmt.Errorf("%w: %s holds more than %d MiB", runtime.ErrCopy, remote, runtime.MaxCopy>>20)
			}
			if err := writeEntry(tr, hdr, target); err != nil {
				return written, err
			}
			written = append(written, target)
		}
	}
	// A folder's time is set once everything in it is written, which
	// would change it again.
	for _, d := range dirs {
		if err := setModTime(d.path, d.mod); err != nil {
			return written, err
		}
	}
	return written, nil
}

// writeEntry writes a regular file's entry at target, 0755 if it is
// executable and 0644 otherwise, with its modification time.
func writeEntry(tr *tar.Reader, hdr *tar.Header, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("%w: %v", runtime.ErrCopy, err)
	}
	mode := os.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("%w: %v", runtime.ErrCopy, err)
	}
	_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: write %s: %v", runtime.ErrCopy, target, err)
	}
	return setModTime(target, hdr.ModTime)
}

// setModTime gives p the modification time mod (and as its access time);
// an archive without one leaves p as it is.
func setModTime(p string, mod time.Time) error {
	if mod.IsZero() {
		return nil
	}
	if err := os.Chtimes(p, mod, mod); err != nil {
		return fmt.Errorf("%w: %v", runtime.ErrCopy, err)
	}
	return nil
}
