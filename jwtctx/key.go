package jwtctx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
)

// Algorithm is a JWS signing algorithm ("alg") this package supports.
type Algorithm string

// The supported algorithms. A key has exactly one; tokens are verified with
// the algorithm of the key their kid names, never the one their header asks
// for.
const (
	// EdDSA is Ed25519 (RFC 8037), the default: small keys, fast
	// verification, deterministic signatures, no parameter choices.
	EdDSA Algorithm = "EdDSA"
	// ES256 is ECDSA on P-256 with SHA-256, for peers that lack Ed25519.
	ES256 Algorithm = "ES256"
	// HS256 is HMAC-SHA256 with a shared secret. Every verifier can also
	// mint tokens, so it needs [Config.AllowHS256].
	HS256 Algorithm = "HS256"
)

// MinHS256SecretSize is the smallest HS256 secret accepted, in bytes: the
// output size of SHA-256 (RFC 7518 section 3.2).
const MinHS256SecretSize = 32

// Key is one entry of a key set: a key id (kid), an algorithm and key
// material, either able to sign or verify-only. The zero Key is not a key;
// build one with the constructors. A Key is an immutable value, safe to copy
// and to use from several goroutines.
type Key struct {
	id     string
	alg    Algorithm
	signer any // ed25519.PrivateKey, *ecdsa.PrivateKey or []byte; nil if verify-only
	verify any // ed25519.PublicKey, *ecdsa.PublicKey or []byte
}

// NewEd25519Key returns a signing key for EdDSA. It copies priv. It fails
// with an error wrapping [ErrKey] for a malformed kid or a private key of
// the wrong size.
func NewEd25519Key(kid string, priv ed25519.PrivateKey) (Key, error) {
	if err := checkKeyID(kid); err != nil {
		return Key{}, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return Key{}, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrKey, len(priv))
	}
	priv = bytes.Clone(priv)
	pub := ed25519.PublicKey(bytes.Clone(priv.Public().(ed25519.PublicKey)))
	return Key{id: kid, alg: EdDSA, signer: priv, verify: pub}, nil
}

// NewEd25519PublicKey returns a verify-only EdDSA key. It copies pub. It
// fails with an error wrapping [ErrKey] for a malformed kid or a public key
// of the wrong size.
func NewEd25519PublicKey(kid string, pub ed25519.PublicKey) (Key, error) {
	if err := checkKeyID(kid); err != nil {
		return Key{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Key{}, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrKey, len(pub))
	}
	return Key{id: kid, alg: EdDSA, verify: ed25519.PublicKey(bytes.Clone(pub))}, nil
}

// GenerateKey returns a new random Ed25519 signing key, the default kind of
// key. It fails with an error wrapping [ErrKey] for a malformed kid.
func GenerateKey(kid string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return NewEd25519Key(kid, priv)
}

// NewES256Key returns a signing key for ES256. priv must be on P-256. The
// key is used as given and must not be modified afterwards. It fails with an
// error wrapping [ErrKey] for a malformed kid or an unusable key.
func NewES256Key(kid string, priv *ecdsa.PrivateKey) (Key, error) {
	if err := checkKeyID(kid); err != nil {
		return Key{}, err
	}
	if priv == nil {
		return Key{}, fmt.Errorf("%w: nil ECDSA private key", ErrKey)
	}
	if err := checkP256(&priv.PublicKey); err != nil {
		return Key{}, err
	}
	pub := priv.PublicKey
	return Key{id: kid, alg: ES256, signer: priv, verify: &pub}, nil
}

// NewES256PublicKey returns a verify-only ES256 key. pub must be a valid
// point on P-256. It fails with an error wrapping [ErrKey] for a malformed
// kid or an unusable key.
func NewES256PublicKey(kid string, pub *ecdsa.PublicKey) (Key, error) {
	if err := checkKeyID(kid); err != nil {
		return Key{}, err
	}
	if pub == nil {
		return Key{}, fmt.Errorf("%w: nil ECDSA public key", ErrKey)
	}
	if err := checkP256(pub); err != nil {
		return Key{}, err
	}
	cp := *pub
	return Key{id: kid, alg: ES256, verify: &cp}, nil
}

// NewHS256Key returns an HS256 key from a shared secret of at least
// [MinHS256SecretSize] random bytes. It copies secret. An [Authority] uses
// it only with [Config.AllowHS256]. It fails with an error wrapping [ErrKey]
// for a malformed kid or a short secret.
func NewHS256Key(kid string, secret []byte) (Key, error) {
	if err := checkKeyID(kid); err != nil {
		return Key{}, err
	}
	if len(secret) < MinHS256SecretSize {
		return Key{}, fmt.Errorf("%w: HS256 secret of %d bytes, want at least %d", ErrKey, len(secret), MinHS256SecretSize)
	}
	s := bytes.Clone(secret)
	return Key{id: kid, alg: HS256, signer: s, verify: s}, nil
}

// ID returns the key id (the JWS "kid").
func (k Key) ID() string { return k.id }

// Algorithm returns the key's algorithm.
func (k Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether k holds private (or secret) material.
func (k Key) CanSign() bool { return k.signer != nil }

// IsZero reports whether k is the zero Key, which is not a key.
func (k Key) IsZero() bool { return k.alg == "" }

// VerifyOnly returns k without its signing material. For HS256 the result
// still holds the shared secret, which verifies and signs alike: keep it
// secret.
func (k Key) VerifyOnly() Key {
	k.signer = nil
	return k
}

func checkP256(pub *ecdsa.PublicKey) error {
	if pub.Curve != elliptic.P256() {
		return fmt.Errorf("%w: ES256 needs a P-256 key", ErrKey)
	}
	if _, err := pub.ECDH(); err != nil {
		return fmt.Errorf("%w: ECDSA public key is not a valid P-256 point", ErrKey)
	}
	return nil
}

// MaxKeyIDLength is the longest kid accepted.
const MaxKeyIDLength = 64

// checkKeyID accepts 1 to MaxKeyIDLength characters from [A-Za-z0-9._-], so
// a kid is safe to log and to put in a header.
func checkKeyID(kid string) error {
	if kid == "" || len(kid) > MaxKeyIDLength {
		return fmt.Errorf("%w: kid must have 1 to %d characters", ErrKey, MaxKeyIDLength)
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: kid may hold only letters, digits, '.', '_' and '-'", ErrKey)
		}
	}
	return nil
}
