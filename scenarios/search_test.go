package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"golang.org/x/sys/unix"

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
	// A tree deeper than Python's recursion limit, and than a path may be
	// long (4096 bytes): made a folder at a time, through descriptors.
	long := filepath.Join(root, "root", "deep") + strings.Repeat("/d", 2100) + "/pw"
	dfd, err := unix.Open(filepath.Join(root, "root"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"deep"}, strings.Split(strings.Repeat("d ", 2100), " ")[:2100]...) {
		if err := unix.Mkdirat(dfd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(dfd)
		if err != nil {
			t.Fatal(err)
		}
		dfd = next
	}
	pwfd, err := unix.Openat(dfd, "pw", unix.O_WRONLY|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(pwfd, []byte(pw)); err != nil {
		t.Fatal(err)
	}
	unix.Close(pwfd)
	unix.Close(dfd)
	// Names are shown cut to 300 bytes: the head and the tail.
	want = append(want, long[:140]+"/.../"+long[len(long)-140:])
	// The password as a file's name, and as a link's target.
	want = append(want, write("tmp/"+rot13(pw)+".txt", []byte("x")))
	if err := os.Symlink("/nowhere/"+pw, filepath.Join(root, "tmp", "remember")); err != nil {
		t.Fatal(err)
	}
	want = append(want, filepath.Join(root, "tmp", "remember"))
	// A folder under the name of a skipped one, but the submission's: it
	// is searched (a folder of root's that only root may write is not).
	studentCaptures := filepath.Join(root, "run", "lab-capture")
	if os.Geteuid() == 0 {
		want = append(want, write("run/lab-capture/users.txt", []byte(pw)))
		if err := os.Chown(studentCaptures, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}

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
		Paths: []string{filepath.Join(root, "root"), filepath.Join(root, "tmp"), filepath.Join(root, "var", "tmp"), filepath.Join(root, "run"), filepath.Join(root, "missing")},
		Skip:  []string{captures, studentCaptures},
		Forms: encodedForms(pw),
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append(slices.Clone(isolatedPython[1:]), "-c", searchScript)...)
	cmd.Stdin = bytes.NewReader(spec)
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
				if len(p) > 100 {
					p = p[:40] + "…" + p[len(p)-40:]
				}
				out = append(out, p)
			}
			return strings.Join(out, "\n  ")
		}
		t.Errorf("found\n  %s\nwant\n  %s", short(res.Files), short(want))
	}
	if len(res.Unread) != 0 {
		t.Errorf("unread %q, want none", res.Unread)
	}
}

// TestSearchScriptAnswerIsBounded: however many files hold the password,
// the search names 20 and counts them all, so its answer cannot outgrow
// what an exec keeps (a cut answer would be no verdict).
func TestSearchScriptAnswerIsBounded(t *testing.T) {
	py := tier.Python(t)
	dir := t.TempDir()
	for i := 0; i < 25; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("copy%02d", i)), []byte("pw-1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := json.Marshal(searchSpec{Paths: []string{dir}, Forms: encodedForms("pw-1")})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append(slices.Clone(isolatedPython[1:]), "-c", searchScript)...)
	cmd.Stdin = bytes.NewReader(spec)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("search: %v: %s", err, out)
	}
	var res searchResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.Found != 25 || len(res.Files) != 20 {
		t.Errorf("found %d, named %d; want 25 found, 20 named", res.Found, len(res.Files))
	}
	if got := someOf(res.Files, res.Found); !strings.HasSuffix(got, " and 5 more") {
		t.Errorf("someOf = %q, want it to end with the 5 not named", got)
	}
}
