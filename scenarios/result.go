package scenarios

import "time"

// Status is the outcome of one scenario.
type Status string

// The outcomes of a scenario. Error means the lab itself failed (for
// example Docker refused an exec), not the submission. NeedsTA means the
// check cannot be decided by a program (the Delivery Q2 report): it awaits
// a TA's review, gives no points yet, and is never shown as passed.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Error   Status = "error"
	NeedsTA Status = "needs_ta"
)

// Result is one scenario's outcome with the evidence a student needs.
type Result struct {
	Scenario    string        `json:"scenario"`
	Milestone   Milestone     `json:"milestone"`
	Requirement string        `json:"requirement"`
	Required    bool          `json:"required"`
	Points      int           `json:"points"`
	MaxPoints   int           `json:"max_points"`
	Status      Status        `json:"status"`
	Failure     *Failure      `json:"failure,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	// Captures is the folder of this scenario's packet captures
	// (WithCapture), or of the submission's own and the sequence diagram
	// drawn from them (m3-captures): <results>/<submission>/<check>/CaptureFolder.
	Captures string `json:"captures,omitempty"`
	// Answers are a Milestone 3 question check's answers, each beside the
	// value read from the student's captures.
	Answers []Answer `json:"answers,omitempty"`
	// Notes are facts worth a reader's eye whatever the status, e.g. which
	// of two accepted answers a student gave.
	Notes []string `json:"notes,omitempty"`
	// Rerun is, of Notes, the one Grade leaves on a check it ran more than
	// once: why, and which run counts, or that none could judge it.
	Rerun string `json:"rerun,omitempty"`
	// GradedAt is when the check ran (set by grading).
	GradedAt time.Time `json:"graded_at,omitzero"`
	// Review is the TA's review sheet of a NeedsTA check.
	Review string `json:"review,omitempty"`
	// TA is a TA's score of a NeedsTA check (grading's ta-scores.yaml),
	// once given; Points are then the TA's.
	TA          *TAScore     `json:"ta,omitempty"`
	Transcripts []Transcript `json:"-"`
}

// CaptureFolder is the folder of a check's results that holds its
// captures (Result.Captures).
const CaptureFolder = "captures"

// SequenceDiagram is the sequence diagram drawn from a submission's
// captures, in the m3-captures check's CaptureFolder.
const SequenceDiagram = "sequence.svg"

// Answer is one of a student's answers to a Milestone 3 question beside
// the value the grader read from their captures.
type Answer struct {
	// Question is the handout notebook's variable.
	Question string `json:"question"`
	// Given is the answer as the student wrote it, "" when there is none,
	// and Where is where it was read ("lab3.ipynb cell 7").
	Given string `json:"given"`
	Where string `json:"where,omitempty"`
	// Expected are the accepted values, From the frame or rule they come
	// from.
	Expected []int  `json:"expected"`
	From     string `json:"from"`
	Right    bool   `json:"right"`
}

// TAScore is the points a TA gave a check that needs a TA, with why.
type TAScore struct {
	Points  int    `json:"points"`
	Comment string `json:"comment,omitempty"`
}

// Failure explains why a scenario failed: where, what was expected, what
// happened, and the last lines every involved process printed.
type Failure struct {
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Step        StepKind `json:"step"`
	Expectation string   `json:"expectation"`
	Got         string   `json:"got"`
	// TimedOut is a failure because a wait ran out, not because the
	// program did something wrong or ended: a busy machine can cause it in
	// correct work, so Grade runs such a check a second time before it
	// takes the points.
	TimedOut bool `json:"timed_out,omitempty"`
	// Starved names the program that waited StarvedWait or more for a CPU
	// during the scenario, when it failed: correct work can fail so on a
	// busy machine (the student's own client gives up on a server kept
	// from the CPU), so Grade runs the check again once the machine has
	// room, and a check starved twice is no verdict (Error).
	Starved  string     `json:"starved,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Evidence is the tail of one process's transcript.
type Evidence struct {
	Proc  string   `json:"proc"`
	Host  string   `json:"host"`
	Lines []string `json:"lines"`
}

// Transcript is everything one process printed, with the lines the engine
// typed marked "<<< ".
type Transcript struct {
	Proc    string `json:"proc"`
	Host    string `json:"host"`
	Command string `json:"command"`
	Text    string `json:"text"`
}

// evidenceLines is how much of each transcript a failure quotes.
const evidenceLines = 12
