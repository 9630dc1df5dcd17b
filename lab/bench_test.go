package lab_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
)

// The warm-up benchmarks measure, with the images already built, the time
// from nothing to a DNS server that answers for the team's domain: once
// through lab.Up and once through `compose up -d` on the same images plus
// the same readiness poll. Removing the lab between runs is not timed.
//
//	go test ./lab -run '^$' -bench Warm -benchtime 5x

func BenchmarkUpWarm(b *testing.B) {
	d, refs := labcontainers.Engine(b)
	topo := testTopology(b, "bench-up", 30, "10.99.30.0/24")
	removeOnCleanup(b, d, topo.Name)
	ctx := context.Background()
	phases := map[string]time.Duration{}
	var order []string
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := lab.Down(ctx, d, topo.Name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range st.Timings {
			if _, seen := phases[p.Name]; !seen {
				order = append(order, p.Name)
			}
			phases[p.Name] += p.Duration
		}
	}
	for _, name := range order {
		b.ReportMetric(float64(phases[name].Microseconds())/1000/float64(b.N), name+"-ms/op")
	}
}

func BenchmarkComposeUpWarm(b *testing.B) {
	d, _ := labcontainers.Engine(b)
	topo := testTopology(b, "bench-compose", 30, "10.99.31.0/24")
	removeOnCleanup(b, d, topo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	composeCommand(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := lab.Down(ctx, d, topo.Name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		composeUp(b, topo)
		waitDig(b, ctx, d, topo)
	}
}
