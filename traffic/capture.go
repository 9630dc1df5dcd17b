package traffic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/lab"
)

// Runner is what capturing needs from the lab's Docker engine: run a
// command in a container and read a file out of it. *lab.Docker satisfies it.
type Runner interface {
	Exec(ctx context.Context, container string, cmd []string, stdin io.Reader) (ExecResult, error)
	ReadFile(ctx context.Context, container, src string) ([]byte, error)
}

// CaptureDir is where tcpdump writes inside each container.
const CaptureDir = "/var/tmp/lab-capture"

// ErrCapture is returned, wrapped, when tcpdump cannot be started, does not
// become ready, or does not stop.
var ErrCapture = errors.New("capture failed")

// FileName is the capture file the handout names for a host:
// chatserver.pcap for the chat server, <host>.pcap for the others.
func FileName(h lab.Host) string {
	if h.Role == lab.RoleServer {
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
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error
}

// WithInterface captures on iface instead of eth0 ("any" gives Linux
// cooked captures, which the analysis also reads).
func WithInterface(iface string) CaptureOption { return func(c *captureConfig) { c.iface = iface } }

// WithPollInterval sets how often readiness and exit are checked (default 20ms).
func WithPollInterval(d time.Duration) CaptureOption { return func(c *captureConfig) { c.poll = d } }

// WithReadyTimeout bounds the wait for tcpdump's "listening on" (default 10s).
func WithReadyTimeout(d time.Duration) CaptureOption {
	return func(c *captureConfig) { c.readyTimeout = d }
}

// WithStopTimeout bounds the wait for tcpdump to flush and exit (default 10s).
func WithStopTimeout(d time.Duration) CaptureOption {
	return func(c *captureConfig) { c.stopTimeout = d }
}

// WithClock replaces the clock and the sleep used by the polls, for tests.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) CaptureOption {
	return func(c *captureConfig) { c.now, c.sleep = now, sleep }
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var ifaceRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,15}$`)

// Capture is a running tcpdump on some of the lab's hosts.
type Capture struct {
	r     Runner
	cfg   captureConfig
	hosts []*capHost
}

type capHost struct {
	host      lab.Host
	container string
	file      string
	started   bool
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
func StartCapture(ctx context.Context, r Runner, topo lab.Topology, hosts []string, opts ...CaptureOption) (*Capture, error) {
	cfg := captureConfig{
		iface: "eth0", poll: 20 * time.Millisecond, readyTimeout: 10 * time.Second, stopTimeout: 10 * time.Second,
		now: time.Now, sleep: sleepCtx,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if !ifaceRE.MatchString(cfg.iface) {
		return nil, fmt.Errorf("start capture: %w: interface %q: use a name such as eth0 or any", ErrCapture, cfg.iface)
	}
	c := &Capture{r: r, cfg: cfg}
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
			return nil, fmt.Errorf("start capture: %w %q: want one of %s", ErrUnknownHost, name, strings.Join(all, ", "))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		c.hosts = append(c.hosts, &capHost{host: h, container: topo.ContainerName(name), file: FileName(h)})
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, h := range c.hosts {
		g.Go(func() error {
			err := c.start(gctx, h)
			mu.Lock()
			h.started = true // even a failed start may have left a process
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		_ = c.Abort(ctx)
		return nil, err
	}
	return c, nil
}

func (c *Capture) start(ctx context.Context, h *capHost) error {
	p := h.path()
	script := fmt.Sprintf(
		`command -v tcpdump >/dev/null || { echo "tcpdump: not installed" >&2; exit 127; }
mkdir -p %[1]s && rm -f %[2]s %[2]s.log %[2]s.pid || exit 1
tcpdump -i %[3]s -U -Z root -w %[2]s >%[2]s.log 2>&1 </dev/null &
echo $! >%[2]s.pid`, CaptureDir, p, c.cfg.iface)
	res, err := c.r.Exec(ctx, h.container, []string{"sh", "-c", script}, nil)
	if err != nil {
		return fmt.Errorf("start capture on %s: %w", h.host.Name, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("start capture on %s: %w: %s: is tcpdump in the image?", h.host.Name, ErrCapture, oneLine(res.Stderr, res.Stdout))
	}
	// tcpdump says "listening on" once the socket is open; a packet sent
	// after that is in the file.
	check := `cat "$1.log"; p=$(cat "$1.pid"); if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then echo; echo lab-capture-alive; fi`
	deadline := c.cfg.now().Add(c.cfg.readyTimeout)
	for {
		res, err := c.r.Exec(ctx, h.container, []string{"sh", "-c", check, "sh", p}, nil)
		if err != nil {
			return fmt.Errorf("start capture on %s: %w", h.host.Name, err)
		}
		out := string(res.Stdout)
		alive := strings.Contains(out, "lab-capture-alive")
		if strings.Contains(out, "listening on") && alive {
			return nil
		}
		if !alive {
			return fmt.Errorf("start capture on %s: %w: tcpdump exited: %s", h.host.Name, ErrCapture,
				oneLine([]byte(strings.ReplaceAll(out, "lab-capture-alive", "")), nil))
		}
		if !c.cfg.now().Before(deadline) {
			return fmt.Errorf("start capture on %s: %w: tcpdump not listening after %s: is interface %s up?",
				h.host.Name, ErrCapture, c.cfg.readyTimeout, c.cfg.iface)
		}
		if err := c.cfg.sleep(ctx, c.cfg.poll); err != nil {
			return fmt.Errorf("start capture on %s: %w", h.host.Name, err)
		}
	}
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
// containers. It runs to the end even when ctx is cancelled (Ctrl-C), each
// step bounded by the stop timeout.
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
			defer c.remove(ctx, h)
			if err := c.stop(ctx, h); err != nil {
				return err
			}
			sctx, cancel := context.WithTimeout(ctx, c.cfg.stopTimeout)
			defer cancel()
			data, err := c.r.ReadFile(sctx, h.container, h.path())
			if err != nil {
				return fmt.Errorf("copy %s from %s: %w", h.file, h.host.Name, err)
			}
			logText, _ := c.r.ReadFile(sctx, h.container, h.path()+".log")
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

// Abort stops every tcpdump and removes its files without copying them.
func (c *Capture) Abort(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, h := range c.hosts {
		if !h.started {
			continue
		}
		errs = append(errs, c.stop(ctx, h))
		c.remove(ctx, h)
	}
	return errors.Join(errs...)
}

// stop sends SIGINT, as Ctrl-C does, so tcpdump flushes and closes its file,
// then waits for the process to be gone.
func (c *Capture) stop(ctx context.Context, h *capHost) error {
	sctx, cancel := context.WithTimeout(ctx, c.cfg.stopTimeout)
	defer cancel()
	kill := `p=$(cat "$1.pid" 2>/dev/null) || exit 0; kill -INT "$p" 2>/dev/null; exit 0`
	if _, err := c.r.Exec(sctx, h.container, []string{"sh", "-c", kill, "sh", h.path()}, nil); err != nil {
		return fmt.Errorf("stop capture on %s: %w", h.host.Name, err)
	}
	alive := `p=$(cat "$1.pid" 2>/dev/null) || exit 1; kill -0 "$p" 2>/dev/null || exit 1; grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && exit 1; exit 0`
	deadline := c.cfg.now().Add(c.cfg.stopTimeout)
	for {
		res, err := c.r.Exec(sctx, h.container, []string{"sh", "-c", alive, "sh", h.path()}, nil)
		if err != nil {
			return fmt.Errorf("stop capture on %s: %w", h.host.Name, err)
		}
		if res.ExitCode != 0 {
			return nil
		}
		if !c.cfg.now().Before(deadline) {
			// A tcpdump that ignores SIGINT must not outlive the lab.
			_, _ = c.r.Exec(sctx, h.container, []string{"sh", "-c", `kill -KILL "$(cat "$1.pid")"`, "sh", h.path()}, nil)
			return fmt.Errorf("stop capture on %s: %w: tcpdump still running %s after SIGINT; killed, its file may be truncated",
				h.host.Name, ErrCapture, c.cfg.stopTimeout)
		}
		if err := c.cfg.sleep(sctx, c.cfg.poll); err != nil {
			return fmt.Errorf("stop capture on %s: %w", h.host.Name, err)
		}
	}
}

func (c *Capture) remove(ctx context.Context, h *capHost) {
	sctx, cancel := context.WithTimeout(ctx, c.cfg.stopTimeout)
	defer cancel()
	_, _ = c.r.Exec(sctx, h.container, []string{"sh", "-c", `rm -f "$1" "$1.log" "$1.pid"`, "sh", h.path()}, nil)
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
