package chat_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ntnu-ttm4200/lab3/chat"
)

func TestHashPasswordPHCFormat(t *testing.T) {
	h1, err := chat.HashPassword("correct horse", chat.DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h1) {
		t.Fatalf("hash %q does not match %s", h1, re)
	}
	h2, _ := chat.HashPassword("correct horse", chat.DefaultArgon2)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	p, err := chat.ParsePHC(h1)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("correct horse") || p.Verify("correct horse ") {
		t.Fatal("Verify does not tell the right password from a wrong one")
	}
	if p.String() != h1 {
		t.Fatalf("String() = %q, want %q", p.String(), h1)
	}
}

func TestParsePHCRejects(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	if _, err := chat.ParsePHC(good); err != nil {
		t.Fatalf("ParsePHC(good) = %v", err)
	}
	for name, s := range map[string]string{
		"argon2i":        strings.Replace(good, "argon2id", "argon2i", 1),
		"old version":    strings.Replace(good, "v=19", "v=16", 1),
		"params order":   strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		"huge memory":    strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":      strings.Replace(good, "t=1", "t=0", 1),
		"padded base64":  good + "=",
		"missing hash":   good[:strings.LastIndex(good, "$")],
		"empty":          "",
		"leading zero":   strings.Replace(good, "m=64", "m=064", 1),
		"short salt":     "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"trailing field": good + "$x",
		"hash cut by 12": good[:len(good)-12],
		"salt too long":  strings.Replace(good, "$"+"c2FsdHNhbHRzYWx0c2FsdA"+"$", "$"+"c2FsdHNhbHRzYWx0c2FsdAc2FsdHNhbHRzYWx0c2FsdA"+"$", 1),
	} {
		if _, err := chat.ParsePHC(s); err == nil {
			t.Errorf("%s: ParsePHC(%q) succeeded", name, s)
		}
	}
}

func TestStorePersistsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	st, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, pw string }{{"alice", "pa55-alice"}, {"bob", "pa55-bob"}} {
		if err := st.Register(u.name, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Register("alice", "again"); err != chat.ErrUserExists {
		t.Fatalf("second Register = %v, want ErrUserExists", err)
	}

	st.Close()
	reopened, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if !reopened.Verify("alice", "pa55-alice") || !reopened.Verify("bob", "pa55-bob") {
		t.Fatal("passwords do not verify after reopening")
	}
	if reopened.Verify("alice", "pa55-bob") || reopened.Verify("carol", "") {
		t.Fatal("wrong credentials verify")
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "pa55") {
		t.Fatalf("a password is on disk in clear:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("store mode = %v, want 0600", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 2 || entries[0].Name() != ".users.db.lock" || entries[1].Name() != "users.db" {
		t.Fatalf("directory holds %v, want only the store and its lock file (no temporary files)", entries)
	}
}

func TestStoreKeepsEveryValidNameExactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	st, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	// Names that a careless parser would take for a comment or trim.
	for _, name := range []string{"#alice", "bob", "#", "[x"} {
		if err := st.Register(name, "pw-"+name); err != nil {
			t.Fatalf("Register(%q): %v", name, err)
		}
	}
	st.Close()
	reopened, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	for _, name := range []string{"#alice", "bob", "#", "[x"} {
		if !reopened.Verify(name, "pw-"+name) {
			t.Errorf("%q does not verify after reopening", name)
		}
	}
	if err := reopened.Register("#alice", "again"); err != chat.ErrUserExists {
		t.Errorf("re-register #alice after restart = %v, want ErrUserExists", err)
	}
}

func TestValidUsername(t *testing.T) {
	tests := []struct {
		name       string
		valid      bool
		validPeers bool
	}{
		{"alice", true, true},
		{"#alice", true, true},
		{"[x", true, false},
		{"", false, false},
		{"a b", false, false},
		{"\u00a0bob", false, false},
		{"bob\u2003", false, false},
		{"abcdefghijklmnopqrst", true, true},
		{"abcdefghijklmnopqrstu", false, false},
		{"a\x1b[31m", false, false},
	}
	for _, tc := range tests {
		if got := chat.ValidUsername(tc.name); got != tc.valid {
			t.Errorf("ValidUsername(%q) = %v, want %v", tc.name, got, tc.valid)
		}
		if got := chat.ValidPeerName(tc.name); got != tc.validPeers {
			t.Errorf("ValidPeerName(%q) = %v, want %v", tc.name, got, tc.validPeers)
		}
	}
}

func TestParseStoreFile(t *testing.T) {
	h := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	tests := []struct {
		name    string
		data    string
		want    []string
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"header only", "# lab3 chat users v1\n", nil, false},
		{"two users", "# c\nalice " + h + "\n\nbob " + h + "\n", []string{"alice", "bob"}, false},
		{"no trailing newline", "alice " + h, []string{"alice"}, false},
		{"duplicate", "alice " + h + "\nalice " + h + "\n", nil, true},
		{"plain password", "alice hunter2\n", nil, true},
		{"bad name", "a\x1bb " + h + "\n", nil, true},
		{"missing hash", "alice\n", nil, true},
		{"name starting with #", "# header\n#alice " + h + "\n", []string{"#alice"}, false},
		{"CRLF line ends", "alice " + h + "\r\n", []string{"alice"}, false},
		{"unicode space in name", "\u00a0bob " + h + "\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := chat.ParseStoreFile([]byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("names = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStoreKillHelper is the subprocess of TestStoreSurvivesKill: it
// registers users until it is killed, printing each acknowledged name.
func TestStoreKillHelper(t *testing.T) {
	path := os.Getenv("LAB3_STORE_HELPER")
	if path == "" {
		t.Skip("subprocess of TestStoreSurvivesKill")
	}
	st, err := chat.OpenStore(path, cheap)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	prefix := os.Getenv("LAB3_STORE_PREFIX")
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		if err := st.Register(name, "pw"+name); err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Println("ACK", name)
	}
}

func TestStoreSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns subprocesses")
	}
	path := filepath.Join(t.TempDir(), "users.db")
	var acked []string
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreKillHelper$")
		cmd.Env = append(os.Environ(), "LAB3_STORE_HELPER="+path, fmt.Sprintf("LAB3_STORE_PREFIX=r%du", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		killAfter := 1 + rand.IntN(40)
		for n := 0; n < killAfter && sc.Scan(); {
			line := sc.Text()
			if name, ok := strings.CutPrefix(line, "ACK "); ok {
				acked = append(acked, name)
				n++
			} else if strings.HasPrefix(line, "ERR") {
				t.Fatalf("helper: %s", line)
			}
		}
		// Kill at a random point of the next registration.
		cmd.Process.Signal(syscall.SIGKILL)
		// Acknowledgements already printed before the kill count too.
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
				acked = append(acked, name)
			}
		}
		cmd.Wait()

		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		entries, err := chat.ParseStoreFile(data)
		if err != nil {
			t.Fatalf("round %d: store does not parse after kill -9: %v", round, err)
		}
		have := make(map[string]bool)
		for _, e := range entries {
			have[e.Name] = true
		}
		for _, name := range acked {
			if !have[name] {
				t.Fatalf("round %d: acknowledged registration %s lost", round, name)
			}
		}
	}
	st, err := chat.OpenStore(path, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Verify(acked[0], "pw"+acked[0]) {
		t.Fatalf("%s cannot log in after the kills", acked[0])
	}
}
