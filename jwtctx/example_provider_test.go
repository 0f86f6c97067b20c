package jwtctx_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// exampleIdP stands in for Auth0, Keycloak or Zitadel: a discovery
// document and a key set over TLS, and a function that signs its tokens.
func exampleIdP() (srv *httptest.Server, sign func(claims jwt.MapClaims) string) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	mux := http.NewServeMux()
	srv = httptest.NewTLSServer(mux)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL, srv.URL+"/keys")
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		x := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"2025-06","alg":"EdDSA","use":"sig","x":%q}]}`, x)
	})
	return srv, func(claims jwt.MapClaims) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": srv.URL, "aud": "https://api.example.com", "sub": "user-1",
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "a1b2c3"}
		for k, v := range claims {
			c[k] = v
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["typ"], tok.Header["kid"] = jwtctx.AccessTyp, "2025-06"
		s, _ := tok.SignedString(priv)
		return s
	}
}

// providerExampleAuthority accepts the SDK's own tokens and those of p.
func providerExampleAuthority(p *jwtctx.Provider) *jwtctx.Authority {
	own, _ := jwtctx.GenerateKey("own-1")
	auth, err := jwtctx.New(jwtctx.Config{
		Issuer: "https://api.example.com/auth", Audience: "https://api.example.com",
		SigningKey: own, Revoker: jwtctx.NoRevocation,
		Principals: tenancy.Principals{
			TenantKey: tenancy.KeyText, SubjectKey: tenancy.KeyText,
			Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}, {Name: "guest", Access: tenancy.AccessSubject}},
		},
		Providers: []*jwtctx.Provider{p},
	})
	if err != nil {
		panic(err)
	}
	return auth
}

// ExampleNewProvider accepts the access tokens of an OpenID provider with
// Auth0 Organizations' shape: the organization id in org_id, permissions
// as roles. A token in two organizations at once is refused.
func ExampleNewProvider() {
	srv, sign := exampleIdP()
	defer srv.Close()

	provider, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{
		Issuer:   srv.URL, // "https://your-tenant.eu.auth0.com/" in production
		Audience: "https://api.example.com",
		Claims: jwtctx.ClaimMapping{
			Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"org_id"}},
			Kind:   jwtctx.KindClaim{Fixed: "member"},
			Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"permissions"}},
		},
		HTTPClient: srv.Client(), // trusts the test server's certificate
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer provider.Close()
	auth := providerExampleAuthority(provider)

	tok, err := auth.Verify(context.Background(), sign(jwt.MapClaims{"org_id": "org_acme", "permissions": []string{"read:projects"}}), jwtctx.AnyToken|jwtctx.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Type, tok.KeyID, tok.Principal.Kind, tok.Principal.Tenant, tok.Principal.Roles)

	_, err = auth.Verify(context.Background(), sign(jwt.MapClaims{"org_id": []string{"org_acme", "org_other"}}), jwtctx.AccessToken)
	fmt.Println(errors.Is(err, jwtctx.ErrTenant))
	// Output:
	// at+jwt 2025-06 member org_acme [read:projects]
	// true
}

// ExampleClaimMapping maps the organization claims of Keycloak and
// Zitadel, and a kind taken from a claim.
func ExampleClaimMapping() {
	srv, sign := exampleIdP()
	defer srv.Close()
	for _, tt := range []struct {
		name    string
		mapping jwtctx.ClaimMapping
		claims  jwt.MapClaims
	}{
		{
			name: "Keycloak",
			mapping: jwtctx.ClaimMapping{
				// "organization": {"acme": {"id": "…"}} with the mapper's
				// "add organization id" on.
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"organization"}, Form: jwtctx.TenantOnlyMember, Field: jwtctx.ClaimPath{"id"}},
				Kind:   jwtctx.KindClaim{Path: jwtctx.ClaimPath{"user_type"}, Values: map[string]tenancy.Kind{"staff": "member", "customer": "guest"}},
				Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"realm_access", "roles"}},
			},
			claims: jwt.MapClaims{
				"organization": map[string]any{"acme": map[string]any{"id": "5f1c2a"}},
				"user_type":    "customer",
				"realm_access": map[string]any{"roles": []string{"viewer"}},
			},
		},
		{
			name: "Zitadel",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:id"}},
				Kind:   jwtctx.KindClaim{Fixed: "member"},
				// Roles granted in this organization only.
				Roles: jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:project:roles"}, Form: jwtctx.RolesMemberNames, PerTenant: true},
			},
			claims: jwt.MapClaims{
				"urn:zitadel:iam:org:id": "2781233",
				"urn:zitadel:iam:org:project:roles": map[string]any{
					"editor": map[string]any{"2781233": "acme.zitadel.cloud"},
					"admin":  map[string]any{"9911002": "other.zitadel.cloud"},
				},
			},
		},
	} {
		provider, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{
			Issuer: srv.URL, Audience: "https://api.example.com", Claims: tt.mapping,
			AllowJWTType: true, // both type their access tokens "JWT"
			HTTPClient:   srv.Client(),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		tok, err := providerExampleAuthority(provider).Verify(context.Background(), sign(tt.claims), jwtctx.AccessToken)
		provider.Close()
		if err != nil {
			fmt.Println(tt.name, err)
			continue
		}
		p := tok.Principal
		fmt.Println(tt.name, p.Kind, p.Tenant, p.Subject, p.Roles)
	}
	// Output:
	// Keycloak guest 5f1c2a user-1 [viewer]
	// Zitadel member 2781233 user-1 [editor]
}
