package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ntnu-ttm4200/lab3/internal/multicall"
	"github.com/ntnu-ttm4200/lab3/internal/multicall/lablogcmd"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

// A program lab exec -d starts keeps its output on its host, in
// programLogDir, through lab-log (internal/multicall/lablogcmd): one
// bounded log per program, named after it, for lab logs HOST PROGRAM.
const (
	programLogDir = lablogcmd.Dir
	labLogPath    = "/usr/local/lib/lab/" + multicall.LabLog
	// labLogOnPath is lab-log where a host's shell finds it by name.
	labLogOnPath = "/usr/local/bin/" + multicall.LabLog
)

// startLogged starts argv in the background on host with its output kept
// in its log. When lab cannot keep it (a lab binary that cannot run on the
// hosts, such as a test's) it says so in one line and starts argv with its
// output going nowhere, as before; logged is then false.
func (a *app) startLogged(ctx context.Context, hosts runtime.Hosts, host string, argv []string) (logged bool, err error) {
	// lab-log would start a missing program and end at once: say what
	// the engine says of a missing program instead.
	res, err := hosts.Exec(ctx, host, []string{"sh", "-c", `cd "$1" && command -v "$2" >/dev/null`, "lab-which", lab.DeployDir, argv[0]}, nil)
	if err != nil {
		return false, err
	}
	if res.ExitCode != 0 {
		return false, fmt.Errorf("%s: no such program on %s: check the name, or copy it there first with: lab cp", argv[0], host)
	}
	if err := a.installLabLog(ctx, hosts, host); err != nil {
		fmt.Fprintf(a.stderr, "lab: %s's output is not kept: this lab binary cannot run on the hosts as lab-log (use the one make build makes)\n", lablogcmd.ProgramName(argv))
		return false, hosts.Detach(ctx, host, argv, lab.DeployDir)
	}
	cmd := append([]string{labLogPath, lablogcmd.LogFile(lablogcmd.LoggedName(argv)), "--"}, argv...)
	if err := hosts.Detach(ctx, host, cmd, lab.DeployDir); err != nil {
		return false, renamed{err: err, from: labLogPath, to: argv[0]}
	}
	return true, nil
}

// renamed is err said with the name to in place of from: what the engine
// says of lab-log, said of the program it runs.
type renamed struct {
	err      error
	from, to string
}

func (r renamed) Error() string { return strings.ReplaceAll(r.err.Error(), r.from, r.to) }
func (r renamed) Unwrap() error { return r.err }

// installLabLog copies lab into host as lab-log unless it is there, and
// puts it on the host's PATH.
func (a *app) installLabLog(ctx context.Context, hosts runtime.Hosts, host string) error {
	if res, err := hosts.Exec(ctx, host, []string{"test", "-x", labLogPath}, nil); err != nil || res.ExitCode != 0 {
		b, _, err := programs("")(multicall.LabLog)
		if err != nil {
			return err
		}
		if err := hosts.CopyFiles(ctx, host, []runtime.File{{Path: labLogPath, Mode: 0o755, Data: b, Src: "lab"}}); err != nil {
			return err
		}
	}
	res, err := hosts.Exec(ctx, host, []string{"ln", "-sf", labLogPath, labLogOnPath}, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("put lab-log on %s's PATH: %s", host, oneLine(string(res.Stderr)))
	}
	return nil
}

// programLogs lists the programs with a log on host, by the name lab logs
// takes.
func programLogs(ctx context.Context, hosts runtime.Hosts, host string) []string {
	res, err := hosts.Exec(ctx, host, []string{"ls", programLogDir}, nil)
	if err != nil || res.ExitCode != 0 {
		return nil
	}
	var out []string
	for _, f := range strings.Fields(string(res.Stdout)) {
		if name, ok := strings.CutSuffix(f, ".log"); ok {
			out = append(out, name)
		}
	}
	return out
}

// showProgramLog prints a program's log (the rotated part first), the last
// tail lines of it when tail >= 0; with follow it goes on printing what
// the program prints until Ctrl-C.
func (a *app) showProgramLog(ctx context.Context, hosts runtime.Hosts, host, program string, follow bool, tail int) error {
	file := lablogcmd.LogFile(program)
	if res, err := hosts.Exec(ctx, host, []string{"test", "-e", file}, nil); err != nil {
		return err
	} else if res.ExitCode != 0 {
		have := programLogs(ctx, hosts, host)
		if len(have) == 0 {
			return fmt.Errorf("%s keeps no program's output: start one with lab%s exec -d %s -- CMD", host, a.nameFlag(), host)
		}
		return fmt.Errorf("%s keeps no output of %s; it keeps: %s", host, program, strings.Join(have, ", "))
	}
	n := "+1"
	if tail >= 0 {
		n = fmt.Sprint(tail)
	}
	script := `cat "$1.1" "$1" 2>/dev/null | tail -n "$2"`
	if follow {
		script = `if [ "$2" = +1 ] && [ -e "$1.1" ]; then cat "$1.1"; fi; exec tail -n "$2" -F "$1" 2>/dev/null`
	}
	code, err := hosts.Attach(ctx, host, runtime.Session{Cmd: []string{"sh", "-c", script, "lab-logs", file, n}, Stdout: a.stdout, Stderr: a.stderr})
	if err != nil {
		return err
	}
	if code != 0 && !follow {
		return fmt.Errorf("reading %s on %s failed (exit %d)", file, host, code)
	}
	return nil
}
