// Package multicall lets one lab binary carry the programs it puts into the
// lab's hosts: dnscheck, the reference chat-server and chat-client, and
// lab-log, which keeps a background program's output.
// Copied into a host under one of those names, lab runs that program, as
// busybox does, so a lab binary copied anywhere, or installed with go
// install, needs nothing beside it and no go tool at run time.
package multicall

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/ntnu-ttm4200/lab3/internal/multicall/chatclientcmd"
	"github.com/ntnu-ttm4200/lab3/internal/multicall/chatservercmd"
	"github.com/ntnu-ttm4200/lab3/internal/multicall/dnscheckcmd"
	"github.com/ntnu-ttm4200/lab3/internal/multicall/lablogcmd"
)

// The programs lab can be, by the name it is run under.
const (
	DNSCheck   = "dnscheck"
	ChatServer = "chat-server"
	ChatClient = "chat-client"
	// LabLog keeps a background program's output (lab exec -d).
	LabLog = "lab-log"
)

var programs = map[string]func() int{
	DNSCheck:   dnscheckcmd.Main,
	ChatServer: chatservercmd.Main,
	ChatClient: chatclientcmd.Main,
	LabLog:     lablogcmd.Main,
}

// Run runs the program argv0 names (by its base name) and returns its exit
// status; ok is false, and nothing runs, when argv0 names none of them.
func Run(argv0 string) (code int, ok bool) {
	main, ok := programs[filepath.Base(argv0)]
	if !ok {
		return 0, false
	}
	return main(), true
}

// CarrierPath is the main package of the binary that carries the programs:
// only it calls Run first thing, so only its bytes may be copied in.
const CarrierPath = "github.com/ntnu-ttm4200/lab3/cmd/lab"

// ErrNotCarrier is returned, wrapped, by Self when the running executable
// cannot stand in for the programs.
var ErrNotCarrier = errors.New("this executable cannot run in the lab's hosts")

var self = sync.OnceValues(func() ([]byte, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Path != CarrierPath {
		return nil, fmt.Errorf("%w: it is not the lab command", ErrNotCarrier)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%w: find it: %v", ErrNotCarrier, err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		return nil, fmt.Errorf("%w: read it: %v", ErrNotCarrier, err)
	}
	if err := static(b); err != nil {
		return nil, fmt.Errorf("%w: %s %v: rebuild it with CGO_ENABLED=0 (make build does), or put dnscheck, chat-server and chat-client beside it", ErrNotCarrier, exe, err)
	}
	return b, nil
})

// Self returns the bytes of the running lab binary, to be copied into a
// host under a program's name. It fails unless this is the lab command,
// built for Linux and linked statically (a cgo build needs this machine's
// C library, which the hosts may not have).
func Self() ([]byte, error) { return self() }

// static reports why b is not a statically linked Linux executable, or nil.
func static(b []byte) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("is built for %s, not Linux", runtime.GOOS)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("is not an ELF executable: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("is dynamically linked (built with cgo)")
		}
	}
	return nil
}
