package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/runtime"
)

// usageError is a misuse of the command line: an unknown flag, a wrong
// number of arguments, a bad flag value or an input path that is not
// there. Nothing was done; lab exits 2.
type usageError struct {
	msg string
	err error // the cause, when msg is empty
}

// Error implements error.
func (e usageError) Error() string {
	if e.msg == "" && e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

// Unwrap lets callers still see the cause.
func (e usageError) Unwrap() error { return e.err }

// asUsage marks an error found in the command line's input as a usage
// error, keeping its message; an engine or interrupt error stays what it
// is.
func asUsage(err error) error {
	var ue usageError
	if err == nil || errors.As(err, &ue) || errors.Is(err, runtime.ErrEngineUnreachable) || errors.Is(err, context.Canceled) {
		return err
	}
	return usageError{err: err}
}

// asGraderFailure marks an error met while grading: the grader could not
// grade (exit 3), which is not a student's failure.
func asGraderFailure(err error) error {
	var ue usageError
	var ee exitError
	if err == nil || errors.As(err, &ue) || errors.As(err, &ee) || errors.Is(err, runtime.ErrEngineUnreachable) || errors.Is(err, context.Canceled) {
		return err
	}
	return codeError{code: exitLabBroken, err: err}
}

// usagef is a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// codeError carries a documented exit code with its message, e.g. lab
// grade's "could not grade" (3).
type codeError struct {
	code int
	err  error
}

// Error implements error.
func (e codeError) Error() string { return e.err.Error() }

// Unwrap lets callers still see the cause.
func (e codeError) Unwrap() error { return e.err }

// kinded marks an error as one of a sentinel kind without putting the
// sentinel's text into the message.
type kinded struct {
	error
	kind error
}

// Is implements errors.Is for the kind.
func (k kinded) Is(target error) bool { return target == k.kind }

// Unwrap lets callers still see the cause.
func (k kinded) Unwrap() error { return k.error }

func kind(sentinel, err error) error { return kinded{error: err, kind: sentinel} }

// isCobraUsage recognises the errors cobra makes itself, which carry no
// type: an unknown subcommand.
func isCobraUsage(err error) bool {
	var ue usageError
	return !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "unknown command ")
}

// pflag's "invalid argument" error, e.g.
// invalid argument "x" for "--team" flag: strconv.ParseInt: parsing "x": invalid syntax
var invalidFlagRE = regexp.MustCompile(`^invalid argument "(.*)" for "(.*?)" flag: (.*)$`)

// flagError rewrites a flag parse error as one line that names the flag,
// says what it wants and points at the command's --help.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if m := invalidFlagRE.FindStringSubmatch(msg); m != nil {
		flagName := m[2]
		if i := strings.Index(flagName, ", "); i >= 0 {
			flagName = flagName[i+2:] // "-f, --follow" → "--follow"
		}
		want := m[3]
		switch {
		case strings.Contains(want, "ParseBool"):
			want = "want true or false"
		case strings.Contains(want, "strconv."), strings.Contains(want, "invalid syntax"):
			want = "want a whole number"
		case strings.Contains(want, "out of range"):
			want = "the number is too large"
		}
		msg = fmt.Sprintf("%s %q: %s", flagName, m[1], want)
	}
	return usagef("%s; see: %s --help", msg, cmd.CommandPath())
}

// argsError wraps every command's argument check so that cobra's
// "requires at least 2 arg(s), only received 1" becomes the command's
// usage line and where to read more.
func argsError(c *cobra.Command) {
	for _, sub := range c.Commands() {
		argsError(sub)
	}
	check := c.Args
	if check == nil || c.HasSubCommands() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				return err
			}
			if len(strings.Fields(cmd.Use)) == 1 {
				return usagef("%s takes no arguments (got %q); see: %s --help", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath())
			}
			got := "no arguments"
			switch len(args) {
			case 0:
			case 1:
				got = "1 argument"
			default:
				got = fmt.Sprintf("%d arguments", len(args))
			}
			return usagef("usage: %s (got %s); see: %s --help", strings.TrimSuffix(cmd.UseLine(), " [flags]"), got, cmd.CommandPath())
		}
		return nil
	}
}

// needDir checks, before any work, that a folder given on the command line
// is there: a usage error naming the flag otherwise.
func needDir(flag, path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usagef("%s %s: no such folder", flag, path)
	case err != nil:
		return usagef("%s %s: %s", flag, path, plainOSError(err))
	case !info.IsDir():
		return usagef("%s %s: is a file; give a folder", flag, path)
	}
	return nil
}

// needFileOrDir checks that a file or folder given on the command line is
// there.
func needFileOrDir(flag, path string) error {
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usagef("%s %s: no such file or folder", flag, path)
	case err != nil:
		return usagef("%s %s: %s", flag, path, plainOSError(err))
	}
	return nil
}

// needWritableFile checks, before any long work, that a report file can
// be written where the flag says: its folder exists and takes a new file.
func needWritableFile(flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return usagef("%s %s: is a folder; give a file name", flag, path)
	}
	dir := filepath.Dir(path)
	if err := needDir(flag, dir); err != nil {
		return usagef("%s %s: folder %s does not exist; create it first or choose another path", flag, path, dir)
	}
	return probeWrite(flag, path, dir)
}

// needWritableDir checks that a results folder can be made and written.
func needWritableDir(flag, dir string) error {
	// A folder that is not there yet is made when there is something to
	// put in it: bad input must leave nothing behind, so it is enough that
	// its nearest existing parent is a folder that can be written.
	at := filepath.Clean(dir)
	for {
		fi, err := os.Stat(at)
		if err == nil {
			if !fi.IsDir() {
				return usagef("%s %s: cannot create it: %s is not a folder", flag, dir, at)
			}
			return probeWrite(flag, dir, at)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return usagef("%s %s: cannot create it: %s", flag, dir, plainOSError(err))
		}
		parent := filepath.Dir(at)
		if parent == at {
			return usagef("%s %s: cannot create it", flag, dir)
		}
		at = parent
	}
}

func probeWrite(flag, path, dir string) error {
	f, err := os.CreateTemp(dir, ".lab-probe-*")
	if err != nil {
		return usagef("%s %s: cannot write in %s: %s", flag, path, dir, plainOSError(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// plainOSError is the reason of an OS error without Go's operation and
// path around it.
func plainOSError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	case errors.Is(err, os.ErrNotExist):
		return "no such file or folder"
	}
	return err.Error()
}
