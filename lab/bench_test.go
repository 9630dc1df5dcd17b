package lab_test

import (
	"context"
	"slices"
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
//	go test ./lab -run '^$' -bench UpWarm -benchtime 5x

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

// BenchmarkUpVsComposeWarm times the two side by side: each iteration
// brings the lab up once through lab.Up and once through compose, in
// alternating order, each on an engine without the other's lab, so that a
// machine busy for a while slows both. It reports the median of each and
// the median of the per-iteration ratios (lab up / compose); the issue's
// target is a ratio of at most 1.0. Use an even count.
//
//	go test ./lab -run '^$' -bench UpVsCompose -benchtime 6x
func BenchmarkUpVsComposeWarm(b *testing.B) {
	d, refs := labcontainers.Engine(b)
	upTopo := testTopology(b, "bench-up", 30, "10.99.30.0/24")
	composeTopo := testTopology(b, "bench-compose", 30, "10.99.31.0/24")
	removeOnCleanup(b, d, upTopo.Name)
	removeOnCleanup(b, d, composeTopo.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	composeCommand(b)
	down := func(name string) {
		b.StopTimer()
		defer b.StartTimer()
		if _, err := lab.Down(ctx, d, name); err != nil {
			b.Fatal(err)
		}
	}
	// Each run starts with neither lab up and leaves none.
	viaUp := func() time.Duration {
		down(upTopo.Name)
		start := time.Now()
		if _, err := lab.Up(ctx, d, upTopo, lab.WithImages(refs.DNS, refs.Host)); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		down(upTopo.Name)
		return took
	}
	viaCompose := func() time.Duration {
		down(composeTopo.Name)
		start := time.Now()
		composeUp(b, composeTopo)
		waitDig(b, ctx, d, composeTopo)
		took := time.Since(start)
		down(composeTopo.Name)
		return took
	}
	var ups, composes, ratios []time.Duration
	for i := 0; i < b.N; i++ {
		var u, c time.Duration
		if i%2 == 0 {
			u, c = viaUp(), viaCompose()
		} else {
			c, u = viaCompose(), viaUp()
		}
		ups, composes = append(ups, u), append(composes, c)
		ratios = append(ratios, u*1000/c) // in thousandths
	}
	b.ReportMetric(float64(median(ups).Microseconds())/1000, "lab-up-ms")
	b.ReportMetric(float64(median(composes).Microseconds())/1000, "compose-ms")
	b.ReportMetric(float64(median(ratios))/1000, "ratio")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
