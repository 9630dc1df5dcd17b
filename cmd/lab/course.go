package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// courseFile is where lab grade looks for the course's settings when
// --course does not say: the lab3.yaml of the folder it runs in, if that
// file has a course: mapping at its top level. A submission's lab3.yaml
// (its manifest: team, port, programs) has none, so grading from inside a
// student's folder never takes it for the course's.
const courseFile = scenarios.ManifestFile

// course is a course's settings for lab grade, in the course: mapping of
// its lab3.yaml. A flag given on the command line wins over the file.
//
//	course:
//	  milestones: [M1, M2, M4]   # --milestones: what the course asks for
//	  max_payload: [65507]       # --max-payload: Task 3.3's accepted answers
//	  roster: roster.csv         # --roster, relative to this file
type course struct {
	Milestones []string `yaml:"milestones"`
	MaxPayload []int    `yaml:"max_payload"`
	Roster     string   `yaml:"roster"`

	path string // the file the settings came from
}

// loadCourse reads the course's settings from path, or from courseFile in
// the working folder when path is "" (nil, and no error, when there is no
// such file or it holds no course: mapping). A named file must hold one.
// Every key is checked: a misspelt setting is an error, never ignored.
func loadCourse(path string) (*course, error) {
	named := path != ""
	if !named {
		path = courseFile
	}
	data, err := os.ReadFile(path)
	if !named && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--course: %w", err)
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %s", path, yamlMessage(err))
	}
	node, ok := top["course"]
	if !ok {
		if named {
			return nil, fmt.Errorf("%s: no course: settings (e.g. course: {milestones: [M1, M2, M4]})", path)
		}
		return nil, nil
	}
	if len(top) > 1 {
		var other []string
		for k := range top {
			if k != "course" {
				other = append(other, k)
			}
		}
		slices.Sort(other)
		return nil, fmt.Errorf("%s: a course's lab3.yaml holds course: only, not %s (a submission's settings go in the submission's own lab3.yaml)", path, strings.Join(other, ", "))
	}
	// Decoded again from its own text, so that unknown keys are refused.
	text, err := yaml.Marshal(&node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &course{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: course: {}, nothing set
		return nil, fmt.Errorf("%s: course: %s (it takes milestones, max_payload and roster)", path, yamlMessage(err))
	}
	if _, err := milestoneSet(c.Milestones); err != nil {
		return nil, fmt.Errorf("%s: course: milestones: %s", path, strings.TrimPrefix(err.Error(), "--milestones "))
	}
	for _, v := range c.MaxPayload {
		if v < 1 || v > 65535 {
			return nil, fmt.Errorf("%s: course: max_payload: %d is no UDP payload size", path, v)
		}
	}
	if c.Roster != "" && !filepath.IsAbs(c.Roster) {
		c.Roster = filepath.Join(filepath.Dir(path), c.Roster)
	}
	return c, nil
}

// yamlMessage is a yaml.v3 error in one line, without its "yaml: " prefix.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "\n", "; ")
	return strings.TrimPrefix(msg, "unmarshal errors:; ")
}

// describe is the settings in one line, for lab grade's note of where
// they came from.
func (c *course) describe() string {
	var parts []string
	if len(c.Milestones) > 0 {
		parts = append(parts, "milestones "+strings.Join(c.Milestones, ","))
	}
	if len(c.MaxPayload) > 0 {
		vs := make([]string, len(c.MaxPayload))
		for i, v := range c.MaxPayload {
			vs[i] = strconv.Itoa(v)
		}
		parts = append(parts, "max_payload "+strings.Join(vs, ","))
	}
	if c.Roster != "" {
		parts = append(parts, "roster "+c.Roster)
	}
	if len(parts) == 0 {
		return "none set"
	}
	return strings.Join(parts, ", ")
}
