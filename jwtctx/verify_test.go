package jwtctx_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// attack is one hostile (or, for controls, honest) token.
type attack struct {
	name   string
	header func(h map[string]any)              // edits the session header
	claims func(c map[string]any)              // edits the session claims
	imp    bool                                // start from an impersonation token
	method jwt.SigningMethod                   // default EdDSA
	key    any                                 // default edPriv
	raw    func(t *testing.T) string           // replaces forging entirely
	post   func(t *testing.T, s string) string // edits the signed token
	accept jwtctx.TokenType                    // default AnyToken
	want   error                               // nil: must verify
	cause  error                               // if set, must also be in the chain: the specific reason
}

func TestVerifyAttacks(t *testing.T) {
	rev := &jwtctx.MemoryRevoker{}
	rev.RevokeToken("revoked-jti", t0.Add(time.Hour))
	a := newAuthority(t, edKey, rev)

	tests := []attack{
		{name: "control: valid session token"},
		{name: "control: valid impersonation token", imp: true},
		{name: "control: expired within leeway", claims: func(c map[string]any) { c["exp"] = t0.Add(-20 * time.Second).Unix() }},
		{name: "control: typ with application/ prefix", header: func(h map[string]any) { h["typ"] = "application/Session+JWT" }},

		{name: "alg none", header: func(h map[string]any) { h["alg"] = "none" },
			method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType, want: jwtctx.ErrAlgorithm},
		{name: "alg none without kid", header: func(h map[string]any) { h["alg"] = "none"; delete(h, "kid") },
			method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType, want: jwtctx.ErrUnknownKey},
		{name: "HS256 signed with the Ed25519 public key bytes", header: func(h map[string]any) { h["alg"] = "HS256" },
			method: jwt.SigningMethodHS256, key: []byte(edPriv.Public().(ed25519.PublicKey)), want: jwtctx.ErrAlgorithm},
		{name: "HS256 with the shared secret but the EdDSA kid", header: func(h map[string]any) { h["alg"] = "HS256" },
			method: jwt.SigningMethodHS256, key: hsSecret, want: jwtctx.ErrAlgorithm},
		{name: "ES256 key claimed as EdDSA", header: func(h map[string]any) { h["kid"] = "es-1" }, want: jwtctx.ErrAlgorithm},
		{name: "wrong key", key: edOther, want: jwtctx.ErrSignature, cause: jwt.ErrTokenSignatureInvalid},
		{name: "unknown kid", header: func(h map[string]any) { h["kid"] = "ed-2" }, want: jwtctx.ErrUnknownKey},
		{name: "missing kid", header: func(h map[string]any) { delete(h, "kid") }, want: jwtctx.ErrUnknownKey},
		{name: "expired", claims: func(c map[string]any) { c["exp"] = t0.Add(-time.Minute).Unix() }, want: jwtctx.ErrExpired, cause: jwt.ErrTokenExpired},
		{name: "not yet valid", claims: func(c map[string]any) { c["nbf"] = t0.Add(5 * time.Minute).Unix() }, want: jwtctx.ErrNotYetValid, cause: jwt.ErrTokenNotValidYet},
		{name: "issued in the future", claims: func(c map[string]any) { c["iat"] = t0.Add(5 * time.Minute).Unix() }, want: jwtctx.ErrNotYetValid, cause: jwt.ErrTokenUsedBeforeIssued},
		{name: "missing exp", claims: func(c map[string]any) { delete(c, "exp") }, want: jwtctx.ErrClaims, cause: jwt.ErrTokenRequiredClaimMissing},
		{name: "missing nbf", claims: func(c map[string]any) { delete(c, "nbf") }, want: jwtctx.ErrClaims, cause: jwt.ErrTokenRequiredClaimMissing},
		{name: "missing iat", claims: func(c map[string]any) { delete(c, "iat") }, want: jwtctx.ErrClaims},
		{name: "missing jti", claims: func(c map[string]any) { delete(c, "jti") }, want: jwtctx.ErrClaims},
		{name: "missing sub", claims: func(c map[string]any) { delete(c, "sub") }, want: jwtctx.ErrClaims},
		{name: "lifetime above maximum", claims: func(c map[string]any) { c["exp"] = t0.Add(2 * time.Hour).Unix() }, want: jwtctx.ErrClaims},
		{name: "impersonation lifetime above maximum", imp: true, claims: func(c map[string]any) { c["exp"] = t0.Add(30 * time.Minute).Unix() }, want: jwtctx.ErrClaims},
		{name: "lifetime from iat above maximum (old iat, recent nbf)", claims: func(c map[string]any) { c["iat"] = t0.Add(-2 * time.Hour).Unix() }, want: jwtctx.ErrClaims},
		{name: "impersonation lifetime from iat above maximum", imp: true, claims: func(c map[string]any) { c["iat"] = t0.Add(-time.Hour).Unix() }, want: jwtctx.ErrClaims},
		{name: "exp before iat", claims: func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = t0.Add(20*time.Second).Unix(), t0.Add(20*time.Second).Unix(), t0.Add(10*time.Second).Unix()
		}, want: jwtctx.ErrClaims},
		{name: "wrong iss", claims: func(c map[string]any) { c["iss"] = "https://evil.test" }, want: jwtctx.ErrIssuer, cause: jwt.ErrTokenInvalidIssuer},
		{name: "missing iss", claims: func(c map[string]any) { delete(c, "iss") }, want: jwtctx.ErrClaims, cause: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong aud", claims: func(c map[string]any) { c["aud"] = []string{"other-service"} }, want: jwtctx.ErrAudience, cause: jwt.ErrTokenInvalidAudience},
		{name: "missing aud", claims: func(c map[string]any) { delete(c, "aud") }, want: jwtctx.ErrClaims, cause: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong typ", header: func(h map[string]any) { h["typ"] = "JWT" }, want: jwtctx.ErrType},
		{name: "missing typ", header: func(h map[string]any) { delete(h, "typ") }, want: jwtctx.ErrType},
		{name: "session token where impersonation required", accept: jwtctx.ImpersonationToken, want: jwtctx.ErrType},
		{name: "impersonation token where session required", imp: true, accept: jwtctx.SessionToken, want: jwtctx.ErrType},
		{name: "session typ with act claim", imp: true, header: func(h map[string]any) { h["typ"] = "session+jwt" }, want: jwtctx.ErrType},
		{name: "impersonation typ without act", header: func(h map[string]any) { h["typ"] = "impersonation+jwt" }, want: jwtctx.ErrType},
		{name: "impersonation without grant", imp: true, claims: func(c map[string]any) { delete(c, "grant") }, want: jwtctx.ErrType},
		{name: "impersonation with act naming another admin", imp: true, claims: func(c map[string]any) { c["act"] = map[string]any{"sub": dentist.String()} }, want: jwtctx.ErrClaims, cause: tenancy.ErrInvalidPrincipal},
		{name: "impersonation by staff", imp: true, claims: func(c map[string]any) { c["kind"] = "staff" }, want: jwtctx.ErrClaims},
		{name: "impersonation with malformed grant", imp: true, claims: func(c map[string]any) { c["grant"] = "42" }, want: jwtctx.ErrClaims, cause: tenancy.ErrInvalidID},
		{name: "missing tenant", claims: func(c map[string]any) { delete(c, "tenant") }, want: jwtctx.ErrTenant},
		{name: "malformed tenant", claims: func(c map[string]any) { c["tenant"] = "not-a-uuid" }, want: jwtctx.ErrTenant, cause: tenancy.ErrInvalidID},
		{name: "zero tenant", claims: func(c map[string]any) { c["tenant"] = "00000000-0000-0000-0000-000000000000" }, want: jwtctx.ErrTenant, cause: tenancy.ErrInvalidID},
		{name: "tenant in braces", claims: func(c map[string]any) { c["tenant"] = "{" + clinic.String() + "}" }, want: jwtctx.ErrTenant, cause: tenancy.ErrInvalidID},
		{name: "empty tenant", claims: func(c map[string]any) { c["tenant"] = "" }, want: jwtctx.ErrTenant, cause: tenancy.ErrInvalidID},
		{name: "tenant not a string", claims: func(c map[string]any) { c["tenant"] = 7 }, want: jwtctx.ErrMalformed},
		{name: "impersonation without tenant", imp: true, claims: func(c map[string]any) { delete(c, "tenant") }, want: jwtctx.ErrTenant},
		{name: "platform admin session with tenant", claims: func(c map[string]any) { c["kind"] = "platform_admin"; c["sub"] = admin.String() }, want: jwtctx.ErrTenant},
		{name: "tampered tenant claim", post: func(t *testing.T, s string) string { return tamperTenant(t, s, clinic2) }, want: jwtctx.ErrSignature, cause: jwt.ErrTokenSignatureInvalid},
		{name: "oversized token", claims: func(c map[string]any) { c["roles"] = []string{strings.Repeat("r", 5000)} }, want: jwtctx.ErrTokenTooLarge},
		{name: "revoked jti", claims: func(c map[string]any) { c["jti"] = "revoked-jti" }, want: jwtctx.ErrRevoked},
		{name: "jku header", header: func(h map[string]any) { h["jku"] = "https://evil.test/jwks.json" }, want: jwtctx.ErrHeader},
		{name: "jwk header", header: func(h map[string]any) { h["jwk"] = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"} }, want: jwtctx.ErrHeader},
		{name: "x5u header", header: func(h map[string]any) { h["x5u"] = "https://evil.test/cert.pem" }, want: jwtctx.ErrHeader},
		{name: "x5c header", header: func(h map[string]any) { h["x5c"] = []string{"MIIB"} }, want: jwtctx.ErrHeader},
		{name: "crit header", header: func(h map[string]any) { h["crit"] = []string{"exp"} }, want: jwtctx.ErrHeader},
		{name: "system kind", claims: func(c map[string]any) { c["kind"] = "system" }, want: jwtctx.ErrClaims},
		{name: "unknown kind", claims: func(c map[string]any) { c["kind"] = "root" }, want: jwtctx.ErrClaims, cause: tenancy.ErrInvalidKind},
		{name: "missing kind", claims: func(c map[string]any) { delete(c, "kind") }, want: jwtctx.ErrClaims, cause: tenancy.ErrInvalidKind},
		{name: "malformed sub", claims: func(c map[string]any) { c["sub"] = "alice" }, want: jwtctx.ErrClaims, cause: tenancy.ErrInvalidID},
		{name: "empty role", claims: func(c map[string]any) { c["roles"] = []string{""} }, want: jwtctx.ErrClaims},
		{name: "two segments", raw: func(t *testing.T) string { return "eyJhbGciOiJFZERTQSJ9.e30" }, want: jwtctx.ErrMalformed},
		{name: "five segments (JWE)", raw: func(t *testing.T) string { return "a.b.c.d.e" }, want: jwtctx.ErrMalformed},
		{name: "empty", raw: func(t *testing.T) string { return "" }, want: jwtctx.ErrMalformed},
		{name: "padded signature", post: func(t *testing.T, s string) string { return s + "==" }, want: jwtctx.ErrMalformed},
		{name: "header not an object", raw: func(t *testing.T) string {
			return base64.RawURLEncoding.EncodeToString([]byte(`["alg"]`)) + ".e30.AA"
		}, want: jwtctx.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tok string
			if tt.raw != nil {
				tok = tt.raw(t)
			} else {
				h, c := sessionHeader(), sessionClaims()
				if tt.imp {
					h, c = impersonationHeader(), impersonationClaims()
				}
				if tt.header != nil {
					tt.header(h)
				}
				if tt.claims != nil {
					tt.claims(c)
				}
				method, key := jwt.SigningMethod(jwt.SigningMethodEdDSA), any(edPriv)
				if tt.method != nil {
					method, key = tt.method, tt.key
				} else if tt.key != nil {
					key = tt.key
				}
				tok = forge(t, method, key, h, c)
			}
			if tt.post != nil {
				tok = tt.post(t, tok)
			}
			accept := tt.accept
			if accept == 0 {
				accept = jwtctx.AnyToken
			}
			got, err := a.Verify(context.Background(), tok, accept)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify: got error %v, want %v", err, tt.want)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Fatalf("Verify: got error %v, want it caused by %v", err, tt.cause)
			}
			if err != nil {
				if got.Principal.Kind != "" || !got.Principal.Tenant.IsZero() {
					t.Errorf("Verify failed but returned principal %+v", got.Principal)
				}
				if tok != "" && strings.Contains(err.Error(), tok) {
					t.Errorf("error %q contains the token", err)
				}
				// The error goes to logs: no tenant, subject, grant or jti.
				for _, v := range []string{clinic.String(), clinic2.String(), dentist.String(), admin.String(), grant.String(), "0195f1c2-7b3a-7c4d-8e5f-00000000a001"} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error %q contains the claim value %s", err, v)
					}
				}
				return
			}
			want := staffPrincipal
			if tt.imp {
				want = impPrincipal
			}
			if diff := cmp.Diff(want, got.Principal); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

// tamperTenant re-encodes the payload of s with another tenant and keeps
// the signature.
func tamperTenant(t *testing.T, s string, tenant tenancy.ID) string {
	t.Helper()
	parts := strings.Split(s, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c["tenant"] == tenant.String() {
		t.Fatal("tampering would not change the tenant")
	}
	c["tenant"] = tenant.String()
	raw, err = json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// TestVerifyOversizedControl shows the oversized-token case fails for its
// size alone: the same token verifies under a larger limit.
func TestVerifyOversizedControl(t *testing.T) {
	c := sessionClaims()
	c["roles"] = []string{strings.Repeat("r", 5000)}
	tok := forge(t, jwt.SigningMethodEdDSA, edPriv, sessionHeader(), c)
	for _, tt := range []struct {
		limit int
		want  error
	}{
		{limit: 0, want: jwtctx.ErrTokenTooLarge},
		{limit: len(tok) - 1, want: jwtctx.ErrTokenTooLarge},
		{limit: len(tok), want: nil},
	} {
		a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals,
			Issuer: testIssuer, Audience: testAudience, SigningKey: edKey,
			MaxTokenSize: tt.limit, Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 },
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Verify(context.Background(), tok, jwtctx.SessionToken)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("limit %d: got %v, want %v", tt.limit, err, tt.want)
		}
	}
}

// TestVerifyLifetimeControl shows the lifetime cases fail for the lifetime
// alone: each token verifies under a maximum that admits it, and the
// lifetime is measured from iat (the token's real age), not from nbf, so a
// token signed with a recent nbf but an old iat cannot outlive the maximum.
func TestVerifyLifetimeControl(t *testing.T) {
	session := func(iat, exp time.Duration) string {
		c := sessionClaims()
		c["iat"], c["exp"] = t0.Add(iat).Unix(), t0.Add(exp).Unix()
		return forge(t, jwt.SigningMethodEdDSA, edPriv, sessionHeader(), c)
	}
	imp := func(iat, exp time.Duration) string {
		c := impersonationClaims()
		c["iat"], c["exp"] = t0.Add(iat).Unix(), t0.Add(exp).Unix()
		return forge(t, jwt.SigningMethodEdDSA, edPriv, impersonationHeader(), c)
	}
	for _, tt := range []struct {
		name            string
		tok             string
		maxLife, maxImp time.Duration
		want            error
	}{
		{"session of 2h10m under the default", session(-2*time.Hour, 10*time.Minute), 0, 0, jwtctx.ErrClaims},
		{"session of 2h10m under a 3h maximum", session(-2*time.Hour, 10*time.Minute), 3 * time.Hour, 0, nil},
		{"session of exactly the maximum", session(-50*time.Minute, 10*time.Minute), time.Hour, 0, nil},
		{"session one second above the maximum", session(-50*time.Minute-time.Second, 10*time.Minute), time.Hour, 0, jwtctx.ErrClaims},
		{"impersonation of 31m under the default", imp(-time.Minute, 30*time.Minute), 0, 0, jwtctx.ErrClaims},
		{"impersonation of 31m under a 1h maximum", imp(-time.Minute, 30*time.Minute), 0, time.Hour, nil},
		{"impersonation of 1h1m under the 1h cap", imp(-time.Hour, time.Minute), 0, jwtctx.MaxMaxImpersonationLifetime, jwtctx.ErrClaims},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals,
				Issuer: testIssuer, Audience: testAudience, SigningKey: edKey,
				MaxLifetime: tt.maxLife, MaxImpersonationLifetime: tt.maxImp,
				Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 },
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Verify(context.Background(), tt.tok, jwtctx.AnyToken)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestIssueVerifyRoundTrip issues each kind of token with each algorithm
// and checks that Verify returns what was issued.
func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, key := range []jwtctx.Key{edKey, ecKey, hsKey} {
		a := newAuthority(t, key, nil)
		for _, tt := range []struct {
			name   string
			p      tenancy.Principal
			ttl    time.Duration
			typ    jwtctx.TokenType
			header string
		}{
			{"staff", staffPrincipal, time.Hour, jwtctx.SessionToken, "session+jwt"},
			{"patient", tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinic, Subject: dentist}, time.Minute, jwtctx.SessionToken, "session+jwt"},
			{"platform admin", adminPrincipal, time.Hour, jwtctx.SessionToken, "session+jwt"},
			{"impersonation", impPrincipal, 15 * time.Minute, jwtctx.ImpersonationToken, "impersonation+jwt"},
		} {
			t.Run(string(key.Algorithm())+"/"+tt.name, func(t *testing.T) {
				s := issue(t, a, tt.p, tt.ttl)
				hdr, payload := decodeParts(t, s)
				wantHeader := map[string]any{"alg": string(key.Algorithm()), "kid": key.ID(), "typ": tt.header}
				if diff := cmp.Diff(wantHeader, hdr); diff != "" {
					t.Errorf("header (-want +got):\n%s", diff)
				}
				if _, ok := payload["tenant"]; ok != tt.p.HasTenant() {
					t.Errorf("tenant claim present = %v, want %v", ok, tt.p.HasTenant())
				}
				got, err := a.Verify(context.Background(), s, tt.typ)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := jwtctx.Token{
					Type: tt.typ, Issuer: testIssuer, ID: payload["jti"].(string), KeyID: key.ID(), Principal: tt.p,
					IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(tt.ttl),
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Verify (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func decodeParts(t *testing.T, s string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func TestIssueRefuses(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	verifyOnly, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience,
		VerificationKeys: []jwtctx.Key{edKey.VerifyOnly()}, Revoker: jwtctx.NoRevocation})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		a    *jwtctx.Authority
		p    tenancy.Principal
		ttl  time.Duration
		want error
	}{
		{"verify-only authority", verifyOnly, staffPrincipal, time.Minute, jwtctx.ErrNoSigningKey},
		{"invalid principal", a, tenancy.Principal{Kind: tenancy.Kind("staff"), Subject: dentist}, time.Minute, tenancy.ErrInvalidPrincipal},
		{"system principal", a, tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinic}, time.Minute, jwtctx.ErrIssue},
		{"empty role", a, tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: dentist, Roles: []string{""}}, time.Minute, jwtctx.ErrIssue},
		{"zero ttl", a, staffPrincipal, 0, jwtctx.ErrIssue},
		{"session ttl above maximum", a, staffPrincipal, jwtctx.DefaultMaxLifetime + time.Second, jwtctx.ErrIssue},
		{"impersonation ttl above maximum", a, impPrincipal, jwtctx.DefaultMaxImpersonationLifetime + time.Second, jwtctx.ErrIssue},
		// A token Verify would refuse for its size is not issued at all.
		{"token above MaxTokenSize", a, tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: dentist, Roles: []string{strings.Repeat("r", jwtctx.DefaultMaxTokenSize)}}, time.Minute, jwtctx.ErrIssue},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.a.Issue(tt.p, tt.ttl)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Issue: got a token of %d bytes, %v; want error %v", len(s), err, tt.want)
			}
			if s != "" {
				t.Errorf("Issue returned a token with an error")
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	rev := &jwtctx.MemoryRevoker{}
	a := newAuthority(t, edKey, rev)
	staffTok := issue(t, a, staffPrincipal, time.Hour)
	adminTok := issue(t, a, adminPrincipal, time.Hour)
	impTok := issue(t, a, impPrincipal, 10*time.Minute)
	verify := func(s string) error {
		_, err := a.Verify(context.Background(), s, jwtctx.AnyToken)
		return err
	}
	// Each token verifies before its revocation, so the later failures are
	// the revocations' doing.
	for _, s := range []string{staffTok, adminTok, impTok} {
		if err := verify(s); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
	}

	tok, err := a.Verify(context.Background(), staffTok, jwtctx.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	rev.RevokeToken(tok.ID, tok.ExpiresAt)
	if err := verify(staffTok); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("revoked jti: got %v, want ErrRevoked", err)
	}
	if err := verify(adminTok); err != nil {
		t.Errorf("revoking one jti revoked another token: %v", err)
	}

	rev.RevokeGrant(grant)
	if err := verify(impTok); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("ended grant: got %v, want ErrRevoked", err)
	}

	rev.RevokeSubject(admin, t0)
	if err := verify(adminTok); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("subject not-before: got %v, want ErrRevoked", err)
	}
	// A token issued after the cut-off (a later sign-in) is unaffected.
	later := newAuthorityAt(t, t0.Add(time.Second), rev)
	if _, err := later.Verify(context.Background(), issue(t, later, adminPrincipal, time.Hour), jwtctx.SessionToken); err != nil {
		t.Errorf("token issued after the subject cut-off: %v", err)
	}

	failing := newAuthority(t, edKey, jwtctx.RevokerFunc(func(context.Context, jwtctx.Token) (bool, error) {
		return false, errors.New("store down")
	}))
	if _, err := failing.Verify(context.Background(), adminTok, jwtctx.AnyToken); !errors.Is(err, jwtctx.ErrRevocationCheck) {
		t.Errorf("failing revoker: got %v, want ErrRevocationCheck", err)
	}
}

func newAuthorityAt(t *testing.T, now time.Time, rev jwtctx.Revoker) *jwtctx.Authority {
	t.Helper()
	a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, SigningKey: edKey,
		Revoker: rev, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestVerifyAcceptSet(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	tok := issue(t, a, staffPrincipal, time.Minute)
	for _, accept := range []jwtctx.TokenType{0, 4, jwtctx.AnyToken | 8} {
		if _, err := a.Verify(context.Background(), tok, accept); !errors.Is(err, jwtctx.ErrType) {
			t.Errorf("accept %d: got %v, want ErrType", accept, err)
		}
	}
}
