package dnscheck

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleReport is a lab where client1 is healthy and client2's resolv.conf
// points at a server that lies about the apex.
func sampleReport() Report {
	res := func(path Path, server, name, typ, want, got string, pass bool, reason Reason, detail string, rtt time.Duration) Result {
		r := Result{Expectation: Expectation{Name: name, Type: typ, Want: []string{want}}, Path: path, Server: server,
			Pass: pass, Reason: reason, Detail: detail, Rcode: "NOERROR", RTT: rtt}
		if got != "" {
			r.Got = []string{got}
		}
		return r
	}
	lab := netip.MustParseAddr("10.20.30.2")
	other := netip.MustParseAddr("10.20.30.66")
	return Report{Lab: "lab3", Domain: "team30.com", Server: "10.20.30.2", Elapsed: 412 * time.Millisecond, Hosts: []HostReport{
		{Host: "client1", Direct: "10.20.30.2:53", Resolv: ResolvConf{Path: "/etc/resolv.conf", Nameservers: []netip.Addr{lab}},
			Results: []Result{
				res(PathResolv, "10.20.30.2:53", "team30.com.", "A", "10.20.30.3", "10.20.30.3", true, ReasonOK, "", 812*time.Microsecond),
				res(PathDirect, "10.20.30.2:53", "team30.com.", "A", "10.20.30.3", "10.20.30.3", true, ReasonOK, "", 640*time.Microsecond),
			}},
		{Host: "client2", Direct: "10.20.30.2:53", Resolv: ResolvConf{Path: "/etc/resolv.conf", Nameservers: []netip.Addr{other}},
			Results: []Result{
				res(PathResolv, "10.20.30.66:53", "team30.com.", "A", "10.20.30.3", "192.0.2.66", false, ReasonWrongAnswer,
					"want 10.20.30.3, got 192.0.2.66; missing 10.20.30.3; unexpected 192.0.2.66", 1210*time.Microsecond),
				res(PathDirect, "10.20.30.2:53", "team30.com.", "A", "10.20.30.3", "10.20.30.3", true, ReasonOK, "", 700*time.Microsecond),
			},
			Findings: []Finding{
				{Kind: FindingResolvElsewhere, Detail: "/etc/resolv.conf points elsewhere: first nameserver is 10.20.30.66, want 10.20.30.2 (the lab's DNS server)"},
				{Kind: FindingMismatch, Detail: "team30.com. A: via resolv.conf (10.20.30.66:53) 192.0.2.66, direct (10.20.30.2:53) 10.20.30.3"},
			}},
	}}
}

func TestWriteTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.txt.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("WriteText (-want +got):\n%s", lineDiff(string(want), b.String()))
	}
}

// TestProblems: the failed results and the findings that are not
// warnings, each as WriteText prints it, after its host's name; nothing of
// a passing host.
func TestProblems(t *testing.T) {
	rep := sampleReport()
	rep.Hosts[1].Findings = append(rep.Hosts[1].Findings, Finding{Kind: FindingResolvExtra, Detail: "a second nameserver", Warning: true})
	want := []string{
		"client2: FAIL resolv team30.com. A via 10.20.30.66:53: wrong-answer: want 10.20.30.3, got 192.0.2.66; missing 10.20.30.3; unexpected 192.0.2.66",
		"client2: FAIL resolv-elsewhere: /etc/resolv.conf points elsewhere: first nameserver is 10.20.30.66, want 10.20.30.2 (the lab's DNS server)",
		"client2: FAIL mismatch: team30.com. A: via resolv.conf (10.20.30.66:53) 192.0.2.66, direct (10.20.30.2:53) 10.20.30.3",
	}
	got := rep.Problems()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, p := range want {
		if !strings.Contains(text.String(), "  "+strings.TrimPrefix(p, "client2: ")+"\n") {
			t.Errorf("WriteText does not print %q as its own line", p)
		}
	}
	rep.Hosts = rep.Hosts[:1]
	if got := rep.Problems(); len(got) != 0 {
		t.Errorf("a passing report: Problems = %q", got)
	}
	if got := (Report{Hosts: []HostReport{{Host: "client3"}}}).Problems(); strings.Join(got, "|") != "client3: FAIL: no check ran" {
		t.Errorf("a host with nothing checked: Problems = %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pass    bool    `json:"pass"`
		Elapsed float64 `json:"elapsed_ms"`
		Domain  string  `json:"domain"`
		Hosts   []HostReport
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in:\n%s", err, b.String())
	}
	if got.Pass || got.Elapsed != 412 || got.Domain != "team30.com" || len(got.Hosts) != 2 {
		t.Errorf("decoded %+v", got)
	}
	if !got.Hosts[0].Pass() || got.Hosts[1].Pass() {
		t.Errorf("host verdicts lost in JSON: %v %v", got.Hosts[0].Pass(), got.Hosts[1].Pass())
	}
	if r := got.Hosts[1].Results[0]; r.Reason != ReasonWrongAnswer || r.RTT != 1210*time.Microsecond || r.Got[0] != "192.0.2.66" {
		t.Errorf("result round trip: %+v", r)
	}
	if !strings.Contains(b.String(), `"rtt_ms": 1.21`) {
		t.Errorf("JSON lacks rtt_ms:\n%s", b.String())
	}
}

func TestReportPass(t *testing.T) {
	ok := Result{Pass: true, Reason: ReasonOK}
	tests := []struct {
		name string
		rep  Report
		want bool
	}{
		{"no hosts", Report{}, false},
		{"a host without results", Report{Hosts: []HostReport{{Host: "client1"}}}, false},
		{"all pass", Report{Hosts: []HostReport{{Results: []Result{ok}}}}, true},
		{"a warning does not fail", Report{Hosts: []HostReport{{Results: []Result{ok}, Findings: []Finding{{Kind: FindingResolvExtra, Warning: true}}}}}, true},
		{"a finding fails", Report{Hosts: []HostReport{{Results: []Result{ok}, Findings: []Finding{{Kind: FindingMismatch}}}}}, false},
		{"a result fails", Report{Hosts: []HostReport{{Results: []Result{ok, {Reason: ReasonTimeout}}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rep.Pass(); got != tt.want {
				t.Errorf("Pass() = %v, want %v", got, tt.want)
			}
		})
	}
}
