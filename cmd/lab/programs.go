package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/internal/multicall"
	"github.com/ntnu-ttm4200/lab3/lab"
)

// programs finds what lab puts into the hosts (dnscheck, chat-server,
// chat-client) by name. From dir when the user named one (--bin);
// otherwise from beside lab (make build's bin/), else lab itself, which
// runs as the program it is named after (a lab copied anywhere carries
// them all), else ./bin. src says where the bytes came from.
func programs(dir string) func(name string) (data []byte, src string, err error) {
	return func(name string) ([]byte, string, error) {
		if dir != "" {
			return lab.ProgramsIn(dir)(name)
		}
		exe, err := os.Executable()
		if err == nil {
			if b, src, err := lab.ProgramsIn(filepath.Dir(exe))(name); err == nil {
				return b, src, nil
			}
		}
		b, selfErr := multicall.Self()
		if selfErr == nil {
			return b, exe, nil
		}
		if b, src, err := lab.ProgramsIn(filepath.Dir(dnscheck.BinaryRelPath))(name); err == nil {
			return b, src, nil
		}
		return nil, name, fmt.Errorf("no %s beside lab or in ./bin, and %v", name, selfErr)
	}
}

// dnscheckBinary is the dnscheck program for the clients: from beside lab
// or lab itself (see programs), else one the go tool builds from the
// module around the working directory (go run, tests).
func dnscheckBinary(ctx context.Context) ([]byte, error) {
	b, _, err := programs("")(multicall.DNSCheck)
	if err == nil {
		return b, nil
	}
	if b, berr := dnscheck.Binary(ctx, ""); berr == nil {
		return b, nil
	}
	// Outside the checkout the build's "no go.mod" says less than why lab
	// could not stand in (a cgo build, say).
	return nil, fmt.Errorf("%w: %v", dnscheck.ErrNoBinary, err)
}
