package dnscheck

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/ntnu-ttm4200/lab3/topology"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestExpectationsGolden(t *testing.T) {
	other, err := topology.New("other", 7, netip.MustParsePrefix("10.98.1.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		topo topology.Topology
	}{
		{"team30", topology.Default()},
		{"team7-10.98.1", other},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, e := range Expectations(tt.topo) {
				b.WriteString(e.String() + "\n")
			}
			golden := filepath.Join("testdata", "expectations-"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dnscheck -run Golden -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("Expectations(%s) differ from %s (-want +got):\n%s", tt.name, golden, lineDiff(string(want), got))
			}
		})
	}
}

func TestExpectationsAreValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Expectations(topology.Default()) {
		n, err := normalize(e)
		if err != nil {
			t.Errorf("%s: %v", e, err)
		}
		if n.Name != e.Name || strings.Join(n.Want, ",") != strings.Join(e.Want, ",") {
			t.Errorf("%s is not canonical: normalizes to %s", e, n)
		}
		key := e.Name + " " + e.Type
		if seen[key] {
			t.Errorf("%s asked twice", key)
		}
		seen[key] = true
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      Expectation
		want    Expectation
		wantErr string
	}{
		{name: "case, trailing dot and type case",
			in:   Expectation{Name: "WWW.Team30.COM", Type: "cname", Want: []string{"Team30.Com"}},
			want: Expectation{Name: "www.team30.com.", Type: "CNAME", Want: []string{"team30.com."}}},
		{name: "IPv6 is compressed",
			in:   Expectation{Name: "team30.com.", Type: "AAAA", Want: []string{"FD00:0:0:0:0:0:0:3"}},
			want: Expectation{Name: "team30.com.", Type: "AAAA", Want: []string{"fd00::3"}}},
		{name: "MX",
			in:   Expectation{Name: "team30.com", Type: "MX", Want: []string{"10   Mail.team30.com"}},
			want: Expectation{Name: "team30.com.", Type: "MX", Want: []string{"10 mail.team30.com."}}},
		{name: "SOA with wildcard",
			in:   Expectation{Name: "team30.com", Type: "SOA", Want: []string{"NS.team30.com admin.team30.com * 86400"}},
			want: Expectation{Name: "team30.com.", Type: "SOA", Want: []string{"ns.team30.com. admin.team30.com. * 86400"}}},
		{name: "SRV through the generic parser",
			in:   Expectation{Name: "_chat._tcp.team30.com", Type: "SRV", Want: []string{"0 5 5000 WWW.team30.com."}},
			want: Expectation{Name: "_chat._tcp.team30.com.", Type: "SRV", Want: []string{"0 5 5000 www.team30.com."}}},
		{name: "rcode upper-cased",
			in:   Expectation{Name: "nosuch.team30.com", Type: "A", Rcode: "nxdomain"},
			want: Expectation{Name: "nosuch.team30.com.", Type: "A", Rcode: "NXDOMAIN"}},
		{name: "empty name", in: Expectation{Type: "A", Want: []string{"10.20.30.3"}}, wantErr: "name is empty"},
		{name: "bad name", in: Expectation{Name: "team30..com", Type: "A"}, wantErr: "not a domain name"},
		{name: "unknown type", in: Expectation{Name: "team30.com", Type: "AA"}, wantErr: `unknown record type "AA"`},
		{name: "ANY refused", in: Expectation{Name: "team30.com", Type: "ANY"}, wantErr: "unknown record type"},
		{name: "IPv6 in A", in: Expectation{Name: "team30.com", Type: "A", Want: []string{"fd00::3"}}, wantErr: "not an IPv4 address"},
		{name: "IPv4 in AAAA", in: Expectation{Name: "team30.com", Type: "AAAA", Want: []string{"10.20.30.3"}}, wantErr: "not an IPv6 address"},
		{name: "not an address", in: Expectation{Name: "team30.com", Type: "A", Want: []string{"webserver"}}, wantErr: `"webserver" is not an IP address`},
		{name: "bad MX", in: Expectation{Name: "team30.com", Type: "MX", Want: []string{"mail.team30.com."}}, wantErr: "not valid MX record data"},
		{name: "short SOA", in: Expectation{Name: "team30.com", Type: "SOA", Want: []string{"ns.team30.com."}}, wantErr: "MNAME RNAME"},
		{name: "bad SOA number", in: Expectation{Name: "team30.com", Type: "SOA", Want: []string{"ns. admin. 1d"}}, wantErr: `"1d" is not a number`},
		{name: "empty value", in: Expectation{Name: "team30.com", Type: "A", Want: []string{" "}}, wantErr: "empty value"},
		{name: "unknown rcode", in: Expectation{Name: "team30.com", Type: "A", Rcode: "GONE"}, wantErr: `unknown rcode "GONE"`},
		{name: "rcode with records", in: Expectation{Name: "team30.com", Type: "A", Rcode: "NXDOMAIN", Want: []string{"10.20.30.3"}}, wantErr: "cannot come with records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, tt.want); g != w {
				t.Errorf("normalize:\n want %s\n got  %s", w, g)
			}
		})
	}
}

func TestAnswerDataAndComparison(t *testing.T) {
	msg := func(rrs ...string) *dns.Msg {
		m := new(dns.Msg)
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		return m
	}
	tests := []struct {
		name      string
		resp      *dns.Msg
		exp       Expectation
		wantGot   string
		wantChain string
		wantPass  bool
	}{
		{name: "A through CNAME compares the target's A",
			resp:    msg("www.team30.com. 60 IN CNAME team30.com.", "team30.com. 60 IN A 10.20.30.3"),
			exp:     Expectation{Name: "www.team30.com.", Type: "A", Want: []string{"10.20.30.3"}},
			wantGot: "10.20.30.3", wantChain: "www.team30.com. CNAME team30.com.", wantPass: true},
		{name: "CNAME question compares only the CNAME",
			resp:    msg("www.team30.com. 60 IN CNAME team30.com."),
			exp:     Expectation{Name: "www.team30.com.", Type: "CNAME", Want: []string{"team30.com."}},
			wantGot: "team30.com.", wantPass: true},
		{name: "case and order do not matter",
			resp:    msg("TEAM30.com. 60 IN NS NS2.Team30.com.", "team30.com. 60 IN NS ns.TEAM30.com."),
			exp:     Expectation{Name: "team30.com.", Type: "NS", Want: []string{"ns.team30.com.", "ns2.team30.com."}},
			wantGot: "ns.team30.com.,ns2.team30.com.", wantPass: true},
		{name: "an extra record fails",
			resp:    msg("team30.com. 60 IN A 10.20.30.3", "team30.com. 60 IN A 10.20.30.99"),
			exp:     Expectation{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}},
			wantGot: "10.20.30.3,10.20.30.99"},
		{name: "records of other owners are ignored",
			resp:    msg("mail.team30.com. 60 IN A 10.20.30.4"),
			exp:     Expectation{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}},
			wantGot: ""},
		{name: "SOA compares the given fields only",
			resp:    msg("team30.com. 60 IN SOA ns.team30.com. admin.team30.com. 7 86400 7200 2419200 10800"),
			exp:     Expectation{Name: "team30.com.", Type: "SOA", Want: []string{"ns.team30.com. admin.team30.com. * 86400"}},
			wantGot: "ns.team30.com. admin.team30.com. 7 86400 7200 2419200 10800", wantPass: true},
		{name: "SOA with the wrong contact fails",
			resp:    msg("team30.com. 60 IN SOA ns.team30.com. root.team30.com. 7 86400 7200 2419200 10800"),
			exp:     Expectation{Name: "team30.com.", Type: "SOA", Want: []string{"ns.team30.com. admin.team30.com."}},
			wantGot: "ns.team30.com. root.team30.com. 7 86400 7200 2419200 10800"},
		{name: "CNAME loop ends",
			resp:      msg("a.team30.com. 60 IN CNAME b.team30.com.", "b.team30.com. 60 IN CNAME a.team30.com."),
			exp:       Expectation{Name: "a.team30.com.", Type: "A", Want: []string{"10.20.30.3"}},
			wantChain: "a.team30.com. CNAME b.team30.com."},
		{name: "TXT compares the joined text",
			resp:    msg(`team30.com. 60 IN TXT "v=spf1" " -all"`),
			exp:     Expectation{Name: "team30.com.", Type: "TXT", Want: []string{"v=spf1 -all"}},
			wantGot: "v=spf1 -all", wantPass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := normalize(tt.exp)
			if err != nil {
				t.Fatal(err)
			}
			r := Result{Expectation: e, Server: "127.0.0.1:53"}
			r.classify(tt.resp, dns.StringToType[e.Type])
			if got := strings.Join(r.Got, ","); got != tt.wantGot {
				t.Errorf("got %q, want %q", got, tt.wantGot)
			}
			if chain := strings.Join(r.Chain, ","); chain != tt.wantChain {
				t.Errorf("chain %q, want %q", chain, tt.wantChain)
			}
			if r.Pass != tt.wantPass {
				t.Errorf("pass = %v, want %v (%s: %s)", r.Pass, tt.wantPass, r.Reason, r.Detail)
			}
		})
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	in := Result{Expectation: Expectation{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}},
		Path: PathDirect, Server: "10.20.30.2:53", Pass: true, Reason: ReasonOK, Rcode: "NOERROR",
		Got: []string{"10.20.30.3"}, RTT: 1234567}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rtt_ms":1.235`) {
		t.Errorf("json %s lacks rtt_ms 1.235", b)
	}
	var out Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	in.RTT = 1235000
	if mustJSON(t, out) != mustJSON(t, in) {
		t.Errorf("round trip:\n in  %s\n out %s", mustJSON(t, in), mustJSON(t, out))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineDiff shows lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	in := func(s string, list []string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	for _, l := range w {
		if !in(l, g) {
			b.WriteString("-" + l + "\n")
		}
	}
	for _, l := range g {
		if !in(l, w) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}
