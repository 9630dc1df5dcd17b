package lab

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
)

// Limits on a folder of a student's files, the same for lab deploy --files
// and for grading. A Lab 3 submission is a handful of Python programs of
// 5-15 KB each; the limits leave room for a manifest, notes and a small data
// file while keeping what one hostile folder can make the grader hold (and
// copy into every host) to a few MiB. Sizes are apparent sizes, so a sparse
// file counts in full.
//
// Data files (IsDataFile: the Milestone 3 captures, the notebook and the
// report PDF) are read by the grader but never copied into the lab's hosts,
// and may be larger: a capture of a long session or a PDF with a screenshot
// runs to a few MiB. They have limits of their own, and the whole folder a
// hard total of MaxFolderSize + MaxDataSize.
const (
	MaxFolderFiles    = 64       // regular, non-hidden files
	MaxFolderFileSize = 2 << 20  // bytes in any one program file
	MaxFolderSize     = 8 << 20  // bytes in all the program files together
	MaxDataFileSize   = 32 << 20 // bytes in any one data file
	MaxDataSize       = 48 << 20 // bytes in all the data files together
)

// dataExtensions are the suffixes of data files.
var dataExtensions = []string{".pcap", ".pcapng", ".pdf", ".ipynb"}

// IsDataFile reports whether a file of a submission is data for the
// grader (a capture, a notebook, a PDF) rather than part of the programs.
func IsDataFile(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range dataExtensions {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// maxFileSize is the limit on one file of the given name.
func maxFileSize(name string) int64 {
	if IsDataFile(name) {
		return MaxDataFileSize
	}
	return MaxFolderFileSize
}

// maxFolderEntries bounds how much of a directory listing ReadFolder looks
// at, hidden entries and subfolders included, so that a folder of millions
// of empty entries costs no more than one of a thousand.
const maxFolderEntries = 16 * MaxFolderFiles

// FolderFile is one file that ReadFolder read.
type FolderFile struct {
	Name string      // the file's name in the folder
	Mode os.FileMode // its permission bits
	Data []byte
}

// FolderError is a folder that ReadFolder refuses: one of its entries is
// not a regular file, or its files exceed a limit.
type FolderError struct {
	Name    string // the entry at fault, or "" for the folder as a whole
	Problem string // what is wrong and what to do, e.g. "is a symbolic link: ..."
}

func (e *FolderError) Error() string {
	if e.Name == "" {
		return e.Problem
	}
	return e.Name + " " + e.Problem
}

// ReadFolder reads the regular, non-hidden files directly in dir, sorted by
// name; subfolders and hidden entries are skipped. The folder is untrusted:
// a symbolic link (even to a file in the folder), a named pipe, a device or
// a socket is refused rather than followed or opened, and so are more than
// MaxFolderFiles files, a file over MaxFolderFileSize bytes and more than
// MaxFolderSize bytes in all. A refusal is a *FolderError; anything the
// listing shows is refused before any file is read, and a file changed
// since the listing is refused when it is read.
func ReadFolder(dir string) ([]FolderFile, error) {
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
			if seen++; seen > maxFolderEntries {
				return nil, &FolderError{Problem: fmt.Sprintf("%s holds more than %d entries: give the folder with just the lab's programs", dir, maxFolderEntries)}
			}
			if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
				continue
			}
			if len(files) == MaxFolderFiles {
				return nil, &FolderError{Problem: fmt.Sprintf("%s holds more than %d files: give the folder with just the lab's programs", dir, MaxFolderFiles)}
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
		if err := checkFolderEntry(info); err != nil {
			return nil, err
		}
		if IsDataFile(info.Name()) {
			data += info.Size()
		} else {
			total += info.Size()
		}
	}
	if total > MaxFolderSize {
		return nil, &FolderError{Problem: fmt.Sprintf("the files in %s come to %s: at most %s in all; leave out everything but the lab's programs", dir, mib(total), mib(MaxFolderSize))}
	}
	if data > MaxDataSize {
		return nil, &FolderError{Problem: fmt.Sprintf("the captures, notebooks and PDFs in %s come to %s: at most %s in all; capture just the chat session", dir, mib(data), mib(MaxDataSize))}
	}

	out := make([]FolderFile, 0, len(files))
	var read, readData int64
	for _, info := range files {
		budget := &read
		limit := int64(MaxFolderSize)
		if IsDataFile(info.Name()) {
			budget, limit = &readData, MaxDataSize
		}
		f, err := readFolderFile(dir, info, limit-*budget)
		if err != nil {
			return nil, err
		}
		*budget += int64(len(f.Data))
		out = append(out, f)
	}
	return out, nil
}

const linkProblem = "is a symbolic link: put the file itself in the folder, not a link to it"

// checkFolderEntry refuses an entry, as lstat describes it, that is not a
// regular file of at most MaxFolderFileSize bytes (MaxDataFileSize for a
// data file).
func checkFolderEntry(info fs.FileInfo) error {
	mode := info.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return &FolderError{Name: info.Name(), Problem: linkProblem}
	case !mode.IsRegular():
		return &FolderError{Name: info.Name(), Problem: fmt.Sprintf("is a %s, not a regular file: remove it from the folder", fileKind(mode))}
	case info.Size() > maxFileSize(info.Name()) && IsDataFile(info.Name()):
		return &FolderError{Name: info.Name(), Problem: fmt.Sprintf("is %s: a capture, notebook or PDF may be at most %s; capture just the chat session", mib(info.Size()), mib(MaxDataFileSize))}
	case info.Size() > maxFileSize(info.Name()):
		return &FolderError{Name: info.Name(), Problem: fmt.Sprintf("is %s: a file may be at most %s; lab programs are far smaller", mib(info.Size()), mib(MaxFolderFileSize))}
	}
	return nil
}

// readFolderFile reads a file that lstat said was regular, making sure it
// still is the same file when opened and reading at most budget bytes, so
// that swapping in a link or growing the file after the listing gains
// nothing.
func readFolderFile(dir string, listed fs.FileInfo, budget int64) (FolderFile, error) {
	name := listed.Name()
	// O_NOFOLLOW fails on a link; O_NONBLOCK keeps a fifo swapped in since
	// the listing from blocking the open until someone writes to it.
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return FolderFile{}, &FolderError{Name: name, Problem: linkProblem}
	}
	if err != nil {
		return FolderFile{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return FolderFile{}, err
	}
	if err := checkFolderEntry(info); err != nil {
		return FolderFile{}, err
	}
	if !os.SameFile(info, listed) {
		return FolderFile{}, &FolderError{Name: name, Problem: "was replaced while the folder was read: try again once nothing changes the folder"}
	}
	limit := min(maxFileSize(name), budget)
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return FolderFile{}, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return FolderFile{}, &FolderError{Name: name, Problem: "grew while it was read: try again once nothing changes the folder"}
	}
	return FolderFile{Name: name, Mode: info.Mode().Perm(), Data: data}, nil
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
