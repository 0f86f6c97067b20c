package jwtctx

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// jwk is one JSON Web Key (RFC 7517) holding a public key only.
type jwk struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	Y         string `json:"y,omitempty"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

var b64 = base64.RawURLEncoding.Strict()

// publicJWK returns k's public half as a JWK, and false for HS256 keys,
// whose secret must never be published.
func publicJWK(k Key) (jwk, bool) {
	switch pub := k.verify.(type) {
	case ed25519.PublicKey:
		return jwk{KeyType: "OKP", Curve: "Ed25519", X: b64.EncodeToString(pub), KeyID: k.id, Algorithm: string(k.alg), Use: "sig"}, true
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each
		if err != nil || len(raw) != 65 {
			return jwk{}, false
		}
		return jwk{KeyType: "EC", Curve: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:]), KeyID: k.id, Algorithm: string(k.alg), Use: "sig"}, true
	}
	return jwk{}, false
}

// JWKS returns the public keys of a's key set as a JSON Web Key Set (RFC
// 7517 section 5): the signing key first, then the verification keys in
// configuration order. HS256 keys are never included. Other services feed
// the result to [ParseJWKS]. It is safe for concurrent use and fails only if
// JSON encoding fails.
func (a *Authority) JWKS() ([]byte, error) {
	set := jwkSet{Keys: []jwk{}}
	for _, e := range a.keys.Load().order {
		if j, ok := publicJWK(e.key); ok {
			set.Keys = append(set.Keys, j)
		}
	}
	return json.Marshal(set)
}

// ParseJWKS returns verify-only keys from a JSON Web Key Set holding Ed25519
// ("OKP"/"Ed25519"/"EdDSA") and P-256 ("EC"/"P-256"/"ES256") public keys.
// Every key needs a kid, an alg matching its type, and no private part; "use",
// if present, must be "sig". Any other key fails the whole set with an error
// wrapping [ErrKey], so a typo never silently drops a key. It is safe for
// concurrent use.
func ParseJWKS(data []byte) ([]Key, error) {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: JWKS: %w", ErrKey, err)
	}
	keys := make([]Key, 0, len(set.Keys))
	for i, raw := range set.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func parseJWK(raw map[string]json.RawMessage) (Key, error) {
	str := func(name string) (string, error) {
		v, ok := raw[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%w: %q is not a string", ErrKey, name)
		}
		return s, nil
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := raw[private]; ok {
			return Key{}, fmt.Errorf("%w: JWK carries private or secret material", ErrKey)
		}
	}
	var f [6]string
	for i, name := range []string{"kty", "crv", "x", "y", "kid", "alg"} {
		s, err := str(name)
		if err != nil {
			return Key{}, err
		}
		f[i] = s
	}
	kty, crv, x, y, kid, alg := f[0], f[1], f[2], f[3], f[4], f[5]
	if use, err := str("use"); err != nil {
		return Key{}, err
	} else if _, ok := raw["use"]; ok && use != "sig" {
		return Key{}, fmt.Errorf("%w: JWK use %q is not \"sig\"", ErrKey, truncate(use, 16))
	}
	switch {
	case kty == "OKP" && crv == "Ed25519" && alg == string(EdDSA):
		pub, err := b64.DecodeString(x)
		if err != nil {
			return Key{}, fmt.Errorf("%w: Ed25519 x: %w", ErrKey, err)
		}
		return NewEd25519PublicKey(kid, pub)
	case kty == "EC" && crv == "P-256" && alg == string(ES256):
		xb, err1 := b64.DecodeString(x)
		yb, err2 := b64.DecodeString(y)
		if err1 != nil || err2 != nil || len(xb) != 32 || len(yb) != 32 {
			return Key{}, fmt.Errorf("%w: P-256 x and y must be 32 bytes each", ErrKey)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, xb...), yb...))
		if err != nil {
			return Key{}, fmt.Errorf("%w: P-256 point: %w", ErrKey, err)
		}
		return NewES256PublicKey(kid, pub)
	}
	return Key{}, fmt.Errorf("%w: unsupported JWK (kty %q, crv %q, alg %q)", ErrKey, truncate(kty, 16), truncate(crv, 16), truncate(alg, 16))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
