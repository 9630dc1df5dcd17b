package classreport_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// bigClass is a class of n submissions of 35 checks each (the built-in
// suite's size), one check in seven failed, one in fifty an error, every
// Q2 review awaiting a TA.
func bigClass(n int) []grading.Report {
	milestones := []scenarios.Milestone{scenarios.DNS, scenarios.M1, scenarios.M1, scenarios.M1, scenarios.M2, scenarios.M2, scenarios.M2,
		scenarios.M3, scenarios.M4, scenarios.M4}
	reports := make([]grading.Report, n)
	for i := range reports {
		var results []scenarios.Result
		for c := 0; c < 35; c++ {
			res := scenarios.Result{Scenario: fmt.Sprintf("check-%02d", c), Milestone: milestones[c%len(milestones)], Required: true,
				Requirement: "the server relays a client's line to every other client, and to no one else", MaxPoints: 2, Points: 2, Status: scenarios.Passed}
			switch {
			case c == 34:
				res.Milestone, res.Status, res.Points, res.MaxPoints, res.Required = scenarios.Q2, scenarios.NeedsTA, 0, 10, false
			case (i+c)%50 == 0:
				res.Status, res.Points = scenarios.Error, 0
				res.Failure = &scenarios.Failure{Expectation: "room on the machine", Got: "starved twice"}
			case (i*c)%7 == 3:
				res.Status, res.Points = scenarios.Failed, 0
				res.Failure = &scenarios.Failure{Expectation: "bob prints /hello/ within 10s", Got: "it printed nothing",
					Evidence: []scenarios.Evidence{{Proc: "bob", Host: "client2", Lines: []string{"[Server] Your username (bob) is valid.", "<<< hello"}}}}
			}
			results = append(results, res)
		}
		reports[i] = grading.NewReport(fmt.Sprintf("student-%03d", i), results, nil, time.Minute)
	}
	return reports
}

// BenchmarkWriteClassOf300 writes the class report of 300 submissions:
// the class page, 300 pages and grades.csv. It reports the class page's
// size.
func BenchmarkWriteClassOf300(b *testing.B) {
	reports := bigClass(300)
	dir := b.TempDir()
	for b.Loop() {
		if err := classreport.Write(dir, reports); err != nil {
			b.Fatal(err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, classreport.PageFile))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB-page")
}

// BenchmarkOpenClassOf300InABrowser opens the class page of 300
// submissions in headless Chromium, until its script has run, and sorts it
// by total once: what a TA waits for.
func BenchmarkOpenClassOf300InABrowser(b *testing.B) {
	dir := b.TempDir()
	if err := classreport.Write(dir, bigClass(300)); err != nil {
		b.Fatal(err)
	}
	br := newBrowser(b)
	url := "file://" + filepath.Join(dir, classreport.PageFile)
	for b.Loop() {
		if err := chromedp.Do(br.ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#controls")),
			chromedp.Click(chromedp.CSS("#sort-total"))); err != nil {
			b.Fatal(err)
		}
	}
}
