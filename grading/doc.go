// Package grading grades Lab 3 submissions end to end: for each one it
// provisions labs of its own (package provision: sandboxed, on a free
// subnet, retried on a conflict), deploys the submission, resets the chat
// hosts before every scenario, runs the scenarios that package scenarios
// describes and judges (capturing the traffic on request, trying a
// scenario the lab failed once more), tears every lab down whatever
// happens, regrades on another engine a submission whose engine stopped
// answering, and writes the reports (table, JSON, JUnit, Gradescope,
// Markdown, transcripts), each file atomically. The lab adapter is here
// too: LabRuntime is a real lab's hosts with the grader's agent on each
// (the scenarios' Observer), the graded dnscheck, the exhaustion probe and
// the restart of a host that cannot be reset. Dependency direction:
// grading imports scenarios, never the reverse. README.md describes it.
package grading
