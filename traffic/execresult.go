package traffic

// ExecResult is the outcome of a command run in a container, as the lab's
// Docker engine reports it.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}
