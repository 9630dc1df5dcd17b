package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/traffic"
)

// The milestones graded from a submission's files rather than in a lab.
const (
	M3 Milestone = "M3" // capture and analysis: the pcaps and the notebook's answers
	Q2 Milestone = "Q2" // Delivery Q2: the PDF report
)

// FileCheck is one check graded from the submission's own files, without a
// lab: Milestone 3's captures and answers, and the Delivery Q2 report.
type FileCheck struct {
	Name        string
	Milestone   Milestone
	Requirement string
	// Points is the check's maximum; Task 3.2 and 3.3 give them per answer.
	Points   int
	Required bool
}

// fileChecks is the points table of the file checks, the one place their
// points and the handout's words live (see scenarios/README.md).
var fileChecks = []FileCheck{
	{"m3-captures", M3, `Task 3.1: "Start a packet capture with tcpdump on your chat server ... "chatserver.pcap" ... on the two clients ... "client1.pcap" and "client2.pcap" ... Send messages to the chatroom and to other clients (p2p messages)"`, 2, true},
	{"m3-task-3.2", M3, `Task 3.2: the sequence number of the SYN of "the first TCP connection between client1 and the server", of the SYNACK, and the SYNACK's acknowledgement number, absolute, from chatserver.pcap`, 3, true},
	{"m3-task-3.3", M3, `Task 3.3: the number of UDP header fields, the length of a header field, the maximum UDP payload, the largest source port and the protocol number for UDP`, 5, true},
	{"q2-report-pdf", Q2, `Delivery Q2: "Write a report (in fewer than two pages, including the sequence diagram)" ... "Submit a PDF report along with the Python files"`, 1, true},
	{"q2-report-review", Q2, `Delivery Q2: the report explains the flow of the application and draws "a sequence diagram of all packet transactions between the clients and the server ... when a new client connects and sends one direct message"`, 10, false},
}

// FileChecks returns the built-in file checks, in report order.
func FileChecks() []FileCheck { return slices.Clone(fileChecks) }

// SelectFileChecks keeps the checks whose name match matches.
func SelectFileChecks(all []FileCheck, match func(name string) bool) []FileCheck {
	var out []FileCheck
	for _, c := range all {
		if match(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// The handout's notebook variables, in the order its cells ask them.
var (
	task32Vars = []string{"SYN_sequence_number", "SYNACK_sequence_number", "SYNACK_ACKnowledgement_number"}
	task33Vars = []string{"number_of_fields_in_UDP_header", "length_of_header_field",
		"maximum_number_of_bytes_in_UDP_payload", "largest_possible_source_port_number", "protocol_number_for_UDP"}
)

// AnswersFile is the optional answers file of a submission without the
// notebook: the handout's variable names as YAML keys, integers as values.
const AnswersFile = "answers.yaml"

// The captures Task 3.1 names.
var m3Captures = []string{"chatserver.pcap", "client1.pcap", "client2.pcap"}

// DefaultMaxPayloadAnswers are the accepted answers to "What is the
// maximum number of bytes that can be included in a UDP payload?": 65,527
// by the 16-bit length field (RFC 768) and 65,507 over IPv4.
var DefaultMaxPayloadAnswers = []int{65527, 65507}

// FileGradeConfig configures GradeFiles.
type FileGradeConfig struct {
	// Checks to grade; nil means FileChecks().
	Checks []FileCheck
	// MaxPayload are the accepted maximum-payload answers; nil means
	// DefaultMaxPayloadAnswers.
	MaxPayload []int
	// ResultsDir, if set, receives the TA's review sheet of Delivery Q2 in
	// <ResultsDir>/<submission>/.
	ResultsDir string
	// WriteFile writes each file of the review sheet; nil writes it in
	// place. Grading passes its atomic grading.WriteFile.
	WriteFile func(path string, perm os.FileMode, write func(io.Writer) error) error
}

// answer is one answer the student gave, with where it was read.
type answer struct {
	value int
	given bool
	raw   string // the text after "=", for a non-integer answer
	where string // "lab3.ipynb cell 7"
}

// GradeFiles grades Milestone 3 and Delivery Q2 from a submission's own
// files: its captures, its notebook or answers file, and its PDF report.
// It needs no lab. Missing files fail their checks with the reason.
func GradeFiles(ctx context.Context, sub Submission, cfg FileGradeConfig) []Result {
	if cfg.Checks == nil {
		cfg.Checks = FileChecks()
	}
	if cfg.MaxPayload == nil {
		cfg.MaxPayload = DefaultMaxPayloadAnswers
	}
	g := fileGrader{sub: sub, cfg: cfg}
	defer g.cleanup()
	var out []Result
	for _, c := range cfg.Checks {
		start := time.Now()
		res := Result{Scenario: c.Name, Milestone: c.Milestone, Requirement: c.Requirement, Required: c.Required, MaxPoints: c.Points}
		switch c.Name {
		case "m3-captures":
			g.captures(ctx, &res)
		case "m3-task-3.2":
			g.task32(ctx, &res)
		case "m3-task-3.3":
			g.task33(ctx, &res)
		case "q2-report-pdf":
			g.reportPDF(&res)
		case "q2-report-review":
			g.reportReview(ctx, &res)
		default:
			res.Status = Error
			res.Failure = &Failure{File: "scenarios/m3.go", Expectation: "a known file check", Got: "no check named " + c.Name}
		}
		res.Duration = time.Since(start)
		out = append(out, res)
	}
	return out
}

// fileGrader holds what the file checks share: the captures written to a
// private folder, the session they show and the student's answers.
type fileGrader struct {
	sub     Submission
	cfg     FileGradeConfig
	dir     string
	loaded  bool
	files   []string // paths of the captures present, chatserver.pcap first
	missing []string
	session *traffic.Session
	sessErr error
	answers map[string]answer
	ansFrom string
	ansErr  error
	drawn   bool // diagram was called: diag or diagErr is its answer
	diag    *traffic.Diagram
	diagErr error
}

func (g *fileGrader) cleanup() {
	if g.dir != "" {
		_ = os.RemoveAll(g.dir)
	}
}

// data returns a data file of the submission.
func (g *fileGrader) data(name string) (File, bool) {
	if f, ok := g.sub.Data[name]; ok {
		return f, true
	}
	f, ok := g.sub.Files[name]
	return f, ok
}

// load writes the captures present to a private folder (the analysis
// reads files; the grader's own copies cannot change under it) and infers
// their session, once.
func (g *fileGrader) load(ctx context.Context) {
	if g.loaded {
		return
	}
	g.loaded = true
	g.answers, g.ansFrom, g.ansErr = readAnswers(g.sub)
	dir, err := os.MkdirTemp("", "lab3-m3-")
	if err != nil {
		g.sessErr = fmt.Errorf("temporary folder: %w", err)
		return
	}
	g.dir = dir
	for _, name := range m3Captures {
		f, ok := g.data(name)
		if !ok {
			// The handout says .pcap; a pcapng of the same name is welcome.
			ng := strings.TrimSuffix(name, ".pcap") + ".pcapng"
			if f, ok = g.data(ng); ok {
				name = ng
			}
		}
		if !ok {
			g.missing = append(g.missing, name)
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			g.sessErr = fmt.Errorf("write %s: %w", name, err)
			return
		}
		g.files = append(g.files, p)
	}
	if len(g.files) == 0 {
		g.sessErr = errors.New("no captures")
		return
	}
	s, err := traffic.Inspect(ctx, g.files)
	if err != nil {
		g.sessErr = err
		return
	}
	g.session = &s
}

func fail(res *Result, file string, step StepKind, expectation, got string, evidence ...Evidence) {
	res.Status = Failed
	res.Failure = &Failure{File: file, Step: step, Expectation: expectation, Got: got, Evidence: evidence}
}

// Steps of the file checks, as failures name them.
const (
	stepCaptures StepKind = "captures"
	stepAnswer   StepKind = "answer"
	stepReport   StepKind = "report"
)

func (g *fileGrader) captures(ctx context.Context, res *Result) {
	g.load(ctx)
	g.keepCaptures(ctx, res)
	want := "chatserver.pcap, client1.pcap and client2.pcap of one chat session, each taken on its host"
	if len(g.missing) > 0 {
		fail(res, strings.Join(g.missing, ", "), stepCaptures, want,
			fmt.Sprintf("%s missing from the submission: capture with tcpdump as Task 3.1 says (lab capture start / stop in the lab) and hand the files in", strings.Join(g.missing, ", ")))
		return
	}
	if g.session == nil {
		fail(res, "chatserver.pcap", stepCaptures, want, "the captures cannot be read: "+g.sessErr.Error())
		return
	}
	problems := g.session.Check(g.sub.Team)
	if len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		fail(res, problems[0].File, stepCaptures, want, problems[0].String(),
			Evidence{Proc: "capture check", Host: "submission", Lines: lines})
		return
	}
	res.Status, res.Points = Passed, res.MaxPoints
	s := g.session
	res.Notes = append(res.Notes, fmt.Sprintf("lab seen in the captures: team%d.com -> %s, chat port %d, clients %v", s.Team, s.Server.IP, s.Server.Port, s.Clients))
}

// keepCaptures copies the submission's captures into the check's
// results (CaptureFolder), with the sequence diagram drawn from them, so
// that the student's page links them and shows the diagram.
func (g *fileGrader) keepCaptures(ctx context.Context, res *Result) {
	if g.cfg.ResultsDir == "" || len(g.files) == 0 {
		return
	}
	dir := filepath.Join(g.cfg.ResultsDir, SafeName(g.sub.Name), SafeName(res.Scenario), CaptureFolder)
	if err := os.RemoveAll(dir); err != nil {
		res.Notes = append(res.Notes, "captures not kept with the results: "+err.Error())
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Notes = append(res.Notes, "captures not kept with the results: "+err.Error())
		return
	}
	res.Captures = dir
	for _, p := range g.files {
		data, err := os.ReadFile(p)
		if err == nil {
			err = g.write(filepath.Join(dir, filepath.Base(p)), data)
		}
		if err != nil {
			res.Notes = append(res.Notes, "capture not kept with the results: "+err.Error())
		}
	}
	if d, _ := g.diagram(ctx); d != nil {
		if err := g.write(filepath.Join(dir, SequenceDiagram), d.SVG()); err != nil {
			res.Notes = append(res.Notes, "sequence diagram not kept with the results: "+err.Error())
		}
	}
}

// write writes one file of the results, through cfg.WriteFile when set.
func (g *fileGrader) write(path string, data []byte) error {
	if g.cfg.WriteFile == nil {
		return os.WriteFile(path, data, 0o644)
	}
	return g.cfg.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// diagram is the sequence diagram of the captures (traffic.Sequence),
// drawn once; nil, with why, when there is none.
func (g *fileGrader) diagram(ctx context.Context) (*traffic.Diagram, error) {
	if !g.drawn {
		g.drawn = true
		if g.session == nil {
			g.diagErr = errors.New("the captures are missing or unreadable")
		} else if d, err := traffic.Sequence(ctx, g.files, g.session.Topology); err != nil {
			g.diagErr = err
		} else {
			g.diag = &d
		}
	}
	return g.diag, g.diagErr
}

// answerCheck is one question: the variable, what is accepted, and the
// frame the expected value is read from.
type answerCheck struct {
	name     string
	accepted []int
	from     string
}

// gradeAnswers gives one point per right answer (scaled to the check's
// maximum) and fails with every wrong one, its expected value and frame.
func (g *fileGrader) gradeAnswers(res *Result, checks []answerCheck, noteFor func(name string, v int) string) {
	if g.ansErr != nil {
		fail(res, g.ansFrom, stepAnswer, "the answers in the notebook (.ipynb) or "+AnswersFile, g.ansErr.Error())
		return
	}
	right := 0
	var wrong []string
	for _, c := range checks {
		a := g.answers[c.name]
		exp := make([]string, len(c.accepted))
		for i, v := range c.accepted {
			exp[i] = strconv.Itoa(v)
		}
		expect := strings.Join(exp, " or ")
		row := Answer{Question: c.name, Given: a.raw, Where: a.where, Expected: slices.Clone(c.accepted), From: c.from,
			Right: a.given && slices.Contains(c.accepted, a.value)}
		if a.given {
			row.Given = strconv.Itoa(a.value)
		}
		res.Answers = append(res.Answers, row)
		switch {
		case !a.given && a.raw != "":
			wrong = append(wrong, fmt.Sprintf("%s = %s is not an integer; expected %s (%s)", c.name, a.raw, expect, c.from))
		case !a.given:
			wrong = append(wrong, fmt.Sprintf("%s: no answer; expected %s (%s)", c.name, expect, c.from))
		case slices.Contains(c.accepted, a.value):
			right++
			if noteFor != nil {
				if n := noteFor(c.name, a.value); n != "" {
					res.Notes = append(res.Notes, n)
				}
			}
		default:
			wrong = append(wrong, fmt.Sprintf("%s = %d (%s); expected %s (%s)", c.name, a.value, a.where, expect, c.from))
		}
	}
	res.Points = res.MaxPoints * right / len(checks)
	if len(wrong) == 0 {
		res.Status = Passed
		return
	}
	fail(res, g.ansFrom, stepAnswer, fmt.Sprintf("all %d answers right (%d right)", len(checks), right), wrong[0],
		Evidence{Proc: "answers", Host: g.ansFrom, Lines: wrong})
}

func (g *fileGrader) task32(ctx context.Context, res *Result) {
	g.load(ctx)
	if !slices.ContainsFunc(g.files, func(p string) bool { return strings.HasPrefix(filepath.Base(p), "chatserver.") }) {
		fail(res, "chatserver.pcap", stepAnswer, "the answers checked against the submission's chatserver.pcap",
			"chatserver.pcap is missing: Task 3.2's answers are read from it")
		return
	}
	if g.session == nil {
		fail(res, "chatserver.pcap", stepAnswer, "the answers checked against the submission's chatserver.pcap", "the captures cannot be read: "+g.sessErr.Error())
		return
	}
	rep, err := traffic.Analyze(ctx, g.files, g.session.Topology)
	if err != nil {
		fail(res, "chatserver.pcap", stepAnswer, "the answers checked against the submission's chatserver.pcap", err.Error())
		return
	}
	hs := rep.Task32
	if hs == nil || !hs.SYNACKFound {
		got := "no handshake of client1 with the chat server in the captures"
		if len(rep.Notes) > 0 {
			got = rep.Notes[0]
		}
		fail(res, "chatserver.pcap", stepAnswer, "client1's first handshake with the chat server in chatserver.pcap", got)
		return
	}
	if !strings.HasPrefix(hs.SYN.File, "chatserver.") {
		// The same packets, seen on the client's end: the numbers are the
		// handshake's all the same, and m3-captures charges the capture.
		res.Notes = append(res.Notes, fmt.Sprintf("chatserver.pcap holds no handshake of client1: the answers are checked against %s, the same handshake seen by the client", hs.SYN))
	}
	g.gradeAnswers(res, []answerCheck{
		{task32Vars[0], []int{int(hs.SYNSeq)}, hs.SYN.String()},
		{task32Vars[1], []int{int(hs.SYNACKSeq)}, hs.SYNACK.String()},
		{task32Vars[2], []int{int(hs.SYNACKAck)}, hs.SYNACK.String() + ", = SYN seq + 1"},
	}, nil)
}

func (g *fileGrader) task33(ctx context.Context, res *Result) {
	g.load(ctx)
	from := "RFC 768"
	proto := 17
	if g.session != nil {
		if rep, err := traffic.Analyze(ctx, g.files, g.session.Topology); err == nil && rep.Task33 != nil {
			from = rep.Task33.Datagram.String()
			proto = rep.Task33.Protocol
		}
	}
	if from == "RFC 768" {
		res.Notes = append(res.Notes, "no direct UDP message between clients in the captures: the answers are checked against RFC 768 and RFC 790 alone")
	}
	g.gradeAnswers(res, []answerCheck{
		{task33Vars[0], []int{4}, from + ": source port, destination port, length, checksum"},
		{task33Vars[1], []int{2}, from + ": 16 bits each"},
		{task33Vars[2], g.cfg.MaxPayload, "65535 - 8-byte UDP header = 65527; over IPv4 also - 20-byte IP header = 65507"},
		{task33Vars[3], []int{65535}, "2^16 - 1"},
		{task33Vars[4], []int{proto}, from + ": the IP header's protocol field"},
	}, func(name string, v int) string {
		if name != task33Vars[2] {
			return ""
		}
		why := map[int]string{65527: "the 16-bit UDP length field minus the 8-byte header (RFC 768)", 65507: "over IPv4: minus the 20-byte IP header too"}[v]
		if why == "" {
			why = "accepted by the course's configuration"
		}
		return fmt.Sprintf("maximum UDP payload answered %d: %s", v, why)
	})
}

// reportPDF finds the report: the one PDF of the submission.
func (g *fileGrader) reportPDF(res *Result) {
	name, f, err := g.report()
	if err != nil {
		fail(res, "report.pdf", stepReport, "a PDF report of at most two pages", err.Error())
		return
	}
	pages, err := PDFPages(f.Data)
	if err != nil {
		fail(res, name, stepReport, "a PDF report of at most two pages", err.Error())
		return
	}
	if pages > 2 {
		fail(res, name, stepReport, "a PDF report of at most two pages", fmt.Sprintf("%s has %d pages", name, pages))
		return
	}
	res.Status, res.Points = Passed, res.MaxPoints
	res.Notes = append(res.Notes, fmt.Sprintf("%s: %d page(s)", name, pages))
}

// report returns the submission's PDF report; with several PDFs, the one
// whose name says report.
func (g *fileGrader) report() (string, File, error) {
	var pdfs []string
	for _, set := range []map[string]File{g.sub.Data, g.sub.Files} {
		for n := range set {
			if strings.HasSuffix(strings.ToLower(n), ".pdf") && !slices.Contains(pdfs, n) {
				pdfs = append(pdfs, n)
			}
		}
	}
	sort.Strings(pdfs)
	switch {
	case len(pdfs) == 0:
		return "", File{}, errors.New("no PDF in the submission: \"Submit a PDF report along with the Python files\"")
	case len(pdfs) > 1:
		var named []string
		for _, n := range pdfs {
			if strings.Contains(strings.ToLower(n), "report") {
				named = append(named, n)
			}
		}
		if len(named) != 1 {
			return "", File{}, fmt.Errorf("%d PDFs (%s): name the report so that it is the only one with \"report\" in its name", len(pdfs), strings.Join(pdfs, ", "))
		}
		pdfs = named
	}
	f, _ := g.data(pdfs[0])
	return pdfs[0], f, nil
}

// reportReview prepares the TA's review sheet: the report is read by a
// person, never passed by a program.
func (g *fileGrader) reportReview(ctx context.Context, res *Result) {
	g.load(ctx)
	res.Status = NeedsTA
	name, pdf, perr := g.report()
	if perr != nil {
		res.Notes = append(res.Notes, "no report to review: "+perr.Error())
	}
	diagram, err := g.diagram(ctx)
	if err != nil {
		res.Notes = append(res.Notes, "no reference diagram from the captures: "+err.Error())
	}
	if g.cfg.ResultsDir == "" {
		return
	}
	dir := filepath.Join(g.cfg.ResultsDir, SafeName(g.sub.Name))
	sheet, err := writeReviewSheet(dir, g.sub.Name, name, pdf.Data, diagram, g.write)
	if err != nil {
		res.Notes = append(res.Notes, "review sheet not written: "+err.Error())
		return
	}
	res.Review = sheet
}

// readAnswers reads the student's answers from the notebook or
// answers.yaml; where says which file they came from.
func readAnswers(sub Submission) (map[string]answer, string, error) {
	all := map[string]File{}
	for _, set := range []map[string]File{sub.Files, sub.Data} {
		for n, f := range set {
			all[n] = f
		}
	}
	if f, ok := all[AnswersFile]; ok {
		a, err := parseAnswersYAML(f.Data)
		return a, AnswersFile, err
	}
	var notebooks []string
	for n := range all {
		if strings.HasSuffix(strings.ToLower(n), ".ipynb") {
			notebooks = append(notebooks, n)
		}
	}
	sort.Strings(notebooks)
	var firstErr error
	for _, n := range notebooks {
		a, err := parseNotebook(n, all[n].Data)
		if err == nil && len(a) > 0 {
			return a, n, nil
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", n, err)
		}
	}
	if firstErr != nil {
		return nil, notebooks[0], firstErr
	}
	return nil, "notebook", fmt.Errorf("no answers: hand in the notebook (.ipynb) with its answer cells filled in, or %s (see scenarios/README.md)", AnswersFile)
}

// assignRE is one of the notebook's answer lines: NAME = VALUE # comment.
var assignRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^#]*)`)

func parseInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ";")
	v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

func wanted(name string) bool {
	return slices.Contains(task32Vars, name) || slices.Contains(task33Vars, name)
}

// parseNotebook reads the answer cells of a Jupyter notebook: the last
// assignment of each of the handout's variables in its code cells.
func parseNotebook(name string, data []byte) (map[string]answer, error) {
	var nb struct {
		Cells []struct {
			Type   string          `json:"cell_type"`
			Source json.RawMessage `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("not a Jupyter notebook: %v", err)
	}
	out := map[string]answer{}
	for i, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		var src string
		var lines []string
		if json.Unmarshal(c.Source, &lines) == nil {
			src = strings.Join(lines, "")
		} else if err := json.Unmarshal(c.Source, &src); err != nil {
			continue
		}
		for _, line := range strings.Split(src, "\n") {
			m := assignRE.FindStringSubmatch(line)
			if m == nil || !wanted(m[1]) {
				continue
			}
			a := answer{where: fmt.Sprintf("%s cell %d", name, i+1), raw: strings.TrimSpace(m[2])}
			a.value, a.given = parseInt(m[2])
			out[m[1]] = a
		}
	}
	return out, nil
}

// parseAnswersYAML reads answers.yaml: the handout's variable names as keys.
func parseAnswersYAML(data []byte) (map[string]answer, error) {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %s", AnswersFile, strings.TrimPrefix(oneLine(err.Error()), "yaml: "))
	}
	out := map[string]answer{}
	for k, v := range m {
		if !wanted(k) {
			return nil, fmt.Errorf("%s: unknown key %q: use the notebook's variable names (%s, ...)", AnswersFile, k, task32Vars[0])
		}
		a := answer{where: AnswersFile, raw: fmt.Sprint(v)}
		a.value, a.given = parseInt(fmt.Sprint(v))
		out[k] = a
	}
	return out, nil
}
