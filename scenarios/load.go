package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed *.yaml
var builtin embed.FS

// Builtin returns the scenarios shipped with the tool, in file name order.
func Builtin() ([]Scenario, error) {
	return LoadFS(builtin, ".")
}

// LoadDir reads every *.yaml and *.yml file in dir: the --scenarios
// override, so staff can copy and edit the built-in files.
func LoadDir(dir string) ([]Scenario, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("scenarios folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("scenarios folder %s: not a folder", dir)
	}
	return LoadFS(os.DirFS(dir), ".", dir)
}

// LoadFS reads every *.yaml and *.yml file in dir of fsys. The optional
// prefix names the folder in error messages.
func LoadFS(fsys fs.FS, dir string, prefix ...string) ([]Scenario, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read scenarios: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		where := dir
		if len(prefix) > 0 {
			where = prefix[0]
		}
		return nil, fmt.Errorf("read scenarios: no .yaml files in %s", where)
	}
	var out []Scenario
	seen := map[string]string{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("read scenarios: %w", err)
		}
		label := n
		if len(prefix) > 0 {
			label = path.Join(prefix[0], n)
		} else {
			label = path.Join("scenarios", n)
		}
		sc, err := Parse(label, data)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[sc.Name]; dup {
			return nil, &ParseError{File: label, Line: sc.Line, Msg: fmt.Sprintf("scenario name %q is also used by %s", sc.Name, prev)}
		}
		seen[sc.Name] = label
		out = append(out, sc)
	}
	return out, nil
}

// Select keeps the scenarios whose name or milestone is in only (all of them
// when only is empty) and reports names that match nothing.
func Select(all []Scenario, only []string) ([]Scenario, error) {
	if len(only) == 0 {
		return all, nil
	}
	var out []Scenario
	for _, want := range only {
		n := 0
		for _, sc := range all {
			if sc.Name == want || string(sc.Milestone) == want {
				out = append(out, sc)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no scenario or milestone named %q: use a scenario file's name or M1, M2, M4, DNS", want)
		}
	}
	return out, nil
}
