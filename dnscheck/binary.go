package dnscheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// BinaryRelPath is where make build leaves the static cmd/dnscheck binary,
// relative to the module root.
const BinaryRelPath = "bin/dnscheck"

// ErrNoBinary is returned, wrapped, when the cmd/dnscheck binary is missing
// and cannot be built.
var ErrNoBinary = errors.New("no dnscheck binary")

// Binary returns the static cmd/dnscheck binary for RunLab: root/bin/dnscheck
// if it exists (built by make build), otherwise one freshly built from the
// module at root by BuildBinary. An empty root means the module that holds
// the working directory.
func Binary(ctx context.Context, root string) ([]byte, error) {
	root, err := moduleRoot(root)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, BinaryRelPath))
	if err == nil && len(b) > 0 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: read %s: %w", ErrNoBinary, BinaryRelPath, err)
	}
	return BuildBinary(ctx, root)
}

// BuildBinary builds cmd/dnscheck from the module at root with the go tool,
// statically (CGO_ENABLED=0) for Linux on this machine's architecture, into a
// temporary directory it removes again, and returns the binary.
func BuildBinary(ctx context.Context, root string) ([]byte, error) {
	root, err := moduleRoot(root)
	if err != nil {
		return nil, err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: %s is missing and the go tool is not on PATH: run make build", ErrNoBinary, BinaryRelPath)
	}
	dir, err := os.MkdirTemp("", "dnscheck-build-")
	if err != nil {
		return nil, fmt.Errorf("build dnscheck: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "dnscheck")
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/dnscheck")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: go build ./cmd/dnscheck in %s: %v: %s", ErrNoBinary, root, err, firstLine(stderr.Bytes()))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build dnscheck: %w", err)
	}
	return b, nil
}

// moduleRoot returns root, or when it is empty the nearest directory at or
// above the working directory that holds a go.mod.
func moduleRoot(root string) (string, error) {
	if root != "" {
		return root, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module ") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory: run from the lab3 checkout, or pass its path", ErrNoBinary)
		}
		dir = parent
	}
}

// firstLine is the first line of a command's output, for one-line errors.
func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "no output"
	}
	return s
}
