package chat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// ErrUserExists is returned by Register for a name already in the store.
var ErrUserExists = errors.New("user already exists")

// storeHeader is the first line of a store file.
const storeHeader = "# lab3 chat users v1: <username> <argon2id PHC string>"

// StoreEntry is one user of a store file.
type StoreEntry struct {
	Name string
	Hash PHC
}

// ParseStoreFile parses the contents of a store file: a header comment,
// then one "name PHC" line per user. A line is a user's when it ends in a
// space and a PHC string, so a name may start with '#'; other blank lines
// and lines starting with '#' are ignored. Nothing is trimmed from a name.
func ParseStoreFile(data []byte) ([]StoreEntry, error) {
	var out []StoreEntry
	seen := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		i := strings.LastIndexByte(line, ' ')
		isEntry := i >= 0 && strings.HasPrefix(line[i+1:], "$")
		if !isEntry && (strings.TrimSpace(line) == "" || line[0] == '#') {
			continue
		}
		name, hash, ok := "", "", i > 0
		if ok {
			name, hash = line[:i], line[i+1:]
		}
		if !ok || !ValidUsername(name) {
			return nil, fmt.Errorf("line %d: want \"<username> <hash>\"", n)
		}
		if seen[name] {
			return nil, fmt.Errorf("line %d: duplicate user %q", n, name)
		}
		h, err := ParsePHC(hash)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		seen[name] = true
		out = append(out, StoreEntry{Name: name, Hash: h})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read store: %w", err)
	}
	return out, nil
}

// Store is the file of registered users and their password hashes. Every
// registration rewrites the file atomically, and Register returns only once
// the new file is durable, so an acknowledged registration survives a crash.
type Store struct {
	path   string
	params Argon2Params
	// hashing limits concurrent argon2 derivations, each of which holds
	// Params.Memory KiB, so a burst of logins cannot exhaust memory.
	hashing chan struct{}
	dummy   PHC

	mu      sync.Mutex
	entries []StoreEntry
	index   map[string]int
}

// StoreOption configures OpenStore.
type StoreOption func(*Store)

// WithArgon2 sets the cost of new hashes; tests use cheap parameters.
func WithArgon2(p Argon2Params) StoreOption { return func(s *Store) { s.params = p } }

// OpenStore loads the store at path, creating an empty one when the file
// does not exist.
func OpenStore(path string, opts ...StoreOption) (*Store, error) {
	s := &Store{path: path, params: DefaultArgon2, index: make(map[string]int)}
	for _, o := range opts {
		o(s)
	}
	s.hashing = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	// A crash between creating and renaming a temporary file leaves it
	// behind; it never holds an acknowledged registration that the store
	// itself lacks.
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := s.persist(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("open user store: %w", err)
	default:
		if s.entries, err = ParseStoreFile(data); err != nil {
			return nil, fmt.Errorf("parse user store %s: %w", path, err)
		}
		for i, e := range s.entries {
			s.index[e.Name] = i
		}
	}
	// A fixed hash to verify against for unknown names, so a login for a
	// missing user costs as much as one for a real user.
	dummy, err := HashPassword("lab3-dummy", s.params)
	if err != nil {
		return nil, err
	}
	s.dummy, _ = ParsePHC(dummy)
	return s, nil
}

// Path returns the file the store is kept in.
func (s *Store) Path() string { return s.path }

// Has reports whether name is registered.
func (s *Store) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.index[name]
	return ok
}

// Register adds name with a hash of password and makes the file durable.
func (s *Store) Register(name, password string) error {
	if s.Has(name) {
		return ErrUserExists
	}
	s.hashing <- struct{}{}
	phc, err := HashPassword(password, s.params)
	<-s.hashing
	if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	h, err := ParsePHC(phc)
	if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.index[name]; ok {
		return ErrUserExists
	}
	s.entries = append(s.entries, StoreEntry{Name: name, Hash: h})
	s.index[name] = len(s.entries) - 1
	if err := s.persist(); err != nil {
		// Once the new file is renamed into place it holds the user, so
		// memory keeps it too and a retry gets ErrUserExists rather than
		// a second entry; the registration is still not acknowledged.
		if !errors.Is(err, errRenamed) {
			s.entries = s.entries[:len(s.entries)-1]
			delete(s.index, name)
		}
		return fmt.Errorf("register %s: %w", name, err)
	}
	return nil
}

// errRenamed marks a persist that replaced the file but could not make the
// replacement durable (the directory sync failed).
var errRenamed = errors.New("store file replaced but not synced")

// Verify reports whether password is name's password.
func (s *Store) Verify(name, password string) bool {
	s.mu.Lock()
	i, ok := s.index[name]
	h := s.dummy
	if ok {
		h = s.entries[i].Hash
	}
	s.mu.Unlock()
	s.hashing <- struct{}{}
	match := h.Verify(password)
	<-s.hashing
	return ok && match
}

// persist writes the entries to a temporary file in the store's directory,
// syncs it, renames it over the store and syncs the directory, so the file
// on disk is always either the old or the new complete version.
func (s *Store) persist() error {
	var buf bytes.Buffer
	buf.WriteString(storeHeader + "\n")
	for _, e := range s.entries {
		buf.WriteString(e.Name + " " + e.Hash.String() + "\n")
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write user store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write user store: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write user store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync user store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write user store: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace user store: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync user store directory: %w: %w", errRenamed, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync user store directory: %w: %w", errRenamed, err)
	}
	return nil
}
