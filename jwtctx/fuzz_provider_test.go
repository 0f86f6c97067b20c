package jwtctx_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// FuzzVerifyProviderClaims signs arbitrary payloads with a configured
// provider's key, as a provider with a buggy or hostile claims pipeline
// would, and feeds them to Verify. The property: whatever verifies holds a
// principal that passes the declaration's check, of the provider's fixed
// kind, whose tenant is exactly the one org_id string of the payload and
// whose roles are exactly its roles list; nothing else verifies.
func FuzzVerifyProviderClaims(f *testing.F) {
	idp := newIdP(f, edKey2)
	a := providerAuthority(f, jwtctx.NoRevocation, newProvider(f, idp, auth0Mapping, nil))
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"ed-1","typ":"at+jwt"}`))
	sign := func(payload []byte) string {
		in := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(idpEd, []byte(in)))
	}
	good, _ := json.Marshal(idp.claims(jwt.MapClaims{"org_id": "org_riverside", "https://dental.example/roles": []string{"dentist"}}))
	if _, err := a.Verify(context.Background(), sign(good), jwtctx.AccessToken); err != nil {
		f.Fatalf("seed does not verify: %v", err)
	}
	f.Add(good)
	for _, extra := range []jwt.MapClaims{
		{"org_id": []string{"a", "b"}},
		{"org_id": ""},
		{"org_id": map[string]any{"id": "x"}},
		{"org_id": "a", "https://dental.example/roles": "admin"},
		{"act": map[string]any{"sub": "x"}},
	} {
		p, _ := json.Marshal(idp.claims(extra))
		f.Add(p)
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{"org_id":"a","org_id":"b"}`))

	f.Fuzz(func(t *testing.T, payload []byte) {
		tok, err := a.Verify(context.Background(), sign(payload), jwtctx.AccessToken)
		if err != nil {
			return
		}
		var c map[string]any
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatalf("verified a payload that is not JSON: %v", err)
		}
		if err := textPrincipals.Check(tok.Principal); err != nil {
			t.Fatalf("verified principal fails the declaration: %v", err)
		}
		if tok.Principal.Kind != "staff" || tok.Type != jwtctx.AccessToken || tok.Issuer != idp.issuer {
			t.Fatalf("verified %+v", tok)
		}
		if org, _ := c["org_id"].(string); org == "" || tok.Principal.Tenant.String() != org {
			t.Fatalf("tenant %v, org_id claim %v", tok.Principal.Tenant, c["org_id"])
		}
		roles, _ := c["https://dental.example/roles"].([]any)
		if len(roles) != len(tok.Principal.Roles) {
			t.Fatalf("roles %v, claim %v", tok.Principal.Roles, roles)
		}
		for i, r := range roles {
			if r != tok.Principal.Roles[i] {
				t.Fatalf("roles %v, claim %v", tok.Principal.Roles, roles)
			}
		}
	})
}
