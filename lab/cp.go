package lab

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ErrCopy is returned, wrapped, when lab cp's source or destination is
// unusable.
var ErrCopy = errors.New("cannot copy")

// maxCopy bounds what CopyIn and CopyOut move in one go: Lab 3 moves
// programs and captures, never gigabytes.
const maxCopy = 256 << 20

// RemotePath is where a host path given to lab cp points: relative paths
// and "" are under DeployDir (/root), like scp's "host:".
func RemotePath(p string) string {
	if p == "" {
		return DeployDir + "/"
	}
	if path.IsAbs(p) {
		return p
	}
	trail := strings.HasSuffix(p, "/")
	p = path.Join(DeployDir, p)
	if trail {
		p += "/"
	}
	return p
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

// CopyIn copies a local file, or a folder with everything in it, into a
// running container at remote (absolute; see RemotePath). A remote folder,
// or a path ending in "/", receives the source under its own name, as cp
// and scp do. Links and special files are refused. It returns the files
// written.
func (d *Docker) CopyIn(ctx context.Context, ctr, local, remote string) ([]FileCopy, error) {
	info, err := os.Stat(local)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: no such file or folder", ErrCopy, local)
		}
		return nil, fmt.Errorf("%w: %v", ErrCopy, err)
	}
	dst := remote
	exists, isDir, err := d.statRemote(ctx, ctr, strings.TrimSuffix(remote, "/"))
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(remote, "/") || (exists && isDir) {
		dst = path.Join(remote, filepath.Base(filepath.Clean(local)))
	} else if exists && info.IsDir() {
		return nil, fmt.Errorf("%w: %s is a folder and %s is a file on the host", ErrCopy, local, remote)
	}
	var files []FileCopy
	var total int64
	add := func(src, dst string, fi fs.FileInfo) error {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file (a link or a special file): copy the file itself", ErrCopy, src)
		}
		if total += fi.Size(); total > maxCopy {
			return fmt.Errorf("%w: %s holds more than %d MB; Lab 3 needs programs and captures only", ErrCopy, local, maxCopy>>20)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCopy, err)
		}
		mode := os.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, FileCopy{Src: src, Dst: dst, Mode: mode, Data: data})
		return nil
	}
	if !info.IsDir() {
		if err := add(local, dst, info); err != nil {
			return nil, err
		}
	} else {
		err := filepath.WalkDir(local, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%w: %v", ErrCopy, err)
			}
			if e.IsDir() {
				return nil
			}
			fi, err := e.Info()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrCopy, err)
			}
			rel, _ := filepath.Rel(local, p)
			return add(p, path.Join(dst, filepath.ToSlash(rel)), fi)
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: folder %s holds no files", ErrCopy, local)
		}
	}
	if err := d.PutFiles(ctx, ctr, files); err != nil {
		return nil, err
	}
	return files, nil
}

// CopyOut copies a file, or a folder with everything in it, out of a
// container to local. An existing local folder receives it under its own
// name; otherwise local is the new name. Only regular files and folders
// are written, never outside local. It returns the local files written.
func (d *Docker) CopyOut(ctx context.Context, ctr, remote, local string) ([]string, error) {
	res, err := d.c.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: remote})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s has no %s", ErrCopy, hostOf(ctr), remote)
		}
		return nil, fmt.Errorf("copy from %s:%s: %w", ctr, remote, err)
	}
	defer res.Content.Close()
	base := path.Base(strings.TrimSuffix(remote, "/"))
	dst := local
	if info, err := os.Stat(local); err == nil && info.IsDir() {
		dst = filepath.Join(local, base)
	} else if strings.HasSuffix(local, string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: folder %s does not exist", ErrCopy, local)
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
				return written, fmt.Errorf("%w: %v", ErrCopy, err)
			}
		case tar.TypeReg:
			if total += hdr.Size; total > maxCopy {
				return written, fmt.Errorf("%w: %s holds more than %d MB", ErrCopy, remote, maxCopy>>20)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return written, fmt.Errorf("%w: %v", ErrCopy, err)
			}
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return written, fmt.Errorf("%w: %v", ErrCopy, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return written, fmt.Errorf("%w: write %s: %v", ErrCopy, target, err)
			}
			written = append(written, target)
		}
	}
	return written, nil
}

// hostOf turns a container name (lab3-client1) into the host's name for
// messages.
func hostOf(ctr string) string {
	if i := strings.LastIndexByte(ctr, '-'); i >= 0 {
		return ctr[i+1:]
	}
	return ctr
}
