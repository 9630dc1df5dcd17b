package grading

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// logResult logs a finished check: its ProgressLine and what it says.
func (c *gradeConfig) logResult(submission string, res scenarios.Result) {
	c.logger.Info(ProgressLine(submission, res), "submission", submission, "stage", "check", "scenario", res.Scenario,
		"status", res.Status, "points", res.Points, "max", res.MaxPoints, "elapsed", res.Duration)
}

// Grade runs the scenarios against each submission, each in its own lab
// with its own name and subnet, up to the parallel limit at once on each
// engine: d, and those of WithEngines. Every lab is torn down afterwards,
// also when grading fails or ctx is cancelled. A submission whose lab
// cannot be set up gets a failed report saying why; when its engine has
// stopped answering too, the submission is graded again on another engine
// instead. The error is only for a cancelled ctx or an unwritable results
// folder.
func Grade(ctx context.Context, d runtime.Engine, subs []scenarios.Submission, opts ...Option) ([]Report, error) {
	c := &gradeConfig{labsPer: DefaultLabsPerSubmission, logger: progress.Discard()}
	for _, o := range opts {
		o(c)
	}
	if c.scenarios == nil {
		all, err := scenarios.Builtin()
		if err != nil {
			return nil, err
		}
		c.scenarios = all
	}
	if c.labPrefix == "" {
		c.labPrefix = "grade-" + randomHex(3)
	}
	if c.capture && c.resultsDir == "" {
		return nil, errors.New("capture needs a results folder for its files: add WithResultsDir")
	}
	if hint := sharedSocketTables(d); hint != "" {
		c.logger.Warn(hint, "engine", d.Name(), "stage", "machine")
	}
	engines := append([]runtime.Engine{d}, c.engines...)
	reports := make([]Report, len(subs))
	q := newGradeQueue(c.longestFirst(subs))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range engines {
		ge := &gradeEngine{d: e, gov: c.governorFor(ctx, e, i == 0)}
		for range c.slots(ctx, e) {
			g.Go(func() error { return c.gradeOn(gctx, ge, len(engines) > 1, q, subs, reports) })
		}
	}
	err := g.Wait()
	c.logWaits()
	// Every engine stopped answering: what is left cannot be graded here.
	for _, i := range q.left() {
		reports[i] = NewReport(subs[i].Name, nil, errors.New("no Docker engine left to grade on: every engine stopped answering"), 0)
		if err == nil && c.resultsDir != "" {
			err = WriteTranscripts(c.resultsDir, reports[i])
		}
		c.emit(SubmissionDone{Report: reports[i]})
	}
	if err != nil {
		return reports, err
	}
	if c.resultsDir != "" {
		// The summaries are the class's: every report in the folder,
		// those of earlier runs too.
		all, err := LoadReports(c.resultsDir)
		if err != nil {
			return reports, fmt.Errorf("write summary: %w", err)
		}
		if err := WriteSummaries(c.resultsDir, all); err != nil {
			return reports, err
		}
	}
	if err := ctx.Err(); err != nil {
		return reports, fmt.Errorf("grading stopped: %w", err)
	}
	return reports, nil
}

// stamp marks a run's report with when and by what it was graded, and
// from which files: each check is dated, so that a later regrade of some
// checks (WriteMerged) keeps the others' dates.
func (c *gradeConfig) stamp(r Report, sub scenarios.Submission) Report {
	r.GradedAt = time.Now().UTC().Truncate(time.Second)
	r.Version, r.Source, r.Digest = c.version, sub.Source, SubmissionDigest(sub)
	for i := range r.Results {
		if r.Results[i].GradedAt.IsZero() {
			r.Results[i].GradedAt = r.GradedAt
		}
	}
	return r
}

// SubmissionDigest is a digest of a submission's files: their names,
// modes and contents (the reference's binaries included).
func SubmissionDigest(sub scenarios.Submission) string {
	h := sha256.New()
	for _, set := range []map[string]scenarios.File{sub.Files, sub.Bins, sub.Data} {
		for _, name := range slices.Sorted(maps.Keys(set)) {
			f := set[name]
			fmt.Fprintf(h, "%q %o %d\n", name, f.Mode, len(f.Data))
			h.Write(f.Data)
		}
		h.Write([]byte{0})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// gradeEngine is one engine that Grade grades on, and whether it has
// stopped answering.
type gradeEngine struct {
	d    runtime.Engine
	gov  *governor // paces its scenarios by its machine's CPU (nil: not at all)
	mu   sync.Mutex
	dead bool
}

// gradeOn is one of an engine's parallel slots: it grades the submissions
// it takes from q until q is done. When a submission's lab broke and the
// engine no longer answers (and others remain to retry on), the
// submission goes back to q and the engine takes no more.
func (c *gradeConfig) gradeOn(ctx context.Context, e *gradeEngine, retry bool, q *gradeQueue, subs []scenarios.Submission, reports []Report) error {
	for {
		i, ok := q.take()
		if !ok {
			return nil
		}
		if e.isDead() {
			q.giveBack(i)
			return nil
		}
		rep := c.gradeOne(ctx, e, fmt.Sprintf("%s-%d", c.labPrefix, i+1), subs[i])
		if retry && rep.Incomplete && ctx.Err() == nil && !e.d.Alive(ctx) {
			if e.markDead() {
				c.logger.Info(fmt.Sprintf("engine %s stopped answering: its submissions are graded on the other engines", e.d.Name()), "engine", e.d.Name(), "stage", "engine-lost")
			}
			c.emit(SubmissionRetried{Submission: subs[i].Name, Engine: e.d.Name()})
			q.giveBack(i)
			return nil
		}
		if retry {
			rep.Engine = e.d.Name()
		}
		rep = c.stamp(rep, subs[i])
		if c.resultsDir != "" {
			// A regrade of some checks keeps the others of the report there.
			merged, err := WriteMerged(c.resultsDir, rep)
			if err != nil {
				q.finish()
				return err
			}
			rep = merged
		}
		reports[i] = rep
		c.emit(SubmissionDone{Report: rep})
		q.finish()
	}
}

func (e *gradeEngine) isDead() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dead
}

// markDead marks the engine dead and reports whether it was alive.
func (e *gradeEngine) markDead() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.dead
	e.dead = true
	return !was
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// gradeOne brings a lab up for one submission, runs every scenario and
// tears the lab down, whatever happens.
func (c *gradeConfig) gradeOne(ctx context.Context, e *gradeEngine, name string, sub scenarios.Submission) Report {
	start := time.Now()
	gradesFiles := len(c.fileChecks) > 0 && len(sub.Bins) == 0
	scs := c.scenariosOf(sub)
	checks := len(scs)
	if gradesFiles {
		checks += len(c.fileChecks)
	}
	c.emit(SubmissionStarted{Submission: sub.Name, Scenarios: checks})
	// The file checks need no lab: they are graded first and reported
	// after the scenarios, also when the lab cannot be set up.
	var fileResults []scenarios.Result
	if gradesFiles {
		for _, fc := range c.fileChecks {
			c.emit(ScenarioStarted{Submission: sub.Name, Scenario: fc.Name})
		}
		fileResults = scenarios.GradeFiles(ctx, sub, scenarios.FileGradeConfig{Checks: c.fileChecks, MaxPayload: c.maxPayload, ResultsDir: c.resultsDir, WriteFile: WriteFile})
		for _, res := range fileResults {
			c.logResult(sub.Name, res)
			c.emit(scenarioDone(sub.Name, res))
		}
	}
	if len(scs) == 0 {
		// Only file checks were selected: no lab is needed.
		return NewReport(sub.Name, fileResults, nil, time.Since(start))
	}
	// The scenarios are shared among labs of the submission's own that run
	// at once: most of a scenario is waiting (on the handout's sleeps and on
	// the lab settling), so a submission's grade comes back sooner.
	shards := shard(scs, c.labsPer)
	results := make([]scenarios.Result, len(scs))
	ran := make([]bool, len(scs))
	var setupErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k, idx := range shards {
		labName := name
		if k > 0 {
			labName = fmt.Sprintf("%s-%c", name, 'a'+k)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.gradeShard(ctx, e, labName, sub, scs, func(i int, res scenarios.Result) {
				mu.Lock()
				defer mu.Unlock()
				results[idx[i]], ran[idx[i]] = res, true
			}, idx)
			if err != nil {
				mu.Lock()
				setupErr = errors.Join(setupErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if setupErr != nil {
		return NewReport(sub.Name, fileResults, setupErr, time.Since(start))
	}
	var done []scenarios.Result
	for i, res := range results {
		if ran[i] {
			done = append(done, res)
		}
	}
	results = done
	rep := NewReport(sub.Name, append(results, fileResults...), nil, time.Since(start))
	if err := ctx.Err(); err != nil && len(results) < len(scs) {
		// results are only the scenarios; the file checks always ran.
		rep.Error = "interrupted before every scenario ran"
		rep.Passed = false
	}
	return rep
}

// gradeShard brings one lab up for the submission, runs the scenarios
// scs[i] for i in idx in order, reporting each result, and tears
// the lab down, whatever happens. The error is a lab that could not be set
// up.
func (c *gradeConfig) gradeShard(ctx context.Context, e *gradeEngine, name string, sub scenarios.Submission, scs []scenarios.Scenario, report func(i int, res scenarios.Result), idx []int) error {
	d := e.d
	start := time.Now()
	topo, err := c.up(ctx, e, name, sub.Team)
	defer func() {
		if err := provision.Teardown(ctx, d, name); err != nil {
			c.logger.Warn(fmt.Sprintf("%s: lab %s: tear-down failed: %v (remove it with: lab down --name %s)", sub.Name, name, err, name),
				"submission", sub.Name, "lab", name, "stage", "down", "error", err)
		}
	}()
	if err != nil {
		c.logger.Warn(fmt.Sprintf("%s: lab %s could not start: %v", sub.Name, name, err), "submission", sub.Name, "lab", name, "stage", "up", "error", err)
		return fmt.Errorf("lab %s: %w", name, err)
	}
	took := time.Since(start)
	c.logger.Info(fmt.Sprintf("%s: lab %s up (%s, %s) in %.1fs", sub.Name, name, topo.Domain(), topo.Subnet4, took.Seconds()),
		"submission", sub.Name, "lab", name, "stage", "up", "elapsed", took)
	if err := deploy(ctx, d, topo, sub); err != nil {
		// A loaded engine sometimes drops a copy's connection ("broken
		// pipe"); staging is idempotent, so it is tried once more.
		c.logger.Warn(fmt.Sprintf("%s: deploy failed, trying again: %v", sub.Name, err), "submission", sub.Name, "lab", name, "stage", "deploy", "error", err)
		if ctx.Err() != nil || !d.Alive(ctx) {
			return fmt.Errorf("deploy: %w", err)
		}
		if err := deploy(ctx, d, topo, sub); err != nil {
			c.logger.Warn(fmt.Sprintf("%s: deploy failed: %v", sub.Name, err), "submission", sub.Name, "lab", name, "stage", "deploy", "error", err)
			return fmt.Errorf("deploy: %w", err)
		}
	}
	restage := func(ctx context.Context, host string) error { return deployHost(ctx, d, topo, host, sub) }
	rt := NewLabRuntime(d, topo, c.dnsBin, WithRestage(restage))
	eng := scenarios.NewEngine(rt, sub.Programs, scenarios.VarsFor(topo, sub.Port, sub.P2PPort), scenarios.WithSandbox(gradeSandbox), scenarios.WithDNSChecker(rt.CheckDNS))
	for i, j := range idx {
		sc := scs[j]
		if ctx.Err() != nil {
			break
		}
		var capt *scenarioCapture
		if c.capture {
			start := c.capturer
			if start == nil {
				start = TrafficCapturer(d)
			}
			capt = &scenarioCapture{start: start, topo: topo,
				dir: filepath.Join(c.resultsDir, scenarios.SafeName(sub.Name), scenarios.SafeName(sc.Name), CaptureDir)}
		}
		c.emit(ScenarioStarted{Submission: sub.Name, Scenario: sc.Name})
		res := c.runScenario(ctx, sub.Name, name, e.gov, func(alone bool) scenarios.Result {
			acquire := e.gov.acquire
			if alone {
				acquire = e.gov.acquireAlone
			}
			release, err := acquire(ctx)
			if err != nil {
				return interrupted(sc, err)
			}
			defer release()
			return runOnce(ctx, rt, topo, eng, sc, capt)
		})
		c.logResult(sub.Name, res)
		c.emit(scenarioDone(sub.Name, res))
		report(i, res)
		if res.Status == scenarios.Error && ctx.Err() == nil && !d.Alive(ctx) {
			// Every other scenario would fail the same way, each after
			// its deadlines.
			return fmt.Errorf("engine %s stopped answering", d.Name())
		}
	}
	return nil
}

// runScenario runs one scenario, and once more from clean when the first
// run says nothing about the submission: the lab failed (Error), a wait
// ran out (Failure.TimedOut), or a program of the scenario was starved of
// CPU (Failure.Starved), which a busy machine can cause in correct work. A
// starved rerun first waits for the machine to calm down (gov); starved
// again, the check runs a third time with the machine to itself (run's
// alone), and a check starved even then is no verdict (Error). A check that
// is decided by a later run says so in its notes. It runs at most four
// times: one retry of the lab, two reruns.
func (c *gradeConfig) runScenario(ctx context.Context, sub, lab string, gov *governor, run func(alone bool) scenarios.Result) scenarios.Result {
	res := run(false)
	retried := false
	var first, second *scenarios.Failure // the reruns' reasons, once rerun
	for ctx.Err() == nil && res.Failure != nil {
		f := res.Failure
		switch {
		case res.Status == scenarios.Failed && f.Starved != "" && first != nil:
			// Starved on the rerun too, whatever failed the first run.
			if second != nil {
				// Starved even alone: the machine, not the submission, decided.
				return tooBusy(res, first, second)
			}
			second = f
			c.logger.Info(fmt.Sprintf("rerun %s %s alone: the machine starved it again (%s): %s: %s", sub, res.Scenario, f.Starved, f.Expectation, f.Got),
				"submission", sub, "lab", lab, "stage", "rerun", "scenario", res.Scenario)
		case res.Status == scenarios.Failed && (f.Starved != "" || f.TimedOut) && first == nil:
			first = f
			if f.Starved != "" {
				// The student's own timeout may have run out on a program
				// the machine kept from its CPU.
				c.logger.Info(fmt.Sprintf("rerun %s %s: the machine starved it (%s): %s: %s", sub, res.Scenario, f.Starved, f.Expectation, f.Got),
					"submission", sub, "lab", lab, "stage", "rerun", "scenario", res.Scenario)
				gov.calm(ctx, calmWait)
			} else {
				// Only the clock failed it: points are taken only if it
				// runs out of time twice.
				c.logger.Info(fmt.Sprintf("rerun %s %s: it ran out of time: %s: %s", sub, res.Scenario, f.Expectation, f.Got),
					"submission", sub, "lab", lab, "stage", "rerun", "scenario", res.Scenario)
			}
		case res.Status == scenarios.Error && !retried:
			// The lab, not the submission, failed: try once more from clean.
			retried = true
			c.logger.Info(fmt.Sprintf("retry %s %s: %s: %s", sub, res.Scenario, f.Expectation, f.Got),
				"submission", sub, "lab", lab, "stage", "retry", "scenario", res.Scenario)
		default:
			return withRerunNote(res, first, second)
		}
		res = run(second != nil)
	}
	return withRerunNote(res, first, second)
}

// calmWait bounds how long a starved check waits for the machine to calm
// down before its second run: grading must go on however busy it stays.
const calmWait = time.Minute

// tooBusy is a check whose second and third runs failed while a program of
// the scenario waited for a CPU, the third with the machine to itself,
// after a first that was starved or ran out of time: no verdict (Error),
// no points taken; the submission is to be graded again.
func tooBusy(res scenarios.Result, first, second *scenarios.Failure) scenarios.Result {
	res.Status, res.Points = scenarios.Error, 0
	res.Failure.TimedOut = false
	res.Rerun = fmt.Sprintf("the machine was too busy to judge: %s, and the second and third runs failed while a program waited for a CPU, the third with no other scenario beside it (second: %s; third: %s); no points are taken, grade it again", firstRun(first), second.Starved, res.Failure.Starved)
	res.Notes = append(res.Notes, res.Rerun)
	return res
}

// interrupted is a scenario that never ran: grading stopped while it
// waited for the machine.
func interrupted(sc scenarios.Scenario, err error) scenarios.Result {
	return scenarios.Result{Scenario: sc.Name, Milestone: sc.Milestone, Requirement: sc.Requirement, Required: sc.Required,
		MaxPoints: sc.Points, Status: scenarios.Error,
		Failure: &scenarios.Failure{File: sc.File, Line: sc.Line, Expectation: "room on the machine to run the scenario", Got: err.Error()}}
}

// withRerunNote notes on res, the run that counts, that it is a later run
// because the first (first, nil if there was none) ran out of time or
// failed while the machine starved a program; second, if not nil, is the
// second run's starved failure, and res ran with the machine to itself.
func withRerunNote(res scenarios.Result, first, second *scenarios.Failure) scenarios.Result {
	if first == nil {
		return res
	}
	why := firstRun(first)
	times, last := "twice", "second"
	if second != nil {
		times, last = "three times", "third"
		why += fmt.Sprintf(", and the second while the machine starved it (%s); the third ran with no other scenario beside it", second.Starved)
	}
	how := "the " + last + " run decides"
	switch res.Status {
	case scenarios.Passed:
		how = "it passed the " + last + " run, which counts"
	case scenarios.Failed:
		how = "the " + last + " run failed too"
	}
	res.Rerun = fmt.Sprintf("run %s: %s; %s", times, why, how)
	res.Notes = append(res.Notes, res.Rerun)
	return res
}

// firstRun says why a check's first run did not count.
func firstRun(first *scenarios.Failure) string {
	if first.Starved != "" {
		return fmt.Sprintf("the first run failed while the machine starved it (%s; %s: %s)", first.Starved, first.Expectation, first.Got)
	}
	return fmt.Sprintf("the first run ran out of time (%s: %s)", first.Expectation, first.Got)
}

// longestFirst orders the submissions' indexes by how long their
// scenarios are expected to run, longest first (WithScenariosFor), so the
// last of a batch is a short one; ties keep their order.
func (c *gradeConfig) longestFirst(subs []scenarios.Submission) []int {
	cost := make([]int, len(subs))
	order := make([]int, len(subs))
	for i, sub := range subs {
		order[i] = i
		for _, sc := range c.scenariosOf(sub) {
			cost[i] += scenarioCost(sc)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return cost[order[a]] > cost[order[b]] })
	return order
}

// scenarioCost is a scenario's expected length in rough units: a step
// each, more for a join or login (several of the handout's 0.5 s pushes),
// twice that in Milestone 4.
func scenarioCost(sc scenarios.Scenario) int {
	w := 1
	for _, st := range sc.Steps {
		w += 1 + len(st.Children)
		if st.Kind == scenarios.StepJoin || st.Kind == scenarios.StepAuth {
			w += 3
		}
		for _, c := range st.Children {
			if c.Kind == scenarios.StepJoin {
				w += 3
			}
		}
	}
	if sc.Milestone == scenarios.M4 {
		w *= 2
	}
	return w
}

// shard splits the scenarios among n labs, balancing their expected
// length (a Milestone 4 scenario runs several logins, each with the
// handout's 0.5 s pushes); each lab keeps the scenarios' order.
func shard(scs []scenarios.Scenario, n int) [][]int {
	n = max(1, min(n, len(scs)))
	cost := scenarioCost
	order := make([]int, len(scs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cost(scs[order[a]]) > cost(scs[order[b]]) })
	load := make([]int, n)
	out := make([][]int, n)
	for _, i := range order {
		k := 0
		for j := range load {
			if load[j] < load[k] {
				k = j
			}
		}
		load[k] += cost(scs[i])
		out[k] = append(out[k], i)
	}
	for _, o := range out {
		sort.Ints(o)
	}
	return out
}

// gradeSandbox confines every graded lab's chat hosts, so that one
// submission cannot exhaust the machine or reach beyond its lab.
var gradeSandbox = lab.DefaultSandbox()

// up creates the submission's lab, sandboxed, on a free subnet; a subnet
// another network already uses is a conflict, and the next candidate is
// tried, after a teardown.
func (c *gradeConfig) up(ctx context.Context, e *gradeEngine, name string, team int) (topology.Topology, error) {
	d := e.d
	// Bringing a lab up is as heavy as a scenario: it waits its turn too.
	release, err := e.gov.acquire(ctx)
	if err != nil {
		return topology.Topology{}, err
	}
	defer release()
	next := func(context.Context, int) (topology.Topology, error) {
		return topology.New(name, team, candidateSubnet(), netip.Prefix{})
	}
	topo, err := next(ctx, 0)
	if err != nil {
		return topology.Topology{}, err
	}
	res, err := provision.Lab(ctx, d, topo, provision.WithoutGate(),
		provision.WithImages(images.Refs{DNS: c.dnsImage, Host: c.hostImage}),
		provision.WithLabOptions(lab.WithSandbox(gradeSandbox)), provision.WithUpTimeout(3*time.Minute),
		provision.WithRetry(provision.Retry{Attempts: 6, Next: next, Teardown: true}))
	if err != nil {
		return topology.Topology{}, err
	}
	return res.Topology, nil
}

// candidateSubnet picks a random 10.x.y.0/24 outside the course's
// 10.20.30.0/24, so parallel graders and the default lab do not collide.
func candidateSubnet() netip.Prefix {
	var b [2]byte
	_, _ = rand.Read(b[:])
	x := 100 + int(binary.BigEndian.Uint16(b[:])%150) // 10.100.0.0 - 10.249.255.0
	y := int(b[1])
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(x), byte(y), 0}), 24)
}
