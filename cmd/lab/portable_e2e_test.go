package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
)

// TestPortableLab copies a static lab binary, alone, into an empty folder
// outside the checkout and runs it with no go tool on PATH, as a TA who
// downloaded a release or ran go install would: it brings a lab up (the
// DNS gate copies lab itself in as dnscheck), checks DNS, deploys the
// reference programs (lab again, as chat-server and chat-client), grades a
// student's submission and the reference, and takes the lab down.
func TestPortableLab(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	labBin := filepath.Join(dir, "lab")
	// make build's lab is the static one (CGO_ENABLED=0) a TA downloads.
	if err := copyExecutable(tier.Bin(t, "lab"), labBin); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the folder holds %d entries, want lab alone", len(entries))
	}
	sub := filepath.Join(t.TempDir(), "student")
	if err := os.CopyFS(sub, os.DirFS("../../testdata/students/faithful")); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	path := "/usr/sbin:/usr/bin:/sbin:/bin"
	env := []string{"PATH=" + path, "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT", "XDG_CACHE_HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, p := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(p, "go")); err == nil {
			t.Fatalf("%s/go is on the test's PATH: the test needs a PATH without the go tool", p)
		}
	}
	lab := func(args ...string) (int, string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, labBin, args...)
		cmd.Dir, cmd.Env = work, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		return code, out.String()
	}
	name := []string{"--name", "portable"}
	t.Cleanup(func() { lab(append(name, "down", "--force")...) })
	step := func(want string, args ...string) string {
		t.Helper()
		code, out := lab(args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("lab %s: exit %d, want 0 and %q in:\n%s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	step("dnscheck: PASS", append(name, "up", "--subnet", "10.99.93.0/24")...)
	step("PASS", append(name, "dnscheck")...)
	step("deployed 4 file(s)", append(name, "deploy")...)
	step("chat-client", append(name, "exec", "client1", "--", "/root/chat-client", "--version")...)
	step("passed", "grade", "--only", "^(dns-resolve|m1-broadcast)$", "--lab-prefix", "portable-sub", "--results", filepath.Join(work, "student-results"), sub)
	step("passed", "grade", "--only", "^m2-p2p-udp$", "--lab-prefix", "portable-ref", "--results", filepath.Join(work, "ref-results"))
	step("lab portable", append(name, "down")...)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("lab wrote beside itself: %d entries in its folder", len(entries))
	}
}

// copyExecutable copies the program at src to dst, executable.
func copyExecutable(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
