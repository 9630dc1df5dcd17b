package scenarios

import (
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
// lab host, run as root with isolatedPython. It takes one JSON argument:
//
//   - paths: where to look; a path that does not exist is skipped;
//   - skip: absolute paths of the grader's own, not looked into;
//   - forms: the byte strings, base64-encoded.
//
// It prints one JSON object: files (those holding a form) and unread
// (paths it could not read, with why; the search is then incomplete).
// It never follows a link, reads only regular files (a FIFO cannot hang
// it), walks without recursion (a deep tree cannot stop it), reads the
// data of sparse files only (a file of a terabyte of holes costs nothing)
// and holds one chunk at a time (a file without line breaks is no larger
// to it than any other).
const searchScript = `
import base64, errno, json, os, stat, sys
spec = json.loads(sys.argv[1])
forms = [base64.b64decode(f) for f in spec["forms"]]
keep = max(len(f) for f in forms) - 1
skip = set(spec["skip"])
res = {"files": [], "unread": []}
def has(fd, size):
    tail = b""
    off = 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return False
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
def search(top):
    todo = [top]
    while todo:
        p = todo.pop()
        if p in skip:
            continue
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        except OSError as e:
            res["unread"].append("%s: %s" % (p, e.strerror))
            continue
        try:
            if stat.S_ISDIR(st.st_mode):
                with os.scandir(p) as it:
                    todo.extend(sorted((e.path for e in it), reverse=True))
            elif stat.S_ISREG(st.st_mode):
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    if has(fd, st.st_size):
                        res["files"].append(p)
                finally:
                    os.close(fd)
        except FileNotFoundError:
            pass
        except OSError as e:
            res["unread"].append("%s: %s" % (p, e.strerror))
for top in spec["paths"]:
    search(top)
print(json.dumps(res))
`

// searchResult is what searchScript prints.
type searchResult struct {
	Files  []string `json:"files"`
	Unread []string `json:"unread"`
}

// searchSpec is searchScript's argument.
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
	res, err := r.e.rt.Exec(ctx, st.Host, r.tool(true, "-c", searchScript, string(arg)), nil)
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
	switch {
	case want == "absent" && len(sr.Files) > 0:
		return failf(what, "found%s in %s", found, strings.Join(sr.Files, ", "))
	case len(sr.Unread) > 0 && (want == "absent" || len(sr.Files) == 0):
		return infraf(what, "the search could not read %d path(s), so it proves nothing: %s", len(sr.Unread), strings.Join(sr.Unread[:min(3, len(sr.Unread))], "; "))
	case want == "present" && len(sr.Files) == 0:
		return failf(what, "no file contains it")
	}
	return nil
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
