// Package folder reads a student's folder as untrusted input: the regular
// files at its top, within limits, refusing links, special files and
// anything that changes while it is read. lab deploy --files and grading
// both read submissions with it, so the two have the same limits.
package folder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Limits on a folder of a student's files, the same for lab deploy --files
// and for grading. A Lab 3 submission is a handful of Python programs of
// 5-15 KB each; the limits leave room for a manifest, notes and a small data
// file while keeping what one hostile folder can make the grader hold (and
// copy into every host) to a few MiB. Sizes are apparent sizes, so a sparse
// file counts in full.
//
// Data files (IsData: the Milestone 3 captures, the notebook and the
// report PDF) are read by the grader but never copied into the lab's hosts,
// and may be larger: a capture of a long session or a PDF with a screenshot
// runs to a few MiB. They have limits of their own, and the whole folder a
// hard total of MaxSize + MaxDataSize.
const (
	MaxFiles        = 64       // regular, non-hidden files
	MaxFileSize     = 2 << 20  // bytes in any one program file
	MaxSize         = 8 << 20  // bytes in all the program files together
	MaxDataFileSize = 32 << 20 // bytes in any one data file
	MaxDataSize     = 48 << 20 // bytes in all the data files together
)

// dataExtensions are the suffixes of data files.
var dataExtensions = []string{".pcap", ".pcapng", ".pdf", ".ipynb"}

// IsData reports whether a file of a submission is data for the
// grader (a capture, a notebook, a PDF) rather than part of the programs.
func IsData(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range dataExtensions {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// limitFor is the limit on one file of the given name.
func limitFor(name string) int64 {
	if IsData(name) {
		return MaxDataFileSize
	}
	return MaxFileSize
}

// maxEntries bounds how much of a directory listing Read looks
// at, hidden entries and subfolders included, so that a folder of millions
// of empty entries costs no more than one of a thousand.
const maxEntries = 16 * MaxFiles

// File is one file that Read read.
type File struct {
	Name string      // the file's name in the folder
	Mode os.FileMode // its permission bits
	Data []byte
	// ModTime is its modification time, which copies keep as scp -p
	// does.
	ModTime time.Time
}

// Error is a folder that Read refuses: one of its entries is
// not a regular file, or its files exceed a limit.
type Error struct {
	Name    string // the entry at fault, or "" for the folder as a whole
	Problem string // what is wrong and what to do, e.g. "is a symbolic link: ..."
}

func (e *Error) Error() string {
	if e.Name == "" {
		return e.Problem
	}
	return e.Name + " " + e.Problem
}

// Read reads the regular, non-hidden files directly in dir, sorted by
// name; subfolders and hidden entries are skipped. The folder is untrusted:
// a symbolic link (even to a file in the folder), a named pipe, a device or
// a socket is refused rather than followed or opened, and so are more than
// MaxFiles files, a file over MaxFileSize bytes and more than
// MaxSize bytes in all. A refusal is a *Error; anything the
// listing shows is refused before any file is read, and a file changed
// since the listing is refused when it is read.
func Read(dir string) ([]File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if info, err := d.Stat(); err != nil {
		return nil, err
	} else if !info.IsDir() {
		return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
	}

	// List and check everything first, so that a refused folder is read
	// no further than its listing.
	var files []fs.FileInfo
	seen := 0
	for {
		batch, err := d.ReadDir(64)
		for _, e := range batch {
			if seen++; seen > maxEntries {
				return nil, &Error{Problem: fmt.Sprintf("%s holds more than %d entries: give the folder with just the lab's programs", dir, maxEntries)}
			}
			if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
				continue
			}
			if len(files) == MaxFiles {
				return nil, &Error{Problem: fmt.Sprintf("%s holds more than %d files: give the folder with just the lab's programs", dir, MaxFiles)}
			}
			info, err := e.Info() // lstat: a link is seen as a link
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return nil, err
			}
			files = append(files, info)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name() < files[j].Name() })
	var total, data int64
	for _, info := range files {
		if err := checkEntry(info); err != nil {
			return nil, err
		}
		if IsData(info.Name()) {
			data += info.Size()
		} else {
			total += info.Size()
		}
	}
	if total > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("the files in %s come to %s: at most %s in all; leave out everything but the lab's programs", dir, mib(total), mib(MaxSize))}
	}
	if data > MaxDataSize {
		return nil, &Error{Problem: fmt.Sprintf("the captures, notebooks and PDFs in %s come to %s: at most %s in all; capture just the chat session", dir, mib(data), mib(MaxDataSize))}
	}

	out := make([]File, 0, len(files))
	var read, readData int64
	for _, info := range files {
		budget := &read
		limit := int64(MaxSize)
		if IsData(info.Name()) {
			budget, limit = &readData, MaxDataSize
		}
		f, err := readFile(dir, info, limit-*budget)
		if err != nil {
			return nil, err
		}
		*budget += int64(len(f.Data))
		out = append(out, f)
	}
	return out, nil
}

// ReadPath reads one file, or every file at the top of a folder as Read
// reads it. A single file has the limits
// of a file in a folder, and a link is refused as there.
func ReadPath(p string) ([]File, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return Read(p)
	}
	if err := checkEntry(info); err != nil {
		return nil, err
	}
	f, err := readFile(filepath.Dir(p), info, limitFor(info.Name()))
	if err != nil {
		return nil, err
	}
	return []File{f}, nil
}

const linkProblem = "is a symbolic link: put the file itself in the folder, not a link to it"

// checkEntry refuses an entry, as lstat describes it, that is not a
// regular file of at most MaxFileSize bytes (MaxDataFileSize for a
// data file).
func checkEntry(info fs.FileInfo) error {
	mode := info.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return &Error{Name: info.Name(), Problem: linkProblem}
	case !mode.IsRegular():
		return &Error{Name: info.Name(), Problem: fmt.Sprintf("is a %s, not a regular file: remove it from the folder", fileKind(mode))}
	case info.Size() > limitFor(info.Name()) && IsData(info.Name()):
		return &Error{Name: info.Name(), Problem: fmt.Sprintf("is %s: a capture, notebook or PDF may be at most %s; capture just the chat session", mib(info.Size()), mib(MaxDataFileSize))}
	case info.Size() > limitFor(info.Name()):
		return &Error{Name: info.Name(), Problem: fmt.Sprintf("is %s: a file may be at most %s; lab programs are far smaller", mib(info.Size()), mib(MaxFileSize))}
	}
	return nil
}

// readFile reads a file that lstat said was regular, making sure it
// still is the same file when opened and reading at most budget bytes, so
// that swapping in a link or growing the file after the listing gains
// nothing.
func readFile(dir string, listed fs.FileInfo, budget int64) (File, error) {
	name := listed.Name()
	// O_NOFOLLOW fails on a link; O_NONBLOCK keeps a fifo swapped in since
	// the listing from blocking the open until someone writes to it.
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return File{}, &Error{Name: name, Problem: linkProblem}
	}
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	if err := checkEntry(info); err != nil {
		return File{}, err
	}
	if !os.SameFile(info, listed) {
		return File{}, &Error{Name: name, Problem: "was replaced while the folder was read: try again once nothing changes the folder"}
	}
	limit := min(limitFor(name), budget)
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return File{}, &Error{Name: name, Problem: "grew while it was read: try again once nothing changes the folder"}
	}
	return File{Name: name, Mode: info.Mode().Perm(), Data: data, ModTime: info.ModTime()}, nil
}

func fileKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// mib formats a byte count for people: "2 MiB", "16.0 MiB", "12 KiB".
func mib(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)>>10)
}
