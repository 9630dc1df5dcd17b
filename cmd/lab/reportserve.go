package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// defaultServeAddr is where lab report --serve listens without --listen:
// this machine only, on a port the kernel picks.
const defaultServeAddr = "127.0.0.1:0"

// serveTypes are the only files a served results folder gives with a type
// a browser renders: the pages, styles, script and pictures lab writes.
// Everything else (transcripts, answers, notes: text a submission wrote)
// is plain text, never sniffed, and the captures are downloads, so that no
// file of a student's making runs as a page.
var serveTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".csv":  "text/csv; charset=utf-8",
}

// downloads are served as attachments.
var downloads = map[string]bool{".pcap": true, ".pcapng": true, ".pdf": true, ".zip": true}

// serveToken is the secret first element of every served URL: without it
// every request is "not found", so a browser on another machine reaches
// the class only through the URL lab printed.
func serveToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// taScoresPath is the one path a served folder takes a POST at: a TA's
// score from a student page's form, saved into grading.TAScoresFile.
const taScoresPath = "ta-scores"

// maxScoreForm bounds the body of a score's POST.
const maxScoreForm = 16 << 10

// scoreSaver saves a TA's score into the served folder and rebuilds its
// pages, one at a time.
type scoreSaver struct {
	mu      sync.Mutex
	dir     string
	rebuild func([]grading.Report) error
}

// save takes one score's form: the submission's folder, the check, the
// points and a comment; it answers with the student's page, or with the
// one line that says why the score does not fit.
func (s *scoreSaver) save(w http.ResponseWriter, r *http.Request, prefix string) {
	// A page of another site cannot post here: the browser names the
	// page's origin, which must be this server's.
	o, site := r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site")
	if (o != "" && o != "http://"+r.Host) || (site != "" && site != "same-origin") {
		http.Error(w, "a score is taken only from the served pages", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxScoreForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the score's form could not be read", http.StatusBadRequest)
		return
	}
	sub, check, comment := r.PostForm.Get("submission"), r.PostForm.Get("check"), r.PostForm.Get("comment")
	points, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("points")))
	if err != nil {
		http.Error(w, "points: give a whole number", http.StatusBadRequest)
		return
	}
	if len(comment) > 2000 {
		http.Error(w, "comment: at most 2000 characters", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reports, err := grading.SaveTAScore(s.dir, sub, check, points, comment)
	if err != nil {
		http.Error(w, safetext.OneLine(err.Error()), http.StatusBadRequest)
		return
	}
	if err := s.rebuild(reports); err != nil {
		http.Error(w, "the score is saved, but the pages could not be rebuilt: "+safetext.OneLine(err.Error()), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, prefix+url.PathEscape(sub)+"/index.html#"+url.PathEscape(scenarios.SafeName(check)), http.StatusSeeOther)
}

// resultsHandler serves the results folder dir under /TOKEN/, read-only
// but for the TA's scores (saver; nil takes none). It opens files through
// an os.Root, so a link inside the folder cannot reach outside it, lists
// no folder, and sends every file with a type from serveTypes (text/plain
// otherwise), nosniff, no caching and no referrer to other sites.
func resultsHandler(root *os.Root, token string, saver *scoreSaver) http.Handler {
	prefix := "/" + token + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: a browser then names the page's
		// origin on a score's POST (no-referrer makes it "null"), and
		// nothing leaves the server with the token, as no page links out.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		// Inline styles are allowed (the Q2 review sheet carries its own);
		// inline scripts are not, nor anything from elsewhere.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		if r.Method == http.MethodPost && saver != nil && r.URL.Path == prefix+taScoresPath {
			saver.save(w, r, prefix)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the results are read-only (but for a TA's score)", http.StatusMethodNotAllowed)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		name := path.Clean("/" + rest)[1:]
		if name == "" || strings.HasSuffix(r.URL.Path, "/") {
			name = path.Join(name, "index.html")
		}
		f, err := root.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		ext := strings.ToLower(path.Ext(name))
		ctype, ok := serveTypes[ext]
		if !ok || (ext == ".js" && name != classreport.ScriptFile) {
			// The class page's script is the only one lab writes.
			ctype = "text/plain; charset=utf-8"
		}
		if downloads[ext] {
			ctype = "application/octet-stream"
			h.Set("Content-Disposition", "attachment")
		}
		h.Set("Content-Type", ctype)
		http.ServeContent(w, r, "", info.ModTime(), f)
	})
}

// serveResults serves dir on addr until ctx ends, after printing the
// class page's URL to out, taking the TA's scores from the student pages'
// forms (rebuild writes the pages again with them). The listener is
// opened first, so a port in use is one line and nothing is served.
func serveResults(ctx context.Context, out io.Writer, dir, addr string, rebuild func([]grading.Report) error) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("serve %s: %w", dir, err)
	}
	defer root.Close()
	token, err := serveToken()
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return usagef("--listen %s: %s", addr, plainOSError(err))
	}
	saver := &scoreSaver{dir: dir, rebuild: rebuild}
	srv := &http.Server{Handler: resultsHandler(root, token, saver), ReadHeaderTimeout: 10 * time.Second}
	host := ln.Addr().String()
	if h, port, err := net.SplitHostPort(host); err == nil && (h == "0.0.0.0" || h == "::") {
		name, herr := os.Hostname()
		if herr != nil {
			name = "THIS-MACHINE"
		}
		host = net.JoinHostPort(name, port)
	}
	fmt.Fprintf(out, "serving %s at http://%s/%s/ (read-only but for the TA's scores; anyone with this URL can read it; Ctrl-C stops)\n", dir, host, token)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
