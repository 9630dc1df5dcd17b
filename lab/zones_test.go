package lab

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
				t.Fatalf("golden file: %v (create with: go test ./lab -run Golden -update)", err)
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
// independently of the golden files' formatting.
func TestZonesHoldTheTemplate(t *testing.T) {
	zones, err := Zones(Default())
	if err != nil {
		t.Fatal(err)
	}
	fwd, rev := string(zones["db.team30.com"]), string(zones["db.30.20.10.in-addr.arpa"])
	tests := []struct {
		name, zone, record string
	}{
		{"soa", fwd, "@\tIN\tSOA\tns.team30.com. admin.team30.com. ("},
		{"ttl", fwd, "$TTL 1h"},
		{"ns", fwd, "@\tIN\tNS\tns.team30.com."},
		{"ns A", fwd, "ns\tIN\tA\t10.20.30.2"},
		{"ns AAAA", fwd, "ns\tIN\tAAAA\tfd00::2"},
		{"apex A", fwd, "@\tIN\tA\t10.20.30.3"},
		{"apex AAAA", fwd, "@\tIN\tAAAA\tfd00::3"},
		{"www", fwd, "www\tIN\tCNAME\tteam30.com."},
		{"mx", fwd, "@\tIN\tMX\t10 mail.team30.com."},
		{"mail A", fwd, "mail\tIN\tA\t10.20.30.4"},
		{"mail AAAA", fwd, "mail\tIN\tAAAA\tfd00::4"},
		{"client2 A", fwd, "client2\tIN\tA\t10.20.30.12"},
		{"client3 AAAA", fwd, "client3\tIN\tAAAA\tfd00::13"},
		{"webserver A", fwd, "webserver\tIN\tA\t10.20.30.3"},
		{"ptr 2", rev, "\n2\tIN\tPTR\tns.team30.com.\n"},
		{"ptr 3", rev, "\n3\tIN\tPTR\twww.team30.com.\n"},
		{"ptr 4", rev, "\n4\tIN\tPTR\tmail.team30.com.\n"},
		{"ptr 11", rev, "\n11\tIN\tPTR\tclient1.team30.com.\n"},
		{"ptr 13", rev, "\n13\tIN\tPTR\tclient3.team30.com.\n"},
		{"refresh", rev, "1d\t; refresh"},
		{"expire", rev, "4w\t; expire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.zone, tc.record) {
				t.Errorf("zone lacks %q", tc.record)
			}
		})
	}
	if n := strings.Count(rev, "\n2\tIN\tPTR"); n != 1 {
		t.Errorf(".2 has %d PTRs, want exactly one (ns)", n)
	}
	if strings.Contains(rev, "dnsserver") || strings.Contains(rev, "webserver") {
		t.Errorf("reverse zone names dnsserver/webserver; the template's ns/www must win:\n%s", rev)
	}
}

// TestZonesPassNamedCheckzone runs BIND's own checker on the generated
// zones, when the host has it (Debian package bind9-utils).
func TestZonesPassNamedCheckzone(t *testing.T) {
	checker, err := exec.LookPath("named-checkzone")
	if err != nil {
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
			out, err := exec.Command(checker, z, filepath.Join(dir, "db."+z)).CombinedOutput()
			if err != nil {
				t.Errorf("named-checkzone %s: %v\n%s", z, err, out)
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
