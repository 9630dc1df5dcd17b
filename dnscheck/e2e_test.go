package dnscheck_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	. "github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/provision"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// The end-to-end tests bring their labs up with labcontainers.NewLab, which
// skips without a Docker engine unless CI is set (CI has one, so there it
// fails), and removes each lab when its test ends, passed or failed. They
// are package dnscheck_test: labcontainers provisions through package
// provision, which imports dnscheck.

func reportText(rep Report) string {
	var b strings.Builder
	_ = WriteText(&b, rep)
	return b.String()
}

// runLab checks with the lab's patience (provision.Check: 3 s, two
// retries) instead of the checker's default 1 s and one retry: on a loaded
// CI machine the lab's named can take over a second to answer, and every
// case here expects answers from it. Queries that are meant to go
// unanswered (client2's resolv.conf pointing at the web server) still time
// out, only later.
func runLab(t *testing.T, d runtime.Engine, topo topology.Topology, bin []byte) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := provision.Check(ctx, d, topo, bin)
	if err != nil {
		t.Fatalf("RunLab: %v", err)
	}
	t.Logf("lab dnscheck took %s:\n%s", rep.Elapsed.Round(time.Millisecond), reportText(rep))
	return rep
}

// TestE2ELab runs dnscheck in a real lab: fresh, then with a client's
// resolv.conf changed, then with the DNS server stopped.
func TestE2ELab(t *testing.T) {
	l := labcontainers.NewLab(t, labcontainers.WithName("tc-dnscheck-e2e"))
	d, topo := l.Docker(), l.Topology
	bin := E2EBinary(t)
	ctx := context.Background()

	t.Run("fresh lab passes", func(t *testing.T) {
		rep := runLab(t, d, topo, bin)
		if !rep.Pass() {
			t.Fatal("a fresh lab fails the check")
		}
		for _, h := range rep.Hosts {
			if got, want := len(h.Results), 2*len(Expectations(topo)); got != want {
				t.Errorf("%s: %d results, want %d", h.Host, got, want)
			}
			if len(h.Resolv.Nameservers) != 1 || h.Resolv.Nameservers[0] != topo.DNSServer().IPv4 {
				t.Errorf("%s: resolv.conf %v, want exactly the lab's DNS server", h.Host, h.Resolv.Nameservers)
			}
		}
	})

	t.Run("resolv.conf pointing elsewhere", func(t *testing.T) {
		write := func(server netip.Addr) {
			res, err := d.Lab(topo.Name).Exec(ctx, "client2", []string{"sh", "-c", "printf 'nameserver %s\\n' " + server.String() + " > /etc/resolv.conf"}, nil)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("rewrite resolv.conf in client2: %v %s", err, res.Stderr)
			}
		}
		// The web server runs no DNS server: the resolver's questions go
		// nowhere.
		write(topo.WebServer().IPv4)
		t.Cleanup(func() { write(topo.DNSServer().IPv4) })
		rep := runLab(t, d, topo, bin)
		if rep.Pass() {
			t.Fatal("the check passes with client2's resolv.conf pointing at the web server")
		}
		for _, h := range rep.Hosts {
			if h.Host != "client2" {
				if !h.Pass() {
					t.Errorf("%s fails too", h.Host)
				}
				continue
			}
			if !slices.ContainsFunc(h.Findings, func(f Finding) bool {
				return f.Kind == FindingResolvElsewhere && strings.Contains(f.Detail, "points elsewhere: first nameserver is "+topo.WebServer().IPv4.String())
			}) {
				t.Errorf("client2: no resolv-elsewhere finding in %+v", h.Findings)
			}
			// The web server's kernel answers "port unreachable", but
			// rate-limits those ICMP messages: of many questions at once,
			// some are refused and the rest time out.
			refused := 0
			for _, r := range h.Results {
				if r.Path == PathDirect && !r.Pass {
					t.Errorf("client2 direct %s: %s: %s", r.Expectation, r.Reason, r.Detail)
				}
				if r.Path == PathResolv && r.Reason != ReasonConnRefused && r.Reason != ReasonTimeout {
					t.Errorf("client2 resolv %s: reason %q, want connection-refused or timeout", r.Expectation, r.Reason)
				}
				if r.Reason == ReasonConnRefused {
					refused++
				}
			}
			if refused == 0 {
				t.Error("client2: no resolv result says connection-refused, though nothing listens on the web server's port 53")
			}
		}
	})

	t.Run("DNS server stopped", func(t *testing.T) {
		if err := d.Lab(topo.Name).Stop(ctx, "dnsserver"); err != nil {
			t.Fatalf("stop the DNS server: %v", err)
		}
		// Named in one line, at once, instead of a timeout per query.
		began := time.Now()
		_, err := RunLab(ctx, d, topo, bin)
		var down *runtime.DownError
		if !errors.As(err, &down) || len(down.Hosts) != 1 || down.Hosts[0].Host != "dnsserver" {
			t.Fatalf("err = %v, want a *runtime.DownError naming dnsserver", err)
		}
		if want := "dnsserver is stopped (exited (0)): start it with: lab up --name " + topo.Name; down.Hosts[0].String() != want {
			t.Errorf("got %q, want %q", down.Hosts[0], want)
		}
		// No query is sent (the DownError above says so): the time is
		// Docker listing the lab's containers, which a loaded machine can
		// stretch to seconds.
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("took %s to say the DNS server is stopped", took)
		}
	})
}

// TestE2EBrokenZone serves a student's zone that loads but is wrong: the
// apex points at the wrong host and www is missing.
func TestE2EBrokenZone(t *testing.T) {
	labcontainers.Engine(t)
	bin := E2EBinary(t)
	topo, err := topology.New("tc-dnscheck-e2e-zone", 30, netip.MustParsePrefix("10.98.2.0/24"), netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := topology.Zones(topo)
	if err != nil {
		t.Fatal(err)
	}
	fwd, _ := topo.Records()
	var kept []dns.RR
	moved, dropped := 0, 0
	for _, rr := range fwd.Records {
		switch r := rr.(type) {
		case *dns.A:
			if r.Hdr.Name == fwd.Origin {
				wrong := dns.Copy(r).(*dns.A)
				wrong.A = net.ParseIP("10.98.2.99")
				rr = wrong
				moved++
			}
		case *dns.CNAME:
			dropped++
			continue
		}
		kept = append(kept, rr)
	}
	if moved != 1 || dropped != 1 {
		t.Fatalf("the generated zone changed shape (%d apex A, %d CNAME); cannot break it as planned:\n%s", moved, dropped, fwd.File())
	}
	fwd.Records = kept
	files[fwd.FileName()] = fwd.File()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := labcontainers.NewLab(t, labcontainers.WithName(topo.Name), labcontainers.WithSubnet(topo.Subnet4), labcontainers.WithZoneDir(dir))
	rep := runLab(t, l.Docker(), l.Topology, bin)
	if rep.Pass() {
		t.Fatal("a wrong zone passes the check")
	}
	want := map[string]Reason{
		"team30.com. A":         ReasonWrongAnswer,
		"www.team30.com. CNAME": ReasonNXDomain,
		"www.team30.com. A":     ReasonNXDomain,
		"www.team30.com. AAAA":  ReasonNXDomain,
	}
	for _, h := range rep.Hosts {
		for _, r := range h.Results {
			key := r.Expectation.Name + " " + r.Expectation.Type
			wantReason, broken := want[key]
			switch {
			case broken && r.Reason != wantReason:
				t.Errorf("%s %s %s: reason %q, want %q", h.Host, r.Path, key, r.Reason, wantReason)
			case broken && wantReason == ReasonWrongAnswer && !strings.Contains(r.Detail, "want 10.98.2.3, got 10.98.2.99"):
				t.Errorf("%s %s %s: detail %q lacks want and got", h.Host, r.Path, key, r.Detail)
			case !broken && !r.Pass:
				t.Errorf("%s %s %s: %s: %s, want a pass", h.Host, r.Path, key, r.Reason, r.Detail)
			}
		}
	}
}

// BenchmarkRunLab measures `lab dnscheck` on a real lab: copying the binary
// into the three clients and checking every expectation both ways, on a
// healthy lab and with the DNS server stopped (default timeouts: 1 s, one
// retry).
func BenchmarkRunLab(b *testing.B) {
	l := labcontainers.NewLab(b, labcontainers.WithName("tc-dnscheck-bench"))
	d, topo := l.Docker(), l.Topology
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := E2EBinary(b)
	run := func(b *testing.B, wantPass bool) {
		for b.Loop() {
			rep, err := RunLab(ctx, d, topo, bin)
			if err != nil || rep.Pass() != wantPass {
				b.Fatalf("RunLab: pass %v, err %v, want pass %v", rep.Pass(), err, wantPass)
			}
		}
	}
	b.Run("healthy", func(b *testing.B) { run(b, true) })
	if err := d.Lab(topo.Name).Stop(ctx, "dnsserver"); err != nil {
		b.Fatal(err)
	}
	b.Run("dns-stopped", func(b *testing.B) { run(b, false) })
}
