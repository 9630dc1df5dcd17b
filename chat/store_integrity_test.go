package chat_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/chat"
)

// storeWith registers users in a fresh store and returns its path and
// file contents, with the store closed.
func storeWith(t *testing.T, users ...string) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	st, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := st.Register(u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestDamagedStoreIsRefused: each damage found by probing must stop the
// server at start with an error, instead of losing or stranding users.
func TestDamagedStoreIsRefused(t *testing.T) {
	_, good := storeWith(t, "alice", "bob", "carol")
	lines := strings.SplitAfter(string(good), "\n")
	// lines: header, alice, bob, carol, trailer, "".
	lastHash := lines[3][:len(lines[3])-1]
	v1 := "# lab3 chat users v1: <username> <argon2id PHC string>\n" + lines[1] + lines[2] + lines[3]
	tests := []struct {
		name string
		data string
	}{
		{"last hash cut by 12 characters (v1 file)", strings.Replace(v1, lastHash, lastHash[:len(lastHash)-12], 1)},
		{"last hash cut by 12 characters", strings.Replace(string(good), lastHash, lastHash[:len(lastHash)-12], 1)},
		{"cut after the second user", strings.Join(lines[:3], "")},
		{"cut after the header", lines[0]},
		{"cut inside a line", string(good[:len(good)-40])},
		{"a user removed", lines[0] + lines[1] + lines[3] + lines[4]},
		{"empty file", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.db")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := chat.OpenStore(path, cheap)
			if err == nil {
				st.Close()
				t.Fatalf("OpenStore accepted the damaged store:\n%s", tc.data)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	t.Run("intact", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "users.db")
		os.WriteFile(path, good, 0o600)
		st, err := chat.OpenStore(path, cheap)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if !st.Verify("carol", "pw-carol") {
			t.Fatal("carol cannot log in")
		}
	})
}

// TestSecondServerOnOneStoreIsRefused: two servers given one --users file
// would each rewrite it from their own memory and erase the other's
// registrations, so the second one must not start.
func TestSecondServerOnOneStoreIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	first, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	second, err := chat.OpenStore(path, cheap)
	if !errors.Is(err, chat.ErrStoreLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second OpenStore = %v, want ErrStoreLocked", err)
	}
	if err := first.Register("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	first.Close()
	again, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatalf("OpenStore after the first closed: %v", err)
	}
	defer again.Close()
	if !again.Has("alice") {
		t.Fatal("alice's registration was lost")
	}
}
