// Package classreport turns a results folder into what a TA reads: the
// class page (results/index.html: a row per submission, a column per
// check grouped by milestone, the TA's queue and the reruns), a page per
// submission (results/<submission>/index.html: every check with its
// requirement, evidence and transcripts) and the gradebook
// (results/grades.csv), from the reports of a lab grade run or from the
// report.json files grading left in the folder. The pages open from the
// disk with no server and no network, and everything a submission
// controls is shown as text.
package classreport
