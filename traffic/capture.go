package traffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// CaptureDir is where tcpdump writes inside each container.
const CaptureDir = "/var/tmp/lab-capture"

// ErrCapture is returned, wrapped, when tcpdump cannot be started, does not
// become ready, or does not stop.
var ErrCapture = errors.New("capture failed")

// errAlreadyRunning marks a start on a host whose capture file is still
// being written by an earlier start: starting again would orphan that
// tcpdump and delete its file, and aborting must not stop it.
var errAlreadyRunning = errors.New("a capture is already running there")

// FileName is the capture file the handout names for a host:
// chatserver.pcap for the chat server, <host>.pcap for the others.
func FileName(h topology.Host) string {
	if h.Role == topology.RoleServer {
		return "chatserver.pcap"
	}
	return h.Name + ".pcap"
}

// CaptureOption configures StartCapture.
type CaptureOption func(*captureConfig)

type captureConfig struct {
	iface        string
	poll         time.Duration
	readyTimeout time.Duration
	stopTimeout  time.Duration
}

// WithInterface captures on iface instead of eth0 ("any" gives Linux
// cooked captures, which the analysis also reads).
func WithInterface(iface string) CaptureOption { return func(c *captureConfig) { c.iface = iface } }

// WithPollInterval sets how often readiness and exit are checked inside the
// container (default 10ms, at least 1ms).
func WithPollInterval(d time.Duration) CaptureOption {
	return func(c *captureConfig) { c.poll = max(d, time.Millisecond) }
}

// WithReadyTimeout bounds the wait for tcpdump's "listening on" (default 10s).
func WithReadyTimeout(d time.Duration) CaptureOption {
	return func(c *captureConfig) { c.readyTimeout = d }
}

// WithStopTimeout bounds the wait for tcpdump to flush and exit (default 10s).
func WithStopTimeout(d time.Duration) CaptureOption {
	return func(c *captureConfig) { c.stopTimeout = d }
}

// polls is how many checks fit in d. The waits run inside the container,
// so that each step costs one exec round trip instead of one per check.
func (c captureConfig) polls(d time.Duration) int { return max(int(d/c.poll), 1) }

// seconds formats the poll interval for sleep(1).
func (c captureConfig) seconds() string { return fmt.Sprintf("%.3f", c.poll.Seconds()) }

var ifaceRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,15}$`)

// Capture is a running tcpdump on some of the lab's hosts.
type Capture struct {
	lab   runtime.Hosts
	cfg   captureConfig
	hosts []*capHost
}

type capHost struct {
	host    topology.Host
	file    string
	started bool
}

func (h *capHost) path() string { return CaptureDir + "/" + h.file }

// CaptureFile is one capture copied out of its container.
type CaptureFile struct {
	Host     string `json:"host"`
	Path     string `json:"path"`
	Bytes    int    `json:"bytes"`
	Captured int    `json:"captured"`
	Dropped  int    `json:"dropped"`
}

// StartCapture runs tcpdump on each named host (all hosts when none are
// named) and returns once every tcpdump reports that it is listening, so
// the scenario's first packet is captured. On failure the captures already
// started are stopped and removed.
//
// Each step costs one exec per host: the waits run inside the hosts, and
// the capture is copied out through the same exec that stops tcpdump.
func StartCapture(ctx context.Context, eng runtime.Engine, topo topology.Topology, hosts []string, opts ...CaptureOption) (*Capture, error) {
	c, err := newCapture(eng, topo, hosts, opts)
	if err != nil {
		return nil, fmt.Errorf("start capture: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range c.hosts {
		g.Go(func() error {
			err := c.start(gctx, h)
			// Even a failed start may have left a process; a capture that
			// was already running belongs to someone else and is left alone.
			h.started = !errors.Is(err, errAlreadyRunning)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		_ = c.Abort(ctx)
		return nil, err
	}
	return c, nil
}

// Exit codes of the capture scripts.
const (
	exitExited   = 3 // tcpdump exited before it was listening
	exitNotReady = 4 // tcpdump not listening before the deadline
	exitKilled   = 5 // tcpdump ignored SIGINT and was killed
	exitNoFile   = 6 // no capture to stop or copy
	exitRunning  = 7 // a capture of this file already runs
	exitMissing  = 127
)

// The kernel keeps the packets tcpdump has not read yet in a ring of
// frames, each as large as the snapshot length: at tcpdump's defaults
// (262144 bytes, a 2 MiB ring) and on -i any, where libpcap cannot size
// frames by an MTU, the ring holds 8 packets, and a tcpdump that a busy
// machine keeps from its CPU for a moment drops the rest (measured: 16 of
// 120 pings kept while it was stopped). snapLen keeps every packet of the
// lab whole (its MTU is 1500) and ringKiB, 16 MiB, holds about 1,700 of
// them (400 pings sent while tcpdump was stopped: none dropped).
const (
	snapLen = 9216
	ringKiB = 16 << 10
)

// start launches tcpdump and, in the same shell, waits until its log says
// "listening on": from then on every packet is in the file.
func (c *Capture) start(ctx context.Context, h *capHost) error {
	p := h.path()
	script := fmt.Sprintf(`command -v tcpdump >/dev/null || { echo "tcpdump: not installed" >&2; exit %[6]d; }
old=$(cat %[2]s.pid 2>/dev/null) && grep -q tcpdump /proc/$old/cmdline 2>/dev/null &&
	! grep -q '^State:.*Z' /proc/$old/status 2>/dev/null && exit %[9]d
mkdir -p %[1]s && rm -f %[2]s %[2]s.log %[2]s.pid || exit 1
tcpdump -i %[3]s -U --immediate-mode -s %[10]d -B %[11]d -Z root -w %[2]s >%[2]s.log 2>&1 </dev/null &
pid=$!
echo $pid >%[2]s.pid
i=0
while [ $i -lt %[4]d ]; do
	grep -q 'listening on' %[2]s.log && exit 0
	kill -0 $pid 2>/dev/null || { cat %[2]s.log; exit %[7]d; }
	sleep %[5]s
	i=$((i+1))
done
cat %[2]s.log
exit %[8]d`, CaptureDir, p, c.cfg.iface, c.cfg.polls(c.cfg.readyTimeout), c.cfg.seconds(), exitMissing, exitExited, exitNotReady, exitRunning, snapLen, ringKiB)
	// The shell bounds its own wait; this is the backstop for an engine
	// that does not answer.
	sctx, cancel := context.WithTimeout(ctx, 2*c.cfg.readyTimeout+10*time.Second)
	defer cancel()
	res, err := c.lab.Exec(sctx, h.host.Name, []string{"sh", "-c", script}, nil)
	if err != nil {
		return fmt.Errorf("start capture on %s: %w", h.host.Name, err)
	}
	switch res.ExitCode {
	case 0:
		return nil
	case exitExited:
		return fmt.Errorf("start capture on %s: %w: tcpdump exited: %s", h.host.Name, ErrCapture, oneLine(res.Stdout, res.Stderr))
	case exitRunning:
		return fmt.Errorf("start capture on %s: %w: %w: stop it first (lab capture stop)", h.host.Name, ErrCapture, errAlreadyRunning)
	case exitNotReady:
		return fmt.Errorf("start capture on %s: %w: tcpdump not listening after %s: is interface %s up?",
			h.host.Name, ErrCapture, c.cfg.readyTimeout, c.cfg.iface)
	}
	return fmt.Errorf("start capture on %s: %w: %s: is tcpdump in the image?", h.host.Name, ErrCapture, oneLine(res.Stderr, res.Stdout))
}

// RunningCapture returns the capture that an earlier StartCapture, perhaps
// in another process (lab capture start), left running on the named hosts
// (all hosts when none are named), so that Stop or Abort can end it.
// Stop reports a host where no capture runs.
func RunningCapture(eng runtime.Engine, topo topology.Topology, hosts []string, opts ...CaptureOption) (*Capture, error) {
	c, err := newCapture(eng, topo, hosts, opts)
	if err != nil {
		return nil, fmt.Errorf("stop capture: %w", err)
	}
	for _, h := range c.hosts {
		h.started = true
	}
	return c, nil
}

// newCapture checks the options and resolves the hosts, running nothing.
func newCapture(eng runtime.Engine, topo topology.Topology, hosts []string, opts []CaptureOption) (*Capture, error) {
	cfg := captureConfig{iface: "eth0", poll: 10 * time.Millisecond, readyTimeout: 10 * time.Second, stopTimeout: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if !ifaceRE.MatchString(cfg.iface) {
		return nil, fmt.Errorf("%w: interface %q: use a name such as eth0 or any", ErrCapture, cfg.iface)
	}
	c := &Capture{lab: eng.Lab(topo.Name), cfg: cfg}
	if len(hosts) == 0 {
		for _, h := range topo.Hosts {
			hosts = append(hosts, h.Name)
		}
	}
	seen := map[string]bool{}
	for _, name := range hosts {
		h, ok := topo.Host(name)
		if !ok {
			var all []string
			for _, x := range topo.Hosts {
				all = append(all, x.Name)
			}
			return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownHost, name, strings.Join(all, ", "))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		c.hosts = append(c.hosts, &capHost{host: h, file: FileName(h)})
	}
	return c, nil
}

// Files are the capture files this capture writes, in host order.
func (c *Capture) Files() []string {
	out := make([]string, len(c.hosts))
	for i, h := range c.hosts {
		out[i] = h.file
	}
	return out
}

// Stop interrupts every tcpdump, waits until each has exited (so its file
// is complete), copies the files into dir and removes them from the
// containers, one exec per host. It runs to the end even when ctx is
// cancelled (Ctrl-C), bounded by the stop timeout.
func (c *Capture) Stop(ctx context.Context, dir string) ([]CaptureFile, error) {
	ctx = context.WithoutCancel(ctx)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		_ = c.Abort(ctx)
		return nil, fmt.Errorf("stop capture: %w", err)
	}
	out := make([]CaptureFile, len(c.hosts))
	g := new(errgroup.Group)
	for i, h := range c.hosts {
		g.Go(func() error {
			data, logText, err := c.stop(ctx, h, true)
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, h.file)
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return fmt.Errorf("save %s: %w", h.file, err)
			}
			out[i] = CaptureFile{Host: h.host.Name, Path: dst, Bytes: len(data),
				Captured: statCount(logText, "captured"), Dropped: statCount(logText, "dropped by kernel")}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// drainTimeout bounds how long Stop waits for tcpdump to read the packets
// already captured for it before it stops tcpdump.
const drainTimeout = 2 * time.Second

// Abort stops every tcpdump and removes its files without copying them.
func (c *Capture) Abort(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, h := range c.hosts {
		if h.started {
			_, _, err := c.stop(ctx, h, false)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stop first lets tcpdump read what the kernel already holds for it: a
// tcpdump that a busy machine kept from its CPU has packets waiting in its
// ring, and SIGINT ends its loop without reading them (they count neither
// as captured nor as dropped). It waits, for at most drainTimeout, until
// the file stops growing while tcpdump sleeps (the ring is empty). Then it
// sends SIGINT, as Ctrl-C does, so tcpdump flushes and closes its
// file, and waits in the same shell until the process is gone (a zombie
// counts as gone). With copy it then writes tcpdump's log, which ends with
// its counters, to stderr and the capture to stdout. Either way the files
// are removed. One round trip keeps Stop well under a second.
func (c *Capture) stop(ctx context.Context, h *capHost, copy bool) (data, log []byte, err error) {
	sctx, cancel := context.WithTimeout(ctx, c.cfg.stopTimeout+10*time.Second)
	defer cancel()
	out := ""
	if copy {
		out = fmt.Sprintf("cat %[1]s.log >&2 2>/dev/null; cat %[1]s || exit %[2]d", h.path(), exitNoFile)
	}
	script := fmt.Sprintf(`f=%[1]s
p=$(cat $f.pid 2>/dev/null) || { rm -f $f $f.log; exit %[5]d; }
gone() { ! kill -0 $p 2>/dev/null || grep -q '^State:.*Z' /proc/$p/status 2>/dev/null; }
state() { sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/$p/status 2>/dev/null; }
s=$(stat -c %%s $f 2>/dev/null) j=0
while [ $j -lt %[7]d ]; do
	sleep %[3]s
	n=$(stat -c %%s $f 2>/dev/null)
	[ "$n" = "$s" ] && [ "$(state)" != R ] && break
	s=$n j=$((j+1))
done
kill -INT $p 2>/dev/null
i=0
until gone; do
	if [ $i -ge %[2]d ]; then kill -KILL $p; rm -f $f $f.log $f.pid; exit %[4]d; fi
	sleep %[3]s
	i=$((i+1))
done
%[6]s
rm -f $f $f.log $f.pid`, h.path(), c.cfg.polls(c.cfg.stopTimeout), c.cfg.seconds(), exitKilled, exitNoFile, out, c.cfg.polls(drainTimeout))
	res, err := c.lab.Exec(sctx, h.host.Name, []string{"sh", "-c", script}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("stop capture on %s: %w", h.host.Name, err)
	}
	switch res.ExitCode {
	case 0:
		return res.Stdout, res.Stderr, nil
	case exitKilled:
		// A tcpdump that ignores SIGINT must not outlive the lab.
		return nil, nil, fmt.Errorf("stop capture on %s: %w: tcpdump still running %s after SIGINT; killed, capture discarded",
			h.host.Name, ErrCapture, c.cfg.stopTimeout)
	case exitNoFile:
		if !copy {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("stop capture on %s: %w: no capture file %s: was the capture started?", h.host.Name, ErrCapture, h.path())
	}
	return nil, nil, fmt.Errorf("stop capture on %s: %w: %s", h.host.Name, ErrCapture, oneLine(res.Stderr, nil))
}

var statRE = regexp.MustCompile(`(?m)^(\d+) packets? (captured|received by filter|dropped by kernel)`)

// statCount reads one of the counters tcpdump prints when it stops.
func statCount(log []byte, what string) int {
	for _, m := range statRE.FindAllSubmatch(log, -1) {
		if string(m[2]) == what {
			n, _ := strconv.Atoi(string(m[1]))
			return n
		}
	}
	return 0
}

// oneLine squeezes command output into one line for an error message.
func oneLine(a, b []byte) string {
	s := strings.TrimSpace(string(bytes.TrimSpace(a)) + " " + string(bytes.TrimSpace(b)))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "no output"
	}
	return clip(s, 200)
}
