package dnscheck

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// BenchmarkCheck is one full check of the lab template (30 questions,
// concurrently) against the in-process server.
func BenchmarkCheck(b *testing.B) {
	srv := dnstest.NewServer(b, labZone(b))
	exps := Expectations(topology.Default())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range Check(ctx, srv.Addr, exps) {
			if !r.Pass {
				b.Fatalf("%s: %s", r.Expectation, r.Detail)
			}
		}
	}
	b.ReportMetric(float64(len(exps)), "queries/op")
}

// BenchmarkCheckHost is what one client does: the template through
// resolv.conf and directly, 60 questions.
func BenchmarkCheckHost(b *testing.B) {
	srv := dnstest.NewServer(b, labZone(b))
	_, p, _ := net.SplitHostPort(srv.Addr)
	port, _ := strconv.Atoi(p)
	resolv := b.TempDir() + "/resolv.conf"
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	exps := Expectations(topology.Default())
	ctx := context.Background()
	for b.Loop() {
		if rep := CheckHost(ctx, "client1", exps, "127.0.0.1", resolv, WithPort(uint16(port))); !rep.Pass() {
			b.Fatalf("host check failed: %+v", rep.Findings)
		}
	}
	b.ReportMetric(float64(2*len(exps)), "queries/op")
}

// BenchmarkCheckDeadServer measures how long a check of a server that never
// answers takes with the defaults (1 s timeout, one retry): the bound on
// "lab dnscheck" against a dead lab.
func BenchmarkCheckDeadServer(b *testing.B) {
	srv := dnstest.NewServer(b, labZone(b))
	srv.SetMode(dnstest.Timeout)
	exps := Expectations(topology.Default())
	for b.Loop() {
		Check(context.Background(), srv.Addr, exps)
	}
}
