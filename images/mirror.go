package images

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// aptSource is one "deb" entry of an apt sources file.
type aptSource struct {
	URIs   []string
	Suites []string
}

// debianSuites are the Debian release names a mirror entry may carry; they
// tell a Debian mirror from, say, an Ubuntu one.
var debianSuites = []string{
	"buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
	"oldoldstable", "oldstable", "stable", "testing", "unstable",
}

// parseSources reads apt sources in either format: deb822 (.sources files,
// "Types: deb" stanzas) or one-line ("deb [opts] uri suite comps").
func parseSources(data []byte) []aptSource {
	if isDeb822(data) {
		return parseDeb822(data)
	}
	return parseOneLine(data)
}

func isDeb822(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, ":")
		return ok && !strings.ContainsAny(k, " \t")
	}
	return false
}

func parseOneLine(data []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options: "[arch=amd64 signed-by=...]", possibly several fields.
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{URIs: []string{f[0]}, Suites: []string{f[1]}})
	}
	return out
}

func parseDeb822(data []byte) []aptSource {
	var out []aptSource
	stanza := map[string]string{}
	flush := func() {
		types := strings.Fields(stanza["types"])
		enabled := strings.ToLower(strings.TrimSpace(stanza["enabled"]))
		if slices.Contains(types, "deb") && enabled != "no" {
			out = append(out, aptSource{
				URIs:   strings.Fields(stanza["uris"]),
				Suites: strings.Fields(stanza["suites"]),
			})
		}
		stanza = map[string]string{}
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
			flush()
			last = ""
		case strings.HasPrefix(line, "#"):
		case raw[0] == ' ' || raw[0] == '\t':
			// A continuation line belongs to the field before it.
			if last != "" && line != "." {
				stanza[last] += " " + line
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			stanza[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// pickMirror returns the first URI that serves a main Debian suite (not
// -security, -updates or -backports) over http, https or file.
func pickMirror(srcs []aptSource) (string, bool) {
	for _, s := range srcs {
		main := false
		for _, suite := range s.Suites {
			if slices.Contains(debianSuites, suite) {
				main = true
			}
		}
		if !main {
			continue
		}
		for _, u := range s.URIs {
			if isMirrorURL(u) {
				return strings.TrimRight(u, "/"), true
			}
		}
	}
	return "", false
}

// isMirrorURL reports whether debootstrap can download from u.
func isMirrorURL(u string) bool {
	for _, scheme := range []string{"http://", "https://", "file:/"} {
		if rest, ok := strings.CutPrefix(u, scheme); ok && strings.Trim(rest, "/") != "" && !strings.ContainsAny(rest, " \t\n") {
			return true
		}
	}
	return false
}

// sourceFiles are the host's apt sources, in the order apt reads them.
func sourceFiles(etc string) []string {
	files := []string{filepath.Join(etc, "apt/sources.list")}
	for _, pat := range []string{"apt/sources.list.d/*.sources", "apt/sources.list.d/*.list"} {
		m, _ := filepath.Glob(filepath.Join(etc, pat))
		files = append(files, m...)
	}
	return files
}

// hostMirror finds the Debian mirror in the apt sources under etc (the
// host's /etc).
func hostMirror(etc string) (string, error) {
	var read []string
	for _, f := range sourceFiles(etc) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		read = append(read, f)
		if m, ok := pickMirror(parseSources(data)); ok {
			return m, nil
		}
	}
	if len(read) == 0 {
		return "", fmt.Errorf("%w: no apt sources under %s: set %s to a Debian mirror URL", ErrNoMirror, filepath.Join(etc, "apt"), EnvMirror)
	}
	return "", fmt.Errorf("%w in %s: set %s to a Debian mirror URL", ErrNoMirror, strings.Join(read, ", "), EnvMirror)
}
