package runtime

import "testing"

func TestDescribeState(t *testing.T) {
	tests := []struct {
		state, status, want string
	}{
		{"running", "Up 3 minutes", "running"},
		{"exited", "Exited (137) 5 seconds ago", "exited (137)"},
		{"exited", "Exited (0) About a minute ago", "exited (0)"},
		{"created", "Created", "created"},
		{"restarting", "Restarting (1) 2 seconds ago", "restarting"},
		{"", "", "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			if got := (ContainerInfo{State: tc.state, Status: tc.status}).Describe(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
