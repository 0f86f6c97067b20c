package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Key files: the signing key of checkpoints and receipts is an Ed25519
// private key in a PEM block "PRIVATE KEY" holding its PKCS#8 DER (RFC
// 8410), as `openssl genpkey -algorithm ed25519` writes it; the public key
// is a PEM block "PUBLIC KEY" holding its PKIX SubjectPublicKeyInfo DER,
// as `openssl pkey -pubout` writes it.

// MarshalPrivateKey returns key as a PEM "PRIVATE KEY" block of PKCS#8.
// It fails for a key that is not an Ed25519 private key.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: not an Ed25519 private key", ErrMalformed)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("audit: marshalling a private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads one PEM "PRIVATE KEY" block of an Ed25519 PKCS#8
// key, and nothing else (no other block, no data after it but white
// space); anything else fails with an error wrapping [ErrMalformed] that
// does not echo the input.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	der, err := onePEM(b, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: not PKCS#8", ErrMalformed)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key: not an Ed25519 key", ErrMalformed)
	}
	return key, nil
}

// MarshalPublicKey returns pub as a PEM "PUBLIC KEY" block of PKIX. It
// fails for a key that is not an Ed25519 public key.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: not an Ed25519 public key", ErrMalformed)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: marshalling a public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads one PEM "PUBLIC KEY" block of an Ed25519 PKIX key;
// anything else fails with an error wrapping [ErrMalformed].
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	der, err := onePEM(b, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: not PKIX", ErrMalformed)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: public key: not an Ed25519 key", ErrMalformed)
	}
	return pub, nil
}

func onePEM(b []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != typ || len(block.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: want exactly one PEM block %q", ErrMalformed, typ)
	}
	return block.Bytes, nil
}

// LoadOrCreateKey reads the signing key at path, or, when there is no
// file, makes a new Ed25519 key and writes it there (mode 0600, its
// directory made with mode 0700 if missing; a file created meanwhile by
// another process is read, not replaced). It refuses a key file that
// others than its owner may read or write (mode & 0o077), and fails with
// the file system's error or one wrapping [ErrMalformed]. Keep the file
// where the database's administrators cannot read it: whoever holds the
// key can sign a checkpoint of a rewritten log.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	for range 2 {
		key, err := loadKey(path)
		if !errors.Is(err, os.ErrNotExist) {
			return key, err
		}
		_, key, err = ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("audit: making a signing key: %w", err)
		}
		b, err := MarshalPrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		switch err := writeNew(path, b); {
		case err == nil:
			return key, nil
		case !errors.Is(err, os.ErrExist):
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		// Another process wrote one first: read it.
	}
	return nil, fmt.Errorf("audit: signing key %s: could not read or create it", path)
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit: signing key %s: mode %v lets others than its owner read or write it; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := readAll(f, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key %s: %w", path, err)
	}
	key, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return key, nil
}

// writeNew writes b to a new file at path with mode 0600 and syncs it: the
// file appears whole or not at all (a temporary file in the same
// directory, hard-linked into place), and an existing file is never
// replaced (os.ErrExist).
func writeNew(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// A hard link, unlike rename, never replaces an existing file: it
	// fails with EEXIST.
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
