package jwtctx_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// idpKey is a key of the fake provider: the private half signs, the
// public half is published under kid with alg (and use, when set).
type idpKey struct {
	kid, alg, use string
	priv          crypto.Signer
}

// The provider's keys: EC and Ed25519 fixed, so failures reproduce; RSA
// generated once per process (Go's RSA key generation takes no seed).
var (
	idpRSA      = mustRSA(2048)
	idpRSA2     = mustRSA(2048)
	idpRSASmall = mustRSA(1024)
	idpEC       = mustEC(bytes.Repeat([]byte{0x21}, 32))
	idpEd       = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x31}, 32))
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

// idp is a minimal OpenID provider over TLS: a discovery document and a
// key set whose keys tests change at will. It is not the end-to-end
// provider (that is zitadel's, in jwtctx/oidctest); it lets the unit tests
// publish exactly the key sets whose holes they probe.
type idp struct {
	srv     *httptest.Server
	issuer  string
	mu      sync.Mutex
	keys    []idpKey
	rawJWKS []byte // served instead of keys when set
	docIss  string // discovery's issuer, when it should differ
	jwksURI string // discovery's jwks_uri, when it should differ
	fetches atomic.Int32
}

func newIdP(t testing.TB, keys ...idpKey) *idp {
	t.Helper()
	f := &idp{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		doc := map[string]any{"issuer": f.issuer, "jwks_uri": f.issuer + "/keys"}
		if f.docIss != "" {
			doc["issuer"] = f.docIss
		}
		if f.jwksURI != "" {
			doc["jwks_uri"] = f.jwksURI
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		f.mu.Lock()
		body := f.rawJWKS
		if body == nil {
			body = jwksOf(f.keys...)
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate test's handshake
	f.srv.StartTLS()
	f.issuer = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// setKeys replaces the published key set.
func (f *idp) setKeys(keys ...idpKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys, f.rawJWKS = keys, nil
}

// jwksOf encodes the public halves of keys as a JWK set.
func jwksOf(keys ...idpKey) []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	set := []map[string]any{}
	for _, k := range keys {
		j := map[string]any{"kid": k.kid}
		if k.alg != "" {
			j["alg"] = k.alg
		}
		if k.use != "" {
			j["use"] = k.use
		}
		switch pub := k.priv.Public().(type) {
		case *rsa.PublicKey:
			j["kty"], j["n"], j["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			raw, _ := pub.Bytes()
			j["kty"], j["crv"], j["x"], j["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
		case ed25519.PublicKey:
			j["kty"], j["crv"], j["x"] = "OKP", "Ed25519", b64(pub)
		}
		set = append(set, j)
	}
	out, _ := json.Marshal(map[string]any{"keys": set})
	return out
}

// sign returns a token signed by k with alg (k.alg when empty), typ and
// the claims.
func (f *idp) sign(t testing.TB, k idpKey, alg, typ string, claims jwt.MapClaims) string {
	t.Helper()
	if alg == "" {
		alg = k.alg
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	tok.Header["kid"] = k.kid
	if typ == "" {
		delete(tok.Header, "typ")
	} else {
		tok.Header["typ"] = typ
	}
	var key any = k.priv
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// claims returns the registered claims of a good token from f, at t0.
func (f *idp) claims(extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": f.issuer, "aud": []string{"api://dental", "other"}, "sub": "user-alex",
		"iat": t0.Unix(), "exp": t0.Add(10 * time.Minute).Unix(), "jti": "tok-1", "client_id": "spa",
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// textPrincipals declares text tenant and subject keys, as provider ids
// are, plus an operator kind that providers may not yield.
var textPrincipals = tenancy.Principals{
	TenantKey:  tenancy.KeyText,
	SubjectKey: tenancy.KeyText,
	Kinds: []tenancy.KindSpec{
		{Name: "staff", Access: tenancy.AccessTenant},
		{Name: "patient", Access: tenancy.AccessSubject},
		{Name: "platform_admin", Access: tenancy.AccessOperator},
	},
}

// auth0Mapping is Auth0 Organizations: org_id is the tenant, every user
// staff, roles from a namespaced custom claim.
var auth0Mapping = jwtctx.ClaimMapping{
	Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"org_id"}},
	Kind:   jwtctx.KindClaim{Fixed: "staff"},
	Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"https://dental.example/roles"}},
}

// newProvider returns a Provider for f with mapping m, closed at cleanup.
func newProvider(t testing.TB, f *idp, m jwtctx.ClaimMapping, edit func(*jwtctx.ProviderConfig)) *jwtctx.Provider {
	t.Helper()
	cfg := jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: m, HTTPClient: f.srv.Client()}
	if edit != nil {
		edit(&cfg)
	}
	p, err := jwtctx.NewProvider(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// providerAuthority returns an Authority with the SDK's own Ed25519 key
// and the providers, on textPrincipals, at t0.
func providerAuthority(t testing.TB, rev jwtctx.Revoker, ps ...*jwtctx.Provider) *jwtctx.Authority {
	t.Helper()
	own := must(jwtctx.NewEd25519Key("own-1", edPriv))
	a, err := jwtctx.New(jwtctx.Config{
		Issuer: testIssuer, Audience: testAudience, SigningKey: own, Revoker: rev,
		Principals: textPrincipals, Providers: ps, Now: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// textID returns the text key s, or panics.
func textID(s string) tenancy.ID { return must(tenancy.TextID(s)) }
