package topology

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestZonesMatchGolden pins the generated zones of a non-default lab, so any
// change to the template is a visible diff in testdata/zones.
func TestZonesMatchGolden(t *testing.T) {
	topo := mustTopo(t, "golden", 7, "10.99.7.0/24")
	zones, err := Zones(topo)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "zones", "team7")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, b := range zones {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range []string{"named.conf.zones", "db.team7.com", "db.7.99.10.in-addr.arpa"} {
		t.Run(n, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatalf("golden file: %v (create with: go test ./topology -run Golden -update)", err)
			}
			if got := zones[n]; !bytes.Equal(got, want) {
				t.Errorf("(-want +got)\n%s", lineDiff(string(want), string(got)))
			}
		})
	}
	if len(zones) != 3 {
		t.Errorf("Zones made %v, want exactly the three golden files", keysOf(zones))
	}
}

// TestZonesHoldTheTemplate checks the records the handout's students query,
// written out by hand, against the zone files parsed back: independent of
// Records and of the files' formatting.
func TestZonesHoldTheTemplate(t *testing.T) {
	zones, err := Zones(Default())
	if err != nil {
		t.Fatal(err)
	}
	fwd := parseZone(t, "team30.com.", zones["db.team30.com"])
	rev := parseZone(t, "30.20.10.in-addr.arpa.", zones["db.30.20.10.in-addr.arpa"])
	tests := []struct {
		zone   []dns.RR
		record string
	}{
		{fwd, "team30.com. 3600 IN SOA ns.team30.com. admin.team30.com. 1 1d 2h 4w 3h"},
		{fwd, "team30.com. 3600 IN NS ns.team30.com."},
		{fwd, "ns.team30.com. 3600 IN A 10.20.30.2"},
		{fwd, "ns.team30.com. 3600 IN AAAA fd00::2"},
		{fwd, "team30.com. 3600 IN A 10.20.30.3"},
		{fwd, "team30.com. 3600 IN AAAA fd00::3"},
		{fwd, "www.team30.com. 3600 IN CNAME team30.com."},
		{fwd, "team30.com. 3600 IN MX 10 mail.team30.com."},
		{fwd, "mail.team30.com. 3600 IN A 10.20.30.4"},
		{fwd, "mail.team30.com. 3600 IN AAAA fd00::4"},
		{fwd, "dnsserver.team30.com. 3600 IN A 10.20.30.2"},
		{fwd, "webserver.team30.com. 3600 IN A 10.20.30.3"},
		{fwd, "client2.team30.com. 3600 IN A 10.20.30.12"},
		{fwd, "client3.team30.com. 3600 IN AAAA fd00::13"},
		{rev, "30.20.10.in-addr.arpa. 3600 IN SOA ns.team30.com. admin.team30.com. 1 1d 2h 4w 3h"},
		{rev, "30.20.10.in-addr.arpa. 3600 IN NS ns.team30.com."},
		{rev, "2.30.20.10.in-addr.arpa. 3600 IN PTR ns.team30.com."},
		{rev, "3.30.20.10.in-addr.arpa. 3600 IN PTR www.team30.com."},
		{rev, "4.30.20.10.in-addr.arpa. 3600 IN PTR mail.team30.com."},
		{rev, "11.30.20.10.in-addr.arpa. 3600 IN PTR client1.team30.com."},
		{rev, "13.30.20.10.in-addr.arpa. 3600 IN PTR client3.team30.com."},
	}
	for _, tc := range tests {
		want, err := dns.NewRR(tc.record)
		if err != nil {
			t.Fatalf("%s: %v", tc.record, err)
		}
		found := false
		for _, rr := range tc.zone {
			if rr.String() == want.String() {
				found = true
			}
		}
		if !found {
			t.Errorf("zone lacks %s", want)
		}
	}
	if len(fwd) != 20 || len(rev) != 8 {
		t.Errorf("forward zone has %d records, reverse %d; want 20 and 8", len(fwd), len(rev))
	}
	ptrs := map[string][]string{}
	for _, rr := range rev {
		if p, ok := rr.(*dns.PTR); ok {
			ptrs[p.Hdr.Name] = append(ptrs[p.Hdr.Name], p.Ptr)
		}
	}
	for name, want := range map[string]string{"2.30.20.10.in-addr.arpa.": "ns.team30.com.", "3.30.20.10.in-addr.arpa.": "www.team30.com."} {
		if got := ptrs[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s PTR %v, want only %s: the template's ns/www win over dnsserver/webserver", name, got, want)
		}
	}
}

// parseZone reads a zone file back with miekg/dns.
func parseZone(t testing.TB, origin string, b []byte) []dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(bytes.NewReader(b), origin, "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parse zone %s: %v", origin, err)
	}
	return rrs
}

// namedCheckzone is BIND's zone checker, or "" when the host lacks it
// (Debian package bind9-utils).
func namedCheckzone() string {
	if p, err := exec.LookPath("named-checkzone"); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/sbin/named-checkzone"); err == nil {
		return p
	}
	return ""
}

// TestZonesPassNamedCheckzone runs BIND's own checker on the generated
// zones, when the host has it, with every check it can make turned into a
// failure.
func TestZonesPassNamedCheckzone(t *testing.T) {
	checker := namedCheckzone()
	if checker == "" {
		t.Skip("named-checkzone is not installed on this host (apt-get install bind9-utils); the e2e test checks the zones inside the DNS server instead")
	}
	for _, topo := range []Topology{Default(), mustTopo(t, "x", 4321, "10.99.8.0/24")} {
		zones, err := Zones(topo)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for n, b := range zones {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, z := range []string{topo.Domain(), topo.ReverseZone()} {
			args := []string{"-k", "fail", "-m", "fail", "-M", "fail", "-n", "fail", "-S", "fail", "-i", "full", z, filepath.Join(dir, "db."+z)}
			out, err := exec.Command(checker, args...).CombinedOutput()
			if err != nil {
				t.Errorf("named-checkzone %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(string(out), "loaded serial 1") {
				t.Errorf("named-checkzone %s did not load the zone:\n%s", z, out)
			}
		}
	}
}

func TestZonesFromDir(t *testing.T) {
	zoneA := "$TTL 1h\n@ IN SOA ns.team5.com. admin.team5.com. 1 1d 2h 4w 3h\n@ IN NS ns.team5.com.\n"
	tests := []struct {
		name      string
		files     map[string]string
		wantConf  []string // substrings of the resulting named.conf.zones
		wantFiles []string
		wantErr   string
	}{
		{
			name:      "zone statements derived from db.<zone> and <zone>.zone",
			files:     map[string]string{"db.team5.com": zoneA, "5.20.10.in-addr.arpa.zone": zoneA, "db.local": "x", "README": "notes"},
			wantConf:  []string{`zone "5.20.10.in-addr.arpa" {`, `file "/etc/bind/lab/5.20.10.in-addr.arpa.zone";`, `zone "team5.com" {`, `file "/etc/bind/lab/db.team5.com";`},
			wantFiles: []string{"5.20.10.in-addr.arpa.zone", "README", "db.local", "db.team5.com", "named.conf.zones"},
		},
		{
			name: "student's named.conf.zones has its paths rewritten",
			files: map[string]string{
				"named.conf.zones": "zone \"team5.com\" {\n  type master;\n  file \"/etc/bind/zones/db.team5.com\";\n};\n",
				"db.team5.com":     zoneA,
			},
			wantConf:  []string{`file "/etc/bind/lab/db.team5.com";`, `type master;`},
			wantFiles: []string{"db.team5.com", "named.conf.zones"},
		},
		{
			name:    "named.conf.zones naming a missing file",
			files:   map[string]string{"named.conf.zones": "zone \"team5.com\" { type master; file \"db.team5\"; };\n"},
			wantErr: "names zone file(s) db.team5 that are not in the directory",
		},
		{
			name:    "named.conf.zones without zones",
			files:   map[string]string{"named.conf.zones": "// nothing\n"},
			wantErr: "declares no zone",
		},
		{
			name:    "no zone files at all",
			files:   map[string]string{"notes.txt": "hello", "db.local": "x"},
			wantErr: "no named.conf.zones and no zone files named db.<zone> or <zone>.zone",
		},
		{
			name:    "two files for one zone",
			files:   map[string]string{"db.team5.com": zoneA, "team5.com.zone": zoneA},
			wantErr: "both db.team5.com and team5.com.zone declare zone team5.com",
		},
		{
			name:    "unsafe file name",
			files:   map[string]string{"db.team5.com": zoneA, "evil\";name": "x"},
			wantErr: "has characters named cannot be given safely",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ZonesFromDir(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrZoneDir) {
					t.Fatalf("err = %v, want ErrZoneDir containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(keysOf(got), " ") != strings.Join(tc.wantFiles, " ") {
				t.Errorf("files = %v, want %v", keysOf(got), tc.wantFiles)
			}
			for _, s := range tc.wantConf {
				if !strings.Contains(string(got[ZonesConf]), s) {
					t.Errorf("named.conf.zones lacks %q:\n%s", s, got[ZonesConf])
				}
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		_, err := ZonesFromDir(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, ErrZoneDir) || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
			t.Errorf("err = %v", err)
		}
	})
}
