package grading

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// Option configures Grade.
type Option func(*gradeConfig)

type gradeConfig struct {
	parallel   int
	labsPer    int
	logger     *slog.Logger
	resultsDir string
	scenarios  []scenarios.Scenario
	only       map[string][]scenarios.Scenario // by submission name (WithScenariosFor)
	version    string
	dnsImage   string
	hostImage  string
	labPrefix  string
	dnsBin     func(ctx context.Context) ([]byte, error)
	capture    bool
	capturer   Capturer
	engines    []runtime.Engine
	fileChecks []scenarios.FileCheck
	maxPayload []int
	events     func(Event)
	eventMu    sync.Mutex
	// pressure reads the CPU pressure of the first engine's machine
	// (WithCPUPressure); pressureSet tells nil apart from unset.
	pressure    CPUPressure
	pressureSet bool
	govs        []*governor
	govMu       sync.Mutex
}

// WithFileChecks also grades Milestone 3 and Delivery Q2 from each
// student submission's own files (GradeFiles): its captures, its answers
// and its PDF report. Our reference binaries have none, so they are not
// graded on them. Without this option only the scenarios run.
func WithFileChecks(checks []scenarios.FileCheck) Option {
	return func(c *gradeConfig) { c.fileChecks = checks }
}

// WithMaxPayloadAnswers sets the accepted answers to Task 3.3's
// maximum-UDP-payload question (default DefaultMaxPayloadAnswers).
func WithMaxPayloadAnswers(v ...int) Option {
	return func(c *gradeConfig) { c.maxPayload = v }
}

// Capturer starts a packet capture on every host of a lab and returns once
// each host captures, so the scenario's first packet is in the files. The
// returned stop ends the capture and saves one file per host into dir
// (chatserver.pcap, client1.pcap, ...). TrafficCapturer is the real one.
type Capturer func(ctx context.Context, topo topology.Topology) (stop func(ctx context.Context, dir string) error, err error)

// TrafficCapturer captures with package traffic on eng: tcpdump on all
// five hosts, files named as the handout names them.
func TrafficCapturer(eng runtime.Engine) Capturer {
	return func(ctx context.Context, topo topology.Topology) (func(context.Context, string) error, error) {
		c, err := traffic.StartCapture(ctx, eng, topo, nil)
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
func WithCapture(enabled bool) Option {
	return func(c *gradeConfig) { c.capture = enabled }
}

// DefaultParallel is how many submissions Grade grades at once by default
// on this machine: one per CPU, at most 4. A sandboxed lab's hosts get half
// a CPU each and spend most of their time waiting, so one lab per CPU keeps
// the machine busy without starving any lab.
func DefaultParallel() int { return min(max(goruntime.NumCPU(), 1), maxParallel) }

// maxParallel bounds the default number of submissions graded at once on
// one engine.
const maxParallel = 4

// DefaultLabsPerSubmission is how many labs grade one submission at once.
const DefaultLabsPerSubmission = 2

// WithLabsPerSubmission shares each submission's scenarios among n labs of
// its own that run at once (default 2), so one grade comes back sooner; 1
// runs them all in one lab.
func WithLabsPerSubmission(n int) Option {
	return func(c *gradeConfig) {
		if n > 0 {
			c.labsPer = n
		}
	}
}

// WithParallel grades up to n submissions at once on each engine, each in
// its own lab. Without it, each engine grades one per CPU of its machine,
// at most 4 (DefaultParallel on this one).
func WithParallel(n int) Option {
	return func(c *gradeConfig) {
		if n > 0 {
			c.parallel = n
		}
	}
}

// slots is how many submissions engine d grades at once.
func (c *gradeConfig) slots(ctx context.Context, d runtime.Engine) int {
	if c.parallel > 0 {
		return c.parallel
	}
	if n := d.CPUs(ctx); n > 0 {
		return min(n, maxParallel)
	}
	return DefaultParallel()
}

// WithLogger logs one Info record per lab event and per finished
// scenario on l. Its message is the line a person reads (ProgressLine for a
// scenario); its attributes name the submission and, where they apply, the
// lab, engine, stage, scenario, status, points, max and elapsed. Without it
// (or with nil) nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *gradeConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithResultsDir keeps transcripts and reports under dir: one folder per
// submission, one per scenario, one log per host, plus summary.csv and
// summary.json for the batch.
func WithResultsDir(dir string) Option {
	return func(c *gradeConfig) { c.resultsDir = dir }
}

// WithScenarios replaces the built-in scenarios (for --scenarios DIR or a
// selection).
func WithScenarios(s []scenarios.Scenario) Option {
	return func(c *gradeConfig) { c.scenarios = s }
}

// WithVersion names the version of the grader in each report.
func WithVersion(v string) Option {
	return func(c *gradeConfig) { c.version = v }
}

// WithScenariosFor grades the named submissions on their own scenarios
// instead of those of WithScenarios or the built-in ones; the others are
// graded as usual. A regrade of one student's one milestone can share a
// batch with full grades: the submissions with the most to run start
// first, so the batch ends sooner.
func WithScenariosFor(only map[string][]scenarios.Scenario) Option {
	return func(c *gradeConfig) { c.only = only }
}

// scenariosOf is what sub is graded on.
func (c *gradeConfig) scenariosOf(sub scenarios.Submission) []scenarios.Scenario {
	if s, ok := c.only[sub.Name]; ok {
		return s
	}
	return c.scenarios
}

// WithLabImages sets the images of the graded labs' DNS server and hosts,
// as images.Ensure returns them. Without it each lab ensures its images
// itself (provision.Lab).
func WithLabImages(dns, host string) Option {
	return func(c *gradeConfig) { c.dnsImage, c.hostImage = dns, host }
}

// WithDNSCheck makes the dnscheck step run package dnscheck with the binary
// bin returns (see DNSCheckBinary); without it the step asks getent.
func WithDNSCheck(bin func(ctx context.Context) ([]byte, error)) Option {
	return func(c *gradeConfig) { c.dnsBin = bin }
}

// WithEngines spreads the submissions over more engines than the
// one Grade is given, each grading up to WithParallel submissions at once
// and taking the next submission as a slot frees up. The engines must
// hold the lab's images (images.Replicate). A submission's report does not
// depend on the engine that graded it; Report.Engine names that engine.
func WithEngines(more ...runtime.Engine) Option {
	return func(c *gradeConfig) { c.engines = append(c.engines, more...) }
}

// WithCPUPressure sets how Grade reads the CPU pressure of the first
// engine's machine, which paces its scenarios (nil: not at all). Without
// it Grade reads /proc/pressure/cpu when that engine is local (a unix
// socket) and paces no remote engine, whose machine it cannot read.
func WithCPUPressure(read CPUPressure) Option {
	return func(c *gradeConfig) { c.pressure, c.pressureSet = read, true }
}

// governorFor is the governor of engine d: at most --parallel times
// --labs scenarios at once, fewer while its machine is busy, for the
// first engine when its machine's pressure can be read.
func (c *gradeConfig) governorFor(ctx context.Context, d runtime.Engine, first bool) *governor {
	if d == nil || !first {
		return nil
	}
	read := c.pressure
	if !c.pressureSet {
		read = nil
		if _, err := LocalCPUPressure(); err == nil && strings.HasPrefix(d.Name(), "unix://") {
			read = LocalCPUPressure
		}
	}
	if read == nil {
		return nil
	}
	g := newGovernor(read, c.slots(ctx, d)*c.labsPer, func(msg string, p float64, running, allowed int) {
		c.logger.Info(msg, "engine", d.Name(), "stage", "wait", "pressure", p, "running", running, "allowed", allowed)
	})
	c.govMu.Lock()
	c.govs = append(c.govs, g)
	c.govMu.Unlock()
	return g
}

// logWaits says how long scenarios waited for the machine in all.
func (c *gradeConfig) logWaits() {
	c.govMu.Lock()
	defer c.govMu.Unlock()
	for _, g := range c.govs {
		if w := g.totalWait(); w > 0 {
			c.logger.Info(fmt.Sprintf("scenarios waited %.1fs in all for the machine's CPU (added up over the scenarios that waited)", w.Seconds()), "stage", "wait", "elapsed", w)
		}
	}
}

// WithLabPrefix names the graded labs <prefix>-<n>; the default is "grade-"
// and a random suffix, so concurrent graders never collide.
func WithLabPrefix(p string) Option {
	return func(c *gradeConfig) { c.labPrefix = p }
}
