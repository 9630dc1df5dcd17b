package scenarios

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"unicode/utf16"

	"github.com/ntnu-ttm4200/lab3/traffic"
)

// isolatedPython runs the grader's Python scripts on a lab host so that
// nothing the submission wrote takes part: -I ignores the PYTHON*
// variables, the user's site-packages (where a usercustomize.py would
// run first) and the working folder, -S skips the site module (and any
// sitecustomize). The standard library comes from the image's read-only
// root.
var isolatedPython = []string{"python3", "-I", "-S"}

// tool is the command line of one of the grader's Python scripts on a
// host: isolated from the submission's files (isolatedPython), and on a
// sandboxed host, unless asRoot, as the sandbox's tool user, which the
// submission can neither trace nor signal and which holds no privilege.
// The file search runs as root, to read every file whoever owns it.
func (r *run) tool(asRoot bool, args ...string) []string {
	cmd := append(append([]string(nil), isolatedPython...), args...)
	if r.e.sandbox != nil && !asRoot {
		return r.e.sandbox.ToolCommand(cmd)
	}
	return cmd
}

// searchScript looks for byte strings in every file under some paths of a
// lab host, run as root with isolatedPython. It reads one JSON object on
// its standard input, so that no command line in /proc shows the forms it
// looks for:
//
//   - paths: where to look; a path that does not exist is skipped;
//   - skip: absolute paths of the grader's own, not looked into;
//   - forms: the byte strings, base64-encoded.
//
// It prints one JSON object: files (those holding a form, in their data,
// their name or, for a link, its target) and unread (paths it could not
// read, with why; the search is then incomplete), the first 20 of each
// with their counts, found and unread_count. A skipped path is skipped
// only if it is a folder of root's that only root may write: one the
// submission made under that name is searched. It never follows a link,
// reads only regular files (a FIFO cannot hang it), walks without
// recursion and through folder descriptors (a tree deeper than a path may
// be long cannot stop it), reads the data of sparse files only (a file of
// a terabyte of holes costs nothing) and holds one chunk at a time (a
// file without line breaks is no larger to it than any other).
const searchScript = `
import base64, errno, json, os, stat, sys
spec = json.load(sys.stdin)
forms = [base64.b64decode(f) for f in spec["forms"]]
keep = max(len(f) for f in forms) - 1
skip = set(spec.get("skip") or [])
res = {"files": [], "unread": []}
def has(fd, size):
    tail = b""
    off = 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                # Only a hole is left: its zeros may end a form (UTF-16).
                buf = tail + bytes(min(size - off, keep))
                return any(f in buf for f in forms)
            raise
        end = os.lseek(fd, start, os.SEEK_HOLE)
        if start > off and keep:
            tail = (tail + bytes(min(start - off, keep)))[-keep:]
        os.lseek(fd, start, os.SEEK_SET)
        pos = start
        while pos < end:
            chunk = os.read(fd, min(1 << 20, end - pos))
            if not chunk:
                return False
            buf = tail + chunk
            for f in forms:
                if f in buf:
                    return True
            tail = buf[-keep:] if keep else b""
            pos += len(chunk)
        off = end
    return False
D = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
SHOWN = 20
found = [0]
unread = [0]
def note(kind, path, why=None):
    # At most SHOWN of each are named, so that the answer stays small
    # however many files a submission makes; the counts are exact.
    counter = found if kind == "files" else unread
    counter[0] += 1
    if counter[0] <= SHOWN:
        shown = path if len(path) <= 300 else path[:140] + "/.../" + path[-140:]
        res[kind].append(shown if why is None else "%s: %s" % (shown, why))
def named(name):
    return any(f in name for f in forms)
def skipped():
    # Only a folder of the grader's own is skipped: root's, and writable by
    # root alone. One the submission made under that name is searched.
    out = set()
    for p in skip:
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
            out.add(p)
    return out
def visit(dfd, path, todo):
    # One folder, read through its descriptor: paths never grow past what
    # the kernel takes, however deep the tree.
    with os.scandir(dfd) as it:
        entries = sorted(it, key=lambda e: e.name)
    subs = []
    for e in entries:
        p = path + "/" + e.name
        if p in skips:
            continue
        try:
            st = os.lstat(e.name, dir_fd=dfd)
            hit = named(os.fsencode(e.name))
            if stat.S_ISLNK(st.st_mode):
                hit = hit or named(os.fsencode(os.readlink(e.name, dir_fd=dfd)))
            elif stat.S_ISDIR(st.st_mode):
                subs.append((e.name, p))
            elif stat.S_ISREG(st.st_mode) and not hit:
                fd = os.open(e.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
                try:
                    hit = has(fd, st.st_size)
                finally:
                    os.close(fd)
            if hit:
                note("files", p)
        except FileNotFoundError:
            pass
        except OSError as err:
            note("unread", p, err.strerror)
    todo.append((dfd, path, list(reversed(subs))))
def search(top):
    try:
        fd = os.open(top, D)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as err:
        note("unread", top, err.strerror)
        return
    todo = []
    try:
        visit(fd, top, todo)
    except OSError as err:
        note("unread", top, err.strerror)
        os.close(fd)
        return
    while todo:
        dfd, path, subs = todo[-1]
        if not subs:
            os.close(dfd)
            todo.pop()
            continue
        name, p = subs.pop()
        try:
            cfd = os.open(name, D, dir_fd=dfd)
        except FileNotFoundError:
            continue
        except OSError as err:
            note("unread", p, err.strerror)
            continue
        try:
            visit(cfd, p, todo)
        except OSError as err:
            note("unread", p, err.strerror)
            os.close(cfd)
skips = skipped()
for top in spec["paths"]:
    search(top.rstrip("/") or "/")
res["found"], res["unread_count"] = found[0], unread[0]
print(json.dumps(res))
`

// searchResult is what searchScript prints: the first files that hold a
// form and the first paths it could not read, with how many of each.
type searchResult struct {
	Files       []string `json:"files"`
	Found       int      `json:"found"`
	Unread      []string `json:"unread"`
	UnreadCount int      `json:"unread_count"`
}

// searchSpec is searchScript's input.
type searchSpec struct {
	Paths []string `json:"paths"`
	Skip  []string `json:"skip"`
	Forms [][]byte `json:"forms"` // base64 in JSON, as the script reads them
}

// grep runs a grep step: whether a text is (or is not) in any file under
// some paths of a host. The search runs outside the submission's reach
// and timing: searchScript, as root, isolated from the submission's
// files, with the host's processes stopped while it reads (freeze). It
// belongs at the end of a scenario: the thaw continues every process. Only
// the grader's own captures (traffic.CaptureDir) are skipped, where a
// password always travels in clear: they are not the server's files. A
// search that could not read everything is no evidence of absence: the
// step is then an Error, never a pass.
func (r *run) grep(ctx context.Context, st Step) *stepError {
	text, err := r.v().expand(st.Text, false)
	if err != nil {
		return infraf("grep", "%v", err)
	}
	want := st.Want
	if want == "" {
		want = "absent"
	}
	paths := st.Paths
	if len(paths) == 0 {
		paths = []string{st.Path}
	}
	forms := [][]byte{[]byte(text)}
	kind, found := "", " in clear"
	if st.Encoded {
		found = " in clear or encoded"
		forms = encodedForms(text)
		kind = " (nor base64, hex, reversed, rot13 or UTF-16)"
	}
	where := strings.Join(paths, ", ")
	what := fmt.Sprintf("%q is %s%s in every file under %s on %s", text, want, kind, where, st.Host)
	if want == "present" {
		what = fmt.Sprintf("%q appears in a file under %s on %s", text, where, st.Host)
	}
	arg, err := json.Marshal(searchSpec{Paths: paths, Skip: []string{traffic.CaptureDir}, Forms: forms})
	if err != nil {
		return infraf(what, "%v", err)
	}
	thaw, serr := r.freeze(ctx, st.Host)
	if serr != nil {
		return infraf(what, "%v", serr)
	}
	res, err := r.e.rt.Exec(ctx, st.Host, r.tool(true, "-c", searchScript), bytes.NewReader(arg))
	if terr := thaw(); err == nil && terr != nil {
		err = terr
	}
	if err != nil {
		return infraf(what, "%v", err)
	}
	var sr searchResult
	if err := json.Unmarshal(res.Stdout, &sr); err != nil {
		return infraf(what, "the search printed no result (exit %d): %s", res.ExitCode, lastLine(string(res.Stderr)))
	}
	sr.Found, sr.UnreadCount = max(sr.Found, len(sr.Files)), max(sr.UnreadCount, len(sr.Unread))
	switch {
	case want == "absent" && sr.Found > 0:
		return failf(what, "found%s in %s", found, someOf(sr.Files, sr.Found))
	case sr.UnreadCount > 0 && (want == "absent" || sr.Found == 0):
		return infraf(what, "the search could not read %d path(s), so it proves nothing: %s", sr.UnreadCount, strings.Join(sr.Unread[:min(3, len(sr.Unread))], "; "))
	case want == "present" && sr.Found == 0:
		return failf(what, "no file contains it")
	}
	return nil
}

// someOf lists the names shown of n, saying how many more there are.
func someOf(names []string, n int) string {
	out := strings.Join(names, ", ")
	if n > len(names) {
		out += fmt.Sprintf(" and %d more", n-len(names))
	}
	return out
}

// freeze stops every process on a sandboxed host but the grader's agent
// (SIGSTOP to -1, sent by the agent's own kill built-in, so no new
// process shows the submission that a search is coming, and the kernel
// stops them all in one pass) until thaw continues them: no file moves or
// changes while the search reads it. A host without a sandbox or an agent
// (Observer) is not frozen.
func (r *run) freeze(ctx context.Context, host string) (thaw func() error, err error) {
	obs, ok := r.e.rt.(Observer)
	if !ok || r.e.sandbox == nil {
		return func() error { return nil }, nil
	}
	if err := obs.SignalAll(ctx, host, syscall.SIGSTOP, []int{-1}); err != nil {
		_ = obs.SignalAll(context.WithoutCancel(ctx), host, syscall.SIGCONT, []int{-1})
		return nil, fmt.Errorf("stop the host's processes for the search: %w", err)
	}
	return func() error {
		if err := obs.SignalAll(context.WithoutCancel(ctx), host, syscall.SIGCONT, []int{-1}); err != nil {
			return fmt.Errorf("continue the host's processes after the search: %w", err)
		}
		return nil
	}, nil
}

// encodedForms are text and the trivial encodings a password stored "not
// in plain text" must not be either: base64 (standard and URL alphabets,
// with and without padding), hex in both cases, reversed, rot13, and
// UTF-16 in both byte orders (as Windows and Java write text).
func encodedForms(text string) [][]byte {
	b := []byte(text)
	set := map[string]bool{}
	for _, f := range []string{
		text,
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		reverse(text), rot13(text),
		utf16Bytes(text, false), utf16Bytes(text, true),
	} {
		set[f] = true
	}
	keys := make([]string, 0, len(set))
	for f := range set {
		keys = append(keys, f)
	}
	sort.Strings(keys)
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// rot13 turns each ASCII letter 13 places, as Python's codecs.encode(s,
// "rot13") does.
func rot13(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z':
			return 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			return 'A' + (c-'A'+13)%26
		}
		return c
	}, s)
}

// utf16Bytes is s in UTF-16, little-endian or big-endian, without a byte
// order mark (which only a whole file's start carries).
func utf16Bytes(s string, bigEndian bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}
