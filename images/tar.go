package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pseudoFS are folders whose content the engine provides at run time; the
// image keeps the folders but none of their entries.
var pseudoFS = map[string]bool{"dev": true, "proc": true, "sys": true}

// writeRootfsTar streams the root filesystem at root to w as a tar archive
// the engine can import: numeric owners, hard links, symlinks and file
// capabilities (ping needs cap_net_raw) kept, entries in lexical order.
func writeRootfsTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if dir := filepath.Dir(rel); pseudoFS[dir] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSocket != 0 {
			return nil // tar has no sockets; they are made at run time
		}
		var target string
		if fi.Mode()&os.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			key := inode{uint64(st.Dev), uint64(st.Ino)}
			if first, seen := links[key]; seen {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
			} else {
				links[key] = rel
			}
		}
		if fi.Mode().IsRegular() {
			if capb, ok := fileCapability(p); ok {
				hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(capb)}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tar %s: %w", root, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", root, err)
	}
	return nil
}

// fileCapability returns the file's security.capability extended
// attribute, if it has one.
func fileCapability(path string) ([]byte, bool) {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(path, "security.capability", buf)
	if err != nil || n <= 0 {
		return nil, false
	}
	return buf[:n], true
}

// contextFile is one file or folder of an in-memory tar archive.
type contextFile struct {
	Name string
	Mode int64
	Data []byte
	Dir  bool
}

// epoch is the modification time of every build-context entry, so that the
// same files always give the same bytes and so the same hash.
var epoch = time.Unix(0, 0).UTC()

// contextTar returns a build context holding files, in the given order,
// owned by root, with a fixed modification time.
func contextTar(files []contextFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.Name == "" || filepath.IsAbs(f.Name) {
			return nil, fmt.Errorf("build context: bad file name %q", f.Name)
		}
		typ := byte(tar.TypeReg)
		if f.Dir {
			typ = tar.TypeDir
		}
		hdr := &tar.Header{
			Typeflag: typ,
			Name:     f.Name,
			Mode:     f.Mode,
			Size:     int64(len(f.Data)),
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("build context %s: %w", f.Name, err)
		}
		if f.Dir {
			continue
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("build context %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return buf.Bytes(), nil
}
