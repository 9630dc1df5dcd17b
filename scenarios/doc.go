// Package scenarios is the language and the engine that grade Lab 3 chat
// implementations: it reads the handout's requirements as scripted
// scenarios (YAML files, embedded and overridable), runs one on a lab's
// hosts through runtime.Hosts (by host name), and judges it: a Result with
// points and evidence. It also judges a submission's own files (Milestone
// 3 and Delivery Q2). Provisioning labs, deploying, resetting, retrying and
// writing reports are package grading's. README.md describes the file
// format.
package scenarios
