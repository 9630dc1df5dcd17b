package grading

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/internal/safetext"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// TAScoresFile is the file in a results folder where TAs write the points
// of the checks that need a TA (the Delivery Q2 report). Grading never
// writes it, so a regrade keeps it; every class report, summary, gradebook,
// JUnit and Gradescope file lab writes from the folder counts it.
const TAScoresFile = "ta-scores.yaml"

// TAScores are the TA's points: by submission, then by check.
type TAScores map[string]map[string]TAScore

// TAScore is one check's points from a TA, with an optional comment for
// the student. Files, when set, is the digest of the submission's files
// the TA scored (Report.Digest; lab report --serve records it): once the
// files change, the score is no longer counted and the check needs a TA
// again. A score written by hand without it counts whatever the files.
type TAScore struct {
	Points  *int   `yaml:"points"`
	Comment string `yaml:"comment,omitempty"`
	Files   string `yaml:"files,omitempty"`
}

// TAScoresExample is what the class page shows a TA to write into
// TAScoresFile.
const TAScoresExample = `# ta-scores.yaml: the points of the checks that need a TA.
# lab grade and lab report count them; a regrade keeps them. An entry the
# review page saved also holds files: (the digest of the files scored): once
# the student hands in other files, it needs a TA again.
anna:                    # the submission, as in the class table
  q2-report-review:      # the check
    points: 8            # 0 to the check's points
    comment: The diagram lacks the connection's end (FIN).
`

// ErrTAScores is a TAScoresFile that cannot be used: not YAML of the
// right shape, or naming a submission, check or points that do not fit
// the reports.
var ErrTAScores = errors.New(TAScoresFile)

// LoadTAScores reads dir's TAScoresFile; a folder without one has none.
func LoadTAScores(dir string) (TAScores, error) {
	data, err := os.ReadFile(filepath.Join(dir, TAScoresFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTAScores, err)
	}
	var s TAScores
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s; write it as the class page shows (submission, check, points, comment)", ErrTAScores, safetext.OneLine(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	return s, nil
}

// Only is the scores of the submissions of reports: what a run that
// graded some of a folder's submissions counts in its own outputs.
func (s TAScores) Only(reports []Report) TAScores {
	out := TAScores{}
	for _, r := range reports {
		if sc, ok := s[r.Submission]; ok {
			out[r.Submission] = sc
		}
	}
	return out
}

// ApplyTAScores gives each check that needs a TA the TA's points from s,
// and totals the reports again. It changes nothing and fails, naming the
// entry, when s names a submission without a report, a check that does
// not need a TA, or points outside 0 to the check's points.
func ApplyTAScores(reports []Report, s TAScores) ([]Report, error) {
	out, problems := ApplyFittingTAScores(reports, s)
	if len(problems) > 0 {
		return nil, problems[0]
	}
	return out, nil
}

// ApplyFittingTAScores is ApplyTAScores for the entries of s that fit the
// reports; it returns why each other one does not, in order. A regrade
// can make an entry stop fitting (the check no longer needs a TA, or the
// submission was refused): its points are then left out, and the class's
// pages are still written.
func ApplyFittingTAScores(reports []Report, s TAScores) ([]Report, []error) {
	if len(s) == 0 {
		return reports, nil
	}
	bySub := map[string]int{}
	for i, r := range reports {
		bySub[r.Submission] = i
	}
	subs := make([]string, 0, len(s))
	for sub := range s {
		subs = append(subs, sub)
	}
	sort.Strings(subs)
	out := append([]Report(nil), reports...)
	var problems []error
	for _, sub := range subs {
		i, ok := bySub[sub]
		if !ok {
			problems = append(problems, fmt.Errorf("%w: %s: no report of that submission in the folder", ErrTAScores, safetext.OneLine(sub)))
			continue
		}
		r := out[i]
		r.Results = append([]scenarios.Result(nil), r.Results...)
		checks := make([]string, 0, len(s[sub]))
		for check := range s[sub] {
			checks = append(checks, check)
		}
		sort.Strings(checks)
		for _, check := range checks {
			score := s[sub][check]
			j := -1
			for k, res := range r.Results {
				if res.Scenario == check {
					j = k
				}
			}
			where := safetext.OneLine(sub) + ": " + safetext.OneLine(check)
			var problem error
			switch {
			case j < 0:
				problem = fmt.Errorf("%w: %s: the submission has no such check", ErrTAScores, where)
			case r.Results[j].Status != scenarios.NeedsTA:
				problem = fmt.Errorf("%w: %s: the check does not need a TA (it is %s)", ErrTAScores, where, r.Results[j].Status)
			case score.Points == nil:
				problem = fmt.Errorf("%w: %s: no points: give points: 0 to %d", ErrTAScores, where, r.Results[j].MaxPoints)
			case *score.Points < 0 || *score.Points > r.Results[j].MaxPoints:
				problem = fmt.Errorf("%w: %s: %d points, but the check is worth 0 to %d", ErrTAScores, where, *score.Points, r.Results[j].MaxPoints)
			}
			if problem != nil {
				problems = append(problems, problem)
				continue
			}
			if score.Files != "" && r.Digest != "" && score.Files != r.Digest {
				// The student handed in other files since: the TA's points
				// were for what is no longer there.
				r.Results[j].Notes = append(slices.Clone(r.Results[j].Notes), fmt.Sprintf(
					"A TA gave %d of %d points to an earlier version of this submission (%s); its files changed since, so it needs a TA again.",
					*score.Points, r.Results[j].MaxPoints, strings.TrimSuffix(safetext.OneLine(score.Comment), ".")))
				continue
			}
			r.Results[j].Points = *score.Points
			r.Results[j].TA = &scenarios.TAScore{Points: *score.Points, Comment: score.Comment}
		}
		r.total()
		out[i] = r
	}
	return out, problems
}

// CheckTAScores says why dir's TAScoresFile does not fit reports (the
// folder's, as LoadReports gave them), naming its first entry that does
// not, or nil when every entry fits.
func CheckTAScores(dir string, reports []Report) error {
	s, err := LoadTAScores(dir)
	if err != nil {
		return err
	}
	_, err = ApplyTAScores(reports, s)
	return err
}

// taText is what a check a TA scored says to the student: the points and
// the TA's comment.
func taText(res scenarios.Result) string {
	text := fmt.Sprintf("graded by a TA: %d/%d", res.TA.Points, res.MaxPoints)
	if res.TA.Comment != "" {
		text += "\n" + res.TA.Comment
	}
	return text
}

// SaveTAScore records a TA's points for one check of the submission whose
// results folder is sub (its SafeName) in dir's TAScoresFile, and returns
// the folder's reports with every score counted. The file is replaced in
// one step (a reader never sees half of it); an entry that does not fit
// the reports (ApplyTAScores) changes nothing.
func SaveTAScore(dir, sub, check string, points int, comment string) ([]Report, error) {
	reports, err := LoadReports(dir)
	if err != nil {
		return nil, err
	}
	name, digest := "", ""
	for _, r := range reports {
		if scenarios.SafeName(r.Submission) == sub {
			name, digest = r.Submission, r.Digest
		}
	}
	if name == "" {
		return nil, fmt.Errorf("%w: %s: no report of that submission in the folder", ErrTAScores, safetext.OneLine(sub))
	}
	scores, err := LoadTAScores(dir)
	if err != nil {
		return nil, err
	}
	if scores == nil {
		scores = TAScores{}
	}
	if scores[name] == nil {
		scores[name] = map[string]TAScore{}
	}
	scores[name][check] = TAScore{Points: &points, Comment: strings.TrimSpace(comment), Files: digest}
	out, err := ApplyTAScores(reports, scores)
	if err != nil {
		return nil, err
	}
	body, err := yaml.Marshal(scores)
	if err != nil {
		return nil, err
	}
	header := "# The TA's points of the checks that need a TA (lab report --serve writes\n# this file; you may edit it by hand). lab grade and lab report count it.\n"
	tmp, err := os.CreateTemp(dir, "."+TAScoresFile+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(header + string(body)); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, TAScoresFile)); err != nil {
		return nil, err
	}
	return out, nil
}
