package grading

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TestGradeEmitsEvents grades two submissions on their files only (no lab,
// so no Docker) and checks the events a progress display relies on: each
// submission starts announcing its number of checks, each check starts
// and is done once, and each submission is done last with its report,
// after that report is in the results folder.
func TestGradeEmitsEvents(t *testing.T) {
	results := t.TempDir()
	var subs []scenarios.Submission
	for _, name := range []string{"alice", "bob"} {
		data := sampleCaptures(t)
		if name == "alice" {
			data[scenarios.AnswersFile] = scenarios.File{Data: []byte(rightAnswers)}
		}
		subs = append(subs, scenarios.Submission{Name: name, Team: 30, Files: map[string]scenarios.File{}, Data: data})
	}
	checks := scenarios.FileChecks()
	var (
		mu     sync.Mutex
		events = map[string][]string{} // per submission, in order
		inHook bool
	)
	hook := func(e Event) {
		mu.Lock()
		if inHook {
			t.Error("the hook was called concurrently")
		}
		inHook = true
		mu.Unlock()
		var sub, line string
		switch e := e.(type) {
		case SubmissionStarted:
			sub, line = e.Submission, fmt.Sprintf("started %d", e.Scenarios)
		case ScenarioStarted:
			sub, line = e.Submission, "begin "+e.Scenario
		case ScenarioDone:
			sub, line = e.Submission, fmt.Sprintf("done %s %s %d/%d", e.Scenario, e.Status, e.Points, e.Max)
			if e.Took <= 0 {
				t.Errorf("%s %s: Took = %v, want the check's duration", e.Submission, e.Scenario, e.Took)
			}
		case SubmissionDone:
			sub, line = e.Report.Submission, fmt.Sprintf("report %d/%d", e.Report.Score, e.Report.MaxScore)
			if _, err := os.Stat(filepath.Join(results, scenarios.SafeName(sub), "report.txt")); err != nil {
				t.Errorf("%s is done but its report is not in the results folder: %v", sub, err)
			}
		default:
			t.Errorf("unknown event %T", e)
		}
		mu.Lock()
		events[sub] = append(events[sub], line)
		inHook = false
		mu.Unlock()
	}
	reports, err := Grade(context.Background(), nil, subs, WithScenarios([]scenarios.Scenario{}), WithFileChecks(checks),
		WithResultsDir(results), WithParallel(2), WithEvents(hook))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		got := events[r.Submission]
		want := []string{fmt.Sprintf("started %d", len(checks))}
		for _, c := range checks {
			want = append(want, "begin "+c.Name)
		}
		for _, res := range r.Results {
			want = append(want, fmt.Sprintf("done %s %s %d/%d", res.Scenario, res.Status, res.Points, res.MaxPoints))
		}
		want = append(want, fmt.Sprintf("report %d/%d", r.Score, r.MaxScore))
		if !slices.Equal(got, want) {
			t.Errorf("submission %d (%s): events\n%s\nwant\n%s", i, r.Submission, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// sampleCaptures reads the traffic package's sample captures of a lab
// session (client1 -> webserver 10.20.30.3:5000, SYN 1000000000).
func sampleCaptures(t *testing.T) map[string]scenarios.File {
	t.Helper()
	out := map[string]scenarios.File{}
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "traffic", "testdata", "sample", n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = scenarios.File{Mode: 0o644, Data: b}
	}
	return out
}

// rightAnswers are the right answers to Milestone 3's questions about the
// sample captures.
const rightAnswers = `SYN_sequence_number: 1000000000
SYNACK_sequence_number: 2000000000
SYNACK_ACKnowledgement_number: 1000000001
number_of_fields_in_UDP_header: 4
length_of_header_field: 2
maximum_number_of_bytes_in_UDP_payload: 65507
largest_possible_source_port_number: 65535
protocol_number_for_UDP: 17
`
