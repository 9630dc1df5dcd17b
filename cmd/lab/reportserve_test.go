package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReportServe: lab report --serve rebuilds the class report, then
// serves it read-only at a URL with a secret token until its context ends:
// the pages as pages, a transcript that holds markup as plain text, a
// capture as a download, nothing without the token, nothing outside the
// folder through a link, nothing written.
func TestReportServe(t *testing.T) {
	dir := gradedFolder(t)
	// What a submission printed lands in its transcripts.
	evil := filepath.Join(dir, "bob", "m1-broadcast", "webserver.log")
	if err := os.MkdirAll(filepath.Dir(evil), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evil, []byte("<html><script>alert(1)</script></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(evil), "evil.js"), []byte("alert(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bob", "chatserver.pcap"), []byte("\xd4\xc3\xb2\xa1"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("the grader's own notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "bob", "notes.txt")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"report", "--serve", dir}, devnull, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if m := regexp.MustCompile(`^serving .* at (http://127\.0\.0\.1:\d+/[0-9a-f]{32}/) \(read-only`).FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("lab report --serve printed no URL (stderr %q)", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	before := listing(t, dir)

	get := func(method, url string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	hostEnd := len("http://") + strings.Index(base[len("http://"):], "/")
	root := base[:hostEnd] // http://127.0.0.1:PORT
	tests := []struct {
		name, method, url string
		code              int
		ctype, body       string
	}{
		{"the class page", "GET", base, 200, "text/html; charset=utf-8", "anna"},
		{"a student's page", "GET", base + "bob/", 200, "text/html; charset=utf-8", "bob prints /hello/"},
		{"the gradebook", "GET", base + "grades.csv", 200, "text/csv; charset=utf-8", "submission"},
		{"a transcript with markup", "GET", base + "bob/m1-broadcast/webserver.log", 200, "text/plain; charset=utf-8", "<script>"},
		{"a capture", "GET", base + "bob/chatserver.pcap", 200, "application/octet-stream", ""},
		{"the class page's script", "GET", base + "report.js", 200, "text/javascript; charset=utf-8", ""},
		{"any other script", "GET", base + "bob/m1-broadcast/evil.js", 200, "text/plain; charset=utf-8", "alert"},
		{"without the token", "GET", root + "/index.html", 404, "", ""},
		{"a wrong token", "GET", root + "/00000000000000000000000000000000/index.html", 404, "", ""},
		{"out of the folder", "GET", base + "../../etc/passwd", 404, "", ""},
		{"a link out of the folder", "GET", base + "bob/notes.txt", 404, "", ""},
		{"a write", "POST", base + "index.html", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := get(tt.method, tt.url)
			if code != tt.code {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.url, code, tt.code)
			}
			if strings.Contains(body, "the grader's own notes") {
				t.Errorf("%s: the file behind the link was served", tt.url)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tt.url, h.Get("X-Content-Type-Options"))
			}
			if tt.code != 200 {
				return
			}
			if h.Get("Content-Type") != tt.ctype || !strings.Contains(body, tt.body) {
				t.Errorf("%s: %s, %q; want %s holding %q", tt.url, h.Get("Content-Type"), body, tt.ctype, tt.body)
			}
		})
	}
	if h := func() http.Header { _, h, _ := get("GET", base+"bob/chatserver.pcap"); return h }(); h.Get("Content-Disposition") != "attachment" {
		t.Errorf("a capture: Content-Disposition %q, want attachment", h.Get("Content-Disposition"))
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("lab report --serve after Ctrl-C: exit %d, want 0 (stderr %q)", code, stderr.String())
	}
	if after := listing(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("serving changed the folder:\nbefore %q\nafter  %q", before, after)
	}
}

// TestReportListenInUse: a --listen address that cannot be had is one
// line, and nothing is served.
func TestReportListenInUse(t *testing.T) {
	dir := gradedFolder(t)
	code, _, stderr := runLab(t, "report", "--listen", "256.0.0.1:1", dir)
	if code != exitUsage || !strings.HasPrefix(stderr, "lab: --listen 256.0.0.1:1: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit %d and one line naming --listen", code, stderr, exitUsage)
	}
}
