package labcontainers_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/lab"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// BenchmarkRunVsUp measures, side by side and with the images built, the
// time from nothing to a lab that answers DNS: labcontainers.Run (until a
// dig from each client answers) and lab.Up, what `lab up` runs (until named
// answers inside the DNS server). Each iteration runs both, one after the
// other, so that both meet the same load on a shared machine; removing the
// labs is not timed. It reports the median of each (run-ms, up-ms):
//
//	TESTCONTAINERS_RYUK_DISABLED=true go test ./labcontainers -run '^$' -bench RunVsUp -benchtime 5x
func BenchmarkRunVsUp(b *testing.B) {
	d, refs := labcontainers.Engine(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	topo, err := topology.New("tc-bench-up", topology.DefaultTeam, netip.MustParsePrefix("10.96.250.0/24"), netip.Prefix{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = lab.Down(context.Background(), d, topo.Name) })

	var run, up []time.Duration
	for b.Loop() {
		began := time.Now()
		l, err := labcontainers.Run(ctx, labcontainers.WithName("tc-bench-run"),
			labcontainers.WithDocker(d), labcontainers.WithImages(refs.DNS, refs.Host))
		run = append(run, time.Since(began))
		b.StopTimer()
		if terr := l.Terminate(context.WithoutCancel(ctx)); terr != nil {
			b.Error(terr)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		began = time.Now()
		_, err = lab.Up(ctx, d, topo, lab.WithImages(refs.DNS, refs.Host))
		up = append(up, time.Since(began))
		b.StopTimer()
		if _, derr := lab.Down(context.WithoutCancel(ctx), d, topo.Name); derr != nil {
			b.Error(derr)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(run), "run-ms")
	b.ReportMetric(median(up), "up-ms")
	b.Logf("labcontainers.Run: %v", run)
	b.Logf("lab.Up:            %v", up)
}

// median is the middle run in milliseconds: the mean (ns/op) is easily
// skewed by one slow run on a shared machine.
func median(took []time.Duration) float64 {
	if len(took) == 0 {
		return 0
	}
	s := slices.Clone(took)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m.Microseconds()) / 1000
}
