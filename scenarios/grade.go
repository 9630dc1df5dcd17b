package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// GradeOption configures Grade.
type GradeOption func(*gradeConfig)

type gradeConfig struct {
	parallel   int
	labsPer    int
	progress   io.Writer
	resultsDir string
	scenarios  []Scenario
	dnsImage   string
	hostImage  string
	labPrefix  string
	dnsBin     func(ctx context.Context) ([]byte, error)
	capture    bool
	capturer   Capturer
	engines    []*lab.Docker
	fileChecks []FileCheck
	maxPayload []int
	mu         sync.Mutex
	events     func(Event)
	eventMu    sync.Mutex
}

// WithFileChecks also grades Milestone 3 and Delivery Q2 from each
// student submission's own files (GradeFiles): its captures, its answers
// and its PDF report. Our reference binaries have none, so they are not
// graded on them. Without this option only the scenarios run.
func WithFileChecks(checks []FileCheck) GradeOption {
	return func(c *gradeConfig) { c.fileChecks = checks }
}

// WithMaxPayloadAnswers sets the accepted answers to Task 3.3's
// maximum-UDP-payload question (default DefaultMaxPayloadAnswers).
func WithMaxPayloadAnswers(v ...int) GradeOption {
	return func(c *gradeConfig) { c.maxPayload = v }
}

// Capturer starts a packet capture on every host of a lab and returns once
// each host captures, so the scenario's first packet is in the files. The
// returned stop ends the capture and saves one file per host into dir
// (chatserver.pcap, client1.pcap, ...). TrafficCapturer is the real one.
type Capturer func(ctx context.Context, topo lab.Topology) (stop func(ctx context.Context, dir string) error, err error)

// TrafficCapturer captures with package traffic: tcpdump on all five hosts,
// files named as the handout names them.
func TrafficCapturer(r traffic.Runner) Capturer {
	return func(ctx context.Context, topo lab.Topology) (func(context.Context, string) error, error) {
		c, err := traffic.StartCapture(ctx, r, topo, nil)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, dir string) error {
			_, err := c.Stop(ctx, dir)
			return err
		}, nil
	}
}

// WithCapture captures every host's traffic during each scenario, from
// just before its first step to just after its last (also when it fails or
// grading is cancelled), into <results>/<submission>/<scenario>/captures/.
// It needs WithResultsDir. A capture that fails to start or stop makes the
// scenario ERROR.
func WithCapture(enabled bool) GradeOption {
	return func(c *gradeConfig) { c.capture = enabled }
}

// DefaultParallel is how many submissions Grade grades at once by default
// on this machine: one per CPU, at most 4. A sandboxed lab's hosts get half
// a CPU each and spend most of their time waiting, so one lab per CPU keeps
// the machine busy without starving any lab.
func DefaultParallel() int { return min(max(runtime.NumCPU(), 1), maxParallel) }

// maxParallel bounds the default number of submissions graded at once on
// one engine.
const maxParallel = 4

// DefaultLabsPerSubmission is how many labs grade one submission at once.
const DefaultLabsPerSubmission = 2

// WithLabsPerSubmission shares each submission's scenarios among n labs of
// its own that run at once (default 2), so one grade comes back sooner; 1
// runs them all in one lab.
func WithLabsPerSubmission(n int) GradeOption {
	return func(c *gradeConfig) {
		if n > 0 {
			c.labsPer = n
		}
	}
}

// WithParallel grades up to n submissions at once on each engine, each in
// its own lab. Without it, each engine grades one per CPU of its machine,
// at most 4 (DefaultParallel on this one).
func WithParallel(n int) GradeOption {
	return func(c *gradeConfig) {
		if n > 0 {
			c.parallel = n
		}
	}
}

// slots is how many submissions engine d grades at once.
func (c *gradeConfig) slots(ctx context.Context, d *lab.Docker) int {
	if c.parallel > 0 {
		return c.parallel
	}
	if n := d.CPUs(ctx); n > 0 {
		return min(n, maxParallel)
	}
	return DefaultParallel()
}

// WithProgress prints one line per lab event and per finished scenario.
func WithProgress(w io.Writer) GradeOption {
	return func(c *gradeConfig) {
		if w != nil {
			c.progress = w
		}
	}
}

// WithResultsDir keeps transcripts and reports under dir: one folder per
// submission, one per scenario, one log per host, plus summary.csv and
// summary.json for the batch.
func WithResultsDir(dir string) GradeOption {
	return func(c *gradeConfig) { c.resultsDir = dir }
}

// WithScenarios replaces the built-in scenarios (for --scenarios DIR or a
// selection).
func WithScenarios(s []Scenario) GradeOption {
	return func(c *gradeConfig) { c.scenarios = s }
}

// WithLabImages sets the images of the graded labs' DNS server and hosts,
// as images.Ensure returns them.
func WithLabImages(dns, host string) GradeOption {
	return func(c *gradeConfig) { c.dnsImage, c.hostImage = dns, host }
}

// WithDNSCheck makes the dnscheck step run package dnscheck with the binary
// bin returns (see DNSCheckBinary); without it the step asks getent.
func WithDNSCheck(bin func(ctx context.Context) ([]byte, error)) GradeOption {
	return func(c *gradeConfig) { c.dnsBin = bin }
}

// WithEngines spreads the submissions over more Docker engines than the
// one Grade is given, each grading up to WithParallel submissions at once
// and taking the next submission as a slot frees up. The engines must
// hold the lab's images (images.Replicate). A submission's report does not
// depend on the engine that graded it; Report.Engine names that engine.
func WithEngines(more ...*lab.Docker) GradeOption {
	return func(c *gradeConfig) { c.engines = append(c.engines, more...) }
}

// WithLabPrefix names the graded labs <prefix>-<n>; the default is "grade-"
// and a random suffix, so concurrent graders never collide.
func WithLabPrefix(p string) GradeOption {
	return func(c *gradeConfig) { c.labPrefix = p }
}

func (c *gradeConfig) progressf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.progress, format+"\n", args...)
}

// Grade runs the scenarios against each submission, each in its own lab
// with its own name and subnet, up to the parallel limit at once on each
// engine: d, and those of WithEngines. Every lab is torn down afterwards,
// also when grading fails or ctx is cancelled. A submission whose lab
// cannot be set up gets a failed report saying why; when its engine has
// stopped answering too, the submission is graded again on another engine
// instead. The error is only for a cancelled ctx or an unwritable results
// folder.
func Grade(ctx context.Context, d *lab.Docker, subs []Submission, opts ...GradeOption) ([]Report, error) {
	c := &gradeConfig{labsPer: DefaultLabsPerSubmission, progress: io.Discard}
	for _, o := range opts {
		o(c)
	}
	if c.scenarios == nil {
		all, err := Builtin()
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
	engines := append([]*lab.Docker{d}, c.engines...)
	reports := make([]Report, len(subs))
	q := newGradeQueue(len(subs))
	g, gctx := errgroup.WithContext(ctx)
	for _, e := range engines {
		ge := &gradeEngine{d: e}
		for range c.slots(ctx, e) {
			g.Go(func() error { return c.gradeOn(gctx, ge, len(engines) > 1, q, subs, reports) })
		}
	}
	err := g.Wait()
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
		if err := writeSummaries(c.resultsDir, reports); err != nil {
			return reports, err
		}
	}
	if err := ctx.Err(); err != nil {
		return reports, fmt.Errorf("grading stopped: %w", err)
	}
	return reports, nil
}

// gradeEngine is one engine that Grade grades on, and whether it has
// stopped answering.
type gradeEngine struct {
	d    *lab.Docker
	mu   sync.Mutex
	dead bool
}

// gradeOn is one of an engine's parallel slots: it grades the submissions
// it takes from q until q is done. When a submission's lab broke and the
// engine no longer answers (and others remain to retry on), the
// submission goes back to q and the engine takes no more.
func (c *gradeConfig) gradeOn(ctx context.Context, e *gradeEngine, retry bool, q *gradeQueue, subs []Submission, reports []Report) error {
	for {
		i, ok := q.take()
		if !ok {
			return nil
		}
		if e.isDead() {
			q.giveBack(i)
			return nil
		}
		rep := c.gradeOne(ctx, e.d, fmt.Sprintf("%s-%d", c.labPrefix, i+1), subs[i])
		if retry && rep.Incomplete && ctx.Err() == nil && !e.d.Alive(ctx) {
			if e.markDead() {
				c.progressf("engine %s stopped answering: its submissions are graded on the other engines", e.d.Name())
			}
			c.emit(SubmissionRetried{Submission: subs[i].Name, Engine: e.d.Name()})
			q.giveBack(i)
			return nil
		}
		if retry {
			rep.Engine = e.d.Name()
		}
		reports[i] = rep
		if c.resultsDir != "" {
			if err := WriteTranscripts(c.resultsDir, rep); err != nil {
				q.finish()
				return err
			}
		}
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

// gradeQueue holds the submissions (by index) still to grade. take blocks
// until one is there or every submission is finished; a submission given
// back is taken again by another slot. Its buffer holds every submission,
// so giving back never blocks.
type gradeQueue struct {
	ch        chan int
	mu        sync.Mutex
	remaining int
}

func newGradeQueue(n int) *gradeQueue {
	q := &gradeQueue{ch: make(chan int, n), remaining: n}
	for i := range n {
		q.ch <- i
	}
	if n == 0 {
		close(q.ch)
	}
	return q
}

func (q *gradeQueue) take() (int, bool) { i, ok := <-q.ch; return i, ok }

func (q *gradeQueue) giveBack(i int) { q.ch <- i }

// finish marks one submission graded; the last one ends every take.
func (q *gradeQueue) finish() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.remaining--; q.remaining == 0 {
		close(q.ch)
	}
}

// left is what no slot graded, once every slot has returned.
func (q *gradeQueue) left() []int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.remaining == 0 {
		return nil
	}
	var out []int
	for len(q.ch) > 0 {
		out = append(out, <-q.ch)
	}
	return out
}

// WriteSummaries writes summary.csv and summary.json for a batch of
// reports into dir.
func WriteSummaries(dir string, reports []Report) error { return writeSummaries(dir, reports) }

func writeSummaries(dir string, reports []Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	for name, write := range map[string]func(io.Writer, []Report) error{"summary.csv": WriteSummaryCSV, "summary.json": WriteJSON} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
		err = write(f, reports)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// gradeOne brings a lab up for one submission, runs every scenario and
// tears the lab down, whatever happens.
func (c *gradeConfig) gradeOne(ctx context.Context, d *lab.Docker, name string, sub Submission) Report {
	start := time.Now()
	gradesFiles := len(c.fileChecks) > 0 && len(sub.Bins) == 0
	checks := len(c.scenarios)
	if gradesFiles {
		checks += len(c.fileChecks)
	}
	c.emit(SubmissionStarted{Submission: sub.Name, Scenarios: checks})
	// The file checks need no lab: they are graded first and reported
	// after the scenarios, also when the lab cannot be set up.
	var fileResults []Result
	if gradesFiles {
		for _, fc := range c.fileChecks {
			c.emit(ScenarioStarted{Submission: sub.Name, Scenario: fc.Name})
		}
		fileResults = GradeFiles(ctx, sub, FileGradeConfig{Checks: c.fileChecks, MaxPayload: c.maxPayload, ResultsDir: c.resultsDir})
		for _, res := range fileResults {
			c.progressf("%s", ProgressLine(sub.Name, res))
			c.emit(scenarioDone(sub.Name, res))
		}
	}
	if len(c.scenarios) == 0 {
		// Only file checks were selected: no lab is needed.
		return NewReport(sub.Name, fileResults, nil, time.Since(start))
	}
	// The scenarios are shared among labs of the submission's own that run
	// at once: most of a scenario is waiting (on the handout's sleeps and on
	// the lab settling), so a submission's grade comes back sooner.
	shards := shard(c.scenarios, c.labsPer)
	results := make([]Result, len(c.scenarios))
	ran := make([]bool, len(c.scenarios))
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
			err := c.gradeShard(ctx, d, labName, sub, func(i int, res Result) {
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
	var done []Result
	for i, res := range results {
		if ran[i] {
			done = append(done, res)
		}
	}
	results = done
	rep := NewReport(sub.Name, append(results, fileResults...), nil, time.Since(start))
	if err := ctx.Err(); err != nil && len(results) < len(c.scenarios) {
		// results are only the scenarios; the file checks always ran.
		rep.Error = "interrupted before every scenario ran"
		rep.Passed = false
	}
	return rep
}

// gradeShard brings one lab up for the submission, runs the scenarios
// c.scenarios[i] for i in idx in order, reporting each result, and tears
// the lab down, whatever happens. The error is a lab that could not be set
// up.
func (c *gradeConfig) gradeShard(ctx context.Context, d *lab.Docker, name string, sub Submission, report func(i int, res Result), idx []int) error {
	start := time.Now()
	topo, err := c.up(ctx, d, name, sub.Team)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		_, err := lab.Down(dctx, d, name)
		if err != nil && dctx.Err() == nil {
			// A loaded engine sometimes misses a killed container's exit
			// ("did not receive an exit event"); the container is dead by
			// now, and a second removal succeeds.
			_, err = lab.Down(dctx, d, name)
		}
		if err != nil {
			c.progressf("%s: lab %s: tear-down failed: %v (remove it with: lab down --name %s)", sub.Name, name, err, name)
		}
	}()
	if err != nil {
		c.progressf("%s: lab %s could not start: %v", sub.Name, name, err)
		return fmt.Errorf("lab %s: %w", name, err)
	}
	c.progressf("%s: lab %s up (%s, %s) in %.1fs", sub.Name, name, topo.Domain(), topo.Subnet4, time.Since(start).Seconds())
	if err := deploy(ctx, d, topo, sub); err != nil {
		// A loaded engine sometimes drops a copy's connection ("broken
		// pipe"); staging is idempotent, so it is tried once more.
		c.progressf("%s: deploy failed, trying again: %v", sub.Name, err)
		if ctx.Err() != nil || !d.Alive(ctx) {
			return fmt.Errorf("deploy: %w", err)
		}
		if err := deploy(ctx, d, topo, sub); err != nil {
			c.progressf("%s: deploy failed: %v", sub.Name, err)
			return fmt.Errorf("deploy: %w", err)
		}
	}
	restage := func(ctx context.Context, host string) error { return deployHost(ctx, d, topo, host, sub) }
	rt := NewDockerRuntime(d, topo, c.dnsBin, SandboxedHosts(gradeSandbox, restage))
	eng := NewEngine(rt, sub.Programs, VarsFor(topo, sub.Port, sub.P2PPort))
	for i, j := range idx {
		sc := c.scenarios[j]
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
				dir: filepath.Join(c.resultsDir, SafeName(sub.Name), SafeName(sc.Name), CaptureDir)}
		}
		c.emit(ScenarioStarted{Submission: sub.Name, Scenario: sc.Name})
		res := runOnce(ctx, rt, topo, eng, sc, capt)
		if res.Status == Error && ctx.Err() == nil {
			// The lab, not the submission, failed: try once more from clean.
			c.progressf("retry %s %s: %s: %s", sub.Name, sc.Name, res.Failure.Expectation, res.Failure.Got)
			res = runOnce(ctx, rt, topo, eng, sc, capt)
		}
		c.progressf("%s", ProgressLine(sub.Name, res))
		c.emit(scenarioDone(sub.Name, res))
		report(i, res)
		if res.Status == Error && ctx.Err() == nil && !d.Alive(ctx) {
			// Every other scenario would fail the same way, each after
			// its deadlines.
			return fmt.Errorf("engine %s stopped answering", d.Name())
		}
	}
	return nil
}

// shard splits the scenarios among n labs, balancing their expected
// length (a Milestone 4 scenario runs several logins, each with the
// handout's 0.5 s pushes); each lab keeps the scenarios' order.
func shard(scs []Scenario, n int) [][]int {
	n = max(1, min(n, len(scs)))
	cost := func(sc Scenario) int {
		w := 1
		for _, st := range sc.Steps {
			w += 1 + len(st.Children)
			if st.Kind == StepJoin || st.Kind == StepAuth {
				w += 3
			}
			for _, c := range st.Children {
				if c.Kind == StepJoin {
					w += 3
				}
			}
		}
		if sc.Milestone == M4 {
			w *= 2
		}
		return w
	}
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

// CaptureDir is the folder of a scenario's results that holds its
// captures when grading WithCapture.
const CaptureDir = "captures"

// scenarioCapture is one scenario's capture: how to start it, on which
// lab, and where its files go.
type scenarioCapture struct {
	start Capturer
	topo  lab.Topology
	dir   string
}

// runOnce resets the chat hosts and runs one scenario, inside a capture
// when capt is not nil: the capture starts after the reset, right before
// the first step, and stops right after the scenario, whatever its outcome,
// with a context of its own so that a cancelled ctx still saves the files.
// The result's duration then includes starting and stopping the capture.
func runOnce(ctx context.Context, rt Runtime, topo lab.Topology, eng *Engine, sc Scenario, capt *scenarioCapture) Result {
	labError := func(expectation string, err error) Result {
		return Result{Scenario: sc.Name, Milestone: sc.Milestone, Requirement: sc.Requirement, Required: sc.Required,
			MaxPoints: sc.Points, Status: Error,
			Failure: &Failure{File: sc.File, Line: sc.Line, Expectation: expectation, Got: err.Error()}}
	}
	if err := reset(ctx, rt, topo, sc); err != nil {
		return labError("a clean working folder on every host", err)
	}
	if capt == nil {
		return blameExhaustion(ctx, rt, topo, eng.Run(ctx, sc))
	}
	// Files of an earlier attempt must not pass for this one's.
	if err := os.RemoveAll(capt.dir); err != nil {
		return labError("a packet capture on every host (--capture)", fmt.Errorf("clear %s: %w", capt.dir, err))
	}
	// The scenario's time includes the capture's, so that its cost shows.
	began := time.Now()
	stop, err := capt.start(ctx, capt.topo)
	if err != nil {
		return labError("a packet capture on every host (--capture)", fmt.Errorf("capture did not start: %w", err))
	}
	res := blameExhaustion(ctx, rt, topo, eng.Run(ctx, sc))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err = stop(sctx, capt.dir)
	if err == nil {
		// Names the hosts when the files are analysed after the lab is gone.
		err = lab.SaveTopology(capt.dir, capt.topo)
	}
	res.Duration = time.Since(began)
	if err != nil {
		msg := fmt.Sprintf("capture did not stop cleanly, files in %s may be incomplete: %v", capt.dir, err)
		if res.Failure != nil {
			msg = res.Failure.Got + "; also " + msg
			res.Failure.Got = msg
		} else {
			res.Failure = &Failure{File: sc.File, Line: sc.Line, Expectation: "a packet capture on every host (--capture)", Got: msg}
		}
		res.Status, res.Points = Error, 0
		return res
	}
	res.Captures = capt.dir
	return res
}

// exhaustionProber is a Runtime that can tell whether a host's process
// table is full (the Docker runtime, through the host's cgroup).
type exhaustionProber interface {
	exhausted(ctx context.Context, host string) (why string, err error)
}

// blameExhaustion turns an ERROR into the submission's failure when, as the
// scenario ends, the submission's programs (a fork bomb's processes outlive
// the program that started them) have filled a chat host's process table:
// the grader could not run its commands there because of what the
// submission did. Left an ERROR, the check would be retried, the report
// marked incomplete and lab grade would ask for a regrade that ends the
// same way every time, so the submission could never be graded.
func blameExhaustion(ctx context.Context, rt Runtime, topo lab.Topology, res Result) Result {
	p, ok := rt.(exhaustionProber)
	if res.Status != Error || res.Failure == nil || !ok || ctx.Err() != nil {
		return res
	}
	for _, host := range chatHosts(topo) {
		if why, err := p.exhausted(ctx, host); err == nil && why != "" {
			res.Status = Failed
			res.Failure.Got += "; " + why
			return res
		}
	}
	return res
}

// gradeSandbox confines every graded lab's chat hosts, so that one
// submission cannot exhaust the machine or reach beyond its lab.
var gradeSandbox = lab.DefaultSandbox()

// up creates the submission's lab, sandboxed, on a free subnet; a subnet
// another network already uses is a conflict, and the next candidate is
// tried.
func (c *gradeConfig) up(ctx context.Context, d *lab.Docker, name string, team int) (lab.Topology, error) {
	var lastErr error
	for attempt := 0; attempt < 6; attempt++ {
		topo, err := lab.New(name, team, candidateSubnet(), netip.Prefix{})
		if err != nil {
			return lab.Topology{}, err
		}
		opts := []lab.Option{lab.WithSandbox(gradeSandbox)}
		if c.dnsImage != "" || c.hostImage != "" {
			opts = append(opts, lab.WithImages(c.dnsImage, c.hostImage))
		}
		uctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		_, err = lab.Up(uctx, d, topo, opts...)
		cancel()
		if err == nil {
			return topo, nil
		}
		lastErr = err
		if !errors.Is(err, lab.ErrConflict) && !strings.Contains(err.Error(), "overlaps") {
			break
		}
		// Up removed what it created; the next attempt starts clean.
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		_, _ = lab.Down(dctx, d, name)
		dcancel()
	}
	return lab.Topology{}, lastErr
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

// chatHosts are the hosts that run chat programs.
func chatHosts(topo lab.Topology) []string {
	out := []string{topo.WebServer().Name}
	for _, h := range topo.Clients() {
		out = append(out, h.Name)
	}
	return out
}

// deploy stages the submission on every chat host.
func deploy(ctx context.Context, d *lab.Docker, topo lab.Topology, sub Submission) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, host := range chatHosts(topo) {
		g.Go(func() error { return deployHost(gctx, d, topo, host, sub) })
	}
	return g.Wait()
}

// deployHost stages the submission's files in StageDir and its binaries in
// BinDir on one host, in one archive (unpacked inside the host when its
// root file system is read-only). Its data files (captures, notebook, PDF)
// stay out: the programs never read them, and copying tens of MiB into
// every host before each scenario would only slow grading down.
func deployHost(ctx context.Context, d *lab.Docker, topo lab.Topology, host string, sub Submission) error {
	ctr := topo.ContainerName(host)
	if res, err := d.Exec(ctx, ctr, []string{"mkdir", "-p", StageDir, BinDir}, nil); err != nil || res.ExitCode != 0 {
		if err == nil {
			err = errors.New(oneLine(string(res.Stderr)))
		}
		return fmt.Errorf("deploy to %s: %w", host, err)
	}
	var files []lab.FileCopy
	for _, set := range []struct {
		dir   string
		files map[string]File
	}{{StageDir, sub.Files}, {BinDir, sub.Bins}} {
		names := make([]string, 0, len(set.files))
		for n := range set.files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f := set.files[n]
			files = append(files, lab.FileCopy{Host: host, Src: n, Dst: path.Join(set.dir, n), Mode: f.Mode, Data: f.Data})
		}
	}
	if len(files) == 0 {
		return nil
	}
	if err := d.PutFiles(ctx, ctr, files); err != nil {
		return fmt.Errorf("deploy to %s: %w", host, err)
	}
	return nil
}

// resetScript returns a chat host to its state after deploy: it kills every
// process a previous scenario may have left (all but the container's init,
// its main process, this shell and its parent: the grader's agent when the
// agent runs it, Docker's exec outside the container otherwise), empties the working folder, copies the
// staged submission back in and gives it to the folder's owner (the
// sandbox's user on a graded lab), and removes what that user left in the
// temporary folders. The containers belong to the grader's own lab, so
// nothing else runs there.
const resetScript = `
main=
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null) || continue
	if [ "$pp" = 1 ] && { [ -z "$main" ] || [ "$p" -lt "$main" ]; }; then main=$p; fi
done
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	case "$p" in 1|"$main"|$$|$PPID) continue ;; esac
	kill -9 "$p" 2>/dev/null
done
owner=$(stat -c %u:%g "$1") && mode=$(stat -c %a "$1") || exit 1
find "$1" -mindepth 1 -delete && cp -a "$2/." "$1/" || exit 1
[ "$owner" = 0:0 ] && exit 0
chown -R "$owner" "$1" && chmod "$mode" "$1" || exit 1
find /tmp /var/tmp /dev/shm -mindepth 1 -user "${owner%%:*}" -delete 2>/dev/null
exit 0`

// resetTimeout bounds one host's reset; a host whose processes or memory
// are exhausted may not even start the command.
const resetTimeout = 20 * time.Second

// hostRestarter is a Runtime that can restart a host's container and stage
// the submission there again (a sandboxed dockerRuntime).
type hostRestarter interface {
	restartHost(ctx context.Context, host string) error
}

// reset resets every chat host. A host where the reset fails (a fork bomb
// or an allocation left it unable to run a command) is restarted, which
// ends everything the submission left there, and reset again, so that the
// next scenario starts clean; each host is restarted alone, so other labs
// are untouched.
func reset(ctx context.Context, rt Runtime, topo lab.Topology, sc Scenario) error {
	if sc.Milestone == DNS {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, host := range chatHosts(topo) {
		g.Go(func() error {
			err := resetHost(gctx, rt, host)
			rs, ok := rt.(hostRestarter)
			if err == nil || !ok || gctx.Err() != nil {
				return err
			}
			if rerr := rs.restartHost(gctx, host); rerr != nil {
				return fmt.Errorf("%w; restarting it failed too: %v", err, rerr)
			}
			return resetHost(gctx, rt, host)
		})
	}
	return g.Wait()
}

// agentResetter is a Runtime that can reset a host through the grader's
// agent there, without an exec.
type agentResetter interface {
	resetByAgent(ctx context.Context, host string) error
}

func resetHost(ctx context.Context, rt Runtime, host string) error {
	ctx, cancel := context.WithTimeout(ctx, resetTimeout)
	defer cancel()
	if ar, ok := rt.(agentResetter); ok && ar.resetByAgent(ctx, host) == nil {
		return nil
	}
	// No agent, or it could not: an exec says why.
	res, err := rt.Exec(ctx, host, []string{"sh", "-c", resetScript, "reset", WorkDir, StageDir}, nil)
	if err != nil {
		return fmt.Errorf("reset %s: %w", host, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("reset %s: exit %d: %s", host, res.ExitCode, oneLine(string(res.Stderr)))
	}
	return nil
}
