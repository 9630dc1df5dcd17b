package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/mountinfo"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

func (b *builder) ensureBase(ctx context.Context) (builtImage, error) {
	spec := newBaseSpec(b.cfg.source)
	hash := spec.hash()
	ref := imageRef(RepoBase, hash)
	old, ok, err := b.lookup(ctx, ref, hash)
	if err != nil {
		return builtImage{}, err
	}
	if ok && !b.cfg.rebuild {
		if err := b.tagLatest(ctx, ref, RepoBase); err != nil {
			return builtImage{}, err
		}
		b.cfg.logger.Info(fmt.Sprintf("base: cached %s (%s)", ref, megabytes(old.size)), "image", "base", "ref", ref, "stage", "cached", "size", old.size)
		return old, nil
	}
	start := b.cfg.now()
	switch b.cfg.source {
	case FromRegistry:
		err = b.buildBaseFromRegistry(ctx, spec, ref, hash)
	default:
		err = b.buildBaseWithDebootstrap(ctx, spec, ref, hash)
	}
	if err != nil {
		return builtImage{}, err
	}
	return b.finish(ctx, "base", RepoBase, ref, hash, old.id, start)
}

func (b *builder) buildBaseFromRegistry(ctx context.Context, spec baseSpec, ref, hash string) error {
	b.cfg.logger.Info(fmt.Sprintf("base: building %s from the registry's debian:bookworm-slim (%s=%s)…", ref, EnvBase, FromRegistry), "image", "base", "ref", ref, "stage", "building", "source", FromRegistry)
	ctxTar, err := contextTar([]contextFile{{Name: "Dockerfile", Mode: 0o644, Data: []byte(spec.Dockerfile)}})
	if err != nil {
		return err
	}
	return b.build(ctx, "base", bytes.NewReader(ctxTar), runtime.BuildOptions{
		Tags:    []string{ref},
		Labels:  labels("base", hash),
		NoCache: b.cfg.rebuild,
	})
}

func (b *builder) buildBaseWithDebootstrap(ctx context.Context, spec baseSpec, ref, hash string) error {
	b.cfg.logger.Info(fmt.Sprintf("base: building %s with debootstrap (%s, %s, %d packages)…", ref, spec.Suite, spec.Variant, len(spec.Packages)), "image", "base", "ref", ref, "stage", "building", "source", FromDebootstrap)
	work, err := os.MkdirTemp(b.cfg.tmpDir, "lab3-rootfs-")
	if err != nil {
		return fmt.Errorf("build base: %w", err)
	}
	rootfs := filepath.Join(work, "rootfs")
	defer func() {
		if err := removeRootfs(work); err != nil {
			b.cfg.logger.Warn(fmt.Sprintf("base: %v", err), "image", "base", "error", err)
		}
	}()

	t := b.cfg.now()
	if err := b.cfg.debootstrap(ctx, &b.cfg, rootfs); err != nil {
		return err
	}
	took := b.cfg.now().Sub(t).Round(100 * time.Millisecond)
	b.cfg.logger.Info(fmt.Sprintf("base: debootstrap done in %s", took), "image", "base", "stage", "debootstrap", "elapsed", took)
	// debootstrap leaves /proc and /sys mounted if it was interrupted; the
	// tar must never walk into them.
	if err := mountinfo.Unmount(rootfs); err != nil {
		return fmt.Errorf("build base: %w", err)
	}
	if err := trim(rootfs); err != nil {
		return fmt.Errorf("build base: %w", err)
	}

	t = b.cfg.now()
	b.cfg.logger.Info("base: importing the root filesystem into the engine…", "image", "base", "ref", ref, "stage", "import")
	changes := slices.Clone(spec.Changes)
	changes = append(changes, labelChange(labels("base", hash)))
	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := writeRootfsTar(pw, rootfs)
		pw.CloseWithError(err)
		tarDone <- err
	}()
	// However the import ends, the tar writer stops and is waited for
	// before the folder is removed.
	var tarErr error
	stopTar := func() error {
		pr.Close()
		if err := <-tarDone; err != nil && !errors.Is(err, io.ErrClosedPipe) {
			tarErr = err
		}
		return tarErr
	}
	err = b.eng.ImportImage(ctx, pr, ref, runtime.ImportOptions{
		Message: "lab3 base: debootstrap " + spec.Variant + " " + spec.Suite,
		Changes: changes,
	})
	if terr := stopTar(); terr != nil {
		return fmt.Errorf("import base %s: %w", ref, terr)
	}
	if err != nil {
		return fmt.Errorf("import base %s: %w", ref, err)
	}
	took = b.cfg.now().Sub(t).Round(100 * time.Millisecond)
	b.cfg.logger.Info(fmt.Sprintf("base: imported in %s", took), "image", "base", "ref", ref, "stage", "import", "elapsed", took)
	return nil
}

// labelChange is a LABEL instruction for docker import's changes.
func labelChange(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("LABEL")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, l[k])
	}
	return b.String()
}

// debootstrapPath finds debootstrap, which lives in sbin folders that a
// user's PATH may lack.
func debootstrapPath() (string, error) {
	if p, err := exec.LookPath("debootstrap"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/debootstrap", "/sbin/debootstrap"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: install it with `sudo apt-get install -y debootstrap` (or run images/install-host-deps.sh)", ErrNoDebootstrap)
}

// debootstrapArgs are debootstrap's arguments: one pass, packages included.
func debootstrapArgs(suite, cacheDir, rootfs, mirror string) []string {
	return []string{
		"--variant=minbase",
		"--include=" + strings.Join(Packages(), ","),
		"--cache-dir=" + cacheDir,
		suite, rootfs, mirror,
	}
}

// runDebootstrap makes the base's root filesystem in rootfs.
func runDebootstrap(ctx context.Context, cfg *config, rootfs string) error {
	path, err := debootstrapPath()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w (debootstrap): run as root, e.g. `sudo make up`, or set %s=%s where a registry is reachable", ErrNeedRoot, EnvBase, FromRegistry)
	}
	mirror := cfg.mirror
	if mirror == "" {
		if mirror, err = hostMirror("/etc"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.cacheDir, 0o755); err != nil {
		return fmt.Errorf("debootstrap cache: %w", err)
	}
	logPath := filepath.Join(filepath.Dir(cfg.cacheDir), "debootstrap.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("debootstrap log: %w", err)
	}
	defer logf.Close()
	tail := &lastLines{n: 5}
	cmd := exec.CommandContext(ctx, path, debootstrapArgs(Suite, cfg.cacheDir, rootfs, mirror)...)
	cmd.Stdout = io.MultiWriter(logf, tail, newDebootstrapProgress(cfg))
	cmd.Stderr = cmd.Stdout
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// Let debootstrap unmount what it mounted before it goes.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("debootstrap: %w", ctx.Err())
		}
		return fmt.Errorf("debootstrap: %w: %s (full log: %s)", err, tail.last(), logPath)
	}
	return nil
}

// lastLines keeps the last n lines written to it.
type lastLines struct {
	n     int
	lines []string
	part  []byte
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(l.part[:i])); line != "" {
			l.lines = append(l.lines, line)
			if len(l.lines) > l.n {
				l.lines = l.lines[1:]
			}
		}
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

// last returns the most telling recent line: the last error ("E: ...") if
// there is one, else the last line.
func (l *lastLines) last() string {
	for i := len(l.lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(l.lines[i], "E:") {
			return l.lines[i]
		}
	}
	if len(l.lines) == 0 {
		return "no output"
	}
	return l.lines[len(l.lines)-1]
}

// removeRootfs removes a build folder, but never while something is mounted
// inside it: a bind-mounted /dev would take the host's devices with it.
func removeRootfs(work string) error {
	if err := mountinfo.Unmount(work); err != nil {
		return fmt.Errorf("left %s in place: %w", work, err)
	}
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("remove %s: %w", work, err)
	}
	return nil
}
