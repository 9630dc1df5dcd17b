package dnscheck

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// twoServers starts the lab's server on 127.0.0.1 and a second one on
// 127.0.0.2 on the same port, as a resolv.conf pointing elsewhere would
// reach.
func twoServers(t *testing.T) (labSrv, other *dnstest.Server, port uint16) {
	t.Helper()
	labSrv = dnstest.NewServer(t, labZone(t))
	_, p, _ := net.SplitHostPort(labSrv.Addr)
	n, _ := strconv.Atoi(p)
	other = dnstest.NewServerAt(t, "127.0.0.2:"+p, labZone(t))
	return labSrv, other, uint16(n)
}

func writeResolv(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckHost(t *testing.T) {
	exps := Expectations(topology.Default())
	tests := []struct {
		name         string
		resolv       string // file text; "" means no file
		otherMode    dnstest.Mode
		labMode      dnstest.Mode
		wantPass     bool
		wantFindings []string // "kind: detail fragment"; one finding holds them all
		wantResults  int
		wantReasons  map[Path]Reason // some result on the path fails, and every failure has this reason
	}{
		{name: "healthy", resolv: "nameserver 127.0.0.1\n", wantPass: true, wantResults: 2 * len(exps)},
		{name: "extra nameserver is a warning only", resolv: "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			wantPass: true, wantResults: 2 * len(exps),
			wantFindings: []string{"resolv-extra: also lists 127.0.0.2"}},
		{name: "pointing elsewhere to a good copy", resolv: "nameserver 127.0.0.2\n",
			wantResults:  2 * len(exps),
			wantFindings: []string{"resolv-elsewhere: points elsewhere: first nameserver is 127.0.0.2, want 127.0.0.1"}},
		{name: "pointing elsewhere to a liar", resolv: "nameserver 127.0.0.2\n", otherMode: dnstest.Lie,
			wantResults: 2 * len(exps),
			wantFindings: []string{"resolv-elsewhere: first nameserver is 127.0.0.2",
				"mismatch: team30.com. A: via resolv.conf (127.0.0.2:"},
			wantReasons: map[Path]Reason{PathResolv: ReasonWrongAnswer}},
		{name: "no nameserver", resolv: "search team30.com\n", wantResults: 2 * len(exps),
			wantFindings: []string{"resolv-elsewhere: has no nameserver line"}},
		{name: "no resolv.conf", resolv: "", wantResults: len(exps),
			wantFindings: []string{"resolv-unreadable: read resolv.conf"}},
		{name: "lab server dead", resolv: "nameserver 127.0.0.1\n", labMode: dnstest.Timeout,
			wantResults: 2 * len(exps),
			wantReasons: map[Path]Reason{PathResolv: ReasonTimeout, PathDirect: ReasonTimeout}},
		{name: "lab server refuses but the resolver is fine", resolv: "nameserver 127.0.0.2\n", labMode: dnstest.Refuse,
			wantResults:  2 * len(exps),
			wantFindings: []string{"resolv-elsewhere: points elsewhere", "mismatch: www.team30.com. CNAME: via resolv.conf (127.0.0.2:"},
			wantReasons:  map[Path]Reason{PathDirect: ReasonRefused}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labSrv, other, port := twoServers(t)
			labSrv.SetMode(tt.labMode)
			other.SetMode(tt.otherMode)
			path := filepath.Join(t.TempDir(), "resolv.conf")
			if tt.resolv != "" {
				path = writeResolv(t, tt.resolv)
			}
			// Only a dead server is meant to time out; every other case
			// waits for answers, which a loaded machine can delay.
			opts := patient
			if tt.labMode == dnstest.Timeout || tt.otherMode == dnstest.Timeout {
				opts = fast
			}
			rep := CheckHost(context.Background(), "client1", exps, "127.0.0.1", path, append(slices.Clone(opts), WithPort(port))...)
			if rep.Pass() != tt.wantPass {
				t.Errorf("pass = %v, want %v; findings %+v", rep.Pass(), tt.wantPass, rep.Findings)
			}
			if len(rep.Results) != tt.wantResults {
				t.Errorf("%d results, want %d", len(rep.Results), tt.wantResults)
			}
			var findings []string
			for _, f := range rep.Findings {
				findings = append(findings, string(f.Kind)+": "+f.Detail)
			}
			all := strings.Join(findings, "\n")
			for _, want := range tt.wantFindings {
				kind, frag, _ := strings.Cut(want, ": ")
				found := false
				for _, f := range rep.Findings {
					if string(f.Kind) == kind && strings.Contains(f.Detail, frag) {
						found = true
					}
				}
				if !found {
					t.Errorf("no finding %q in:\n%s", want, all)
				}
			}
			if len(tt.wantFindings) == 0 && len(rep.Findings) > 0 {
				t.Errorf("unexpected findings:\n%s", all)
			}
			failures := map[Path]int{}
			for _, r := range rep.Results {
				if r.Pass {
					continue
				}
				failures[r.Path]++
				want, failing := tt.wantReasons[r.Path]
				switch {
				case !failing:
					t.Errorf("%s %s: %s: %s, want a pass", r.Path, r.Expectation, r.Reason, r.Detail)
				case r.Reason != want:
					t.Errorf("%s %s: reason %q, want %q", r.Path, r.Expectation, r.Reason, want)
				}
			}
			for p := range tt.wantReasons {
				if failures[p] == 0 {
					t.Errorf("no %s result failed, want some to fail with %q", p, tt.wantReasons[p])
				}
			}
		})
	}
}

func TestCheckHostBadDirectAddress(t *testing.T) {
	rep := CheckHost(context.Background(), "client1", Expectations(topology.Default()), "dnsserver", writeResolv(t, "nameserver 127.0.0.1\n"))
	if rep.Pass() || len(rep.Findings) != 1 || rep.Findings[0].Kind != FindingRun || len(rep.Results) != 0 {
		t.Errorf("report = %+v, want one run finding and no queries", rep)
	}
}
