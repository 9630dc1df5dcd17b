package traffic

import "github.com/ntnu-ttm4200/lab3/lab"

// ExecResult is the outcome of a command run in a container, as the lab's
// Docker engine reports it.
type ExecResult = lab.ExecResult

// *lab.Docker is the Runner the lab uses.
var _ Runner = (*lab.Docker)(nil)
