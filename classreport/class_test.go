package classreport_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// The hostile submission's name and what it prints: markup, a terminal's
// clipboard write (OSC 52), a screen clear and a line break.
const (
	hostileName  = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>\x1b]52;c;aGFja2Vk\x07\x1b[2J\nsecond line"
	hostileShown = `<script>alert(1)</script>"><img src=x onerror=alert(1)> second line`
	hostileLine  = "\x1b[31m<script>alert(2)</script>\x1b[0m \"><img src=x onerror=alert(3)> \x1b]0;pwned\x07done"
	hostileText  = `<script>alert(2)</script> "><img src=x onerror=alert(3)> done`
	formulaName  = `=HYPERLINK("http://evil.example/","click")`
)

// The class's checks: one of each milestone, an optional one, and the
// Delivery Q2 review that a TA grades.
var (
	dnsCheck    = check{"dns-resolve", scenarios.DNS, 1, true, "the team domain resolves in every client"}
	broadcast   = check{"m1-broadcast", scenarios.M1, 2, true, `"broadcast those messages to the other connected clients"`}
	silent      = check{"robust-silent-client", scenarios.M1, 0, false, "a silent client does not block the server"}
	p2p         = check{"m2-p2p-udp", scenarios.M2, 3, true, "a direct message goes over UDP, peer to peer"}
	task32      = check{"m3-task-3.2", scenarios.M3, 3, true, "Task 3.2: the SYN's and SYNACK's sequence numbers"}
	review      = check{"q2-report-review", scenarios.Q2, 10, false, "Delivery Q2: the report explains the flow of the application"}
	classChecks = []check{dnsCheck, broadcast, silent, p2p, task32, review}
)

type check struct {
	name        string
	milestone   scenarios.Milestone
	points      int
	required    bool
	requirement string
}

// result is a check's result with status st and, unless it passed, a
// failure.
func (c check) result(st scenarios.Status) scenarios.Result {
	res := scenarios.Result{Scenario: c.name, Milestone: c.milestone, Requirement: c.requirement, Required: c.required,
		MaxPoints: c.points, Status: st, Duration: time.Second}
	switch st {
	case scenarios.Passed:
		res.Points = c.points
	case scenarios.Failed, scenarios.Error:
		res.Failure = &scenarios.Failure{File: "scenarios/" + c.name + ".yaml", Line: 12, Step: "expect",
			Expectation: "bob on client2 prints /hello/ within 10s", Got: "it printed nothing"}
	}
	return res
}

// wantStates is the state each submission's page and row must show for
// each check, in the words the pages use.
var wantStates = map[string]map[string]string{
	"anna": {"dns-resolve": "passed", "m1-broadcast": "passed", "robust-silent-client": "passed", "m2-p2p-udp": "passed",
		"m3-task-3.2": "passed", "q2-report-review": "needs a TA"},
	"bob": {"dns-resolve": "passed", "m1-broadcast": "passed", "robust-silent-client": "failed (optional)", "m2-p2p-udp": "failed",
		"m3-task-3.2": "failed", "q2-report-review": "needs a TA"},
	"chen": {"dns-resolve": "passed", "m1-broadcast": "error", "robust-silent-client": "passed", "m2-p2p-udp": "passed",
		"m3-task-3.2": "passed", "q2-report-review": "needs a TA"},
	"dave": {"dns-resolve": "not run", "m1-broadcast": "not run", "robust-silent-client": "not run", "m2-p2p-udp": "not run",
		"m3-task-3.2": "passed", "q2-report-review": "needs a TA"},
	"eve": {"dns-resolve": "not run", "m1-broadcast": "not run", "robust-silent-client": "not run", "m2-p2p-udp": "not run",
		"m3-task-3.2": "not run", "q2-report-review": "not run"},
	hostileShown: {"dns-resolve": "passed", "m1-broadcast": "failed", "robust-silent-client": "passed", "m2-p2p-udp": "passed",
		"m3-task-3.2": "passed", "q2-report-review": "needs a TA"},
	formulaName: {"dns-resolve": "passed", "m1-broadcast": "passed", "robust-silent-client": "passed", "m2-p2p-udp": "passed",
		"m3-task-3.2": "passed", "q2-report-review": "needs a TA"},
}

// gradedClass writes a graded class into a results folder as lab grade
// leaves it (report.json, report.txt and the transcripts of each
// submission, grading.WriteTranscripts; review sheets; captures) and
// returns the folder and the reports:
//   - anna passed everything, m1-broadcast on a second run;
//   - bob failed m2-p2p-udp (with evidence, a transcript of 100 KiB with
//     colours) and m3-task-3.2, and the optional robust-silent-client;
//   - chen's m1-broadcast starved twice: an error, incomplete;
//   - dave's lab never came up: only the file checks;
//   - eve was refused;
//   - a hostile submission whose name, output and files are markup and
//     terminal sequences, and one whose name is a spreadsheet formula.
func gradedClass(t testing.TB) (string, []grading.Report) {
	t.Helper()
	dir := t.TempDir()
	all := func(edit func(c check, res *scenarios.Result)) []scenarios.Result {
		var out []scenarios.Result
		for _, c := range classChecks {
			res := c.result(scenarios.Passed)
			if c == review {
				res = c.result(scenarios.NeedsTA)
			}
			if edit != nil {
				edit(c, &res)
			}
			out = append(out, res)
		}
		return out
	}
	withReview := func(sub string, results []scenarios.Result) {
		t.Helper()
		folder := filepath.Join(dir, scenarios.SafeName(sub))
		mustWrite(t, filepath.Join(folder, scenarios.ReviewSheet), "<!DOCTYPE html><title>review</title>")
		for i := range results {
			if results[i].Scenario == review.name {
				results[i].Review = filepath.Join(folder, scenarios.ReviewSheet)
			}
		}
	}

	anna := all(func(c check, res *scenarios.Result) {
		if c == broadcast {
			res.Rerun = "run twice: the first run ran out of time (bob on client2 prints /hello/ within 10s: it printed nothing); it passed the second run, which counts"
			res.Notes = []string{res.Rerun}
		}
		if c == p2p {
			res.Captures = filepath.Join(dir, "anna", "m2-p2p-udp", grading.CaptureDir)
			res.Transcripts = []scenarios.Transcript{{Proc: "server", Host: "webserver", Text: "### server on webserver: python3 chatroom_p2p_server.py\nlistening\n"}}
		}
	})
	for _, f := range []string{"chatserver.pcap", "client1.pcap"} {
		mustWrite(t, filepath.Join(dir, "anna", "m2-p2p-udp", grading.CaptureDir, f), "\xd4\xc3\xb2\xa1pcap")
	}
	withReview("anna", anna)

	bigLog := "### bob on client2: python3 chatroom_p2p_client.py\n"
	for len(bigLog) < 100<<10 {
		bigLog += "\r[INFO: line 42] \x1b[32mwaiting for input\x1b[0m\n"
	}
	bigLog += "LAST LINE of bob\n"
	bob := all(func(c check, res *scenarios.Result) {
		switch c {
		case p2p:
			*res = c.result(scenarios.Failed)
			res.Failure.TimedOut = true
			res.Failure.Evidence = []scenarios.Evidence{{Proc: "bob", Host: "client2", Lines: []string{"[Server] Your username (bob) is valid.", "<<< @alice: hi"}}}
			res.Transcripts = []scenarios.Transcript{{Proc: "bob", Host: "client2", Text: bigLog}, {Proc: "server", Host: "webserver", Text: "### server\nup\n"}}
		case task32:
			*res = c.result(scenarios.Failed)
			res.Failure.Expectation = "SYN sequence number 1000000000"
			res.Failure.Got = "answered 1"
		case silent:
			*res = c.result(scenarios.Failed)
		}
	})
	withReview("bob", bob)

	chen := all(func(c check, res *scenarios.Result) {
		if c == broadcast {
			*res = c.result(scenarios.Error)
			res.Rerun = "the machine was too busy to judge: three runs failed while a program waited for a CPU, the last with no other scenario beside it (first: server on webserver waited 1.8s; last: server on webserver waited 1.2s); no points are taken, grade it again"
			res.Notes = []string{res.Rerun}
		}
	})

	dave := []scenarios.Result{task32.result(scenarios.Passed), review.result(scenarios.NeedsTA)}

	hostile := all(func(c check, res *scenarios.Result) {
		if c == broadcast {
			*res = c.result(scenarios.Failed)
			res.Failure.Got = hostileLine
			res.Failure.Evidence = []scenarios.Evidence{{Proc: "server\x1b[2J", Host: "webserver", Lines: []string{hostileLine, "\x1bP1$r0m\x1b\\tail"}}}
			res.Notes = []string{"note " + hostileLine}
			res.Transcripts = []scenarios.Transcript{{Proc: "server", Host: "webserver", Text: "### server\n" + hostileLine + "\n\u202eevil\u202c\n"}}
		}
	})
	withReview(hostileName, hostile)
	// Files a submission could make land in its folder: names that are
	// markup and terminal sequences.
	hostileDir := filepath.Join(dir, scenarios.SafeName(hostileName))
	mustWrite(t, filepath.Join(hostileDir, `"><img src=x onerror=alert(4)>.txt`), "x")
	mustWrite(t, filepath.Join(hostileDir, "javascript:alert(5)"), "x")
	mustWrite(t, filepath.Join(hostileDir, "\x1b]52;c;aGk=\x07name\nwith break.log"), "x")

	formula := all(nil)

	reports := []grading.Report{
		grading.NewReport("anna", anna, nil, time.Minute),
		grading.NewReport("bob", bob, nil, time.Minute),
		grading.NewReport("chen", chen, nil, time.Minute),
		grading.NewReport("dave", dave, errors.New("lab grade-1-4: create container client1: timed out"), time.Minute),
		grading.RefusedReport("eve", errors.New("a link: chatroom_server.py -> /etc/passwd; hand in regular files only")),
		grading.NewReport(hostileName, hostile, nil, time.Minute),
		grading.NewReport(formulaName, formula, nil, time.Minute),
	}
	for _, r := range reports {
		if err := grading.WriteTranscripts(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	// A hostile file in a check's folder, after grading wrote it.
	mustWrite(t, filepath.Join(hostileDir, "m1-broadcast", "\x1b[2Jclear.log"), "\x1b[2J<script>alert(6)</script>\n")
	return dir, reports
}

func mustWrite(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
