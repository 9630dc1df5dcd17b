package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
)

// newEngine is an empty fake engine whose builds make images of 1 MB, so
// that progress reports a size that is not zero.
func newEngine() *fake.Engine {
	eng := fake.New("fake")
	eng.SetBuildSize(1_000_000)
	return eng
}

// inspect describes the image ref names on eng.
func inspect(t *testing.T, eng runtime.Images, ref string) runtime.ImageInfo {
	t.Helper()
	img, err := eng.InspectImage(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// allImages lists every image on eng, by ID.
func allImages(t *testing.T, eng runtime.Images) []runtime.ImageInfo {
	t.Helper()
	imgs, err := eng.ListImages(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

// fakeRootfs stands in for debootstrap: a tiny root filesystem.
func fakeRootfs(calls *int) Option {
	return func(c *config) {
		c.debootstrap = func(_ context.Context, _ *config, dir string) error {
			*calls++
			for _, p := range []string{"usr/bin", "dev", "usr/share/doc/bash", "etc"} {
				if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
					return err
				}
			}
			for name, data := range map[string]string{
				"usr/bin/python3":              "#!fake\n",
				"usr/share/doc/bash/README":    "docs\n",
				"usr/share/doc/bash/copyright": "GPL\n",
				"dev/null":                     "",
				"etc/os-release":               "ID=debian\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					return err
				}
			}
			return nil
		}
	}
}

// fakeOpts runs Ensure with a fake debootstrap and folders of the test's
// own, so that it never waits for the build lock of a real build.
func fakeOpts(t *testing.T, calls *int) []Option {
	return []Option{fakeRootfs(calls), WithTempDir(t.TempDir()), WithCacheDir(t.TempDir()), WithBaseSource(FromDebootstrap)}
}

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) Option {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(c *config) {
		c.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			t = t.Add(step)
			return t
		}
	}
}

func TestEnsureBuildsOnceThenHitsTheCache(t *testing.T) {
	eng := newEngine()
	var debootstraps int
	opts := append(fakeOpts(t, &debootstraps), fakeClock(time.Second))

	var out bytes.Buffer
	refs, err := Ensure(t.Context(), eng, append(opts, WithLogger(progress.New(&out, false)))...)
	if err != nil {
		t.Fatalf("first Ensure: %v", err)
	}
	if calls := eng.ImageCalls(); debootstraps != 1 || len(calls.Imports) != 1 || len(calls.Builds) != 2 {
		t.Fatalf("first Ensure: %d debootstraps, %d imports, %d builds; want 1, 1, 2", debootstraps, len(calls.Imports), len(calls.Builds))
	}
	for _, c := range []struct{ ref, repo string }{{refs.Base, RepoBase}, {refs.DNS, RepoDNS}, {refs.Host, RepoHost}} {
		tag, ok := strings.CutPrefix(c.ref, c.repo+":")
		if !ok || len(tag) != 12 {
			t.Errorf("ref %q: want %s:<12 hex digits>", c.ref, c.repo)
		}
		if inspect(t, eng, c.repo+":latest").ID != inspect(t, eng, c.ref).ID {
			t.Errorf("%s:latest does not point at %s", c.repo, c.ref)
		}
	}
	// The clock ticks a second per reading: start, debootstrap start and
	// end, import start and end, and the end of the base's build.
	for _, want := range []string{
		"base: building " + refs.Base + " with debootstrap (bookworm, minbase, 12 packages)…\n",
		"base: debootstrap done in 1s\n",
		"base: imported in 1s\n",
		"base: built " + refs.Base + " (0 MB) in 5s\n",
		"dnsserver: building " + refs.DNS + " from " + refs.Base + "…\n",
		"host: building " + refs.Host + " from " + refs.Base + "…\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	// The role builds run side by side, so their durations vary.
	for _, re := range []string{`(?m)^dnsserver: built \S+ \(1 MB\) in \ds$`, `(?m)^host: built \S+ \(1 MB\) in \ds$`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("progress does not match %s:\n%s", re, out.String())
		}
	}

	out.Reset()
	again, err := Ensure(t.Context(), eng, append(opts, WithLogger(progress.New(&out, false)))...)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if again != refs {
		t.Errorf("second Ensure = %+v, want %+v", again, refs)
	}
	if calls := eng.ImageCalls(); debootstraps != 1 || len(calls.Imports) != 1 || len(calls.Builds) != 2 {
		t.Errorf("second Ensure built again: %d debootstraps, %d imports, %d builds", debootstraps, len(calls.Imports), len(calls.Builds))
	}
	want := "base: cached " + refs.Base + " (0 MB)\ndnsserver: cached " + refs.DNS + " (1 MB)\nhost: cached " + refs.Host + " (1 MB)\n"
	if out.String() != want {
		t.Errorf("second Ensure progress:\n%s\nwant:\n%s", out.String(), want)
	}

	// As JSON, each line is the same message with what it says as
	// attributes.
	out.Reset()
	if _, err := Ensure(t.Context(), eng, append(opts, WithLogger(progress.New(&out, true)))...); err != nil {
		t.Fatalf("third Ensure: %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var rec struct{ Msg, Image, Ref, Stage string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		got = append(got, rec.Msg)
		if rec.Stage != "cached" || rec.Ref == "" || !strings.HasPrefix(rec.Msg, rec.Image+": cached "+rec.Ref) {
			t.Errorf("record %s: want image, ref and stage cached matching its message", line)
		}
	}
	if strings.Join(got, "\n")+"\n" != want {
		t.Errorf("JSON messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

func TestEnsureWithRebuildBuildsEverythingAgain(t *testing.T) {
	eng := newEngine()
	var debootstraps int
	opts := fakeOpts(t, &debootstraps)
	first, err := Ensure(t.Context(), eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Ensure(t.Context(), eng, append(opts, WithRebuild())...)
	if err != nil {
		t.Fatal(err)
	}
	calls := eng.ImageCalls()
	if debootstraps != 2 || len(calls.Imports) != 2 || len(calls.Builds) != 4 {
		t.Fatalf("rebuild: %d debootstraps, %d imports, %d builds; want 2, 2, 4", debootstraps, len(calls.Imports), len(calls.Builds))
	}
	for _, b := range calls.Builds[2:] {
		if !b.Options.NoCache {
			t.Errorf("rebuild of %v used the engine's layer cache", b.Options.Tags)
		}
	}
	if second.Base != first.Base {
		t.Errorf("base ref changed on rebuild with the same inputs: %s, then %s", first.Base, second.Base)
	}
}

func TestEnsureRebuildsRolesWhenTheBaseChanges(t *testing.T) {
	eng := newEngine()
	var n int
	opts := fakeOpts(t, &n)
	first, err := Ensure(t.Context(), eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// The same tag now names a different image, as after `docker import`
	// by hand: the roles built on the old one are out of date.
	img := inspect(t, eng, first.Base)
	img.ID = "sha256:other"
	img.Tags = []string{first.Base}
	eng.AddImage(img)
	second, err := Ensure(t.Context(), eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if second.DNS == first.DNS || second.Host == first.Host {
		t.Errorf("role refs did not change with the base image: %+v then %+v", first, second)
	}
	if builds := eng.ImageCalls().Builds; len(builds) != 4 {
		t.Errorf("%d builds, want 4", len(builds))
	}
}

func TestEnsureRebuildsAnImageWhoseTagHasOtherInputs(t *testing.T) {
	eng := newEngine()
	var n int
	opts := fakeOpts(t, &n)
	refs, err := Ensure(t.Context(), eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	img := inspect(t, eng, refs.Host)
	oldID := img.ID
	img.Labels = map[string]string{LabelInputHash: "something else"}
	img.Tags = []string{refs.Host}
	eng.AddImage(img)
	if _, err := Ensure(t.Context(), eng, opts...); err != nil {
		t.Fatal(err)
	}
	calls := eng.ImageCalls()
	if n != 1 || len(calls.Builds) != 3 || !slices.Contains(calls.Builds[2].Options.Tags, refs.Host) {
		t.Errorf("want only the host image rebuilt; %d debootstraps, %d builds", n, len(calls.Builds))
	}
	if !slices.ContainsFunc(calls.Removals, func(r fake.Removal) bool { return r.Ref == oldID }) {
		t.Errorf("the replaced host image %s was not removed (removed: %v)", oldID, calls.Removals)
	}
}

func TestEnsureImportsATrimmedLabelledRootfs(t *testing.T) {
	eng := newEngine()
	var n int
	refs, err := Ensure(t.Context(), eng, fakeOpts(t, &n)...)
	if err != nil {
		t.Fatal(err)
	}
	imports := eng.ImageCalls().Imports
	if len(imports) == 0 {
		t.Fatal("nothing imported")
	}
	imp := imports[0]
	if imp.Ref != refs.Base {
		t.Errorf("imported as %q, want %q", imp.Ref, refs.Base)
	}
	for _, want := range []string{"ENV LANG=C.UTF-8", `CMD ["bash"]`} {
		if !slices.Contains(imp.Options.Changes, want) {
			t.Errorf("import changes %q lack %q", imp.Options.Changes, want)
		}
	}
	l := inspect(t, eng, refs.Base).Labels
	if l[LabelManaged] != "true" || l[LabelImage] != "base" || !strings.HasPrefix(l[LabelInputHash], strings.TrimPrefix(refs.Base, RepoBase+":")) {
		t.Errorf("base labels = %v", l)
	}
	for name, want := range map[string]bool{
		"usr/bin/python3":                true,
		"usr/share/doc/bash/copyright":   true,
		"usr/share/doc/bash/README":      false,
		"dev/":                           true,
		"dev/null":                       false,
		"etc/dpkg/dpkg.cfg.d/lab3-nodoc": true,
	} {
		if _, got := imp.Files[name]; got != want {
			t.Errorf("rootfs tar has %s = %v, want %v", name, got, want)
		}
	}
}

func TestEnsureRemovesItsBuildFolder(t *testing.T) {
	tmp := t.TempDir()
	var n int
	if _, err := Ensure(t.Context(), newEngine(), append(fakeOpts(t, &n), WithTempDir(tmp))...); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left in the temp folder: %v", left)
	}
}

func TestRoleBuildsAddFilesOnly(t *testing.T) {
	eng := newEngine()
	var n int
	refs, err := Ensure(t.Context(), eng, fakeOpts(t, &n)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range eng.ImageCalls().Builds {
		df := string(b.Files["Dockerfile"])
		if !strings.HasPrefix(df, "FROM "+refs.Base+"\n") {
			t.Errorf("Dockerfile does not start FROM the base:\n%s", df)
		}
		for _, line := range strings.Split(strings.TrimSpace(df), "\n") {
			instr, _, _ := strings.Cut(line, " ")
			if !slices.Contains([]string{"FROM", "ADD", "ENTRYPOINT"}, instr) {
				t.Errorf("role Dockerfile has %q; want only FROM, ADD and ENTRYPOINT", line)
			}
		}
	}
}

func TestEnsureFromRegistryBuildsTheDockerfile(t *testing.T) {
	eng := newEngine()
	var n int
	refs, err := Ensure(t.Context(), eng, append(fakeOpts(t, &n), WithBaseSource(FromRegistry))...)
	if err != nil {
		t.Fatal(err)
	}
	calls := eng.ImageCalls()
	if n != 0 || len(calls.Imports) != 0 {
		t.Errorf("registry source ran debootstrap %d times and imported %d times", n, len(calls.Imports))
	}
	if len(calls.Builds) != 3 || !slices.Contains(calls.Builds[0].Options.Tags, refs.Base) {
		t.Fatalf("want the base built first, then two roles; got %d builds", len(calls.Builds))
	}
	df := string(calls.Builds[0].Files["Dockerfile"])
	if !strings.HasPrefix(strings.TrimSpace(dockerfileFrom(df)), "debian:bookworm-slim") {
		t.Errorf("registry base build: FROM %q", dockerfileFrom(df))
	}
}

func dockerfileFrom(df string) string {
	for _, line := range strings.Split(df, "\n") {
		if rest, ok := strings.CutPrefix(line, "FROM "); ok {
			return rest
		}
	}
	return ""
}

func TestEnsureRejectsBadInputBeforeTouchingTheEngine(t *testing.T) {
	tests := []struct {
		name string
		env  string
		opts []Option
		want string
	}{
		{"unknown LAB_BASE", "docker-hub", nil, `unknown base source "docker-hub": set LAB_BASE to "debootstrap" or "registry"`},
		{"unknown source option", "", []Option{WithBaseSource("ftp")}, `unknown base source "ftp"`},
		{"mirror without a scheme", "", []Option{WithMirror("mirror.example/debian")}, `mirror "mirror.example/debian": want an http://, https:// or file:/// URL`},
		{"mirror with a newline", "", []Option{WithMirror("http://a.example/\nb")}, `want an http://, https:// or file:/// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := getenv
			getenv = func(k string) string {
				if k == EnvBase {
					return tt.env
				}
				return ""
			}
			t.Cleanup(func() { getenv = old })
			eng := newEngine()
			_, err := Ensure(t.Context(), eng, append([]Option{WithCacheDir(t.TempDir())}, tt.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
			if c := eng.ImageCalls(); len(c.Builds)+len(c.Imports)+len(c.Tags) != 0 {
				t.Errorf("engine was used despite bad input")
			}
		})
	}
}

func TestEnsureReportsTheBuildsOwnError(t *testing.T) {
	eng := newEngine()
	eng.SetBuildError(errors.New("pull access denied for debian, repository does not exist"))
	_, err := Ensure(t.Context(), eng, WithBaseSource(FromRegistry), WithCacheDir(t.TempDir()))
	if err == nil || err.Error() != "build base: pull access denied for debian, repository does not exist" {
		t.Fatalf("err = %v", err)
	}
}

func TestFailedImportStopsTheTarAndRemovesTheFolder(t *testing.T) {
	for _, after := range []int64{0, 1024} {
		t.Run(fmt.Sprintf("after %d bytes", after), func(t *testing.T) {
			eng := newEngine()
			eng.SetImportError(errors.New("write /var/lib/docker/tmp: no space left on device"), after)
			tmp := t.TempDir()
			var n int
			_, err := Ensure(t.Context(), eng, append(fakeOpts(t, &n), WithTempDir(tmp))...)
			if err == nil || !strings.Contains(err.Error(), "no space left on device") {
				t.Fatalf("err = %v", err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in the temp folder: %v", left)
			}
			if imgs := allImages(t, eng); len(imgs) != 0 {
				t.Errorf("images after a failed import: %v", imgs)
			}
		})
	}
}
