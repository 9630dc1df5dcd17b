package chat

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// ErrUserExists is returned by Register for a name already in the store.
var ErrUserExists = errors.New("user already exists")

// storeHeader is the first line of a store file. Version 2 files end in
// a trailer line, "# end: N users, sha256 HEX", that counts the users and
// checksums every byte before it, so a file cut short (at a line boundary
// or anywhere else) is detected instead of silently losing users. Files
// with the version 1 header have no trailer and are read as before.
const (
	storeHeader   = "# lab3 chat users v2: <username> <argon2id PHC string>"
	storeHeaderV1 = "# lab3 chat users v1: <username> <argon2id PHC string>"
	trailerPrefix = "# end: "
)

// ErrStoreDamaged is returned by ParseStoreFile and OpenStore for a store
// file that is empty, cut short or altered outside the server.
var ErrStoreDamaged = errors.New("user store is damaged")

// ErrStoreLocked is returned by OpenStore when another process has the
// store open.
var ErrStoreLocked = errors.New("user store is in use by another chat-server")

// StoreEntry is one user of a store file.
type StoreEntry struct {
	Name string
	Hash PHC
}

// ParseStoreFile parses the contents of a store file: a header comment,
// then one "name PHC" line per user. A line is a user's when it ends in a
// space and a PHC string, so a name may start with '#'; other blank lines
// and lines starting with '#' are ignored. Nothing is trimmed from a name.
//
// A file that starts with the version 2 header must end with its trailer,
// and the trailer's count and checksum must match; otherwise the error
// wraps ErrStoreDamaged.
func ParseStoreFile(data []byte) ([]StoreEntry, error) {
	body, err := checkTrailer(data)
	if err != nil {
		return nil, err
	}
	var out []StoreEntry
	seen := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(body))
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
		if seen[storeKey(name)] {
			return nil, fmt.Errorf("line %d: duplicate user %q", n, name)
		}
		h, err := ParsePHC(hash)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		seen[storeKey(name)] = true
		out = append(out, StoreEntry{Name: name, Hash: h})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read store: %w", err)
	}
	if body != nil && len(data) > len(body) {
		if want := trailer(body, len(out)); string(data[len(body):]) != want {
			return nil, fmt.Errorf("%w: trailer says %q, but the file holds %d users", ErrStoreDamaged,
				strings.TrimSpace(string(data[len(body):])), len(out))
		}
	}
	return out, nil
}

// checkTrailer returns the part of a version 2 file before its trailer,
// after checking the checksum; other files are returned whole.
func checkTrailer(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(storeHeader+"\n")) {
		return data, nil
	}
	i := bytes.LastIndex(data, []byte("\n"+trailerPrefix))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, fmt.Errorf("%w: the file ends before its trailer line, so users may be missing (was it cut short?)", ErrStoreDamaged)
	}
	body := data[:i+1]
	var n int
	var sum string
	if _, err := fmt.Sscanf(string(data[i+1:]), trailerPrefix+"%d users, sha256 %s\n", &n, &sum); err != nil {
		return nil, fmt.Errorf("%w: unreadable trailer line", ErrStoreDamaged)
	}
	if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch, the file was changed or cut short", ErrStoreDamaged)
	}
	return body, nil
}

// trailer returns the trailer line for body holding n users.
func trailer(body []byte, n int) string {
	sum := sha256.Sum256(body)
	return fmt.Sprintf("%s%d users, sha256 %s\n", trailerPrefix, n, hex.EncodeToString(sum[:]))
}

// storeKey is the form in which the store compares names: NameKey, or the
// name itself for one that NameKey refuses (kept from before that policy).
func storeKey(name string) string {
	if k, err := NameKey(name); err == nil {
		return k
	}
	return name
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

	lock *os.File

	mu      sync.Mutex
	entries []StoreEntry
	index   map[string]int // by storeKey
}

// StoreOption configures OpenStore.
type StoreOption func(*Store)

// WithArgon2 sets the cost of new hashes; tests use cheap parameters.
func WithArgon2(p Argon2Params) StoreOption { return func(s *Store) { s.params = p } }

// OpenStore loads the store at path, creating an empty one when the file
// does not exist. It holds an exclusive lock on the store (on the file
// ".NAME.lock" beside it) until Close, so that a second server cannot
// overwrite the first one's registrations; that server gets an error
// wrapping ErrStoreLocked.
func OpenStore(path string, opts ...StoreOption) (*Store, error) {
	s := &Store{path: path, params: DefaultArgon2, index: make(map[string]int)}
	for _, o := range opts {
		o(s)
	}
	lock, err := lockStore(path)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
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
	case len(data) == 0:
		return nil, fmt.Errorf("user store %s: %w: the file is empty, so every user would be lost; restore it, or delete it to start with no users", path, ErrStoreDamaged)
	default:
		if s.entries, err = ParseStoreFile(data); err != nil {
			return nil, fmt.Errorf("user store %s: %w: restore it from a backup, or fix the line named", path, err)
		}
		for i, e := range s.entries {
			s.index[storeKey(e.Name)] = i
		}
	}
	// A fixed hash to verify against for unknown names, so a login for a
	// missing user costs as much as one for a real user.
	dummy, err := HashPassword("lab3-dummy", s.params)
	if err != nil {
		return nil, err
	}
	s.dummy, _ = ParsePHC(dummy)
	ok = true
	return s, nil
}

// lockStore takes the store's lock file without waiting.
func lockStore(path string) (*os.File, error) {
	name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock user store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (%s); stop the other server or pass another --users file", ErrStoreLocked, path, name)
		}
		return nil, fmt.Errorf("lock user store: %w", err)
	}
	return f, nil
}

// Close releases the store's lock. The store must not be used after.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Path returns the file the store is kept in.
func (s *Store) Path() string { return s.path }

// Name returns name as it was registered (names compare by NameKey, so
// "Bob" finds "bob"), or name itself when it is not registered.
func (s *Store) Name(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[storeKey(name)]; ok {
		return s.entries[i].Name
	}
	return name
}

// Has reports whether name is registered.
func (s *Store) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.index[storeKey(name)]
	return ok
}

// Register adds name with a hash of password and makes the file durable.
func (s *Store) Register(name, password string) error {
	if _, err := NameKey(name); err != nil {
		return fmt.Errorf("register %q: %w", name, err)
	}
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
	if _, ok := s.index[storeKey(name)]; ok {
		return ErrUserExists
	}
	s.entries = append(s.entries, StoreEntry{Name: name, Hash: h})
	s.index[storeKey(name)] = len(s.entries) - 1
	if err := s.persist(); err != nil {
		// Once the new file is renamed into place it holds the user, so
		// memory keeps it too and a retry gets ErrUserExists rather than
		// a second entry; the registration is still not acknowledged.
		if !errors.Is(err, errRenamed) {
			s.entries = s.entries[:len(s.entries)-1]
			delete(s.index, storeKey(name))
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
	i, ok := s.index[storeKey(name)]
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
	buf.WriteString(trailer(buf.Bytes(), len(s.entries)))
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
