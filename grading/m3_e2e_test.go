package grading_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/student"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// labSession is one chat session captured in a real lab, as Task 3.1 asks
// for it: the captures of every host and the answers they hold.
type labSession struct {
	dir  string // the grader's captures folder: chatserver.pcap, client1.pcap, ...
	topo topology.Topology
	hs   traffic.Handshake
	udp  traffic.UDPHeader
}

func (s labSession) file(name string) string { return filepath.Join(s.dir, name) }

// answers is answers.yaml of a student who read udp's session right.
func (s labSession) answers(maxPayload int) map[string]string {
	return map[string]string{
		"SYN_sequence_number":                    fmt.Sprint(s.hs.SYNSeq),
		"SYNACK_sequence_number":                 fmt.Sprint(s.hs.SYNACKSeq),
		"SYNACK_ACKnowledgement_number":          fmt.Sprint(s.hs.SYNACKAck),
		"number_of_fields_in_UDP_header":         fmt.Sprint(s.udp.Fields),
		"length_of_header_field":                 fmt.Sprint(s.udp.FieldBytes),
		"maximum_number_of_bytes_in_UDP_payload": fmt.Sprint(maxPayload),
		"largest_possible_source_port_number":    fmt.Sprint(s.udp.LargestPort),
		"protocol_number_for_UDP":                fmt.Sprint(s.udp.Protocol),
	}
}

// expected are the values a student must find, as they would appear in
// text; the checker may never print them.
func (s labSession) expected() []string {
	return []string{fmt.Sprint(s.hs.SYNSeq), fmt.Sprint(s.hs.SYNACKSeq), fmt.Sprint(s.hs.SYNACKAck),
		fmt.Sprint(s.udp.MaxPayloadRFC768), fmt.Sprint(s.udp.MaxPayloadOverIP), fmt.Sprint(s.udp.LargestPort)}
}

// captureSessions grades the faithful student submission on m2-p2p-udp
// twice in one lab with capture on: two sessions of the same lab, the same
// addresses and different packets, as two students of one team would hand
// in. Grade tears the lab down; no container may be left.
func captureSessions(t *testing.T) (scenarios.Submission, [2]labSession) {
	t.Helper()
	d, refs := labcontainers.Engine(t)
	sub, err := scenarios.LoadSubmission(filepath.Join(fixtures(t), "students", "faithful"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p2p, err := scenarios.Select(all, []string{"m2-p2p-udp"})
	if err != nil {
		t.Fatal(err)
	}
	again := p2p[0]
	again.Name = "m2-p2p-udp-again" // its own results folder, so its captures are kept apart
	dir := t.TempDir()
	prefix := fmt.Sprintf("m3e%d", os.Getpid()%100000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reports, err := grading.Grade(ctx, d, []scenarios.Submission{sub},
		grading.WithScenarios([]scenarios.Scenario{p2p[0], again}),
		grading.WithLabsPerSubmission(1),
		grading.WithCapture(true),
		grading.WithLogger(textLogger(logWriter{t})),
		grading.WithResultsDir(dir),
		grading.WithLabImages(refs.DNS, refs.Host),
		grading.WithLabPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range labNames(prefix, 1) {
		cs, err := d.Containers(context.Background(), map[string]string{topology.LabelLab: name})
		if err != nil || len(cs) != 0 {
			t.Errorf("lab %s left %d containers behind (%v)", name, len(cs), err)
		}
	}
	if r := reports[0]; !r.Passed || len(r.Results) != 2 {
		t.Fatalf("faithful did not pass m2-p2p-udp twice, so there is no session to capture:\n%s", explain(r))
	}
	var out [2]labSession
	for i, sc := range []string{p2p[0].Name, again.Name} {
		s := labSession{dir: filepath.Join(dir, sub.Name, sc, grading.CaptureDir)}
		if s.topo, err = topology.Load(s.file(topology.TopologyFile)); err != nil {
			t.Fatal(err)
		}
		// The answers are read from the captures, as staff would with lab
		// analyze, never written down here.
		rep, err := traffic.Analyze(ctx, []string{s.file("chatserver.pcap"), s.file("client1.pcap"), s.file("client2.pcap")}, s.topo)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Task32 == nil || !rep.Task32.SYNACKFound || rep.Task33 == nil {
			t.Fatalf("session %d: the captures do not answer Tasks 3.2 and 3.3:\n%s", i+1, rep.Text())
		}
		s.hs, s.udp = *rep.Task32, *rep.Task33
		t.Logf("session %d (%s): SYN %d (%s), SYNACK %d/%d (%s), UDP %s", i+1, s.topo.Subnet4,
			s.hs.SYNSeq, s.hs.SYN, s.hs.SYNACKSeq, s.hs.SYNACKAck, s.hs.SYNACK, s.udp.Datagram)
		out[i] = s
	}
	if out[0].hs.SYNSeq == out[1].hs.SYNSeq {
		t.Fatalf("the two sessions have the same SYN %d: not two sessions", out[0].hs.SYNSeq)
	}
	return sub, out
}

// minimalPDF is a one-page PDF report.
const minimalPDF = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF\n"

// handIn writes a submission folder: the faithful programs, the captures
// (file name in the submission -> path of a real capture), answers.yaml
// when answers is not nil, and the report.
func handIn(t *testing.T, base string, sub scenarios.Submission, name string, captures map[string]string, answers map[string]string, report bool) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(n string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for n, f := range sub.Files {
		write(n, f.Data)
	}
	for n, src := range captures {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(n, b)
	}
	if answers != nil {
		var y strings.Builder
		for _, k := range []string{"SYN_sequence_number", "SYNACK_sequence_number", "SYNACK_ACKnowledgement_number",
			"number_of_fields_in_UDP_header", "length_of_header_field", "maximum_number_of_bytes_in_UDP_payload",
			"largest_possible_source_port_number", "protocol_number_for_UDP"} {
			fmt.Fprintf(&y, "%s: %s\n", k, answers[k])
		}
		write(scenarios.AnswersFile, []byte(y.String()))
	}
	if report {
		write("report.pdf", []byte(minimalPDF))
	}
	return dir
}

// evidence is what staff read of a result: its failure and its notes.
func evidence(res scenarios.Result) string {
	var b strings.Builder
	if f := res.Failure; f != nil {
		fmt.Fprintf(&b, "%s %s (%s)\n  expected: %s\n  got: %s\n", res.Status, res.Scenario, f.File, f.Expectation, f.Got)
		for _, ev := range f.Evidence {
			for _, l := range ev.Lines {
				fmt.Fprintf(&b, "  | %s\n", l)
			}
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// TestM3GradeRealCaptures is the Milestone 3 grading of issue 11 end to
// end: the captures of two real lab sessions, handed in as students would
// hand them in (right and wrong answers, files missing, a capture from
// the wrong host, one from another session), graded by Grade with the file
// checks as lab grade selects them. Each case gets its statuses, points
// and the staff's evidence: the expected value and its frame, or the
// reason. Then the student's checker, test_lab3.py, reads the same
// captures: it passes right answers and never prints an expected value.
func TestM3GradeRealCaptures(t *testing.T) {
	d, _ := labcontainers.Engine(t)
	sub, ses := captureSessions(t)
	s1, s2 := ses[0], ses[1]
	server1, _ := s1.topo.Host("webserver")
	client1, _ := s1.topo.Host("client1")
	client2, _ := s1.topo.Host("client2")
	caps := func(s labSession) map[string]string {
		return map[string]string{"chatserver.pcap": s.file("chatserver.pcap"), "client1.pcap": s.file("client1.pcap"), "client2.pcap": s.file("client2.pcap")}
	}
	edit := func(s labSession, f func(m map[string]string)) map[string]string {
		m := caps(s)
		f(m)
		return m
	}
	right := s1.answers(65507)
	wrong := s1.answers(65507)
	// Right SYN; the SYNACK read with Wireshark's relative numbers; bits
	// for bytes; a header field for the length; TCP's protocol number.
	wrong["SYNACK_sequence_number"], wrong["SYNACK_ACKnowledgement_number"] = "0", "1"
	wrong["number_of_fields_in_UDP_header"], wrong["length_of_header_field"] = "8", "16"
	wrong["maximum_number_of_bytes_in_UDP_payload"], wrong["protocol_number_for_UDP"] = "65535", "6"

	type want struct {
		status scenarios.Status
		points int
	}
	const (
		caps3 = "m3-captures"
		t32   = "m3-task-3.2"
		t33   = "m3-task-3.3"
		pdf   = "q2-report-pdf"
		rev   = "q2-report-review"
	)
	tests := []struct {
		name     string
		captures map[string]string
		answers  map[string]string
		report   bool
		want     map[string]want
		evidence []string // in the staff's evidence, in any check
	}{
		{"right answers", caps(s1), right, true,
			map[string]want{caps3: {scenarios.Passed, 2}, t32: {scenarios.Passed, 3}, t33: {scenarios.Passed, 5}, pdf: {scenarios.Passed, 1}, rev: {scenarios.NeedsTA, 0}},
			[]string{fmt.Sprintf("lab seen in the captures: team%d.com -> %s", sub.Team, server1.IPv4),
				"maximum UDP payload answered 65507: over IPv4"}},
		{"right answers, RFC 768's maximum payload", caps(s1), s1.answers(65527), true,
			map[string]want{caps3: {scenarios.Passed, 2}, t32: {scenarios.Passed, 3}, t33: {scenarios.Passed, 5}},
			[]string{"maximum UDP payload answered 65527: the 16-bit UDP length field"}},
		{"wrong answers", caps(s1), wrong, true,
			map[string]want{caps3: {scenarios.Passed, 2}, t32: {scenarios.Failed, 1}, t33: {scenarios.Failed, 1}},
			[]string{
				fmt.Sprintf("SYNACK_sequence_number = 0 (answers.yaml); expected %d (%s)", s1.hs.SYNACKSeq, s1.hs.SYNACK),
				fmt.Sprintf("SYNACK_ACKnowledgement_number = 1 (answers.yaml); expected %d (%s, = SYN seq + 1)", s1.hs.SYNACKAck, s1.hs.SYNACK),
				fmt.Sprintf("number_of_fields_in_UDP_header = 8 (answers.yaml); expected 4 (%s", s1.udp.Datagram),
				"length_of_header_field = 16 (answers.yaml); expected 2 (",
				"maximum_number_of_bytes_in_UDP_payload = 65535 (answers.yaml); expected 65527 or 65507",
				fmt.Sprintf("protocol_number_for_UDP = 6 (answers.yaml); expected 17 (%s", s1.udp.Datagram),
			}},
		{"right answers of another session", caps(s2), right, true,
			map[string]want{caps3: {scenarios.Passed, 2}, t32: {scenarios.Failed, 0}, t33: {scenarios.Passed, 5}},
			[]string{fmt.Sprintf("SYN_sequence_number = %d (answers.yaml); expected %d (%s)", s1.hs.SYNSeq, s2.hs.SYNSeq, s2.hs.SYN)}},
		{"missing files", edit(s1, func(m map[string]string) { delete(m, "chatserver.pcap"); delete(m, "client2.pcap") }), nil, false,
			map[string]want{caps3: {scenarios.Failed, 0}, t32: {scenarios.Failed, 0}, t33: {scenarios.Failed, 0}, pdf: {scenarios.Failed, 0}, rev: {scenarios.NeedsTA, 0}},
			[]string{"chatserver.pcap, client2.pcap missing from the submission",
				"chatserver.pcap is missing: Task 3.2's answers are read from it",
				"no answers: hand in the notebook (.ipynb) with its answer cells filled in, or answers.yaml",
				"no PDF in the submission"}},
		{"client captures swapped", edit(s1, func(m map[string]string) { m["client1.pcap"], m["client2.pcap"] = m["client2.pcap"], m["client1.pcap"] }), right, true,
			map[string]want{caps3: {scenarios.Failed, 0}},
			[]string{fmt.Sprintf("client1.pcap: was taken on client2 (%s), not on client1 (%s)", client2.IPv4, client1.IPv4),
				fmt.Sprintf("client2.pcap: was taken on client1 (%s), not on client2 (%s)", client1.IPv4, client2.IPv4)}},
		{"chat server captured on the DNS server", edit(s1, func(m map[string]string) { m["chatserver.pcap"] = s1.file("dnsserver.pcap") }), right, true,
			// The capture is charged once: the answers are the handshake's
			// numbers, which client1.pcap holds too.
			map[string]want{caps3: {scenarios.Failed, 0}, t32: {scenarios.Passed, 3}},
			[]string{fmt.Sprintf("chatserver.pcap: was taken on dnsserver (%s), not on webserver (%s)", mustHostIP(t, s1.topo, "dnsserver"), server1.IPv4),
				"chatserver.pcap holds no handshake of client1: the answers are checked against client1.pcap frame "}},
		{"client2.pcap of another session", edit(s1, func(m map[string]string) { m["client2.pcap"] = s2.file("client2.pcap") }), right, true,
			map[string]want{caps3: {scenarios.Failed, 0}, t32: {scenarios.Passed, 3}, t33: {scenarios.Passed, 5}},
			[]string{"client2.pcap: shares no packet with chatserver.pcap", "client2.pcap: shares no packet with client1.pcap",
				"the two were not captured in the same session"}},
	}

	// All cases in one batch, as lab grade grades a class: file checks
	// only (lab grade --only 'm3-|q2-'), so no lab is made.
	base := t.TempDir()
	var subs []scenarios.Submission
	for i, tc := range tests {
		folder := handIn(t, base, sub, fmt.Sprintf("case%d", i+1), tc.captures, tc.answers, tc.report)
		s, err := scenarios.LoadSubmission(folder)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	results := t.TempDir()
	start := time.Now()
	checks := scenarios.SelectFileChecks(scenarios.FileChecks(), func(string) bool { return true })
	reports, err := grading.Grade(context.Background(), d, subs,
		grading.WithScenarios([]scenarios.Scenario{}),
		grading.WithFileChecks(checks),
		grading.WithResultsDir(results),
		grading.WithLogger(textLogger(logWriter{t})))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d submissions graded from their files in %.2fs", len(subs), time.Since(start).Seconds())
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := reports[i]
			if len(r.Results) != len(checks) {
				t.Fatalf("%d results, want the %d file checks:\n%s", len(r.Results), len(checks), explain(r))
			}
			var text strings.Builder
			for _, res := range r.Results {
				text.WriteString(evidence(res))
			}
			for _, res := range r.Results {
				w, ok := tc.want[res.Scenario]
				if ok && (res.Status != w.status || res.Points != w.points) {
					t.Errorf("%s: %s with %d points, want %s with %d\n%s", res.Scenario, res.Status, res.Points, w.status, w.points, text.String())
				}
				// A failure always says why: no bare FAIL for staff to puzzle over.
				if res.Status == scenarios.Failed && (res.Failure == nil || res.Failure.Got == "" || res.Failure.File == "") {
					t.Errorf("%s failed without a reason: %+v", res.Scenario, res.Failure)
				}
			}
			for _, e := range tc.evidence {
				if !strings.Contains(text.String(), e) {
					t.Errorf("evidence lacks %q:\n%s", e, text.String())
				}
			}
			if passed := tc.want[caps3].status == scenarios.Passed && tc.want[t32].status == scenarios.Passed && tc.want[t33].status == scenarios.Passed && tc.report; r.Passed != passed {
				t.Errorf("report passed = %v, want %v:\n%s", r.Passed, passed, explain(r))
			}
			if r.AwaitingTA != 10 {
				t.Errorf("awaiting a TA: %d points, want the report review's 10", r.AwaitingTA)
			}
		})
	}
	// The TA's review sheet of a full submission sets the report beside the
	// diagram drawn from the student's own captures.
	sheet, err := os.ReadFile(filepath.Join(results, "case1", scenarios.ReviewSheet))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"q2-report.pdf", "q2-diagram.svg"} {
		if !strings.Contains(string(sheet), w) {
			t.Errorf("review sheet lacks %q", w)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(results, "case1", "q2-diagram.svg")); err != nil || !strings.Contains(string(svg), "client1") {
		t.Errorf("diagram of the captures: %v, want client1 in it", err)
	}

	t.Run("test_lab3.py", func(t *testing.T) { testChecker(t, s1, s2) })
}

// testChecker runs the student's checker as the notebook does, against the
// captures of session s1.
func testChecker(t *testing.T, s1, s2 labSession) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is needed to test test_lab3.py (make test installs it)")
		}
		t.Skip("python3 not installed: test_lab3.py is not tested")
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, student.CheckerName), student.Checker, 0o644); err != nil {
		t.Fatal(err)
	}
	cell := func(a map[string]string) (string, string) {
		return fmt.Sprintf("check_progress.test_3_2(%s, %s, %s)", a["SYN_sequence_number"], a["SYNACK_sequence_number"], a["SYNACK_ACKnowledgement_number"]),
			fmt.Sprintf("check_progress.test_3_3(%s, %s, %s, %s, %s)", a["number_of_fields_in_UDP_header"], a["length_of_header_field"],
				a["maximum_number_of_bytes_in_UDP_payload"], a["largest_possible_source_port_number"], a["protocol_number_for_UDP"])
	}
	run := func(t *testing.T, code string) string {
		t.Helper()
		prog := "from test_lab3 import TestLab3\ncheck_progress = TestLab3(" + fmt.Sprintf("%q", s1.dir) + ")\nok = " + code + "\nprint('RESULT', ok)\n"
		cmd := exec.Command(py, "-c", prog)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		return string(out)
	}
	for _, maxPayload := range []int{s1.udp.MaxPayloadRFC768, s1.udp.MaxPayloadOverIP} {
		c32, c33 := cell(s1.answers(maxPayload))
		for _, c := range []string{c32, c33} {
			if out := run(t, c); !strings.Contains(out, "RESULT True") {
				t.Errorf("right answers fail: %s\n%s", c, out)
			}
		}
	}
	wrong := []map[string]string{
		{"SYN_sequence_number": "0", "SYNACK_sequence_number": "0", "SYNACK_ACKnowledgement_number": "1", // relative numbers
			"number_of_fields_in_UDP_header": "8", "length_of_header_field": "16", "maximum_number_of_bytes_in_UDP_payload": "65535",
			"largest_possible_source_port_number": "65536", "protocol_number_for_UDP": "6"},
		s2.answers(s1.udp.MaxPayloadOverIP - 1), // another session's numbers: right elsewhere, wrong here
	}
	for _, a := range wrong {
		c32, c33 := cell(a)
		for _, c := range []string{c32, c33} {
			out := run(t, c)
			if !strings.Contains(out, "RESULT False") || !strings.Contains(out, "FAIL") {
				t.Errorf("wrong answers pass: %s\n%s", c, out)
			}
			for _, v := range s1.expected() {
				if strings.Contains(out, v) {
					t.Errorf("%s: the output gives away %s:\n%s", c, v, out)
				}
			}
		}
	}
}
