package scenarios

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

// TestSearchScript runs the real searchScript, as the grep step runs it on
// a host (isolatedPython), over a folder laid out as a server that hides
// its passwords would lay it out: every hiding place must be found, the
// grader's own captures skipped, and nothing may hang it or make it follow
// a link out.
func TestSearchScript(t *testing.T) {
	py := tier.Python(t)
	const pw = "Clear-Text-Canary-8121"
	root := t.TempDir()
	outside := t.TempDir()
	captures := filepath.Join(root, "var", "tmp", "lab-capture")
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	utf16le := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}

	var want []string
	want = append(want,
		write("root/users.json", []byte(`{"alice": "`+pw+`"}`)),
		// A folder named as the grader's captures, but the student's.
		write("root/cache/lab-capture/users.txt", []byte(pw)),
		write("root/notes.rot13", []byte("nyvpr:"+rot13(pw))),
		write("tmp/users.utf16", append([]byte{0xff, 0xfe}, utf16le("alice:"+pw)...)),
		// One line of 3 MiB: the password straddles the 1 MiB chunks.
		write("root/big.db", append(append(make([]byte, 1<<20-5), []byte(pw)...), make([]byte, 2<<20)...)),
	)
	// A sparse file of 64 GiB, the password in its middle.
	sparse := filepath.Join(root, "root", "sparse.bin")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(pw), 32<<30); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want = append(want, sparse)
	// A tree deeper than Python's recursion limit.
	deep := filepath.Join(root, "root", "deep")
	for i := 0; i < 1200; i++ {
		deep = filepath.Join(deep, "d")
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, "pw"), []byte(pw), 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, filepath.Join(deep, "pw"))

	// Not found: the grader's captures, a file behind a link, a FIFO
	// (which would hang a reader), a file without the password.
	write("var/tmp/lab-capture/chatserver.pcap", []byte(pw))
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte(pw), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "root", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "root", "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "root", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("root/hashes.txt", []byte("alice:pbkdf2_sha256$600000$c2FsdA$aGFzaA\n"))

	spec, err := json.Marshal(searchSpec{
		Paths: []string{filepath.Join(root, "root"), filepath.Join(root, "tmp"), filepath.Join(root, "var", "tmp"), filepath.Join(root, "missing")},
		Skip:  []string{captures},
		Forms: encodedForms(pw),
	})
	if err != nil {
		t.Fatal(err)
	}
	args := append(append(slices.Clone(isolatedPython[1:]), "-c", searchScript), string(spec))
	cmd := exec.Command(py, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("search: %v: %s", err, out)
	}
	var res searchResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("search printed %q: %v", out, err)
	}
	slices.Sort(want)
	slices.Sort(res.Files)
	if !slices.Equal(res.Files, want) {
		short := func(ps []string) string {
			var out []string
			for _, p := range ps {
				p = strings.TrimPrefix(p, root+"/")
				out = append(out, strings.Replace(p, strings.Repeat("d/", 1200), "d/(1200 deep)/", 1))
			}
			return strings.Join(out, "\n  ")
		}
		t.Errorf("found\n  %s\nwant\n  %s", short(res.Files), short(want))
	}
	if len(res.Unread) != 0 {
		t.Errorf("unread %q, want none", res.Unread)
	}
}
