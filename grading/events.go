package grading

import "time"
import "github.com/ntnu-ttm4200/lab3/scenarios"

// Event is something that happened while grading, for a caller that shows
// progress (lab grade's live status lines): a SubmissionStarted, a
// ScenarioStarted, a ScenarioDone, a SubmissionRetried or a SubmissionDone.
type Event interface{ gradeEvent() }

// SubmissionStarted is sent when a submission's grading begins (its turn
// among the parallel slots has come), before its labs are brought up.
type SubmissionStarted struct {
	Submission string
	// Scenarios is how many checks the submission's report will hold:
	// the scenarios, plus the file checks when they apply to it.
	Scenarios int
}

// ScenarioStarted is sent when a check begins: a scenario in one of the
// submission's labs (its lab is up and the submission deployed), or a
// file check.
type ScenarioStarted struct {
	Submission string
	Scenario   string
}

// ScenarioDone is sent when a check has its result, retries included.
type ScenarioDone struct {
	Submission string
	Scenario   string
	Status     scenarios.Status
	Required   bool
	Points     int
	Max        int
	Took       time.Duration
}

// SubmissionDone is sent when a submission's report is complete and its
// transcripts and report are written to the results folder. A submission
// whose lab could not be set up is done with fewer ScenarioDone events
// than SubmissionStarted announced.
type SubmissionDone struct {
	Report Report
}

// SubmissionRetried is sent when a submission's grading is abandoned
// because its engine stopped answering: it is graded again from the start
// on another engine, with a new SubmissionStarted, and what was announced
// or done for it so far no longer counts.
type SubmissionRetried struct {
	Submission string
	Engine     string // the engine that stopped answering
}

func (SubmissionStarted) gradeEvent() {}
func (SubmissionRetried) gradeEvent() {}
func (ScenarioStarted) gradeEvent()   {}
func (ScenarioDone) gradeEvent()      {}
func (SubmissionDone) gradeEvent()    {}

// WithEvents calls f with every grading event as it happens. Calls are
// made one at a time, never concurrently, in the order the events
// happened; f should return quickly, as grading waits for it.
func WithEvents(f func(Event)) Option {
	return func(c *gradeConfig) { c.events = f }
}

// emit sends e to the caller's event hook, one event at a time.
func (c *gradeConfig) emit(e Event) {
	if c.events == nil {
		return
	}
	c.eventMu.Lock()
	defer c.eventMu.Unlock()
	c.events(e)
}

// scenarioDone is the event of a finished check.
func scenarioDone(submission string, res scenarios.Result) ScenarioDone {
	return ScenarioDone{Submission: submission, Scenario: res.Scenario, Status: res.Status, Required: res.Required,
		Points: res.Points, Max: res.MaxPoints, Took: res.Duration}
}
