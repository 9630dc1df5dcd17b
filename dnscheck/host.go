package dnscheck

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Path is the way a question reaches the server.
type Path string

// The two paths every expectation takes from a client.
const (
	// PathResolv: to the first nameserver of the client's resolv.conf, as
	// the students' programs resolve names.
	PathResolv Path = "resolv"
	// PathDirect: straight to the lab's DNS server's address.
	PathDirect Path = "direct"
)

// FindingKind names a problem with a host that is not one query's answer.
type FindingKind string

// The host-level findings.
const (
	// FindingResolvElsewhere: resolv.conf does not send the client's
	// questions to the lab's DNS server first.
	FindingResolvElsewhere FindingKind = "resolv-elsewhere"
	// FindingResolvUnreadable: resolv.conf is missing or unreadable.
	FindingResolvUnreadable FindingKind = "resolv-unreadable"
	// FindingResolvExtra: resolv.conf lists further servers after the lab's;
	// the stub resolver falls back to them when the lab's fails, which can
	// hide a broken server. It is a warning and does not fail the check.
	FindingResolvExtra FindingKind = "resolv-extra"
	// FindingMismatch: the two paths got different answers to a question.
	FindingMismatch FindingKind = "mismatch"
	// FindingRun: the check could not run on the host at all.
	FindingRun FindingKind = "run"
)

// Finding is a problem with a host as a whole, or between its two paths.
type Finding struct {
	Kind   FindingKind `json:"kind"`
	Detail string      `json:"detail"`
	// Warning findings are reported but do not fail the check.
	Warning bool `json:"warning,omitempty"`
}

// HostReport is the check of one host: every expectation through both
// paths, and the findings.
type HostReport struct {
	// Host is the topology host name, e.g. "client1".
	Host string `json:"host"`
	// Direct is the lab DNS server's address as asked.
	Direct string `json:"direct"`
	// Resolv is what the host's resolv.conf says.
	Resolv   ResolvConf `json:"resolv"`
	Results  []Result   `json:"results"`
	Findings []Finding  `json:"findings,omitempty"`
}

// Pass reports whether every result passed and no finding but warnings
// was made.
func (h HostReport) Pass() bool {
	for _, f := range h.Findings {
		if !f.Warning {
			return false
		}
	}
	for _, r := range h.Results {
		if !r.Pass {
			return false
		}
	}
	return len(h.Results) > 0
}

// Counts returns how many results passed and failed.
func (h HostReport) Counts() (passed, failed int) {
	for _, r := range h.Results {
		if r.Pass {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// CheckHost checks exps twice from where it runs: through the first
// nameserver in the resolv.conf at resolvPath and directly at direct, the lab
// DNS server's address. It reports a resolv.conf that points elsewhere and
// every question the two paths answered differently. When resolv.conf cannot
// be read, that is a finding and only the direct path is checked.
func CheckHost(ctx context.Context, host string, exps []Expectation, direct, resolvPath string, opts ...Option) HostReport {
	rc, rcErr := ReadResolvConf(resolvPath)
	rep := HostReport{Host: host, Direct: direct, Resolv: rc}
	directAddr, err := serverAddr(direct, newConfig(opts).port)
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: FindingRun, Detail: err.Error()})
		return rep
	}
	rep.Direct = directAddr
	directIP := netip.MustParseAddrPort(directAddr).Addr()

	var resolvRes, directRes []Result
	var wg sync.WaitGroup
	if rcErr == nil {
		rep.Findings = append(rep.Findings, resolvFindings(rc, directIP)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resolvRes = Check(ctx, rc.Primary().String(), exps, opts...)
		}()
	} else {
		rep.Findings = append(rep.Findings, Finding{Kind: FindingResolvUnreadable,
			Detail: fmt.Sprintf("%v: the client cannot resolve names", rcErr)})
	}
	directRes = Check(ctx, directAddr, exps, opts...)
	wg.Wait()

	for i := range directRes {
		directRes[i].Path = PathDirect
		if resolvRes == nil {
			rep.Results = append(rep.Results, directRes[i])
			continue
		}
		resolvRes[i].Path = PathResolv
		rep.Results = append(rep.Results, resolvRes[i], directRes[i])
		if d := pathDifference(resolvRes[i], directRes[i]); d != "" {
			rep.Findings = append(rep.Findings, Finding{Kind: FindingMismatch, Detail: d})
		}
	}
	return rep
}

// resolvFindings says what is wrong with rc for a lab whose server is
// direct.
func resolvFindings(rc ResolvConf, direct netip.Addr) []Finding {
	var out []Finding
	for _, bad := range rc.Invalid {
		out = append(out, Finding{Kind: FindingResolvElsewhere, Warning: true,
			Detail: fmt.Sprintf("%s: ignored nameserver line %s (not an IP address)", rc.Path, bad)})
	}
	switch {
	case len(rc.Nameservers) == 0:
		out = append(out, Finding{Kind: FindingResolvElsewhere,
			Detail: fmt.Sprintf("%s has no nameserver line (the resolver falls back to 127.0.0.1): want \"nameserver %s\"", rc.Path, direct)})
	case rc.Nameservers[0] != direct:
		out = append(out, Finding{Kind: FindingResolvElsewhere,
			Detail: fmt.Sprintf("%s points elsewhere: first nameserver is %s, want %s (the lab's DNS server)", rc.Path, rc.Nameservers[0], direct)})
	}
	if len(rc.Nameservers) > 1 {
		var extra []string
		for _, a := range rc.Nameservers[1:] {
			extra = append(extra, a.String())
		}
		out = append(out, Finding{Kind: FindingResolvExtra, Warning: true,
			Detail: fmt.Sprintf("%s also lists %s: the resolver falls back to them when %s fails", rc.Path, strings.Join(extra, ", "), rc.Nameservers[0])})
	}
	return out
}

// pathDifference describes how two answers to one question differ, or is
// empty when they agree.
func pathDifference(a, b Result) string {
	// A path that got no answer at all already fails with its own reason;
	// a mismatch is two servers answering differently.
	if a.Rcode == "" || b.Rcode == "" || a.Rcode == b.Rcode && slices.Equal(a.Got, b.Got) {
		return ""
	}
	return fmt.Sprintf("%s %s: via resolv.conf (%s) %s, direct (%s) %s",
		a.Expectation.Name, a.Expectation.Type, a.Server, outcome(a), b.Server, outcome(b))
}

// outcome is a short description of what a query got.
func outcome(r Result) string {
	switch {
	case len(r.Got) > 0:
		return strings.Join(r.Got, ", ")
	case r.Rcode == "NOERROR":
		return "NODATA"
	default:
		return r.Rcode
	}
}
