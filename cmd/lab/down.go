package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ntnu-ttm4200/lab3/internal/multicall"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/runtime"
)

func newDownCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "down [--force]",
		Short: "Remove every container, network and volume of the lab, saving the work on its hosts first",
		Long: `Remove everything labelled as the lab's (lab3.lab=<name>), whether lab up or
compose created it. Removing a lab that is not there is not an error.

Before that, lab down looks on every host for work the removal would destroy:
a capture (tcpdump) still running, and files under /root created or changed
since lab up (a users.json, edited code, a pcap not copied out). Caches,
shell histories and ~/.ssh do not count, nor a file lab cp copied in or a
program lab deploy copied in, unchanged. With none, it removes the lab at
once.

On a terminal it lists the work and asks whether to save it first: y (or
Enter) saves it, then removes the lab; n removes the lab without saving; q,
Ctrl-D or Ctrl-C leaves the lab as it is and exits non-zero. Without a
terminal it saves the work, then removes the lab. Saving stops the captures
gracefully, so their files are complete, and copies the files to
.lab/<lab>/saved/<host>/ at their paths below /root, with their times (a
capture lab capture start ran goes to lab-capture/); a file over 32 MiB is
left behind and named. A host that is stopped or does not answer is not
looked at: lab down says so and removes it anyway. --force removes the lab
without looking.`,
		Example: `  lab down
  lab down --force
  lab down --name team7 </dev/null    # saves the work, then removes the lab`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.down(cmd.Context(), force) },
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove the lab without looking for work on its hosts")
	return cmd
}

// down removes the lab, unless force first keeping the work on its hosts,
// and says what went.
func (a *app) down(ctx context.Context, force bool) error {
	d, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if !force {
		if err := a.keepWork(ctx, d); err != nil {
			return err
		}
	}
	r, err := lab.Down(ctx, d, a.name)
	if err != nil {
		return err
	}
	if r.Total() == 0 {
		fmt.Fprintf(a.stdout, "lab %s is not up; nothing to remove\n", a.name)
		return nil
	}
	fmt.Fprintf(a.stdout, "lab %s removed: %d container(s), %d network(s), %d volume(s)\n", a.name, r.Containers, r.Networks, r.Volumes)
	return nil
}

// errKept is lab down answered with q or Ctrl-D: nothing was done.
var errKept = errors.New("kept")

// keepWork finds the work on the lab's hosts and, as the terminal answers
// or, without one, always, saves it. It returns an error when the lab
// must stay: the question was answered q, or saving failed.
func (a *app) keepWork(ctx context.Context, d runtime.Engine) error {
	opts := []lab.WorkOption{lab.ExceptCopiesOf(deployedPrograms()...)}
	work, err := lab.FindWork(ctx, d, a.name, opts...)
	if err != nil {
		return err
	}
	lost := false
	for _, w := range work {
		if w.Unseen != "" {
			fmt.Fprintf(a.stderr, "lab: warning: %s was not looked at for work (%s); removing it anyway\n", w.Host, w.Unseen)
		}
		lost = lost || w.Lost()
	}
	if !lost {
		return nil
	}
	dir := lab.SavedDir(a.name)
	if a.stdin != nil && term.IsTerminal(int(a.stdin.Fd())) {
		printWork(a.stdout, a.name, work)
		save, err := a.askSave(ctx, fmt.Sprintf("save it under %s and remove the lab? [Y/n/q] ", dir+string(filepath.Separator)))
		if errors.Is(err, errKept) {
			return fmt.Errorf("lab %s left as it was: nothing saved or removed", a.name)
		}
		if err != nil || !save {
			return err
		}
	}
	saved, err := lab.SaveWork(ctx, d, a.name, work, dir, opts...)
	for _, s := range saved {
		printSaved(a.stdout, s)
	}
	if err != nil {
		return fmt.Errorf("%w; lab %s was not removed (lab down --force removes it without saving)", err, a.name)
	}
	return nil
}

// deployedPrograms are the local files whose copies on a host are not
// work: the programs lab deploy copies in by default (see programs), and
// lab itself, which stands in for them.
func deployedPrograms() []string {
	var paths []string
	dirs := []string{"bin"}
	if exe, err := os.Executable(); err == nil {
		paths = append(paths, exe)
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, dir := range dirs {
		for _, name := range []string{multicall.ChatServer, multicall.ChatClient} {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	return paths
}

// printWork lists what removing the lab would destroy, a line a capture
// or file.
func printWork(w io.Writer, name string, work []lab.HostWork) {
	fmt.Fprintf(w, "lab %s holds work that removing it would destroy:\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range work {
		for _, c := range h.Captures {
			fmt.Fprintf(tw, "  %s\tcapture running: %s\n", h.Host, describeCapture(c))
		}
		for _, f := range h.Files {
			note := ""
			if f.Size > lab.MaxSavedFile {
				note = fmt.Sprintf(" (over %d MiB: not saved)", lab.MaxSavedFile>>20)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\tchanged %s%s\n", h.Host, f.Path, humanBytes(int(f.Size)), f.ModTime.Local().Format("Jan _2 15:04"), note)
		}
	}
	_ = tw.Flush()
}

// describeCapture names a running tcpdump: by its file for lab capture
// start's, else by its command line.
func describeCapture(cmd string) string {
	if f := strings.Fields(cmd); lab.IsLabCapture(cmd) {
		return filepath.Base(f[len(f)-1]) + " (lab capture start)"
	}
	return clipRunes(cmd, 70)
}

// askSave asks question until the answer is y or Enter (save), n (do not
// save) or q; q and the end of input are errKept, Ctrl-C the context's
// end.
func (a *app) askSave(ctx context.Context, question string) (bool, error) {
	r := bufio.NewReader(a.stdin)
	for {
		fmt.Fprint(a.stdout, question)
		line, err := readLine(ctx, r)
		if err != nil {
			fmt.Fprintln(a.stdout)
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, errKept
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "", "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		case "q", "quit":
			return false, errKept
		}
		question = "answer y (save, then remove), n (remove without saving) or q (keep the lab): "
	}
}

// readLine reads a line from r, or what there was before the end of
// input, unless ctx ends first (Ctrl-C).
func readLine(ctx context.Context, r *bufio.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := r.ReadString('\n')
		if line != "" {
			err = nil
		}
		got <- result{line, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-got:
		return res.line, res.err
	}
}

// printSaved says in one line where a host's work went.
func printSaved(w io.Writer, s lab.SavedHost) {
	line := fmt.Sprintf("%s: saved %s (%s) in %s: %s", s.Host, plural(len(s.Files), "file"), humanBytes(int(s.Bytes)),
		s.Dir+string(filepath.Separator), listSome(s.Files, 6))
	if len(s.Files) == 0 {
		line = fmt.Sprintf("%s: saved nothing in %s", s.Host, s.Dir+string(filepath.Separator))
	}
	if len(s.Skipped) > 0 {
		var names []string
		for _, f := range s.Skipped {
			names = append(names, fmt.Sprintf("%s (%s)", f.Path, humanBytes(int(f.Size))))
		}
		line += "; too large to save, left behind: " + listSome(names, 3)
	}
	fmt.Fprintln(w, line)
}

// listSome joins the first n names and counts the rest.
func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// clipRunes shortens s to n runes, marking the cut.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
