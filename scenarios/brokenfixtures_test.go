package scenarios

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The fast tier grades each broken fixture only on the milestone of its
// fault (issue 22). That loses nothing only if, on every other milestone,
// the fixture runs the very same programs, byte for byte, as the correct
// submission it was copied from; these tests hold the fixtures to that.

// brokenSet is a folder of broken fixtures and the correct submission
// each of them copies (testdata/README.md, testdata/students/README.md).
type brokenSet struct {
	dir, base string
	// baseOnly are files of the base folder that are no part of the
	// submission and so are not copied: handout/'s README, the script that
	// writes the broken fixtures and its self-check.
	baseOnly []string
}

var brokenSets = []brokenSet{
	{
		dir:      filepath.Join("..", "testdata", "broken"),
		base:     filepath.Join("..", "testdata", "handout"),
		baseOnly: []string{"README.md", "make_broken.py", "selfcheck.py"},
	},
	{
		dir:  filepath.Join("..", "testdata", "students", "broken"),
		base: filepath.Join("..", "testdata", "students", "faithful"),
	},
}

// brokenFixture is one deliberately broken submission.
type brokenFixture struct {
	fault  string // the folder's name
	dir    string
	set    brokenSet
	checks []string // the checks its FAULT.md says it fails, all of one milestone
}

// faultFile says which checks a broken fixture fails.
const faultFile = "FAULT.md"

// faultChecksRE is FAULT.md's claim: "Fails check `a`" or "Fails checks
// `a`, `b` and `c`"; faultNameRE picks the names out of it.
var (
	faultChecksRE = regexp.MustCompile("Fails checks? (`[a-z0-9-]+`(?:(?:, |,? and )`[a-z0-9-]+`)*)")
	faultNameRE   = regexp.MustCompile("`([a-z0-9-]+)`")
)

// faultChecks reads the checks a FAULT.md names, or nil when it names none.
func faultChecks(text []byte) []string {
	m := faultChecksRE.FindSubmatch(text)
	if m == nil {
		return nil
	}
	var out []string
	for _, n := range faultNameRE.FindAllSubmatch(m[1], -1) {
		if !slices.Contains(out, string(n[1])) {
			out = append(out, string(n[1]))
		}
	}
	return out
}

// brokenFixtures lists every broken fixture with the checks it fails. A
// folder whose FAULT.md is missing or names no check is reported and left
// out, so that the others are still checked.
func brokenFixtures(t *testing.T) []brokenFixture {
	t.Helper()
	var out []brokenFixture
	for _, set := range brokenSets {
		entries, err := os.ReadDir(set.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if !en.IsDir() {
				continue
			}
			dir := filepath.Join(set.dir, en.Name())
			text, err := os.ReadFile(filepath.Join(dir, faultFile))
			if err != nil {
				t.Errorf("broken fixture %s: %v: say which checks it fails", dir, err)
				continue
			}
			checks := faultChecks(text)
			if checks == nil {
				t.Errorf("%s names no check: want \"Fails check `NAME`\" or \"Fails checks `A`, `B`\"", filepath.Join(dir, faultFile))
				continue
			}
			out = append(out, brokenFixture{fault: en.Name(), dir: dir, set: set, checks: checks})
		}
	}
	if len(out) == 0 {
		t.Fatal("no broken fixtures found")
	}
	return out
}

// isBrokenFixture says whether a folder of that name is in a set of
// broken fixtures, whatever its FAULT.md says.
func isBrokenFixture(name string) bool {
	for _, set := range brokenSets {
		if st, err := os.Stat(filepath.Join(set.dir, name)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// milestoneOf is the one milestone whose programs a fixture's checks run,
// or an error naming what is wrong: an unknown check, or checks of
// several milestones (the fast tier grades a fixture on one).
func (fx brokenFixture) milestoneOf(milestones map[string]Milestone) (Milestone, error) {
	var m Milestone
	for _, c := range fx.checks {
		cm, ok := milestones[c]
		switch {
		case !ok:
			return "", fmt.Errorf("%s: %s names check %q, which is no built-in scenario", fx.dir, faultFile, c)
		case m != "" && cm != m:
			return "", fmt.Errorf("%s: %s names checks of %s and %s: a fixture's fault is in one milestone", fx.dir, faultFile, m, cm)
		}
		m = cm
	}
	return m, nil
}

// checkMilestones maps each built-in check to the milestone whose
// programs it runs.
func checkMilestones(t *testing.T) map[string]Milestone {
	t.Helper()
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Milestone{}
	for _, sc := range all {
		out[sc.Name] = sc.Milestone
	}
	return out
}

// milestoneFiles are the files of a submission folder that each
// milestone runs, as LoadSubmission picks them: the handout's names for
// M1 and M2, the one remaining *server*.py / *client*.py pair for M4.
func milestoneFiles(t *testing.T, dir string) map[Milestone][]string {
	t.Helper()
	sub, err := LoadSubmission(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[Milestone][]string{}
	for m, roles := range sub.Programs.Commands {
		for _, cmd := range roles {
			for _, arg := range cmd {
				if _, ok := sub.Files[arg]; ok {
					out[m] = append(out[m], arg)
				}
			}
		}
		sort.Strings(out[m])
	}
	return out
}

// fileDiff is a file that a fixture does not have as its base has it.
type fileDiff struct {
	name, why string
}

// diffFolders compares the entries at the top of two folders, FAULT.md
// aside: a regular file in both whose bytes differ, a file in only one of
// them (but base's baseOnly) and an entry that is not a regular file are
// each a difference, in name order.
func diffFolders(base, fixture string, baseOnly []string) ([]fileDiff, error) {
	read := func(dir string) (map[string][]byte, []fileDiff, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, err
		}
		files := map[string][]byte{}
		var odd []fileDiff
		for _, en := range entries {
			switch {
			case en.Name() == faultFile:
			case !en.Type().IsRegular():
				odd = append(odd, fileDiff{en.Name(), "is not a regular file in " + dir})
			default:
				b, err := os.ReadFile(filepath.Join(dir, en.Name()))
				if err != nil {
					return nil, nil, err
				}
				files[en.Name()] = b
			}
		}
		return files, odd, nil
	}
	want, odd1, err := read(base)
	if err != nil {
		return nil, err
	}
	got, odd2, err := read(fixture)
	if err != nil {
		return nil, err
	}
	diffs := append(odd1, odd2...)
	for name, b := range got {
		w, ok := want[name]
		switch {
		case !ok:
			diffs = append(diffs, fileDiff{name, "is only in the fixture"})
		case !bytes.Equal(b, w):
			diffs = append(diffs, fileDiff{name, "differs from " + filepath.Join(base, name)})
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok && !slices.Contains(baseOnly, name) {
			diffs = append(diffs, fileDiff{name, "is missing (it is in " + base + ")"})
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].name < diffs[j].name })
	return diffs, nil
}

// TestBrokenFixturesDifferOnlyInTheirMilestone compares every broken
// fixture with the submission it copies: it must differ, and only in files
// that the milestone of its FAULT.md's checks runs. Then grading it on that
// milestone alone (the fast tier) judges all it changed.
func TestBrokenFixturesDifferOnlyInTheirMilestone(t *testing.T) {
	milestones := checkMilestones(t)
	for _, fx := range brokenFixtures(t) {
		t.Run(fx.fault, func(t *testing.T) {
			m, err := fx.milestoneOf(milestones)
			if err != nil {
				t.Fatal(err)
			}
			files := milestoneFiles(t, fx.dir)
			if want := milestoneFiles(t, fx.set.base); fmt.Sprint(files) != fmt.Sprint(want) {
				t.Errorf("%s runs %v, but %s runs %v", fx.dir, files, fx.set.base, want)
			}
			diffs, err := diffFolders(fx.set.base, fx.dir, fx.set.baseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) == 0 {
				t.Errorf("%s is byte for byte %s: it has no fault", fx.dir, fx.set.base)
			}
			for _, d := range diffs {
				if !slices.Contains(files[m], d.name) || !strings.HasPrefix(d.why, "differs") {
					t.Errorf("%s: %s %s, but the fault's checks %v are %s checks and %s runs only %v",
						fx.dir, d.name, d.why, fx.checks, m, m, files[m])
				}
			}
		})
	}
}

// TestFaultChecks reads the FAULT.md claims the fixtures make, one check
// or several.
func TestFaultChecks(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Fails check `m1-no-echo` (only): the server echoes.", []string{"m1-no-echo"}},
		{"Fails checks `m1-broadcast`, `m1-quit` (only): it crashes.", []string{"m1-broadcast", "m1-quit"}},
		{"Fails checks `a`, `b` and `c`.", []string{"a", "b", "c"}},
		{"Fails checks `a`, `b`, and `c`.", []string{"a", "b", "c"}},
		{"Fails checks `a` and `b`; see `notes.txt`.", []string{"a", "b"}},
		{"Fails check `a`, which `b` does not.", []string{"a"}},
		{"The server forgets to close.", nil},
		{"Fails the check m1-quit.", nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := faultChecks([]byte(tc.text)); !slices.Equal(got, tc.want) {
				t.Errorf("faultChecks = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFixtureMilestone holds a fixture's checks to one milestone.
func TestFixtureMilestone(t *testing.T) {
	milestones := map[string]Milestone{"m1-a": M1, "m1-b": M1, "m2-a": M2}
	tests := []struct {
		checks  []string
		want    Milestone
		problem string
	}{
		{checks: []string{"m1-a"}, want: M1},
		{checks: []string{"m1-a", "m1-b"}, want: M1},
		{checks: []string{"m1-a", "m2-a"}, problem: "names checks of M1 and M2"},
		{checks: []string{"m1-a", "m9"}, problem: `names check "m9", which is no built-in scenario`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.checks, ","), func(t *testing.T) {
			got, err := brokenFixture{dir: "fx", checks: tc.checks}.milestoneOf(milestones)
			switch {
			case tc.problem == "" && (err != nil || got != tc.want):
				t.Errorf("milestoneOf = %q, %v; want %q", got, err, tc.want)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("milestoneOf = %q, %v; want an error saying %q", got, err, tc.problem)
			}
		})
	}
}

// TestDiffFolders shows that the comparison above can fail: it finds a
// changed byte, a missing file and an extra one.
func TestDiffFolders(t *testing.T) {
	handout := map[string]string{"chatroom_server.py": "print('hi')\n", "chatroom_client.py": "x = 1\n", "README.md": "notes\n"}
	copied := map[string]string{"chatroom_server.py": "print('hi')\n", "chatroom_client.py": "x = 1\n"}
	with := func(m map[string]string, name, body string) map[string]string {
		out := maps.Clone(m)
		out[name] = body
		return out
	}
	tests := []struct {
		name          string
		base, fixture map[string]string
		want          []fileDiff
	}{
		{"copy", handout, with(copied, faultFile, "Fails check `x`"), nil},
		{"one byte", handout, with(copied, "chatroom_server.py", "print('hI')\n"),
			[]fileDiff{{"chatroom_server.py", "differs from BASE/chatroom_server.py"}}},
		{"extra file", handout, with(copied, "notes.txt", ""), []fileDiff{{"notes.txt", "is only in the fixture"}}},
		{"missing file", handout, map[string]string{"chatroom_server.py": "print('hi')\n"},
			[]fileDiff{{"chatroom_client.py", "is missing (it is in BASE)"}}},
		{"FAULT.md only in the base", with(copied, faultFile, "?"), copied, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := writeFiles(t, tc.base)
			got, err := diffFolders(base, writeFiles(t, tc.fixture), []string{"README.md"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].why = strings.ReplaceAll(got[i].why, base, "BASE")
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("diffFolders:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// correctVariants are correct submissions that copy another and change
// the programs of one milestone only: the fast tier grades them on that
// milestone and the base on every one (grading's TestGradeCanaries);
// make e2e and make flake grade them in full.
var correctVariants = []struct {
	dir, base string
	milestone Milestone
}{
	{"students/pbkdf2", "students/faithful", M4},
	{"students/pbkdf2-owasp", "students/faithful", M4},
	{"students/scrypt", "students/faithful", M4},
	{"students/slow-login", "students/faithful", M4},
}

// TestCorrectVariantsDifferOnlyInTheirMilestone: each correct variant
// differs from its base, and only in its milestone's programs.
func TestCorrectVariantsDifferOnlyInTheirMilestone(t *testing.T) {
	for _, v := range correctVariants {
		t.Run(v.dir, func(t *testing.T) {
			dir, base := filepath.Join("..", "testdata", v.dir), filepath.Join("..", "testdata", v.base)
			files := milestoneFiles(t, dir)
			if want := milestoneFiles(t, base); fmt.Sprint(files) != fmt.Sprint(want) {
				t.Errorf("%s runs %v, but %s runs %v", dir, files, base, want)
			}
			diffs, err := diffFolders(base, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) == 0 {
				t.Errorf("%s is byte for byte %s", dir, base)
			}
			for _, d := range diffs {
				if !slices.Contains(files[v.milestone], d.name) || !strings.HasPrefix(d.why, "differs") {
					t.Errorf("%s: %s %s, but it may change only the %s programs %v", dir, d.name, d.why, v.milestone, files[v.milestone])
				}
			}
		})
	}
}
