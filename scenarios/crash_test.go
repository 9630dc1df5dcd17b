package scenarios

import "testing"

func TestCrashLineNamesTheException(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
		ok    bool
	}{
		{"no traceback", []string{"[INFO] Server started", "[Server] bye"}, "", false},
		{"a crash", []string{
			"[INFO] Server started on IP: 10.20.30.3, Port: 5000",
			"Traceback (most recent call last):",
			`  File "/root/chatroom_server.py", line 80, in <module>`,
			"    server.run()",
			"NameError: name 'adress' is not defined",
		}, "NameError: name 'adress' is not defined", true},
		{"chained: the last traceback counts", []string{
			"Traceback (most recent call last):",
			`  File "s.py", line 3, in f`,
			"KeyError: 'alice'",
			"During handling of the above exception, another exception occurred:",
			"Traceback (most recent call last):",
			`  File "s.py", line 9, in g`,
			"\tbroadcast(x)",
			"OSError: [Errno 98] Address already in use",
		}, "OSError: [Errno 98] Address already in use", true},
		{"an interrupt the grader sent", []string{
			"Traceback (most recent call last):",
			`  File "c.py", line 3, in <module>`,
			"KeyboardInterrupt",
		}, "", false},
		{"cut off before the exception", []string{"Traceback (most recent call last):", `  File "c.py", line 3`}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := crashLine(tc.lines)
			if got != tc.want || ok != tc.ok {
				t.Errorf("crashLine = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRefusedClientSaidSomething(t *testing.T) {
	tests := []struct {
		name    string
		typed   answers
		written int64
		want    bool
	}{
		{"printed after the last answer", answers{prev: 10, last: 20, asked: true}, 30, true},
		{"asked for the last answer, then exited mute", answers{prev: 10, last: 20, asked: true}, 20, false},
		{"refused the username while the password was typed", answers{prev: 10, last: 20, asked: false}, 20, true},
		{"printed nothing since the answer before", answers{prev: 20, last: 20, asked: false}, 20, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.typed.saidSomething(tc.written); got != tc.want {
				t.Errorf("saidSomething(%d) = %v, want %v", tc.written, got, tc.want)
			}
		})
	}
}
