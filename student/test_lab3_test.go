package student_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/internal/tier"
	"github.com/ntnu-ttm4200/lab3/student"
)

// samples are captures of a lab session: the traffic package's sample
// files (written by its generator, four link types and formats).
const samples = "../traffic/testdata/sample"

// run runs a notebook cell with the checker against the captures in dir.
func run(t *testing.T, dir, cell string) string {
	t.Helper()
	py := tier.Python(t)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, student.CheckerName), student.Checker, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	code := "from test_lab3 import TestLab3\ncheck_progress = TestLab3(" + pyString(abs) + ")\nok = " + cell + "\nprint('RESULT', ok)\n"
	cmd := exec.Command(py, "-c", code)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return string(out)
}

func pyString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// expected are the right answers of the sample captures; none may ever
// appear in the checker's output.
var expected = []string{"1000000000", "2000000000", "1000000001", "65527", "65507", "65535"}

func TestChecker(t *testing.T) {
	tests := []struct {
		name      string
		dir       string
		cell      string
		wantOK    bool
		wantLines []string
	}{
		{"3.2 right", samples, "check_progress.test_3_2(1000000000, 2000000000, 1000000001)", true,
			[]string{"Task 3.2: 3 of 3 right"}},
		{"3.2 relative numbers", samples, "check_progress.test_3_2(0, 0, 1)", false,
			[]string{"Task 3.2: 0 of 3 right", "FAIL SYN_sequence_number", "Relative sequence numbers", "[SYN, ACK]"}},
		{"3.2 one wrong", samples, "check_progress.test_3_2(1000000000, 2000000001, 1000000001)", false,
			[]string{"Task 3.2: 2 of 3 right", "FAIL SYNACK_sequence_number"}},
		{"3.2 not an integer", samples, "check_progress.test_3_2('1000000000', 2000000000, 1000000001)", false,
			[]string{"FAIL SYN_sequence_number: give an integer"}},
		{"3.2 missing capture", "testdata", "check_progress.test_3_2(1, 2, 3)", false,
			[]string{"chatserver.pcap is not in"}},
		{"3.3 right (RFC 768)", samples, "check_progress.test_3_3(4, 2, 65527, 65535, 17)", true,
			[]string{"Task 3.3: 5 of 5 right"}},
		{"3.3 right (IPv4)", samples, "check_progress.test_3_3(4, 2, 65507, 65535, 17)", true,
			[]string{"Task 3.3: 5 of 5 right"}},
		{"3.3 wrong", samples, "check_progress.test_3_3(8, 16, 65535, 65536, 6)", false,
			[]string{"Task 3.3: 0 of 5 right", "FAIL protocol_number_for_UDP", "Protocol field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.dir, tc.cell)
			if got := strings.Contains(out, "RESULT True"); got != tc.wantOK {
				t.Errorf("returned %v, want %v:\n%s", got, tc.wantOK, out)
			}
			for _, l := range tc.wantLines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}

// TestCheckerNeverTellsTheAnswer gives wrong answers of every kind and
// checks that no right answer appears in what the student sees.
func TestCheckerNeverTellsTheAnswer(t *testing.T) {
	cells := []string{
		"check_progress.test_3_2(0, 0, 0)",
		"check_progress.test_3_2(999999999, 1999999999, 1000000000)",
		"check_progress.test_3_2(None, 'x', 1.5)",
		"check_progress.test_3_3(0, 0, 0, 0, 0)",
		"check_progress.test_3_3(3, 4, 65535, 65536, 6)",
		"check_progress.test_3_3(None, None, None, None, None)",
	}
	for _, cell := range cells {
		out := run(t, samples, cell)
		// Only the checker's own words count: the echoed cell is not output.
		for _, v := range expected {
			if strings.Contains(out, v) {
				t.Errorf("%s: the output gives away %s:\n%s", cell, v, out)
			}
		}
		if strings.Contains(out, "RESULT True") {
			t.Errorf("%s: passed", cell)
		}
	}
}
