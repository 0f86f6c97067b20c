package jwtctx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// FuzzVerify feeds mutated tokens to Verify. The property: Verify never
// returns a principal for a token whose signature is not valid, checked
// here independently of golang-jwt with the standard library, over the
// exact bytes of the token; and a principal it returns is always valid and
// matches the token's tenant claim.
func FuzzVerify(f *testing.F) {
	a := newAuthority(f, edKey, nil)
	for _, key := range []jwtctx.Key{edKey, ecKey, hsKey} {
		signer := newAuthority(f, key, nil)
		for _, p := range []tenancy.Principal{staffPrincipal, adminPrincipal, impPrincipal} {
			s := issue(f, signer, p, 10*time.Minute)
			// The seeds must verify, or the property below is never tested.
			if _, err := a.Verify(context.Background(), s, jwtctx.AnyToken); err != nil || !independentlyValid(s) {
				f.Fatalf("seed token (%s, %v) does not verify: %v", key.Algorithm(), p.Kind, err)
			}
			f.Add(s)
		}
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIiwia2lkIjoiZWQtMSIsInR5cCI6InNlc3Npb24randed.e30.")

	f.Fuzz(func(t *testing.T, s string) {
		tok, err := a.Verify(context.Background(), s, jwtctx.AnyToken)
		if err != nil {
			return
		}
		if !independentlyValid(s) {
			t.Fatalf("Verify accepted a token whose signature does not verify independently: %q", s)
		}
		if err := tok.Principal.Validate(); err != nil {
			t.Fatalf("Verify returned an invalid principal: %v", err)
		}
		_, payload := decodeParts(t, s)
		if tenant, _ := payload["tenant"].(string); tok.Principal.HasTenant() && tenant != tok.Principal.Tenant.String() {
			t.Fatalf("principal tenant %v, token tenant claim %q", tok.Principal.Tenant, tenant)
		}
	})
}

// independentlyValid re-checks a token's signature with the standard
// library: strict base64url segments, a header whose kid names one of the
// test keys and whose alg is that key's, and a signature over the exact
// first two segments.
func independentlyValid(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	dec := base64.RawURLEncoding.Strict()
	rawHeader, err := dec.DecodeString(parts[0])
	if err != nil {
		return false
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil {
		return false
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	switch {
	case h.Kid == "ed-1" && h.Alg == "EdDSA":
		return ed25519.Verify(edPriv.Public().(ed25519.PublicKey), input, sig)
	case h.Kid == "es-1" && h.Alg == "ES256":
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(&ecPriv.PublicKey, sum[:], r, s)
	case h.Kid == "hs-1" && h.Alg == "HS256":
		mac := hmac.New(sha256.New, hsSecret)
		mac.Write(input)
		return hmac.Equal(mac.Sum(nil), sig)
	}
	return false
}

// FuzzVerifySigned signs fuzzed header and payload bytes with the real key,
// so the fuzzer explores the claim checks behind the signature. The
// property: whatever Verify accepts has only alg, kid and typ in its
// header, a typ that matches the principal (impersonation exactly when the
// typ says so), a lifetime within the maximum, and a principal that passes
// Validate, whose tenant is absent exactly for a platform admin's session.
func FuzzVerifySigned(f *testing.F) {
	a := newAuthority(f, edKey, nil)
	for _, hc := range [][2]map[string]any{
		{sessionHeader(), sessionClaims()},
		{impersonationHeader(), impersonationClaims()},
	} {
		h, _ := json.Marshal(hc[0])
		c, _ := json.Marshal(hc[1])
		if _, err := a.Verify(context.Background(), signRaw(h, c), jwtctx.AnyToken); err != nil {
			f.Fatalf("seed does not verify: %v", err)
		}
		f.Add(h, c)
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		s := signRaw(header, payload)
		tok, err := a.Verify(context.Background(), s, jwtctx.AnyToken)
		if err != nil {
			return
		}
		var h map[string]json.RawMessage
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatalf("accepted a header that is not a JSON object: %v", err)
		}
		for name := range h {
			if name != "alg" && name != "kid" && name != "typ" {
				t.Fatalf("accepted header parameter %q", name)
			}
		}
		p := tok.Principal
		if err := p.Validate(); err != nil {
			t.Fatalf("invalid principal: %v", err)
		}
		if (tok.Type == jwtctx.ImpersonationToken) != (p.Impersonation != nil) {
			t.Fatalf("type %v with impersonation %v", tok.Type, p.Impersonation)
		}
		if p.Kind == tenancy.KindSystem {
			t.Fatalf("accepted a system principal")
		}
		wantTenant := p.Kind != tenancy.Kind("platform_admin") || p.Impersonation != nil
		if p.HasTenant() != wantTenant {
			t.Fatalf("%v principal (impersonation %v) with tenant %v", p.Kind, p.Impersonation != nil, p.Tenant)
		}
		maxLife := jwtctx.DefaultMaxLifetime
		if tok.Type == jwtctx.ImpersonationToken {
			maxLife = jwtctx.DefaultMaxImpersonationLifetime
		}
		if life := tok.ExpiresAt.Sub(tok.IssuedAt); life <= 0 || life > maxLife || tok.IssuedAt.After(tok.NotBefore) || tok.ID == "" {
			t.Fatalf("accepted lifetime %v (iat %v, nbf %v), jti %q", life, tok.IssuedAt, tok.NotBefore, tok.ID)
		}
	})
}

// signRaw signs header and payload bytes as they are with the test Ed25519
// key.
func signRaw(header, payload []byte) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(ed25519.Sign(edPriv, []byte(input)))
}
