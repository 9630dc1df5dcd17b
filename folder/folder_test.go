package folder

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// marker is in every file a hostile folder reaches outside itself for; it
// must never come back from a refused folder.
const marker = "MARKER-host-secret-5f3a"

// writeFile writes data to dir/name with mode, failing the test on error.
func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// sparse makes dir/name a file of size bytes that takes no space on disk.
func sparse(t *testing.T, dir, name string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// hostileFolders are submission folders that Read, and so deploy and
// grading, must refuse with one line naming the problem.
var hostileFolders = []struct {
	name    string
	make    func(t *testing.T, dir string)
	wantErr string
}{
	{
		name: "link to a host file",
		make: func(t *testing.T, dir string) {
			writeFile(t, dir, "chatroom_server.py", "print(1)\n", 0o644)
			symlink(t, writeFile(t, t.TempDir(), "secret", marker, 0o644), filepath.Join(dir, "notes.txt"))
		},
		wantErr: "notes.txt is a symbolic link: put the file itself in the folder",
	},
	{
		name: "link to a file only its owner may read",
		make: func(t *testing.T, dir string) {
			symlink(t, writeFile(t, t.TempDir(), "id_ed25519", marker, 0o600), filepath.Join(dir, "key.txt"))
		},
		wantErr: "key.txt is a symbolic link",
	},
	{
		name: "link to /proc/self/environ",
		make: func(t *testing.T, dir string) {
			symlink(t, "/proc/self/environ", filepath.Join(dir, "env.txt"))
		},
		wantErr: "env.txt is a symbolic link",
	},
	{
		name: "link to another file in the folder",
		make: func(t *testing.T, dir string) {
			writeFile(t, dir, "chatroom_server.py", "print(1)\n", 0o644)
			symlink(t, "chatroom_server.py", filepath.Join(dir, "copy.py"))
		},
		wantErr: "copy.py is a symbolic link",
	},
	{
		name: "link to a folder",
		make: func(t *testing.T, dir string) {
			d := t.TempDir()
			writeFile(t, d, "secret", marker, 0o644)
			symlink(t, d, filepath.Join(dir, "home"))
		},
		wantErr: "home is a symbolic link",
	},
	{
		name: "dangling link",
		make: func(t *testing.T, dir string) {
			symlink(t, filepath.Join(t.TempDir(), "gone"), filepath.Join(dir, "gone.py"))
		},
		wantErr: "gone.py is a symbolic link",
	},
	{
		name: "named pipe",
		make: func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		wantErr: "pipe is a named pipe, not a regular file: remove it from the folder",
	},
	{
		name: "socket",
		make: func(t *testing.T, dir string) {
			l, err := net.Listen("unix", filepath.Join(dir, "sock"))
			if err != nil {
				t.Skipf("cannot make a socket here: %v", err)
			}
			t.Cleanup(func() { l.Close() })
		},
		wantErr: "sock is a socket, not a regular file",
	},
	{
		name: "device",
		make: func(t *testing.T, dir string) {
			// /dev/zero's numbers: reading it would never end.
			if err := syscall.Mknod(filepath.Join(dir, "zero"), syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
				t.Skipf("cannot make a device node here (needs root): %v", err)
			}
		},
		wantErr: "zero is a character device, not a regular file",
	},
	{
		name: "10,000 small files",
		make: func(t *testing.T, dir string) {
			for i := range 10000 {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.py", i)), []byte(marker), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		},
		wantErr: fmt.Sprintf("holds more than %d files: give the folder with just the lab's programs", MaxFiles),
	},
	{
		name: "thousands of hidden files",
		make: func(t *testing.T, dir string) {
			for i := range 2 * maxEntries {
				writeFile(t, dir, fmt.Sprintf(".f%05d", i), marker, 0o644)
			}
		},
		wantErr: fmt.Sprintf("holds more than %d entries", maxEntries),
	},
	{
		name: "40 sparse 16 MB files",
		make: func(t *testing.T, dir string) {
			for i := range 40 {
				sparse(t, dir, fmt.Sprintf("big%02d.bin", i), 16<<20)
			}
		},
		wantErr: "big00.bin is 16 MiB: a file may be at most 2 MiB",
	},
	{
		name: "files within the per-file limit but too much in all",
		make: func(t *testing.T, dir string) {
			writeFile(t, dir, "chatroom_server.py", marker, 0o644)
			for i := range 5 {
				sparse(t, dir, fmt.Sprintf("data%d.bin", i), MaxFileSize)
			}
		},
		wantErr: "come to 10.0 MiB: at most 8 MiB in all",
	},
}

// checkRefusal checks that err is one line with prefix, containing want
// and nothing read from a file.
func checkRefusal(t *testing.T, err error, want, prefix string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
		t.Errorf("err = %q, want %q… containing %q", msg, prefix, want)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("err is more than one line: %q", msg)
	}
	if strings.Contains(msg, marker) {
		t.Errorf("err carries a file's contents: %q", msg)
	}
}

func TestReadFolderRefusesAHostileFolder(t *testing.T) {
	for _, tc := range hostileFolders {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			files, err := Read(dir)
			checkRefusal(t, err, tc.wantErr, "")
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("err is a %T, want a *Error", err)
			}
			if files != nil {
				t.Errorf("read %d files of a refused folder", len(files))
			}
		})
	}
}

func TestReadFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "chatroom_server.py", "print(1)\n", 0o644)
	writeFile(t, dir, "run.sh", "#!/bin/sh\n", 0o755)
	writeFile(t, dir, "empty.txt", "", 0o600)
	writeFile(t, dir, ".hidden", marker, 0o644)
	symlink(t, "/etc/passwd", filepath.Join(dir, ".link"))
	if err := os.Mkdir(filepath.Join(dir, "__pycache__"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "__pycache__"), "x.pyc", marker, 0o644)

	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Name: "chatroom_server.py", Mode: 0o644, Data: []byte("print(1)\n")},
		{Name: "empty.txt", Mode: 0o600, Data: []byte{}},
		{Name: "run.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	// Each keeps its modification time, for copies that keep it.
	for i := range want {
		info, err := os.Stat(filepath.Join(dir, want[i].Name))
		if err != nil {
			t.Fatal(err)
		}
		want[i].ModTime = info.ModTime()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read:\n got %s\nwant %s", describe(got), describe(want))
	}
}

func describe(files []File) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s:%o:%q ", f.Name, f.Mode, f.Data)
	}
	return b.String()
}

func TestReadFolderLimitsAreInclusive(t *testing.T) {
	tests := []struct {
		name  string
		make  func(t *testing.T, dir string)
		files int
	}{
		{name: "as many files as allowed", files: MaxFiles, make: func(t *testing.T, dir string) {
			for i := range MaxFiles {
				writeFile(t, dir, fmt.Sprintf("f%02d.py", i), "x", 0o644)
			}
		}},
		{name: "as much data as allowed", files: MaxSize / MaxFileSize, make: func(t *testing.T, dir string) {
			for i := range MaxSize / MaxFileSize {
				sparse(t, dir, fmt.Sprintf("data%d.bin", i), MaxFileSize)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			got, err := Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.files {
				t.Errorf("read %d files, want %d", len(got), tc.files)
			}
		})
	}
}

func TestReadFolderMissingOrNotAFolder(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "f.py", "x", 0o644)
	for _, p := range []string{filepath.Join(dir, "nope"), file} {
		_, err := Read(p)
		var pe *os.PathError
		if !errors.As(err, &pe) {
			t.Errorf("Read(%s) = %v, want a *os.PathError", p, err)
		}
	}
}

// A file can change between the listing and the read; what is read is the
// file that was listed, and no more of it than the limits allow.
func TestReadFolderFileChangedAfterTheListing(t *testing.T) {
	tests := []struct {
		name    string
		change  func(t *testing.T, dir, path string)
		wantErr string
	}{
		{name: "replaced by a link", change: func(t *testing.T, dir, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			symlink(t, writeFile(t, t.TempDir(), "secret", marker, 0o644), p)
		}, wantErr: "a.py is a symbolic link"},
		{name: "replaced by a fifo", change: func(t *testing.T, dir, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "a.py is a named pipe"},
		{name: "replaced by another file", change: func(t *testing.T, dir, p string) {
			tmp := writeFile(t, dir, ".tmp", marker, 0o644)
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "a.py was replaced while the folder was read"},
		{name: "grown past the limit", change: func(t *testing.T, dir, p string) {
			if err := os.Truncate(p, MaxFileSize+1); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "a.py is 2.0 MiB: a file may be at most 2 MiB"},
		{name: "grown past what is left of the total", change: func(t *testing.T, dir, p string) {
			if err := os.Truncate(p, 2<<10); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "a.py grew while it was read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "a.py", "print(1)\n", 0o644)
			listed, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t, dir, p)
			f, err := readFile(dir, listed, 1<<10)
			checkRefusal(t, err, tc.wantErr, "")
			if f.Data != nil {
				t.Errorf("read %q", f.Data)
			}
		})
	}
}
