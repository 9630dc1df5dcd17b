package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// TestTarFilesKeepsModificationTimes: the archive a copy into a host
// extracts carries each file's own time, as scp -p keeps it, and the
// copy's time for a file that has none (a generated one); never 1970.
func TestTarFilesKeepsModificationTimes(t *testing.T) {
	edited := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.Local)
	now := time.Date(2025, 3, 15, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		file runtime.File
		want time.Time
	}{
		{"a student's file keeps its time", runtime.File{Path: "/root/chatroom_client.py", Mode: 0o644, Data: []byte("print(1)\n"), ModTime: edited}, edited},
		{"a file without a time gets the copy's", runtime.File{Path: "/etc/bind/lab/db.team30.com", Mode: 0o644, Data: []byte("$TTL 1h\n")}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive, err := tarFiles("lab3-client1", []runtime.File{tt.file}, now)
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(archive)
			hdr, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !hdr.ModTime.Equal(tt.want) {
				t.Errorf("header ModTime %v, want %v", hdr.ModTime, tt.want)
			}
			if hdr.Name != tt.file.Path[1:] || hdr.Mode != int64(tt.file.Mode) || hdr.Size != int64(len(tt.file.Data)) {
				t.Errorf("header %s mode %o size %d, want %s %o %d", hdr.Name, hdr.Mode, hdr.Size, tt.file.Path[1:], tt.file.Mode, len(tt.file.Data))
			}
			if _, err := tr.Next(); err != io.EOF {
				t.Errorf("a second entry (%v); want one entry a file", err)
			}
		})
	}
}

func TestTarFilesRefusesWhatCannotBeCopied(t *testing.T) {
	if _, err := tarFiles("c", []runtime.File{{Path: "root/x"}}, time.Now()); err == nil {
		t.Error("a relative path was archived")
	}
	big := []runtime.File{{Path: "/root/big", Data: make([]byte, runtime.MaxCopy+1)}}
	if _, err := tarFiles("c", big, time.Now()); !errors.Is(err, runtime.ErrCopy) {
		t.Errorf("more than MaxCopy: %v, want ErrCopy", err)
	}
}

// TestExtractKeepsModificationTimes: a copy out of a host gives each file
// and folder the time it has in the host.
func TestExtractKeepsModificationTimes(t *testing.T) {
	capture := time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.UTC)
	folder := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "captures/", Mode: 0o755, ModTime: folder, Format: tar.FormatPAX},
		{Typeflag: tar.TypeReg, Name: "captures/client1.pcap", Mode: 0o644, Size: 4, ModTime: capture, Format: tar.FormatPAX},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("pcap"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "captures")
	written, err := extract(tar.NewReader(&buf), "captures", dst, "/root/captures")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dst, "client1.pcap"); len(written) != 1 || written[0] != want {
		t.Fatalf("wrote %q, want [%s]", written, want)
	}
	for p, want := range map[string]time.Time{written[0]: capture, dst: folder} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime().Equal(want) {
			t.Errorf("%s: modified %v, want %v (its time in the host)", p, info.ModTime(), want)
		}
	}
}
