package dnscheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseExpectations(t *testing.T) {
	src := `# lab 2, task 3
- {name: www.team30.com, type: CNAME, want: [team30.com.]}
- name: Team30.com
  type: mx
  want: "10 mail.team30.com"
- {name: nosuch.team30.com, type: A, rcode: NXDOMAIN}
- {name: client1.team30.com, type: TXT, want: []}
- name: team30.com
  type: A
  want:
    - 10.20.30.3
`
	got, err := ParseExpectations("lab2.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Expectation{
		{Name: "www.team30.com.", Type: "CNAME", Want: []string{"team30.com."}, Source: "lab2.yaml:2"},
		{Name: "team30.com.", Type: "MX", Want: []string{"10 mail.team30.com."}, Source: "lab2.yaml:3"},
		{Name: "nosuch.team30.com.", Type: "A", Want: []string{}, Rcode: "NXDOMAIN", Source: "lab2.yaml:6"},
		{Name: "client1.team30.com.", Type: "TXT", Want: []string{}, Source: "lab2.yaml:7"},
		{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}, Source: "lab2.yaml:8"},
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("ParseExpectations:\n want %s\n got  %s", w, g)
	}
}

func TestParseExpectationsErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"empty file", "", "e.yaml: invalid expectation: the file is empty"},
		{"only a comment", "# nothing\n", "e.yaml: invalid expectation: the file is empty"},
		{"not a list", "name: team30.com\n", "e.yaml:1: invalid expectation: want a list"},
		{"empty list", "[]\n", "e.yaml:1: invalid expectation: the list is empty"},
		{"bad YAML", "- {name: a\n", "e.yaml: invalid expectation: "},
		{"entry not a mapping", "- team30.com A\n", "e.yaml:1: invalid expectation: each entry is a mapping"},
		{"unknown key", "- {name: team30.com, type: A, want: 10.20.30.3}\n- {name: a.team30.com, typ: A, want: 10.20.30.3}\n",
			`e.yaml:2: invalid expectation: line 2: unknown key "typ"`},
		{"missing type", "- {name: team30.com, want: [10.20.30.3]}\n", "e.yaml:1: invalid expectation: type is missing"},
		{"missing want", "- {name: team30.com, type: A}\n", "e.yaml:1: invalid expectation: want is missing"},
		{"duplicate key", "- {name: team30.com, type: A, type: AAAA, want: x}\n", "given twice"},
		{"nested want", "- {name: team30.com, type: A, want: [[10.20.30.3]]}\n", "e.yaml:1: invalid expectation: line 1: each want value"},
		{"map as name", "- name: {a: b}\n  type: A\n  want: x\n", "e.yaml:1: invalid expectation: line 1: name must be a non-empty string"},
		{"bad address on the third entry",
			"- {name: team30.com, type: A, want: 10.20.30.3}\n- {name: team30.com, type: AAAA, want: fd00::3}\n-\n  name: www.team30.com\n  type: A\n  want: [10.20.30.300]\n",
			`e.yaml:4: invalid expectation: www.team30.com. A: "10.20.30.300" is not an IP address`},
		{"unknown type", "- {name: team30.com, type: AA, want: x}\n", `e.yaml:1: invalid expectation: team30.com.: unknown record type "AA"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExpectations("e.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidExpectation) {
				t.Errorf("err = %v, want it to wrap ErrInvalidExpectation", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadExpectationsMissingFile(t *testing.T) {
	_, err := LoadExpectations(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "read expect file: ") {
		t.Errorf("err = %v, want a wrapped ErrNotExist", err)
	}
}

func TestDecodeExpectations(t *testing.T) {
	var b strings.Builder
	if err := WriteExpectations(&b, []Expectation{{Name: "team30.com.", Type: "A", Want: []string{"10.20.30.3"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeExpectations(strings.NewReader(b.String()))
	if err != nil || len(got) != 1 || got[0].Want[0] != "10.20.30.3" {
		t.Errorf("round trip = %v, %v", got, err)
	}
	for _, tt := range []struct{ name, in, want string }{
		{"no input", "", "no input"},
		{"empty list", "[]", "the list is empty"},
		{"unknown field", `[{"name":"a.","type":"A","wnat":["1.2.3.4"]}]`, `unknown field "wnat"`},
		{"invalid second", `[{"name":"a.","type":"A","want":["1.2.3.4"]},{"name":"a.","type":"A","want":["x"]}]`, "expectation 2: invalid expectation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeExpectations(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
