package multicall

import (
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestPrograms(t *testing.T) {
	got := slices.Sorted(maps.Keys(programs))
	if want := []string{ChatClient, ChatServer, DNSCheck, LabLog}; !slices.Equal(got, want) {
		t.Errorf("programs = %v, want %v", got, want)
	}
}

func TestRunIgnoresOtherNames(t *testing.T) {
	for _, argv0 := range []string{"lab", "/usr/local/bin/lab", "./bin/lab", "dnscheck.sh", ""} {
		if _, ok := Run(argv0); ok {
			t.Errorf("Run(%q) ran a program", argv0)
		}
	}
}

// TestSelfOnlyForTheLabCommand: a test binary (or any other program that
// imports this package) does not run the programs under their names, so
// its bytes must never be copied in as one.
func TestSelfOnlyForTheLabCommand(t *testing.T) {
	if _, err := Self(); !errors.Is(err, ErrNotCarrier) || !strings.Contains(err.Error(), "not the lab command") {
		t.Errorf("Self() in a test binary: %v, want ErrNotCarrier", err)
	}
}

func TestStaticRefusesWhatCannotRunInAHost(t *testing.T) {
	if err := static([]byte("#!/bin/sh\necho hi\n")); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("a script: %v", err)
	}
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Skip(err)
	}
	if err := static(sh); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("/bin/sh: %v, want dynamically linked", err)
	}
}
