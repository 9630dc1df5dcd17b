package dnscheck

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a whole check: one HostReport per client.
type Report struct {
	// Lab is the lab name, Domain the team's zone, Server the lab DNS
	// server's address.
	Lab    string `json:"lab,omitempty"`
	Domain string `json:"domain,omitempty"`
	Server string `json:"server,omitempty"`
	// Hosts are in topology order.
	Hosts []HostReport `json:"hosts"`
	// Elapsed is how long the whole check took.
	Elapsed time.Duration `json:"-"`
}

// Pass reports whether every host passed; it is what the exit code says.
func (r Report) Pass() bool {
	if len(r.Hosts) == 0 {
		return false
	}
	for _, h := range r.Hosts {
		if !h.Pass() {
			return false
		}
	}
	return true
}

// WriteJSON writes the report as indented JSON, with elapsed_ms.
func WriteJSON(w io.Writer, r Report) error {
	type plain Report
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		Pass bool `json:"pass"`
		plain
		ElapsedMillis float64 `json:"elapsed_ms"`
	}{r.Pass(), plain(r), float64(r.Elapsed.Microseconds()) / 1000})
	if err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// WriteText writes a table per host (path, query, want, got, RTT, result),
// then the host's findings, then a one-line summary.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	passedAll, failedAll, failedHosts := 0, 0, 0
	for i, h := range r.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		verdict := "PASS"
		if !h.Pass() {
			verdict = "FAIL"
			failedHosts++
		}
		fmt.Fprintf(&b, "== %s: %s (resolv.conf %s, lab DNS server %s)\n", h.Host, verdict, resolvSummary(h.Resolv), h.Direct)
		if len(h.Results) > 0 {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PATH\tQUERY\tWANT\tGOT\tRTT\tRESULT")
			for _, res := range h.Results {
				fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n",
					res.Path, res.Expectation.Name, res.Expectation.Type,
					clip(res.Expectation.WantString()), clip(gotString(res)), rttString(res), resultString(res))
			}
			tw.Flush()
		}
		for _, res := range h.Results {
			if !res.Pass {
				fmt.Fprintf(&b, "  %s\n", res.problem())
			}
		}
		for _, f := range h.Findings {
			fmt.Fprintf(&b, "  %s\n", f.line())
		}
		p, f := h.Counts()
		passedAll += p
		failedAll += f
	}
	verdict := "PASS"
	if !r.Pass() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\n%s: %d hosts (%d failed), %d checks: %d passed, %d failed", verdict, len(r.Hosts), failedHosts, passedAll+failedAll, passedAll, failedAll)
	if r.Elapsed > 0 {
		fmt.Fprintf(&b, ", in %s", r.Elapsed.Round(time.Millisecond))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Problems says what failed, one line each, host by host: every failed
// result and every finding that is not a warning, as WriteText prints them
// below the host's table, after the host's name, e.g. "client2: FAIL
// resolv team30.com. A via 10.20.30.3:53: timeout: no answer". A host that
// failed without either (no check ran there) gets one line saying so. It
// is empty when the report passes.
func (r Report) Problems() []string {
	var out []string
	for _, h := range r.Hosts {
		if h.Pass() {
			continue
		}
		n := len(out)
		for _, res := range h.Results {
			if !res.Pass {
				out = append(out, h.Host+": "+res.problem())
			}
		}
		for _, f := range h.Findings {
			if !f.Warning {
				out = append(out, h.Host+": "+f.line())
			}
		}
		if len(out) == n {
			out = append(out, h.Host+": FAIL: no check ran")
		}
	}
	if len(r.Hosts) == 0 {
		out = append(out, "FAIL: no host was checked")
	}
	return out
}

// problem is a failed result's line: "FAIL PATH NAME TYPE via SERVER:
// REASON: DETAIL".
func (r Result) problem() string {
	return fmt.Sprintf("FAIL %s %s %s via %s: %s: %s", r.Path, r.Expectation.Name, r.Expectation.Type, r.Server, r.Reason, r.Detail)
}

// line is a finding's line: "FAIL KIND: DETAIL", or WARN for a warning.
func (f Finding) line() string {
	level := "FAIL"
	if f.Warning {
		level = "WARN"
	}
	return fmt.Sprintf("%s %s: %s", level, f.Kind, f.Detail)
}

func resolvSummary(rc ResolvConf) string {
	if len(rc.Nameservers) == 0 {
		return "has no nameserver"
	}
	var s []string
	for _, a := range rc.Nameservers {
		s = append(s, a.String())
	}
	return "→ " + strings.Join(s, ", ")
}

func gotString(r Result) string {
	switch {
	case len(r.Got) > 0:
		return strings.Join(r.Got, ", ")
	case r.Rcode == "":
		return "-"
	case r.Rcode == "NOERROR":
		return "NODATA"
	default:
		return r.Rcode
	}
}

func rttString(r Result) string {
	if r.RTT <= 0 || r.Rcode == "" {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(r.RTT.Microseconds())/1000)
}

func resultString(r Result) string {
	if r.Pass {
		return "pass"
	}
	return "FAIL " + string(r.Reason)
}

// clip keeps table cells readable; the failure lines below the table carry
// the full values.
func clip(s string) string {
	const max = 48
	if len([]rune(s)) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
