package grading

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func sampleReport() Report {
	results := []scenarios.Result{
		{Scenario: "dns-resolve", Milestone: scenarios.DNS, Requirement: "clients resolve the team domain", Required: true,
			Points: 1, MaxPoints: 1, Status: scenarios.Passed, Duration: 300 * time.Millisecond},
		{Scenario: "m1-broadcast", Milestone: scenarios.M1, Requirement: `"broadcast those messages to the other connected clients"`, Required: true,
			MaxPoints: 3, Status: scenarios.Failed, Duration: 6200 * time.Millisecond,
			Failure: &scenarios.Failure{File: "scenarios/m1-broadcast.yaml", Line: 13, Step: scenarios.StepAbsent,
				Expectation: "alice on client1 does not print /hello from alice/ within 1s",
				Got:         `it printed "hello from alice"`,
				Evidence: []scenarios.Evidence{
					{Proc: "server", Host: "webserver", Lines: []string{"### server on webserver: python3 chatroom_server.py", "Broadcast message from client: alice (IP: 10.20.30.11) says: hello from alice"}},
					{Proc: "alice", Host: "client1", Lines: []string{"<<< hello from alice", "[Server] alice (IP: 10.20.30.11) says: hello from alice & <more>"}},
				}},
			Transcripts: []scenarios.Transcript{
				{Proc: "server", Host: "webserver", Command: "python3 chatroom_server.py", Text: "### server on webserver: python3 chatroom_server.py\nstarted\n"},
				{Proc: "alice", Host: "client1", Command: "python3 chatroom_client.py", Text: "### alice on client1: python3 chatroom_client.py\n<<< alice\n"},
				{Proc: "alice2", Host: "client1", Command: "python3 chatroom_client.py", Text: "### alice2 on client1: python3 chatroom_client.py\n<<< bob"},
			}},
		{Scenario: "m2-p2p", Milestone: scenarios.M2, Requirement: "P2P over UDP", Required: true,
			MaxPoints: 3, Status: scenarios.Error, Duration: 2 * time.Second,
			Failure: &scenarios.Failure{File: "scenarios/m2-p2p.yaml", Line: 9, Step: scenarios.StepStart,
				Expectation: `start "server" on webserver`, Got: "exec: container not running"}},
		{Scenario: "robust-silent-client", Milestone: scenarios.M1, Requirement: "a silent client does not block others", Required: false,
			Status: scenarios.Failed, Duration: 5 * time.Second,
			Failure: &scenarios.Failure{File: "scenarios/robust-silent-client.yaml", Line: 12, Step: scenarios.StepJoin,
				Expectation: "alice on client1 prints /Type your username/ within 5s", Got: "it did not within 5s"}},
	}
	return NewReport("team07", results, nil, 13500*time.Millisecond)
}

// sampleVisibilities hides one check of sampleReport until the due date.
var sampleVisibilities = Visibilities{"robust-silent-client": scenarios.AfterDueDate}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, marked - (want) and + (got).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}

func TestReportTotals(t *testing.T) {
	r := sampleReport()
	// The ERROR check (3 points) is not graded: it counts neither way.
	if r.Score != 1 || r.MaxScore != 4 || r.Passed || !r.Incomplete {
		t.Errorf("score %d/%d passed %v incomplete %v, want 1/4 false true", r.Score, r.MaxScore, r.Passed, r.Incomplete)
	}
	ok := NewReport("x", []scenarios.Result{r.Results[0], r.Results[3]}, nil, 0)
	if !ok.Passed {
		t.Error("a failed optional check failed the report")
	}
}

func TestWriters(t *testing.T) {
	r := sampleReport()
	tests := []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"table.txt", func(b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"gradescope.json", func(b *bytes.Buffer) error { return r.WriteGradescope(b, WithVisibilities(sampleVisibilities)) }},
		{"summary.md", func(b *bytes.Buffer) error {
			return WriteMarkdown(b, []Report{r, NewReport("broken-lab", nil, os.ErrDeadlineExceeded, time.Second)})
		}},
		{"junit.xml", func(b *bytes.Buffer) error {
			return WriteJUnit(b, []Report{r, NewReport("broken-lab", nil, os.ErrDeadlineExceeded, time.Second)})
		}},
		{"report.json", func(b *bytes.Buffer) error { return WriteJSON(b, []Report{r}) }},
		{"summary.csv", func(b *bytes.Buffer) error { return WriteSummaryCSV(b, []Report{r, NewReport("t2", nil, nil, 0)}) }},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, b.Bytes())
		})
	}
}

func TestGradescopeAndJUnitAreWellFormed(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.WriteGradescope(&b); err != nil {
		t.Fatal(err)
	}
	var g struct {
		Score int `json:"score"`
		Tests []struct {
			Name, Status, Output, Visibility string
			Score                            int
			MaxScore                         int `json:"max_score"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(b.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if g.Score != 1 || len(g.Tests) != 4 || g.Tests[1].Status != "failed" || g.Tests[1].MaxScore != 3 || g.Tests[0].Visibility != "visible" {
		t.Errorf("gradescope = %+v", g)
	}
	b.Reset()
	if err := WriteJUnit(&b, []Report{r}); err != nil {
		t.Fatal(err)
	}
	var j junitSuites
	if err := xml.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Tests != 4 || j.Failures != 1 || j.Errors != 1 {
		t.Errorf("junit tests=%d failures=%d errors=%d, want 4 1 1", j.Tests, j.Failures, j.Errors)
	}
}

func TestWriteTranscripts(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTranscripts(dir, sampleReport()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "team07", "m1-broadcast", "client1.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := "### alice on client1: python3 chatroom_client.py\n<<< alice\n### alice2 on client1: python3 chatroom_client.py\n<<< bob\n"
	if string(got) != want {
		t.Errorf("client1.log:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range []string{"m1-broadcast/webserver.log", "report.txt", "report.json"} {
		if _, err := os.Stat(filepath.Join(dir, "team07", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestMergeReport: a run's checks replace an earlier report's, the rest
// stay, and the totals are the merged checks'; a refused submission, or
// another submission's report, is not merged.
func TestMergeReport(t *testing.T) {
	then := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := then.Add(24 * time.Hour)
	res := func(name string, st scenarios.Status, points int, at time.Time) scenarios.Result {
		return scenarios.Result{Scenario: name, Status: st, Points: points, MaxPoints: 2, Required: true, GradedAt: at}
	}
	old := NewReport("anna", []scenarios.Result{
		res("dns-resolve", scenarios.Passed, 2, then), res("m1-broadcast", scenarios.Failed, 0, then), res("m2-p2p-udp", scenarios.Passed, 2, then)}, nil, time.Minute)
	old.GradedAt = then
	cur := NewReport("anna", []scenarios.Result{res("m1-broadcast", scenarios.Passed, 2, now), res("m4-register", scenarios.Error, 0, now)}, nil, time.Second)
	cur.GradedAt, cur.Version, cur.Digest = now, "v2", "sha256:x"

	m := MergeReport(old, cur)
	var got []string
	for _, r := range m.Results {
		got = append(got, fmt.Sprintf("%s %s %s", r.Scenario, r.Status, r.GradedAt.Format("02")))
	}
	want := []string{"dns-resolve passed 01", "m1-broadcast passed 02", "m2-p2p-udp passed 01", "m4-register error 02"}
	if !slices.Equal(got, want) {
		t.Errorf("merged checks %q, want %q", got, want)
	}
	if m.Score != 6 || m.MaxScore != 6 || m.Passed || !m.Incomplete || m.Version != "v2" || !m.GradedAt.Equal(now) || m.Digest != "sha256:x" {
		t.Errorf("merged totals %d/%d passed %v incomplete %v, %q %s %q; want 6/6, not passed (an ERROR), incomplete, this run's stamp",
			m.Score, m.MaxScore, m.Passed, m.Incomplete, m.Version, m.GradedAt, m.Digest)
	}
	refused := RefusedReport("anna", errors.New("a link"))
	if m := MergeReport(old, refused); len(m.Results) != 0 || m.Error != refused.Error {
		t.Errorf("a refused submission kept the earlier checks: %+v", m)
	}
	bob := cur
	bob.Submission = "bob"
	if m := MergeReport(old, bob); len(m.Results) != 2 {
		t.Errorf("another submission's report was merged: %+v", m)
	}
}

// TestReportFilesAreText: what a submission controls (its name, its
// output, its evidence, its notes) reaches report.txt, the transcripts,
// summary.csv and the Markdown summary as text: no escape sequence, no
// control character a terminal acts on, no spreadsheet formula.
func TestReportFilesAreText(t *testing.T) {
	const nasty = "\x1b]52;c;aGFja2Vk\x07\x1b[2J\x1b[1;1H41/41 passed\r\x08"
	name := "=HYPERLINK(\"x\")" + nasty
	res := scenarios.Result{Scenario: "m1-broadcast", Milestone: scenarios.M1, Status: scenarios.Failed, MaxPoints: 2, Required: true,
		Notes: []string{"note " + nasty},
		Failure: &scenarios.Failure{Expectation: "bob sees hello", Got: "it printed " + nasty,
			Evidence: []scenarios.Evidence{{Proc: "client" + nasty, Host: "client1", Lines: []string{"line " + nasty}}}},
		Transcripts: []scenarios.Transcript{{Proc: "server", Host: "webserver", Text: "### server on webserver\nout " + nasty + "\n"}}}
	r := NewReport(name, []scenarios.Result{res}, nil, time.Second)
	r.Error = "lab setup failed " + nasty
	dir := t.TempDir()
	if err := WriteTranscripts(dir, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummaries(dir, []Report{r}); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, []Report{r}); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"summary.md": md.String(), "the table": table.String()}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".json") {
			b, _ := os.ReadFile(path)
			files[path] = string(b)
		}
		return nil
	})
	for file, text := range files {
		if i := strings.IndexFunc(text, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }); i >= 0 {
			t.Errorf("%s holds control character %q: %q", file, text[i], text[max(0, i-20):min(len(text), i+20)])
		}
		if !strings.Contains(text, "41/41 passed") && file != filepath.Join(dir, "summary.csv") {
			t.Errorf("%s lost the text around the escapes:\n%s", file, text)
		}
	}
	if csv := files[filepath.Join(dir, "summary.csv")]; !strings.Contains(csv, "'=HYPERLINK") || strings.Contains(csv, "\n=") || strings.Contains(csv, "\n\"=") {
		t.Errorf("summary.csv starts a cell with a formula:\n%s", csv)
	}
}
