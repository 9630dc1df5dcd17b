package dnscheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Result is the outcome of one expectation asked of one server.
type Result struct {
	Expectation Expectation `json:"expectation"`
	// Path is which way the question went: PathResolv or PathDirect, or
	// empty for a plain Check.
	Path Path `json:"path,omitempty"`
	// Server is the address asked, host:port.
	Server string `json:"server"`
	// Pass is true only when Reason is ReasonOK.
	Pass   bool   `json:"pass"`
	Reason Reason `json:"reason"`
	// Detail says precisely what was wrong, one line; empty on a pass.
	Detail string `json:"detail,omitempty"`
	// Rcode of the final answer, empty when none came.
	Rcode string `json:"rcode,omitempty"`
	// Got is the data of the records that answer the question, canonical
	// and sorted, after following CNAMEs for other types.
	Got []string `json:"got,omitempty"`
	// Chain is the CNAMEs followed, e.g. ["www.team30.com. CNAME team30.com."].
	Chain []string `json:"chain,omitempty"`
	// RTT is the round-trip time of the answer that counted.
	RTT time.Duration `json:"-"`
	// TCP is true when the answer was truncated over UDP and came over TCP.
	TCP bool `json:"tcp,omitempty"`
}

// Reason is why a check passed or failed, in words a report prints.
type Reason string

// The outcomes of one check.
const (
	// ReasonOK: the answer is what was wanted.
	ReasonOK Reason = "ok"
	// ReasonTimeout: no answer in time, after the retry: the server is down
	// or unreachable (a route or firewall problem).
	ReasonTimeout Reason = "timeout"
	// ReasonConnRefused: the server's host said nothing listens on the port
	// (ICMP port unreachable): named is not running.
	ReasonConnRefused Reason = "connection-refused"
	// ReasonUnreachable: the network says there is no route to the server
	// (a stopped container, a missing route or a wrong address).
	ReasonUnreachable Reason = "unreachable"
	// ReasonRefused: the server answered REFUSED: it is not authoritative
	// for the name and will not recurse, or an ACL refuses the client.
	ReasonRefused Reason = "refused"
	// ReasonServFail: the server answered SERVFAIL, typically a zone that
	// failed to load.
	ReasonServFail Reason = "servfail"
	// ReasonNXDomain: the name does not exist in the server's view.
	ReasonNXDomain Reason = "nxdomain"
	// ReasonNoData: the name exists but has no record of the type.
	ReasonNoData Reason = "nodata"
	// ReasonWrongAnswer: records came back, but not the wanted ones.
	ReasonWrongAnswer Reason = "wrong-answer"
	// ReasonRcode: another response code than the ones above.
	ReasonRcode Reason = "rcode"
	// ReasonInvalid: the expectation itself is malformed.
	ReasonInvalid Reason = "invalid"
	// ReasonError: the query could not be made (bad address, cancelled).
	ReasonError Reason = "error"
)

// MarshalJSON writes the result with RTT in milliseconds as rtt_ms.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		RTTMillis float64 `json:"rtt_ms"`
	}{plain(r), math.Round(float64(r.RTT)/float64(time.Microsecond)) / 1000})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var v struct {
		plain
		RTTMillis float64 `json:"rtt_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.plain)
	r.RTT = time.Duration(v.RTTMillis * float64(time.Millisecond))
	return nil
}

// Defaults for Check: a dead server costs two timeouts, not a hang.
const (
	DefaultTimeout     = time.Second
	DefaultRetries     = 1
	DefaultConcurrency = 32
	// udpSize is the EDNS0 buffer advertised, the size that avoids
	// fragmentation on any path.
	udpSize = 1232
	// maxChain bounds CNAME following, against loops.
	maxChain = 8
)

// Option tunes Check, CheckHost and RunLab.
type Option func(*config)

type config struct {
	timeout     time.Duration
	retries     int
	concurrency int
	exps        []Expectation
	clients     []string
	binaryPath  string
	port        uint16
	now         func() time.Time
}

func newConfig(opts []Option) config {
	c := config{
		timeout:     DefaultTimeout,
		retries:     DefaultRetries,
		concurrency: DefaultConcurrency,
		port:        53,
		now:         time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithTimeout sets how long to wait for each answer (default 1 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithRetries sets how many times a timed-out query is sent again
// (default 1).
func WithRetries(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.retries = n
		}
	}
}

// WithConcurrency bounds the queries in flight to one server (default 32).
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithPort sets the port for servers given without one, including the
// resolv.conf nameserver (default 53), e.g. for a named started with -p.
func WithPort(port uint16) Option {
	return func(c *config) {
		if port != 0 {
			c.port = port
		}
	}
}

// WithClock sets the clock that RunLab's report times come from; tests
// use it for reproducible output.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// Check asks server (an address, with or without port; 53 by default) every
// expectation, concurrently, and returns one Result per expectation in the
// same order. A question that times out is sent once more (WithRetries);
// an answer truncated over UDP is asked again over TCP.
func Check(ctx context.Context, server string, exps []Expectation, opts ...Option) []Result {
	cfg := newConfig(opts)
	results := make([]Result, len(exps))
	addr, addrErr := serverAddr(server, cfg.port)
	sem := make(chan struct{}, cfg.concurrency)
	var wg sync.WaitGroup
	for i, e := range exps {
		results[i] = Result{Expectation: e, Server: addr}
		if addrErr != nil {
			results[i].Server = server
			results[i].fail(ReasonError, addrErr.Error())
			continue
		}
		n, err := normalize(e)
		if err != nil {
			results[i].fail(ReasonInvalid, err.Error())
			continue
		}
		results[i].Expectation = n
		wg.Add(1)
		go func(r *Result) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				r.fail(ReasonError, "cancelled: "+ctx.Err().Error())
				return
			}
			cfg.query(ctx, r)
		}(&results[i])
	}
	wg.Wait()
	return results
}

// ServerAddr turns "10.20.30.2", "fd00::2" or "10.20.30.2:5353" into a
// host:port to send queries to.
func ServerAddr(s string) (string, error) { return serverAddr(s, 53) }

func serverAddr(s string, port uint16) (string, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return "", fmt.Errorf("server address %q: want an IP address such as 10.20.30.2, optionally with :port", s)
	}
	return netip.AddrPortFrom(a.WithZone(""), port).String(), nil
}

func (r *Result) fail(reason Reason, detail string) {
	r.Pass, r.Reason, r.Detail = false, reason, detail
}

// query asks one question and classifies the answer into r.
func (c config) query(ctx context.Context, r *Result) {
	e := r.Expectation
	qtype := dns.StringToType[e.Type]
	m := new(dns.Msg)
	m.SetQuestion(e.Name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(udpSize, false)

	client := &dns.Client{Net: "udp", Timeout: c.timeout, UDPSize: udpSize}
	var (
		resp *dns.Msg
		rtt  time.Duration
		err  error
	)
	for attempt := 0; attempt <= c.retries; attempt++ {
		resp, rtt, err = client.ExchangeContext(ctx, m, r.Server)
		if err == nil || !isTimeout(err) || ctx.Err() != nil {
			break
		}
	}
	if err == nil && resp.Truncated {
		tcp := &dns.Client{Net: "tcp", Timeout: c.timeout}
		resp, rtt, err = tcp.ExchangeContext(ctx, m, r.Server)
		r.TCP = true
	}
	r.RTT = rtt
	if err != nil {
		r.classifyError(err, c)
		return
	}
	r.classify(resp, qtype)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

func (r *Result) classifyError(err error, c config) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		r.fail(ReasonConnRefused, fmt.Sprintf("nothing listens on %s (connection refused): is named running?", r.Server))
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		var errno syscall.Errno
		errors.As(err, &errno)
		r.fail(ReasonUnreachable, fmt.Sprintf("%s: %v: is the DNS server's container running, and the client's route right? (ip route)", r.Server, errno))
	case isTimeout(err):
		r.fail(ReasonTimeout, fmt.Sprintf("no answer from %s in %d tries of %s: server down, or no route to it", r.Server, c.retries+1, c.timeout))
	case errors.Is(err, context.Canceled):
		r.fail(ReasonError, "cancelled")
	default:
		r.fail(ReasonError, fmt.Sprintf("query %s: %v", r.Server, err))
	}
}

// classify compares an answer with the expectation.
func (r *Result) classify(resp *dns.Msg, qtype uint16) {
	e := r.Expectation
	rcode := dns.RcodeToString[resp.Rcode]
	if rcode == "" {
		rcode = fmt.Sprintf("RCODE%d", resp.Rcode)
	}
	r.Rcode = rcode
	r.Got, r.Chain = answerData(resp, e.Name, qtype)
	wantRcode := e.Rcode
	if wantRcode == "" {
		wantRcode = "NOERROR"
	}
	if rcode != wantRcode {
		switch {
		case wantRcode != "NOERROR" && rcode == "NOERROR":
			r.fail(ReasonWrongAnswer, fmt.Sprintf("want %s, got NOERROR%s", wantRcode, gotSuffix(r.Got)))
		case resp.Rcode == dns.RcodeRefused:
			r.fail(ReasonRefused, fmt.Sprintf("%s answered REFUSED: not authoritative for %s, or the client is not allowed", r.Server, e.Name))
		case resp.Rcode == dns.RcodeServerFailure:
			r.fail(ReasonServFail, fmt.Sprintf("%s answered SERVFAIL: did the zone load? (named-checkzone)", r.Server))
		case resp.Rcode == dns.RcodeNameError:
			r.fail(ReasonNXDomain, fmt.Sprintf("%s says %s does not exist (NXDOMAIN)", r.Server, e.Name))
		default:
			r.fail(ReasonRcode, fmt.Sprintf("want %s, got %s", wantRcode, rcode))
		}
		return
	}
	if wantRcode != "NOERROR" {
		r.Pass, r.Reason = true, ReasonOK
		return
	}
	switch {
	case len(r.Got) == 0 && len(e.Want) == 0:
		r.Pass, r.Reason = true, ReasonOK
	case len(r.Got) == 0:
		d := fmt.Sprintf("%s has no %s record (NOERROR, no data)", e.Name, e.Type)
		if len(r.Chain) > 0 {
			d += "; followed " + strings.Join(r.Chain, ", ")
		}
		r.fail(ReasonNoData, d)
	case len(e.Want) == 0:
		r.fail(ReasonWrongAnswer, "want no "+e.Type+" record (NODATA)"+gotSuffix(r.Got))
	default:
		missing, extra := diffSets(qtype, e.Want, r.Got)
		if len(missing) == 0 && len(extra) == 0 {
			r.Pass, r.Reason = true, ReasonOK
			return
		}
		d := fmt.Sprintf("want %s, got %s", strings.Join(e.Want, ", "), strings.Join(r.Got, ", "))
		if len(missing) > 0 {
			d += "; missing " + strings.Join(missing, ", ")
		}
		if len(extra) > 0 {
			d += "; unexpected " + strings.Join(extra, ", ")
		}
		r.fail(ReasonWrongAnswer, d)
	}
}

func gotSuffix(got []string) string {
	if len(got) == 0 {
		return ""
	}
	return " " + strings.Join(got, ", ")
}

// answerData picks the records that answer (qname, qtype) out of resp. For
// any type but CNAME it follows the CNAME chain from qname, so an A query
// for www gets the apex's A, not www's CNAME.
func answerData(resp *dns.Msg, qname string, qtype uint16) (got, chain []string) {
	owners := map[string]bool{qname: true}
	if qtype != dns.TypeCNAME {
		cnames := map[string]string{}
		for _, rr := range resp.Answer {
			if c, ok := rr.(*dns.CNAME); ok {
				cnames[canonicalName(c.Hdr.Name)] = canonicalName(c.Target)
			}
		}
		cur := qname
		for range maxChain {
			next, ok := cnames[cur]
			if !ok || owners[next] {
				break
			}
			chain = append(chain, cur+" CNAME "+next)
			owners[next] = true
			cur = next
		}
	}
	seen := map[string]bool{}
	for _, rr := range resp.Answer {
		h := rr.Header()
		if h.Rrtype != qtype || !owners[canonicalName(h.Name)] {
			continue
		}
		v := rdataValue(rr)
		if !seen[v] {
			seen[v] = true
			got = append(got, v)
		}
	}
	slices.Sort(got)
	return got, chain
}

// diffSets compares want and got as sets: missing wanted values, and got
// values no wanted value matches.
func diffSets(qtype uint16, want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return valueMatches(qtype, w, g) }) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w string) bool { return valueMatches(qtype, w, g) }) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}
