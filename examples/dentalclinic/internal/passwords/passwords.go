// Package passwords hashes and checks passwords with argon2id (RFC 9106),
// in the PHC string format, with OWASP's recommended minimum parameters.
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters: OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane).
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
	// MinLength is the shortest password accepted for new accounts.
	MinLength = 10
	// MaxLength bounds the work a sign-in can ask for.
	MaxLength = 256
)

// ErrMismatch is returned by Check when the password is wrong.
var ErrMismatch = errors.New("passwords: mismatch")

// ErrMalformedHash is returned by Check for a hash it cannot read.
var ErrMalformedHash = errors.New("passwords: malformed hash")

// Hash returns the PHC string of password with a fresh random salt.
func Hash(password string) (string, error) {
	if len(password) > MaxLength {
		return "", fmt.Errorf("passwords: longer than %d bytes", MaxLength)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Check reports whether password matches hash: nil, [ErrMismatch], or
// [ErrMalformedHash]. It compares in constant time.
func Check(hash, password string) error {
	if len(password) > MaxLength {
		return ErrMismatch
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return ErrMalformedHash
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return ErrMalformedHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// dummy is checked against when no account matches, so that a sign-in for
// an unknown email takes as long as one with a wrong password.
var dummy, _ = Hash("no account has this password")

// CheckNone spends the time of one Check and returns ErrMismatch.
func CheckNone(password string) error {
	_ = Check(dummy, password)
	return ErrMismatch
}
