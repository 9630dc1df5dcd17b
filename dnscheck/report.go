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
				fmt.Fprintf(&b, "  FAIL %s %s %s via %s: %s: %s\n", res.Path, res.Expectation.Name, res.Expectation.Type, res.Server, res.Reason, res.Detail)
			}
		}
		for _, f := range h.Findings {
			level := "FAIL"
			if f.Warning {
				level = "WARN"
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", level, f.Kind, f.Detail)
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
