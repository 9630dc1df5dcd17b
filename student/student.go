// Package student holds what the course hands to students: test_lab3.py,
// the checker the handout's Milestone 3 notebook imports.
package student

import _ "embed"

// CheckerName is the file name the notebook imports the checker under.
const CheckerName = "test_lab3.py"

// Checker is test_lab3.py: it says whether the student's Task 3.2 and 3.3
// answers match their own captures, with hints but never the answers.
//
//go:embed test_lab3.py
var Checker []byte
