package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// CopyInFiles is the part of a CopyIn that every implementation shares: it
// reads local and decides where it lands, as cp and scp do. A remote
// folder, or a remote path ending in "/", receives local under its own
// name; a local folder is refused over a remote file. stat says whether
// remote exists on the host and is a folder. Every error of local wraps
// ErrCopy; stat's errors are returned as they are.
func CopyInFiles(local, remote string, stat func(remote string) (exists, isDir bool, err error)) ([]File, error) {
	info, err := os.Stat(local)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: no such file or folder", ErrCopy, local)
		}
		return nil, fmt.Errorf("%w: %v", ErrCopy, err)
	}
	exists, isDir, err := stat(remote)
	if err != nil {
		return nil, err
	}
	dst := remote
	if strings.HasSuffix(remote, "/") || (exists && isDir) {
		dst = path.Join(remote, filepath.Base(filepath.Clean(local)))
	} else if exists && info.IsDir() {
		return nil, fmt.Errorf("%w: %s is a folder and %s is a file on the host", ErrCopy, local, remote)
	}
	return LocalFiles(local, info, dst)
}

// LocalFiles reads what a CopyIn of local (info is its os.Stat) puts at
// dst on a host: the file itself, or every file below the folder under
// dst, with mode 0755 where the local file is executable and 0644
// otherwise, and the local file's modification time. Links and special files are refused, as is more than MaxCopy
// in all and a folder without files; every error wraps ErrCopy. Each
// implementation's CopyIn decides dst and copies the result.
func LocalFiles(local string, info fs.FileInfo, dst string) ([]File, error) {
	var files []File
	var total int64
	add := func(src, dst string, fi fs.FileInfo) error {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file (a link or a special file): copy the file itself", ErrCopy, src)
		}
		if total += fi.Size(); total > MaxCopy {
			return fmt.Errorf("%w: %s holds more than %d MiB; Lab 3 needs programs and captures only", ErrCopy, local, MaxCopy>>20)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCopy, err)
		}
		mode := os.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, File{Src: src, Path: dst, Mode: mode, Data: data, ModTime: fi.ModTime()})
		return nil
	}
	if !info.IsDir() {
		if err := add(local, dst, info); err != nil {
			return nil, err
		}
		return files, nil
	}
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
	return files, nil
}
