package dnscheckcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
)

func labZone(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../dnscheck/testdata/team30.zone")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	_, port, _ := net.SplitHostPort(srv.Addr)
	resolv := writeFile(t, "resolv.conf", "nameserver 127.0.0.1\n")
	elsewhere := writeFile(t, "resolv-elsewhere.conf", "nameserver 127.0.0.3\n")
	yamlOK := writeFile(t, "ok.yaml", "- {name: www.team30.com, type: CNAME, want: [team30.com.]}\n")
	yamlBad := writeFile(t, "bad.yaml", "- {name: www.team30.com, type: CNAME, want: [team30.com.]}\n- {name: team30.com, type: A, want: [fd00::3]}\n")
	jsonOK := `[{"name":"team30.com.","type":"A","want":["10.20.30.3"]}]`
	// No case waits for a server that never answers (127.0.0.3 refuses
	// at once), so the timeout only bounds a loaded machine's delay.
	base := []string{"--direct", "127.0.0.1", "--port", port, "--timeout", "5s", "--host", "client1"}

	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantCode  int
		outHas    string
		stderrHas string
	}{
		{name: "lab template passes", args: append([]string{"--resolv", resolv}, base...), wantCode: exitPass,
			outHas: "PASS: 1 hosts (0 failed), 60 checks: 60 passed, 0 failed"},
		{name: "JSON on stdin", args: append([]string{"--resolv", resolv, "--expect-json", "-", "--json"}, base...), stdin: jsonOK,
			wantCode: exitPass, outHas: `"pass": true`},
		{name: "YAML file", args: append([]string{"--resolv", resolv, "--expect", yamlOK}, base...), wantCode: exitPass,
			outHas: "www.team30.com. CNAME"},
		{name: "resolv.conf elsewhere fails", args: append([]string{"--resolv", elsewhere, "--expect-json", "-"}, base...), stdin: jsonOK,
			wantCode: exitFail, outHas: "FAIL resolv-elsewhere"},
		{name: "wrong team fails", args: append([]string{"--resolv", resolv, "--team", "31"}, base...), wantCode: exitFail,
			outHas: "FAIL refused"},
		{name: "bad YAML is a usage error with file:line", args: append([]string{"--expect", yamlBad}, base...), wantCode: exitUsage,
			stderrHas: "bad.yaml:2: invalid expectation: team30.com. A: \"fd00::3\" is not an IPv4 address"},
		{name: "bad JSON", args: append([]string{"--expect-json", "-"}, base...), stdin: "{", wantCode: exitUsage,
			stderrHas: "dnscheck: decode expectations"},
		{name: "both expect flags", args: []string{"--expect", yamlOK, "--expect-json", "-"}, wantCode: exitUsage,
			stderrHas: "not both"},
		{name: "bad direct", args: []string{"--direct", "dnsserver"}, wantCode: exitUsage, stderrHas: "--direct: server address"},
		{name: "bad subnet", args: []string{"--subnet", "10.20.30.0/16"}, wantCode: exitUsage, stderrHas: "must be an IPv4 /24"},
		{name: "bad port", args: []string{"--port", "70000"}, wantCode: exitUsage, stderrHas: "--port 70000"},
		{name: "stray argument", args: []string{"team30.com"}, wantCode: exitUsage, stderrHas: `unexpected argument "team30.com"`},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: exitUsage, stderrHas: "flag provided but not defined"},
		{name: "help", args: []string{"--help"}, wantCode: exitPass, stderrHas: "-expect-json FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.outHas) {
				t.Errorf("stdout lacks %q:\n%s", tt.outHas, out.String())
			}
			if !strings.Contains(errb.String(), tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, errb.String())
			}
			if tt.wantCode == exitUsage && strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 && !strings.Contains(tt.name, "flag") {
				t.Errorf("usage error is not one line:\n%s", errb.String())
			}
		})
	}
}

func TestRunJSONIsOneHostReport(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	_, port, _ := net.SplitHostPort(srv.Addr)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--resolv", writeFile(t, "r", "nameserver 127.0.0.1\n"),
		"--direct", "127.0.0.1", "--port", port, "--timeout", "5s", "--host", "client3", "--json"}, nil, &out, &errb)
	if code != exitPass {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Pass  bool `json:"pass"`
		Hosts []struct {
			Host    string            `json:"host"`
			Results []json.RawMessage `json:"results"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Pass || len(rep.Hosts) != 1 || rep.Hosts[0].Host != "client3" || len(rep.Hosts[0].Results) != 60 {
		t.Errorf("report = %+v", rep)
	}
}
