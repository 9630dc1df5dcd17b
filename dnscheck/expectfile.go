package dnscheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadExpectations reads a YAML expect file: a list of questions and their
// wanted answers, e.g.
//
//   - {name: www.team30.com, type: CNAME, want: [team30.com.]}
//   - name: team30.com
//     type: MX
//     want: "10 mail.team30.com."
//   - {name: nosuch.team30.com, type: A, rcode: NXDOMAIN}
//
// Errors name the file and line of the bad entry.
func LoadExpectations(path string) ([]Expectation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read expect file: %w", err)
	}
	return ParseExpectations(path, b)
}

// ParseExpectations parses expect file YAML; name is the file name used in
// errors and in each Expectation's Source.
func ParseExpectations(name string, data []byte) ([]Expectation, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, ErrInvalidExpectation, yamlMessage(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty: want a list such as - {name: team30.com, type: A, want: [10.20.30.3]}", name, ErrInvalidExpectation)
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: %w: want a list of expectations (lines starting with \"- \")", name, list.Line, ErrInvalidExpectation)
	}
	if len(list.Content) == 0 {
		return nil, fmt.Errorf("%s:%d: %w: the list is empty", name, list.Line, ErrInvalidExpectation)
	}
	out := make([]Expectation, 0, len(list.Content))
	for _, item := range list.Content {
		e, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, item.Line, err)
		}
		e.Source = fmt.Sprintf("%s:%d", name, item.Line)
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, item.Line, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// yamlMessage strips the "yaml: " prefix so the error stays one short line.
func yamlMessage(err error) string {
	return strings.TrimPrefix(strings.ReplaceAll(err.Error(), "\n", "; "), "yaml: ")
}

func parseItem(item *yaml.Node) (Expectation, error) {
	var e Expectation
	if item.Kind != yaml.MappingNode {
		return e, fmt.Errorf("%w: each entry is a mapping with name, type and want (or rcode)", ErrInvalidExpectation)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if seen[k.Value] {
			return e, fmt.Errorf("%w: line %d: %s given twice", ErrInvalidExpectation, k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "name", "type", "rcode":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return e, fmt.Errorf("%w: line %d: %s must be a non-empty string", ErrInvalidExpectation, v.Line, k.Value)
			}
			switch k.Value {
			case "name":
				e.Name = v.Value
			case "type":
				e.Type = v.Value
			default:
				e.Rcode = v.Value
			}
		case "want":
			want, err := wantValues(v)
			if err != nil {
				return e, err
			}
			e.Want = want
		default:
			return e, fmt.Errorf("%w: line %d: unknown key %q (use name, type, want, rcode)", ErrInvalidExpectation, k.Line, k.Value)
		}
	}
	for _, k := range []string{"name", "type"} {
		if !seen[k] {
			return e, fmt.Errorf("%w: %s is missing", ErrInvalidExpectation, k)
		}
	}
	if !seen["want"] && !seen["rcode"] {
		return e, fmt.Errorf("%w: want is missing (give want: [] or rcode: NOERROR to require no records)", ErrInvalidExpectation)
	}
	return e, nil
}

// wantValues accepts one value or a list of values.
func wantValues(v *yaml.Node) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, nil
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, x := range v.Content {
			if x.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%w: line %d: each want value is one record's data as a string", ErrInvalidExpectation, x.Line)
			}
			out = append(out, x.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: line %d: want is a value or a list of values", ErrInvalidExpectation, v.Line)
}

// DecodeExpectations reads a JSON array of expectations, as WriteExpectations
// writes for the cmd/dnscheck binary, and validates each.
func DecodeExpectations(r io.Reader) ([]Expectation, error) {
	var exps []Expectation
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&exps); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("decode expectations: %w: no input", ErrInvalidExpectation)
		}
		return nil, fmt.Errorf("decode expectations: %w: %v", ErrInvalidExpectation, err)
	}
	if len(exps) == 0 {
		return nil, fmt.Errorf("decode expectations: %w: the list is empty", ErrInvalidExpectation)
	}
	for i, e := range exps {
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("expectation %d: %w", i+1, err)
		}
		exps[i] = n
	}
	return exps, nil
}

// WriteExpectations writes exps as the JSON array DecodeExpectations reads.
func WriteExpectations(w io.Writer, exps []Expectation) error {
	if err := json.NewEncoder(w).Encode(exps); err != nil {
		return fmt.Errorf("encode expectations: %w", err)
	}
	return nil
}
