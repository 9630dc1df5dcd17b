package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ntnu-ttm4200/lab3/chat"
)

type config struct {
	server    string
	clients   int
	mode      chat.Mode
	duration  time.Duration
	senders   int
	rate      float64
	serverPID int
	bind      string
	dialers   int
	timeout   time.Duration
}

// result is what one run measured.
type result struct {
	Server         string  `json:"server"`
	Mode           string  `json:"mode"`
	Clients        int     `json:"clients"`
	Framed         bool    `json:"framed"`
	RampSeconds    float64 `json:"join_ramp_seconds"`
	PeerListBytes  int64   `json:"peer_list_bytes"`
	Senders        int     `json:"senders"`
	RatePerSender  float64 `json:"rate_per_sender"`
	Sent           int64   `json:"sent"`
	Expected       int64   `json:"expected_deliveries"`
	Delivered      int64   `json:"deliveries"`
	DeliveriesPerS float64 `json:"deliveries_per_second"`
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencyMaxMs   float64 `json:"latency_max_ms"`
	ServerVmHWMKiB int64   `json:"server_vmhwm_kib,omitempty"`
	ServerVmRSSKiB int64   `json:"server_vmrss_kib,omitempty"`
	// ServerRampCPU and ServerFanoutCPU are the server's utime+stime in
	// seconds during the join ramp and during the fan-out and its drain.
	ServerRampCPU   float64 `json:"server_ramp_cpu_seconds,omitempty"`
	ServerFanoutCPU float64 `json:"server_fanout_cpu_seconds,omitempty"`
	// CPUPerMillion is ServerFanoutCPU per million deliveries.
	CPUPerMillion   float64 `json:"server_cpu_seconds_per_million_deliveries,omitempty"`
	DroppedClients  int64   `json:"dropped_clients"`
	FanoutSeconds   float64 `json:"fanout_seconds"`
	DrainIncomplete bool    `json:"drain_incomplete,omitempty"`
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "server %s, mode %s, %d clients (framed: %v)\n", r.Server, r.Mode, r.Clients, r.Framed)
	fmt.Fprintf(w, "join ramp:        %.2fs, peer-list bytes received: %d\n", r.RampSeconds, r.PeerListBytes)
	fmt.Fprintf(w, "fan-out:          %d senders x %.0f msg/s for %.1fs: %d sent, %d/%d delivered\n",
		r.Senders, r.RatePerSender, r.FanoutSeconds, r.Sent, r.Delivered, r.Expected)
	fmt.Fprintf(w, "deliveries/s:     %.0f\n", r.DeliveriesPerS)
	fmt.Fprintf(w, "latency:          p50 %.2fms  p99 %.2fms  max %.2fms\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	if r.ServerVmHWMKiB > 0 {
		fmt.Fprintf(w, "server memory:    VmHWM %.1f MB  VmRSS %.1f MB\n", float64(r.ServerVmHWMKiB)/1024, float64(r.ServerVmRSSKiB)/1024)
	}
	if r.CPUPerMillion > 0 {
		fmt.Fprintf(w, "server CPU:       %.3fs per million deliveries (fan-out %.2fs, join ramp %.2fs)\n",
			r.CPUPerMillion, r.ServerFanoutCPU, r.ServerRampCPU)
	}
	if r.DroppedClients > 0 || r.DrainIncomplete {
		fmt.Fprintf(w, "warning:          %d clients lost their connection; drain complete: %v\n", r.DroppedClients, !r.DrainIncomplete)
	}
}

// benchClient is one simulated user.
type benchClient struct {
	conn  *chat.Conn
	peers atomic.Int64
	// delivered and last (Unix ns of the latest delivery) are per client so
	// that a thousand readers do not contend on one counter.
	delivered atomic.Int64
	last      atomic.Int64
	// latencies in microseconds, written only by the client's reader.
	latencies []int32
	// carry is the start of a timestamp that the last read cut off.
	carry string
}

// stampDigits is the length of a UnixNano timestamp (until the year 2286).
const stampDigits = 19

// scanStamps calls fn with every whole timestamp in text and returns what
// must be prepended to the next read: a marker or a timestamp that text
// ends in the middle of, or "".
func scanStamps(text string, fn func(int64)) (carry string) {
	for {
		j := strings.Index(text, marker)
		if j < 0 {
			// Keep a suffix that may be the start of the next marker.
			for n := min(len(marker)-1, len(text)); n > 0; n-- {
				if strings.HasPrefix(marker, text[len(text)-n:]) {
					return text[len(text)-n:]
				}
			}
			return ""
		}
		text = text[j+len(marker):]
		k := 0
		for k < len(text) && k < stampDigits && text[k] >= '0' && text[k] <= '9' {
			k++
		}
		if k == len(text) && k < stampDigits {
			return marker + text
		}
		if k != stampDigits {
			continue // not one of ours
		}
		t, err := strconv.ParseInt(text[:k], 10, 64)
		if err == nil {
			fn(t)
		}
		text = text[k:]
	}
}

// marker starts the body of a timed message; the number after it is the
// send time in Unix nanoseconds.
const marker = "bench-t="

func bench(ctx context.Context, cfg config, log io.Writer) (result, error) {
	res := result{Server: cfg.server, Mode: cfg.mode.String(), Clients: cfg.clients, Senders: cfg.senders, RatePerSender: cfg.rate}
	var (
		listBytes atomic.Int64
		measuring atomic.Bool
		dropped   atomic.Int64
	)
	clients := make([]*benchClient, cfg.clients)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readers sync.WaitGroup
	defer func() {
		cancel()
		for _, c := range clients {
			if c != nil {
				c.conn.Close()
			}
		}
		readers.Wait()
	}()

	fmt.Fprintf(log, "ramp: joining %d clients ...\n", cfg.clients)
	cpuStart := procCPU(cfg.serverPID)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.dialers)
	for i := range clients {
		g.Go(func() error {
			conn, err := chat.Dial(gctx, cfg.server, chat.WithLocalIP(cfg.bind))
			if err != nil {
				return err
			}
			name := "b" + strconv.Itoa(i)
			if _, err := conn.Handshake(1, func(string) (string, error) { return name, nil }); err != nil {
				conn.Close()
				return fmt.Errorf("join %s: %w", name, err)
			}
			bc := &benchClient{conn: conn}
			clients[i] = bc
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					m, err := conn.Next()
					if err != nil {
						if ctx.Err() == nil {
							dropped.Add(1)
						}
						return
					}
					if m.Kind == chat.KindPeers {
						listBytes.Add(int64(m.Size))
						bc.peers.Store(int64(len(m.Peers)))
						continue
					}
					if !measuring.Load() {
						continue
					}
					// An unframed server may pack several messages into one
					// read, and cut one across two, so every whole timestamp
					// counts and a cut one waits for its tail.
					now := time.Now().UnixNano()
					bc.carry = scanStamps(bc.carry+m.Text, func(t int64) {
						bc.latencies = append(bc.latencies, int32(min((now-t)/1000, 1<<31-1)))
						bc.delivered.Add(1)
						bc.last.Store(now)
					})
				}
			}()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Framed = clients[0].conn.Framed()
	if cfg.mode == chat.ModeP2P {
		// The ramp ends when every client knows every other.
		deadline := time.Now().Add(cfg.timeout)
		for _, c := range clients {
			for c.peers.Load() != int64(cfg.clients) {
				if time.Now().After(deadline) {
					return res, errors.New("ramp: peer lists did not converge before --timeout")
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	res.RampSeconds = time.Since(start).Seconds()
	res.PeerListBytes = listBytes.Load()
	cpuRamp := procCPU(cfg.serverPID)
	res.ServerRampCPU = cpuRamp - cpuStart
	fmt.Fprintf(log, "ramp: done in %.2fs; fan-out for %v ...\n", res.RampSeconds, cfg.duration)

	measuring.Store(true)
	var sent atomic.Int64
	fanStart := time.Now()
	sg, sctx := errgroup.WithContext(ctx)
	interval := time.Duration(float64(time.Second) / cfg.rate)
	for i := range cfg.senders {
		c := clients[i]
		sg.Go(func() error {
			// Stagger senders so their ticks do not all coincide.
			next := fanStart.Add(time.Duration(i) * interval / time.Duration(cfg.senders))
			end := fanStart.Add(cfg.duration)
			for next.Before(end) {
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-sctx.Done():
						return nil
					}
				}
				if err := c.conn.Send(marker + strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
					return err
				}
				sent.Add(1)
				next = next.Add(interval)
			}
			return nil
		})
	}
	if err := sg.Wait(); err != nil {
		return res, fmt.Errorf("fan-out: %w", err)
	}
	res.Sent = sent.Load()
	res.Expected = res.Sent * int64(cfg.clients-1)
	deadline := time.Now().Add(cfg.timeout)
	delivered := func() (n, last int64) {
		for _, c := range clients {
			n += c.delivered.Load()
			last = max(last, c.last.Load())
		}
		return n, last
	}
	for {
		n, _ := delivered()
		if n >= res.Expected-dropped.Load()*res.Sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	n, last := delivered()
	res.DrainIncomplete = n < res.Expected
	res.Delivered = n
	end := time.Unix(0, last)
	res.FanoutSeconds = end.Sub(fanStart).Seconds()
	if res.FanoutSeconds > 0 {
		res.DeliveriesPerS = float64(res.Delivered) / res.FanoutSeconds
	}
	if cfg.serverPID > 0 {
		res.ServerFanoutCPU = procCPU(cfg.serverPID) - cpuRamp
		if res.Delivered > 0 {
			res.CPUPerMillion = res.ServerFanoutCPU / float64(res.Delivered) * 1e6
		}
		res.ServerVmHWMKiB, res.ServerVmRSSKiB = procMemory(cfg.serverPID)
	}
	res.DroppedClients = dropped.Load()
	measuring.Store(false)
	cancel()
	for _, c := range clients {
		c.conn.Close()
	}
	readers.Wait()
	var all []int32
	for _, c := range clients {
		all = append(all, c.latencies...)
	}
	slices.Sort(all)
	if n := len(all); n > 0 {
		res.LatencyP50Ms = float64(all[n/2]) / 1000
		res.LatencyP99Ms = float64(all[min(n-1, n*99/100)]) / 1000
		res.LatencyMaxMs = float64(all[n-1]) / 1000
	}
	return res, nil
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time pid has used, user plus system, over all
// its threads, in seconds (0 when pid is 0 or unreadable).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces and parentheses; the fields
	// after the last ')' are fixed: state is the first, utime the 12th.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return (time.Duration(utime+stime) * clockTick).Seconds()
}

// procMemory reads the peak and current resident set of pid, in KiB.
func procMemory(pid int) (hwm, rss int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss
}
