package jwtctx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

func TestNewRejectsConfig(t *testing.T) {
	valid := func() jwtctx.Config {
		return jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, SigningKey: edKey, Revoker: jwtctx.NoRevocation}
	}
	if _, err := jwtctx.New(valid()); err != nil {
		t.Fatalf("the base config must be valid: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(c *jwtctx.Config)
	}{
		{"no issuer", func(c *jwtctx.Config) { c.Issuer = "" }},
		{"issuer with control character", func(c *jwtctx.Config) { c.Issuer = "a\nb" }},
		{"no audience", func(c *jwtctx.Config) { c.Audience = "" }},
		{"no revoker", func(c *jwtctx.Config) { c.Revoker = nil }},
		{"no keys", func(c *jwtctx.Config) { c.SigningKey = jwtctx.Key{} }},
		{"verify-only signing key", func(c *jwtctx.Config) { c.SigningKey = edKey.VerifyOnly() }},
		{"zero verification key", func(c *jwtctx.Config) { c.VerificationKeys = []jwtctx.Key{{}} }},
		{"duplicate kid", func(c *jwtctx.Config) { c.VerificationKeys = []jwtctx.Key{must(jwtctx.NewEd25519Key("ed-1", edOther))} }},
		{"HS256 without AllowHS256", func(c *jwtctx.Config) { c.SigningKey = hsKey }},
		{"HS256 verification key without AllowHS256", func(c *jwtctx.Config) { c.VerificationKeys = []jwtctx.Key{hsKey} }},
		{"negative leeway", func(c *jwtctx.Config) { c.Leeway = -time.Second }},
		{"leeway above cap", func(c *jwtctx.Config) { c.Leeway = jwtctx.MaxLeeway + time.Second }},
		{"lifetime above cap", func(c *jwtctx.Config) { c.MaxLifetime = jwtctx.MaxMaxLifetime + time.Second }},
		{"negative lifetime", func(c *jwtctx.Config) { c.MaxLifetime = -time.Hour }},
		{"impersonation lifetime above an hour", func(c *jwtctx.Config) { c.MaxImpersonationLifetime = 2 * time.Hour }},
		{"token size above cap", func(c *jwtctx.Config) { c.MaxTokenSize = jwtctx.MaxMaxTokenSize + 1 }},
		{"token size too small", func(c *jwtctx.Config) { c.MaxTokenSize = 10 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			a, err := jwtctx.New(c)
			if !errors.Is(err, jwtctx.ErrConfig) || a != nil {
				t.Errorf("New: got %v, %v; want nil, ErrConfig", a, err)
			}
		})
	}
}

// TestConfigDefaults checks the documented defaults through their effects.
func TestConfigDefaults(t *testing.T) {
	clk := newClock(t0)
	a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, SigningKey: edKey, Revoker: jwtctx.NoRevocation, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Issue(staffPrincipal, jwtctx.DefaultMaxLifetime); err != nil {
		t.Errorf("default max lifetime refused: %v", err)
	}
	if _, err := a.Issue(staffPrincipal, jwtctx.DefaultMaxLifetime+time.Second); !errors.Is(err, jwtctx.ErrIssue) {
		t.Errorf("above default max lifetime: got %v, want ErrIssue", err)
	}
	tok := issue(t, a, staffPrincipal, time.Minute)
	for _, tt := range []struct {
		at   time.Duration
		want error
	}{
		{time.Minute + jwtctx.DefaultLeeway - time.Second, nil},
		{time.Minute + jwtctx.DefaultLeeway, jwtctx.ErrExpired},
	} {
		clk.Set(t0.Add(tt.at))
		if _, err := a.Verify(t.Context(), tok, jwtctx.SessionToken); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("at t0+%v: got %v, want %v", tt.at, err, tt.want)
		}
	}
}

func TestKeyConstructors(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		fn   func() (jwtctx.Key, error)
	}{
		{"empty kid", func() (jwtctx.Key, error) { return jwtctx.NewEd25519Key("", edPriv) }},
		{"kid with a quote", func() (jwtctx.Key, error) { return jwtctx.NewEd25519Key(`a"b`, edPriv) }},
		{"kid too long", func() (jwtctx.Key, error) { return jwtctx.NewEd25519Key(strings.Repeat("k", 65), edPriv) }},
		{"short Ed25519 private key", func() (jwtctx.Key, error) { return jwtctx.NewEd25519Key("k", edPriv[:10]) }},
		{"short Ed25519 public key", func() (jwtctx.Key, error) { return jwtctx.NewEd25519PublicKey("k", make(ed25519.PublicKey, 31)) }},
		{"nil ECDSA key", func() (jwtctx.Key, error) { return jwtctx.NewES256Key("k", nil) }},
		{"P-384 key for ES256", func() (jwtctx.Key, error) { return jwtctx.NewES256Key("k", p384) }},
		{"P-384 public key for ES256", func() (jwtctx.Key, error) { return jwtctx.NewES256PublicKey("k", &p384.PublicKey) }},
		{"short HS256 secret", func() (jwtctx.Key, error) { return jwtctx.NewHS256Key("k", hsSecret[:31]) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.fn()
			if !errors.Is(err, jwtctx.ErrKey) || !k.IsZero() {
				t.Errorf("got %v, %v; want zero Key, ErrKey", k, err)
			}
		})
	}
}

func TestEd25519KeyCopiesMaterial(t *testing.T) {
	priv := bytes.Clone(edPriv)
	k := must(jwtctx.NewEd25519Key("k", priv))
	a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, SigningKey: k, Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	clear(priv)
	tok := issue(t, a, staffPrincipal, time.Minute)
	if _, err := a.Verify(t.Context(), tok, jwtctx.SessionToken); err != nil {
		t.Errorf("key changed with the caller's slice: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	a := newAuthority(t, edKey, nil)
	data, err := a.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"d"`)) || bytes.Contains(data, []byte("hs-1")) {
		t.Fatalf("JWKS exposes private or HMAC material: %s", data)
	}
	keys, err := jwtctx.ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		ID      string
		Alg     jwtctx.Algorithm
		CanSign bool
	}
	var got []summary
	for _, k := range keys {
		got = append(got, summary{k.ID(), k.Algorithm(), k.CanSign()})
	}
	want := []summary{{"ed-1", jwtctx.EdDSA, false}, {"es-1", jwtctx.ES256, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseJWKS(JWKS()) (-want +got):\n%s", diff)
	}

	// Another service verifies with the exported keys alone.
	peer, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, VerificationKeys: keys,
		Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, signing := range []jwtctx.Key{edKey, ecKey} {
		tok := issue(t, newAuthority(t, signing, nil), staffPrincipal, time.Minute)
		if _, err := peer.Verify(t.Context(), tok, jwtctx.SessionToken); err != nil {
			t.Errorf("peer verifying %s token: %v", signing.Algorithm(), err)
		}
	}
}

func TestParseJWKSRejects(t *testing.T) {
	const x = `"x":"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI"`
	for _, tt := range []struct{ name, jwks string }{
		{"not JSON", `{`},
		{"private key", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"d":"AAAA","kid":"k","alg":"EdDSA"}]}`},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"AAAA","kid":"k","alg":"HS256"}]}`},
		{"missing kid", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"alg":"EdDSA"}]}`},
		{"missing alg", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"k"}]}`},
		{"alg not matching key type", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"k","alg":"ES256"}]}`},
		{"encryption use", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"k","alg":"EdDSA","use":"enc"}]}`},
		{"point not on the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kid":"k","alg":"ES256"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := jwtctx.ParseJWKS([]byte(tt.jwks))
			if !errors.Is(err, jwtctx.ErrKey) || keys != nil {
				t.Errorf("got %v, %v; want nil, ErrKey", keys, err)
			}
		})
	}
	// Control: the same key with kid and alg parses.
	if _, err := jwtctx.ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"k","alg":"EdDSA","use":"sig"}]}`)); err != nil {
		t.Errorf("control key refused: %v", err)
	}
}
