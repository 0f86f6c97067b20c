package jwtctx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

const (
	testIssuer   = "https://auth.mydentalpractice.test"
	testAudience = "mydentalpractice-api"
)

var (
	clinic  = tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f")
	clinic2 = tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e2f")
	dentist = tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000001")
	admin   = tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-0000000000ad")
	grant   = tenancy.MustParseID("0195f1c2-7b3a-7c4d-8e5f-000000000901")

	// t0 is the fixed "now" of the tests.
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	staffPrincipal = tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: dentist, Roles: []string{"dentist"}}
	adminPrincipal = tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin}
	impPrincipal   = tenancy.Principal{
		Kind: tenancy.Kind("platform_admin"), Tenant: clinic, Subject: admin,
		Impersonation: &tenancy.Impersonation{GrantID: grant, Admin: admin},
	}
)

// Fixed key material, so fuzz corpora and failures reproduce.
var (
	edPriv   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, 32))
	edOther  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x43}, 32))
	hsSecret = bytes.Repeat([]byte("0123456789abcdef"), 2)
	ecPriv   = mustEC(bytes.Repeat([]byte{0x11}, 32))
)

func mustEC(scalar []byte) *ecdsa.PrivateKey {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		panic(err)
	}
	return k
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var (
	edKey = must(jwtctx.NewEd25519Key("ed-1", edPriv))
	ecKey = must(jwtctx.NewES256Key("es-1", ecPriv))
	hsKey = must(jwtctx.NewHS256Key("hs-1", hsSecret))
)

// clock is a settable test clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newAuthority returns an Authority signing with signing and verifying with
// all three test keys, at the fixed time t0.
func newAuthority(tb testing.TB, signing jwtctx.Key, rev jwtctx.Revoker) *jwtctx.Authority {
	tb.Helper()
	var verify []jwtctx.Key
	for _, k := range []jwtctx.Key{edKey, ecKey, hsKey} {
		if k.ID() != signing.ID() {
			verify = append(verify, k.VerifyOnly())
		}
	}
	if rev == nil {
		rev = jwtctx.NoRevocation
	}
	a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals,
		Issuer:           testIssuer,
		Audience:         testAudience,
		SigningKey:       signing,
		VerificationKeys: verify,
		AllowHS256:       true,
		Revoker:          rev,
		Now:              func() time.Time { return t0 },
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return a
}

func issue(tb testing.TB, a *jwtctx.Authority, p tenancy.Principal, ttl time.Duration) string {
	tb.Helper()
	tok, err := a.Issue(p, ttl)
	if err != nil {
		tb.Fatalf("Issue(%v): %v", p.Kind, err)
	}
	return tok
}

// forge signs arbitrary header and claims with method and key, bypassing
// Issue, to build hostile tokens.
func forge(tb testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	tok.Header = header
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("forging token: %v", err)
	}
	return s
}

func sessionHeader() map[string]any {
	return map[string]any{"alg": "EdDSA", "kid": "ed-1", "typ": "session+jwt"}
}

func sessionClaims() map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    []string{testAudience},
		"sub":    dentist.String(),
		"exp":    t0.Add(10 * time.Minute).Unix(),
		"nbf":    t0.Add(-time.Minute).Unix(),
		"iat":    t0.Add(-time.Minute).Unix(),
		"jti":    "0195f1c2-7b3a-7c4d-8e5f-00000000a001",
		"tenant": clinic.String(),
		"kind":   "staff",
		"roles":  []string{"dentist"},
	}
}

func impersonationHeader() map[string]any {
	h := sessionHeader()
	h["typ"] = "impersonation+jwt"
	return h
}

func impersonationClaims() map[string]any {
	c := sessionClaims()
	c["sub"] = admin.String()
	c["kind"] = "platform_admin"
	c["act"] = map[string]any{"sub": admin.String()}
	c["grant"] = grant.String()
	delete(c, "roles")
	return c
}

// testPrincipals declares the tests' principal kinds, UUID keys.
var testPrincipals = tenancy.Principals{Kinds: []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}}
