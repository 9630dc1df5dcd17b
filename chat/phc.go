package chat

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of a password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is the OWASP recommendation: 19 MiB, two passes, one lane.
var DefaultArgon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read from the store, so a corrupted or hostile
	// file cannot make one login allocate gigabytes.
	maxMemory = 1 << 20
	maxTime   = 16
)

// ErrBadPHC is returned for a string that is not a supported argon2id PHC
// string.
var ErrBadPHC = errors.New("malformed argon2id PHC string")

// PHC is a parsed password hash in PHC string format.
type PHC struct {
	Params Argon2Params
	Salt   []byte
	Hash   []byte
}

// HashPassword derives an argon2id hash of password with a fresh random
// salt and returns it as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<b64salt>$<b64hash>.
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	h := PHC{Params: p, Salt: salt, Hash: argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)}
	return h.String(), nil
}

// String formats h as a PHC string.
func (h PHC) String() string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.Memory, h.Params.Time, h.Params.Threads, enc.EncodeToString(h.Salt), enc.EncodeToString(h.Hash))
}

// ParsePHC parses an argon2id PHC string.
func ParsePHC(s string) (PHC, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return PHC{}, ErrBadPHC
	}
	var h PHC
	for i, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		want := [...]string{"m", "t", "p"}
		if !ok || i >= len(want) || k != want[i] {
			return PHC{}, ErrBadPHC
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || (len(v) > 1 && v[0] == '0') {
			return PHC{}, ErrBadPHC
		}
		switch k {
		case "m":
			if n > maxMemory {
				return PHC{}, ErrBadPHC
			}
			h.Params.Memory = uint32(n)
		case "t":
			if n > maxTime {
				return PHC{}, ErrBadPHC
			}
			h.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return PHC{}, ErrBadPHC
			}
			h.Params.Threads = uint8(n)
		}
	}
	if h.Params.Threads == 0 || h.Params.Memory < 8*uint32(h.Params.Threads) {
		return PHC{}, ErrBadPHC
	}
	var err error
	// The store only ever holds hashes made by HashPassword, so a salt or
	// hash of any other length is damage (a truncated line), and a user
	// with such a hash could never log in nor register again.
	if h.Salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.Salt) != saltLen {
		return PHC{}, fmt.Errorf("%w: salt is %d bytes, want %d", ErrBadPHC, len(h.Salt), saltLen)
	}
	if h.Hash, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.Hash) != keyLen {
		return PHC{}, fmt.Errorf("%w: hash is %d bytes, want %d", ErrBadPHC, len(h.Hash), keyLen)
	}
	return h, nil
}

// Verify reports whether password matches h, comparing in constant time.
func (h PHC) Verify(password string) bool {
	got := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, uint32(len(h.Hash)))
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}
