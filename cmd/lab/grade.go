package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

func newGradeCmd(a *app) *cobra.Command {
	var (
		parallel   int
		scenDir    string
		resultsDir string
		junit      string
		gradescope string
		asJSON     bool
		logJSON    bool
		binDir     string
		only       string
		maxPayload []int
		capture    bool
		roster     string
		labsPer    int
		// Course integration (integrations/): one results.json per
		// submission, and the Markdown summary of a GitHub job.
		gradescopeDir string
		summary       string
		visibility    grading.Visibilities
		labPrefix     string
		engines       []string
		again         string
		milestones    []string
		coursePath    string
	)
	cmd := &cobra.Command{
		Use:   "grade [SUBMISSION...]",
		Short: "Grade submissions by running the handout's requirements as scenarios",
		Long: `Grade each submission (a folder with the handout's Python files, and an
optional lab3.yaml manifest) in its own isolated lab, --parallel at a time.
Without arguments it grades our reference binaries (bin/chat-server and
bin/chat-client). Prints one line per scenario as it runs, then a table of
every check with its points and the evidence of each failure. Exits 0 when
every required check of every submission passed, 1 when a required check
failed, 2 on a bad command line (checked, output paths included, before
anything runs), 3 when a check could not be run or the grader failed (the lab
broke: no points are taken for it; grade again) and 4 when the Docker engine
cannot be reached. Labs are always torn
down, also on failure and Ctrl-C. --only REGEX runs only the scenarios whose
name matches; --capture records every host's traffic during each scenario
into RESULTS/<submission>/<scenario>/captures/ (chatserver.pcap, client1.pcap,
...), ready for lab analyze and lab diagram. --engine E (repeatable: unix://,
tcp://, ssh:// or a docker context name) spreads the submissions over
several Docker engines, --parallel at a time on each; a submission whose
engine stops answering is graded again on another.

Grading into a results folder that holds other reports merges: each
submission graded replaces its own report, and with --only only the checks
that ran; every other report stays, and the class page, grades.csv and the
summaries are rebuilt from all of them. --again RESULTS grades again the
submissions of RESULTS whose report is incomplete (a check could not run) or
whose files changed since they were graded.

A course keeps its settings in the course: mapping of a lab3.yaml
(milestones, max_payload and roster, as --milestones, --max-payload and
--roster): lab grade reads the one in the folder it runs in, or the file
--course names. A flag on the command line wins over the file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Everything about the command line is checked before any
			// lab is made: a bad value or path is a usage error (2), and
			// an output path that cannot be written fails now, not after
			// an hour of grading.
			errLog := progress.New(a.stderr, logJSON)
			subs, refused, opts, err := func() ([]scenarios.Submission, []grading.Report, []grading.Option, error) {
				if gradescope != "" && len(args) > 1 {
					return nil, nil, nil, fmt.Errorf("--gradescope writes one submission's results.json; use --gradescope-dir DIR for one results.json per submission")
				}
				if cmd.Flags().Changed("parallel") && parallel < 1 {
					return nil, nil, nil, fmt.Errorf("--parallel %d: must be at least 1", parallel)
				}
				if labsPer < 1 {
					return nil, nil, nil, fmt.Errorf("--labs %d: must be at least 1", labsPer)
				}
				for _, out := range []struct{ flag, path string }{{"--junit", junit}, {"--gradescope", gradescope}, {"--summary", summary}} {
					if err := needWritableFile(out.flag, out.path); err != nil {
						return nil, nil, nil, err
					}
				}
				if again != "" {
					if len(args) > 0 {
						return nil, nil, nil, fmt.Errorf("--again %s grades again the submissions its reports name; give no SUBMISSION with it", again)
					}
					if cmd.Flags().Changed("results") && filepath.Clean(resultsDir) != filepath.Clean(again) {
						return nil, nil, nil, fmt.Errorf("--again %s writes into that folder; leave out --results %s", again, resultsDir)
					}
					resultsDir = again
					var err error
					if args, err = gradeAgain(a.stderr, again); err != nil {
						return nil, nil, nil, err
					}
					if len(args) == 0 {
						return nil, nil, nil, errNothingAgain
					}
				}
				if err := needWritableDir("--results", resultsDir); err != nil {
					return nil, nil, nil, err
				}
				// The folder's other reports are kept, and make the class
				// page: one that cannot be read is refused before grading.
				if class, err := grading.LoadReports(resultsDir); err != nil && !errors.Is(err, grading.ErrNoReports) && !errors.Is(err, fs.ErrNotExist) {
					return nil, nil, nil, fmt.Errorf("--results %s: %w: fix or move that report, or grade into another folder", resultsDir, err)
				} else if err == nil {
					if err := grading.CheckTAScores(resultsDir, class); err != nil {
						return nil, nil, nil, fmt.Errorf("--results %s: %w; fix it, then grade", resultsDir, err)
					}
				}
				if gradescopeDir != "" {
					if err := needWritableDir("--gradescope-dir", gradescopeDir); err != nil {
						return nil, nil, nil, err
					}
				}
				if scenDir != "" {
					if err := needDir("--scenarios", scenDir); err != nil {
						return nil, nil, nil, err
					}
				}
				crs, err := loadCourse(coursePath)
				if err != nil {
					return nil, nil, nil, err
				}
				if crs != nil {
					fmt.Fprintf(a.stderr, "lab: the course's settings from %s: %s\n", crs.path, crs.describe())
					if !cmd.Flags().Changed("milestones") && len(crs.Milestones) > 0 {
						milestones = crs.Milestones
					}
					if !cmd.Flags().Changed("max-payload") && len(crs.MaxPayload) > 0 {
						maxPayload = crs.MaxPayload
					}
					if !cmd.Flags().Changed("roster") && crs.Roster != "" {
						roster = crs.Roster
					}
				}
				selected, fileChecks, err := selectScenarios(scenDir, only, milestones)
				if err != nil {
					return nil, nil, nil, err
				}
				visibility = grading.VisibilitiesOf(selected)
				args = skipFiles(a.stderr, args)
				for _, dir := range args {
					if err := needDir("submission", dir); err != nil {
						return nil, nil, nil, err
					}
				}
				subs, refused, err := loadSubmissions(args, binDir)
				if err != nil {
					return nil, nil, nil, err
				}
				for _, r := range refused {
					fmt.Fprintf(a.stderr, "lab: %s: %s; grading the others\n", r.Submission, strings.TrimPrefix(r.Error, "submission refused: "))
				}
				if roster != "" {
					teams, err := loadRoster(roster)
					if err != nil {
						return nil, nil, nil, err
					}
					for i := range subs {
						if w := subs[i].ApplyRoster(teams); w != "" {
							fmt.Fprintf(a.stderr, "lab: warning: %s\n", w)
						}
					}
				}
				opts := []grading.Option{
					grading.WithVersion(versionString()),
					grading.WithLabsPerSubmission(labsPer),
					grading.WithResultsDir(resultsDir),
					grading.WithDNSCheck(grading.LoadOnce(dnscheckBinary)),
					grading.WithScenarios(selected),
					grading.WithFileChecks(fileChecks),
					grading.WithMaxPayloadAnswers(maxPayload...),
					grading.WithCapture(capture),
				}
				if cmd.Flags().Changed("parallel") {
					// Otherwise each engine grades one per CPU of its own.
					opts = append(opts, grading.WithParallel(parallel))
				}
				if labPrefix != "" {
					opts = append(opts, grading.WithLabPrefix(labPrefix))
				}
				if !asJSON {
					opts = append(opts, grading.WithLogger(progress.New(a.stdout, logJSON)))
				} else {
					opts = append(opts, grading.WithLogger(errLog))
				}
				return subs, refused, opts, nil
			}()
			if errors.Is(err, errNothingAgain) {
				fmt.Fprintf(a.stdout, "nothing to grade again in %s: every report is complete and no submission's files changed since\n", again)
				return nil
			}
			if errors.Is(err, scenarios.ErrSubmission) && len(args) > 0 {
				// The submission itself is refused (a link, too many
				// files): the student's failure, not a usage error.
				return codeError{code: exitGradeFailed, err: err}
			}
			if err != nil {
				return asUsage(err)
			}
			return asGraderFailure(gradeAll(cmd.Context(), a, subs, refused, opts, gradeOutputs{
				resultsDir: resultsDir, junit: junit, gradescope: gradescope, asJSON: asJSON,
				gradescopeDir: gradescopeDir, summary: summary, visibility: visibility,
				engines: engines, log: errLog, logJSON: logJSON,
			}))
		},
	}
	f := cmd.Flags()
	f.IntVar(&parallel, "parallel", 0, "grade this many submissions at once on each engine, each in its own lab (default: one per CPU of the engine's machine, at most 4)")
	f.StringArrayVar(&engines, "engine", nil, "grade on this Docker engine: unix:///path, tcp://host:port, ssh://user@host or a docker context name; repeat it to spread the submissions over several (default: $DOCKER_HOST or the local engine)")
	f.IntVar(&labsPer, "labs", grading.DefaultLabsPerSubmission, "share each submission's scenarios among this many labs of its own, run at once")
	f.StringVar(&scenDir, "scenarios", "", "use the scenario files of this folder instead of the built-in ones")
	f.StringVar(&resultsDir, "results", "results", "folder for transcripts, reports and the summary")
	f.StringVar(&junit, "junit", "", "write JUnit XML to this file")
	f.StringVar(&gradescope, "gradescope", "", "write Gradescope results.json to this file (one submission)")
	f.StringVar(&gradescopeDir, "gradescope-dir", "", "write Gradescope results.json of each submission to DIR/<submission>/results.json")
	f.StringVar(&labPrefix, "lab-prefix", "", "name the graded labs PREFIX-<n> (default: grade-<random>)")
	f.StringVar(&summary, "summary", "", "write a Markdown summary (checks, points, first failure) to this file, - for standard output")
	f.BoolVar(&asJSON, "json", false, "print the reports as JSON instead of tables")
	f.BoolVar(&logJSON, "log-json", false, "print the progress lines (images, labs, checks; a batch's grade.log) as JSON objects, one a line")
	f.StringVar(&binDir, "bin", "", "folder holding the reference chat-server and chat-client (default: beside lab, else lab itself)")
	f.StringVar(&only, "only", "", "run only the scenarios whose name matches this regular expression (e.g. 'm2-p2p|m4-')")
	f.StringVar(&roster, "roster", "", "CSV of submission,team: the team domain to serve for submissions whose programs name none")
	f.IntSliceVar(&maxPayload, "max-payload", scenarios.DefaultMaxPayloadAnswers, "accepted answers to Task 3.3's maximum UDP payload question")
	f.StringSliceVar(&milestones, "milestones", nil, "grade only these milestones, e.g. M1,M2,M4 (of DNS, M1, M2, M3, M4, Q2): what the course asks its students to hand in")
	f.StringVar(&coursePath, "course", "", "read the course's settings (milestones, max_payload, roster) from the course: mapping of this YAML file; flags win over it (default: ./lab3.yaml when it has a course: mapping)")
	f.StringVar(&again, "again", "", "grade again the submissions of this results folder whose report is incomplete or whose files changed since")
	f.BoolVar(&capture, "capture", false, "capture every host's traffic during each scenario into RESULTS/<submission>/<scenario>/captures/")
	return cmd
}

// errNothingAgain is --again on a folder whose reports are all complete
// and whose submissions have not changed: nothing to do, and no error.
var errNothingAgain = errors.New("nothing to grade again")

// gradeAgain names the submissions of the results folder dir to grade
// again: those whose report is incomplete, or whose files changed since
// (grading.Report's Source and Digest). It says on w why each is graded
// again, and which cannot be.
func gradeAgain(w io.Writer, dir string) ([]string, error) {
	if err := needDir("--again", dir); err != nil {
		return nil, err
	}
	reports, err := grading.LoadReports(dir)
	if err != nil {
		return nil, fmt.Errorf("--again %s: %w", dir, err)
	}
	var dirs, why []string
	current := 0
	for _, r := range reports {
		name := oneLine(r.Submission)
		if r.Source == "" {
			fmt.Fprintf(w, "lab: %s: its report does not say which folder was graded (graded by an older lab, or the reference); grade it by name\n", name)
			continue
		}
		sub, err := scenarios.LoadSubmission(r.Source)
		switch {
		case err != nil && errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(w, "lab: %s: %s is gone; its report stays as it is\n", name, r.Source)
			continue
		case err != nil:
			why = append(why, name+" (it cannot be loaded now)")
		case r.Incomplete:
			why = append(why, name+" (a check could not run)")
		case grading.SubmissionDigest(sub) != r.Digest:
			why = append(why, fmt.Sprintf("%s (its files changed since %s)", name, r.GradedAt.Local().Format(time.DateTime)))
		default:
			current++
			continue
		}
		dirs = append(dirs, r.Source)
	}
	if len(dirs) > 0 {
		fmt.Fprintf(w, "lab: grading again: %s; %d up to date\n", strings.Join(why, ", "), current)
	}
	return dirs, nil
}

// Exit codes of lab grade.
const (
	exitGradePassed     = 0 // every required check of every submission passed
	exitGradeFailed     = 1 // a required check failed
	exitGradeIncomplete = 3 // the grader could not grade something: regrade it
)

// gradeExit is lab grade's exit status: "could not grade" wins over
// "failed", because a failure next to an ungraded check is not a final
// grade.
func gradeExit(reports []grading.Report) error {
	code := exitGradePassed
	for _, r := range reports {
		switch {
		case r.Incomplete:
			return exitError{code: exitGradeIncomplete}
		case !r.Passed:
			code = exitGradeFailed
		}
	}
	if code != exitGradePassed {
		return exitError{code: code}
	}
	return nil
}

// loadRoster reads a course roster: one "submission,team" line each (a
// header line and blank lines are skipped; the team may be written 11 or
// team11).
func loadRoster(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--roster: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("--roster %s: %s: want lines of submission,team", path, err)
	}
	out := map[string]int{}
	for i, row := range rows {
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != 2 {
			return nil, fmt.Errorf("--roster %s:%d: want submission,team", path, i+1)
		}
		name := strings.TrimSpace(row[0])
		t := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(row[1])), "team")
		n, err := strconv.Atoi(strings.TrimSuffix(t, ".com"))
		if err != nil && i == 0 {
			continue // a header
		}
		if err != nil || n < 1 || n > 9999 {
			return nil, fmt.Errorf("--roster %s:%d: team %q: want a number from 1 to 9999", path, i+1, row[1])
		}
		out[name] = n
	}
	return out, nil
}

// selectScenarios loads the scenarios of dir (the built-in ones when dir is
// empty) and the file checks of Milestone 3 and Delivery Q2, and keeps
// those whose name matches the regular expression only and whose
// milestone is one of milestones (all when it is empty).
func selectScenarios(dir, only string, milestones []string) ([]scenarios.Scenario, []scenarios.FileCheck, error) {
	keep, err := milestoneSet(milestones)
	if err != nil {
		return nil, nil, err
	}
	all, checks, err := selectByName(dir, only)
	if err != nil || keep == nil {
		return all, checks, err
	}
	var out []scenarios.Scenario
	for _, sc := range all {
		if keep[sc.Milestone] {
			out = append(out, sc)
		}
	}
	var files []scenarios.FileCheck
	for _, c := range checks {
		if keep[c.Milestone] {
			files = append(files, c)
		}
	}
	if len(out) == 0 && len(files) == 0 {
		return nil, nil, fmt.Errorf("--milestones %s: no scenario of those milestones%s", strings.Join(milestones, ","), map[bool]string{true: " matches --only " + only}[only != ""])
	}
	return out, files, nil
}

// gradedMilestones are the milestones --milestones may name.
var gradedMilestones = []scenarios.Milestone{scenarios.DNS, scenarios.M1, scenarios.M2, scenarios.M3, scenarios.M4, scenarios.Q2}

// milestoneSet reads --milestones: nil for all of them.
func milestoneSet(names []string) (map[scenarios.Milestone]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	keep := map[scenarios.Milestone]bool{}
	for _, n := range names {
		i := slices.IndexFunc(gradedMilestones, func(m scenarios.Milestone) bool { return strings.EqualFold(string(m), strings.TrimSpace(n)) })
		if i < 0 {
			var all []string
			for _, m := range gradedMilestones {
				all = append(all, string(m))
			}
			return nil, fmt.Errorf("--milestones %q: not a milestone: name some of %s", n, strings.Join(all, ", "))
		}
		keep[gradedMilestones[i]] = true
	}
	return keep, nil
}

// selectByName is the scenarios of dir (the built-in ones when it is "")
// and the file checks, those whose name matches only when it is set.
func selectByName(dir, only string) ([]scenarios.Scenario, []scenarios.FileCheck, error) {
	var re *regexp.Regexp
	if only != "" {
		var err error
		if re, err = regexp.Compile(only); err != nil {
			return nil, nil, fmt.Errorf("--only %q: not a regular expression: %s", only, strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	all, err := scenarios.Builtin()
	if dir != "" {
		all, err = scenarios.LoadDir(dir)
	}
	checks := scenarios.FileChecks()
	if err != nil || re == nil {
		return all, checks, err
	}
	out := []scenarios.Scenario{}
	for _, sc := range all {
		if re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	checks = scenarios.SelectFileChecks(checks, re.MatchString)
	if len(out) == 0 && len(checks) == 0 {
		return nil, nil, fmt.Errorf("--only %q matches no scenario name: names are like m1-broadcast, m2-p2p-udp or m3-task-3.2 (see scenarios/README.md)", only)
	}
	return out, checks, nil
}

// loadSubmissions reads every submission folder, or the reference binaries
// when there is none. Every folder is checked before anything runs. With
// several folders, a refused one (a link, too many files) becomes a failed
// report of its own and the others are graded; a single refused folder, or
// a batch where none can be read, is an error.
func loadSubmissions(dirs []string, binDir string) ([]scenarios.Submission, []grading.Report, error) {
	if len(dirs) == 0 {
		load := programs(binDir)
		ref, err := scenarios.ReferenceFrom(func(name string) ([]byte, error) {
			b, _, err := load(name)
			return b, err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reference binaries: %w", err)
		}
		return []scenarios.Submission{ref}, nil, nil
	}
	var (
		subs    []scenarios.Submission
		from    []string
		refused []grading.Report
		errs    []error
	)
	for _, dir := range dirs {
		s, err := scenarios.LoadSubmission(dir)
		switch {
		case err == nil:
			subs, from = append(subs, s), append(from, dir)
		case errors.Is(err, scenarios.ErrSubmission) && len(dirs) > 1:
			refused = append(refused, grading.RefusedReport(filepath.Base(filepath.Clean(dir)), err))
			errs = append(errs, err)
		default:
			return nil, nil, err
		}
	}
	if len(subs) == 0 {
		return nil, nil, errors.Join(errs...)
	}
	// Each submission's results folder is named for it; two of one name
	// would overwrite each other's transcripts and captures.
	seen := make(map[string]string)
	for i, s := range subs {
		name := scenarios.SafeName(s.Name)
		if prev, ok := seen[name]; ok {
			return nil, nil, fmt.Errorf("%s and %s would share the results folder %q: rename one of the folders", prev, from[i], name)
		}
		seen[name] = from[i]
	}
	return subs, refused, nil
}

// writeFileWith writes a report file atomically (grading.WriteFile): to a
// temporary name first, renamed into place only when complete. Its mode
// stays 0600, as before.
func writeFileWith(path string, write func(io.Writer) error) error {
	if err := grading.WriteFile(path, 0o600, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// gradeOutputs is where lab grade writes its reports.
type gradeOutputs struct {
	resultsDir, junit, gradescope string
	gradescopeDir, summary        string
	visibility                    grading.Visibilities
	asJSON                        bool
	engines                       []string // --engine: grade on these engines

	// Progress lines: the logger on stderr, and whether they are JSON
	// (--log-json), for RESULTS/grade.log.
	log     *slog.Logger
	logJSON bool
}

// gradeAll grades the submissions and writes the reports; every error it
// returns is the grader's (exit 3), not a student's failure.
func gradeAll(ctx context.Context, a *app, subs []scenarios.Submission, refused []grading.Report, opts []grading.Option, out gradeOutputs) error {
	resultsDir, junit, gradescope, asJSON := out.resultsDir, out.junit, out.gradescope, out.asJSON
	engines, err := connectEngines(ctx, a, out.engines)
	if err != nil {
		return err
	}
	defer func() {
		for _, e := range engines {
			e.Close()
		}
	}()
	d := engines[0]
	refs, err := images.Ensure(ctx, d, images.WithLogger(out.log))
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	// The other engines get the very images the first one grades with.
	var more []runtime.Engine
	for _, e := range engines[1:] {
		if err := images.Replicate(ctx, d, e, refs, images.WithLogger(out.log)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(a.stderr, "lab: warning: engine %s: images: %s; grading on the others\n", e.Name(), oneLine(err.Error()))
			continue
		}
		more = append(more, e)
	}
	opts = append(opts, grading.WithLabImages(refs.DNS, refs.Host), grading.WithEngines(more...))
	// Made only now that every input has been accepted: bad input leaves
	// no folder behind.
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return fmt.Errorf("--results %s: %s", resultsDir, plainOSError(err))
	}

	// A batch shows live progress and ends with the class on one screen;
	// one submission shows each check as it finishes and its full report.
	batch := len(subs)+len(refused) > 1
	done := func() error { return nil }
	if batch {
		progress := a.stdout
		if asJSON {
			progress = a.stderr
		}
		var more []grading.Option
		if more, done, err = watchBatch(progress, subs, resultsDir, out.logJSON); err != nil {
			return err
		}
		defer done()
		opts = append(opts, more...)
	}
	reports, err := grading.Grade(ctx, d, subs, opts...)
	if derr := done(); err == nil && derr != nil {
		err = fmt.Errorf("write %s: %w", gradeLog, derr)
	}
	if err != nil {
		return err
	}
	for _, r := range refused {
		if err := grading.WriteTranscripts(resultsDir, r); err != nil {
			return err
		}
	}
	reports = append(reports, refused...)
	// The TA's points count in this run's outputs too (JUnit, Gradescope,
	// the tables), as in the class's.
	if scores, err := grading.LoadTAScores(resultsDir); err == nil {
		reports, _ = grading.ApplyFittingTAScores(reports, scores.Only(reports))
	}
	// The class is every report in the folder, earlier runs' too.
	class, err := grading.LoadReports(resultsDir)
	if err != nil {
		return fmt.Errorf("class report: %w", err)
	}
	if err := grading.CheckTAScores(resultsDir, class); err != nil {
		fmt.Fprintf(a.stderr, "lab: warning: %s; those points are left out until it is fixed (lab report rebuilds the pages then)\n", oneLine(err.Error()))
	}
	if len(refused) > 0 {
		if err := grading.WriteSummaries(resultsDir, class); err != nil {
			return err
		}
	}
	// The TA's view of the class: the class page, a page per submission
	// and the gradebook (lab report rebuilds them from the folder).
	if err := classreport.Write(resultsDir, class); err != nil {
		return fmt.Errorf("class report: %w", err)
	}
	switch {
	case asJSON:
		if err := grading.WriteJSON(a.stdout, reports); err != nil {
			return err
		}
	case batch:
		fmt.Fprintln(a.stdout)
		if err := writeClassTable(a.stdout, reports, len(class), resultsDir); err != nil {
			return err
		}
	default:
		for _, r := range reports {
			fmt.Fprintln(a.stdout)
			if err := r.WriteTable(a.stdout); err != nil {
				return err
			}
		}
		fmt.Fprintf(a.stdout, "\nresults: %s; open %s in a browser\n", resultsDir, filepath.Join(resultsDir, classreport.PageFile))
	}
	if junit != "" {
		if err := writeFileWith(junit, func(f io.Writer) error { return grading.WriteJUnit(f, reports) }); err != nil {
			return err
		}
	}
	if gradescope != "" {
		if err := writeFileWith(gradescope, func(f io.Writer) error {
			return reports[0].WriteGradescope(f, grading.WithVisibilities(out.visibility))
		}); err != nil {
			return err
		}
	}
	if out.gradescopeDir != "" {
		for _, r := range reports {
			dir := filepath.Join(out.gradescopeDir, scenarios.SafeName(r.Submission))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("--gradescope-dir: %w", err)
			}
			if err := writeFileWith(filepath.Join(dir, "results.json"), func(f io.Writer) error {
				return r.WriteGradescope(f, grading.WithVisibilities(out.visibility))
			}); err != nil {
				return err
			}
		}
	}
	if out.summary == "-" {
		if err := grading.WriteMarkdown(a.stdout, reports); err != nil {
			return err
		}
	} else if out.summary != "" {
		if err := writeFileWith(out.summary, func(f io.Writer) error { return grading.WriteMarkdown(f, reports) }); err != nil {
			return err
		}
	}
	return gradeExit(reports)
}

// connectEngines reaches the engines lab grade runs on: those of --engine,
// or the environment's. One that does not answer is left out with a
// warning, so one machine down does not stop a class's grading; none
// answering is an error.
func connectEngines(ctx context.Context, a *app, names []string) ([]runtime.Engine, error) {
	if len(names) == 0 {
		d, err := a.connect(ctx)
		if err != nil {
			return nil, err
		}
		return []runtime.Engine{d}, nil
	}
	var engines []runtime.Engine
	var lastErr error
	for _, name := range names {
		d, err := a.connectEngine(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			if len(names) > 1 {
				fmt.Fprintf(a.stderr, "lab: warning: %s; grading on the other engines\n", oneLine(userMessage(err)))
			}
			continue
		}
		engines = append(engines, d)
	}
	if len(engines) == 0 {
		if len(names) > 1 {
			return nil, fmt.Errorf("%w: none of the %d engines of --engine answers", runtime.ErrEngineUnreachable, len(names))
		}
		return nil, lastErr
	}
	return engines, nil
}

// skipFiles leaves out, with a note, the regular files among several
// SUBMISSION arguments: a class folder's glob (class/*) picks up its
// README or roster beside the submissions. One file alone stays an error
// (needDir), and so does a path that is not there.
func skipFiles(stderr io.Writer, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := args[:0:0]
	for _, p := range args {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			fmt.Fprintf(stderr, "lab: %s: a file, not a submission folder: skipped\n", safetext.OneLine(p))
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return args // every one a file: needDir says so
	}
	return out
}
