// Package scenarios grades Lab 3 chat implementations: it runs the
// handout's requirements as scripted scenarios (YAML files, embedded and
// overridable) on the lab's hosts, through a small Runtime interface, and
// reports points with evidence as a table, JUnit, Gradescope results and
// JSON. README.md describes the file format.
package scenarios
