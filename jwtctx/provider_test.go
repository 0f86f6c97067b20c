package jwtctx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

var (
	rsaKey = idpKey{kid: "rsa-1", alg: "RS256", priv: idpRSA}
	psKey  = idpKey{kid: "ps-1", alg: "PS256", priv: idpRSA2}
	ecKey2 = idpKey{kid: "ec-1", alg: "ES256", priv: idpEC}
	edKey2 = idpKey{kid: "ed-1", alg: "EdDSA", priv: idpEd}
)

// TestProviderMappings verifies tokens in the shapes of Auth0
// Organizations, Keycloak organizations and Zitadel, signed with each
// algorithm, and checks the principal each becomes.
func TestProviderMappings(t *testing.T) {
	f := newIdP(t, rsaKey, psKey, ecKey2, edKey2)
	for _, tt := range []struct {
		name    string
		mapping jwtctx.ClaimMapping
		claims  jwt.MapClaims
		want    tenancy.Principal
	}{
		{
			name:    "Auth0 org_id",
			mapping: auth0Mapping,
			claims:  jwt.MapClaims{"org_id": "org_riverside", "https://dental.example/roles": []string{"dentist", "owner"}},
			want:    tenancy.Principal{Kind: "staff", Tenant: textID("org_riverside"), Subject: textID("user-alex"), Roles: []string{"dentist", "owner"}},
		},
		{
			name: "compact o.id",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"o", "id"}},
				Kind:   jwtctx.KindClaim{Fixed: "staff"},
			},
			claims: jwt.MapClaims{"o": map[string]any{"id": "org_riverside", "name": "riverside"}},
			want:   tenancy.Principal{Kind: "staff", Tenant: textID("org_riverside"), Subject: textID("user-alex")},
		},
		{
			name: "Keycloak organization names, realm roles, kind from a claim",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"organization"}, Form: jwtctx.TenantOnlyElement},
				Kind:   jwtctx.KindClaim{Path: jwtctx.ClaimPath{"user_type"}, Values: map[string]tenancy.Kind{"employee": "staff", "customer": "patient"}},
				Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"realm_access", "roles"}},
			},
			claims: jwt.MapClaims{"organization": []string{"riverside"}, "user_type": "customer", "realm_access": map[string]any{"roles": []string{"portal"}}},
			want:   tenancy.Principal{Kind: "patient", Tenant: textID("riverside"), Subject: textID("user-alex"), Roles: []string{"portal"}},
		},
		{
			name: "Keycloak organizations with ids",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"organization"}, Form: jwtctx.TenantOnlyMember, Field: jwtctx.ClaimPath{"id"}},
				Kind:   jwtctx.KindClaim{Fixed: "staff"},
			},
			claims: jwt.MapClaims{"organization": map[string]any{"riverside": map[string]any{"id": "42c1d2b0"}}},
			want:   tenancy.Principal{Kind: "staff", Tenant: textID("42c1d2b0"), Subject: textID("user-alex")},
		},
		{
			name: "Keycloak organizations by member name",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"organization"}, Form: jwtctx.TenantOnlyMember},
				Kind:   jwtctx.KindClaim{Fixed: "staff"},
			},
			claims: jwt.MapClaims{"organization": map[string]any{"riverside": map[string]any{}}},
			want:   tenancy.Principal{Kind: "staff", Tenant: textID("riverside"), Subject: textID("user-alex")},
		},
		{
			name: "Zitadel, roles granted in this organization only",
			mapping: jwtctx.ClaimMapping{
				Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:id"}},
				Kind:   jwtctx.KindClaim{Fixed: "staff"},
				Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:project:roles"}, Form: jwtctx.RolesMemberNames, PerTenant: true},
			},
			claims: jwt.MapClaims{
				"urn:zitadel:iam:org:id": "2781233",
				"urn:zitadel:iam:org:project:roles": map[string]any{
					"dentist": map[string]any{"2781233": "riverside.zitadel.cloud"},
					"admin":   map[string]any{"9999999": "hillcrest.zitadel.cloud"},
					"billing": map[string]any{"2781233": "riverside.zitadel.cloud", "9999999": "hillcrest.zitadel.cloud"},
				},
			},
			want: tenancy.Principal{Kind: "staff", Tenant: textID("2781233"), Subject: textID("user-alex"), Roles: []string{"billing", "dentist"}},
		},
	} {
		p := newProvider(t, f, tt.mapping, nil)
		a := providerAuthority(t, jwtctx.NoRevocation, p)
		for _, k := range []idpKey{rsaKey, psKey, ecKey2, edKey2} {
			t.Run(tt.name+"/"+k.alg, func(t *testing.T) {
				s := f.sign(t, k, "", jwtctx.AccessTyp, f.claims(tt.claims))
				got, err := a.Verify(context.Background(), s, jwtctx.AccessToken)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := jwtctx.Token{
					Type: jwtctx.AccessToken, Issuer: f.issuer, ID: "tok-1", KeyID: k.kid, Principal: tt.want,
					IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(10 * time.Minute),
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Verify (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestProviderRefusals checks that every token the mapping cannot place
// in exactly one tenant, and every key or header trick, is refused with
// its reason, and that no error quotes the token or the tenant.
func TestProviderRefusals(t *testing.T) {
	bareRSA := idpKey{kid: "rsa-noalg", priv: idpRSA}
	encRSA := idpKey{kid: "rsa-enc", alg: "RS256", use: "enc", priv: idpRSA}
	smallRSA := idpKey{kid: "rsa-small", alg: "RS256", priv: idpRSASmall}
	wrongAlg := idpKey{kid: "rsa-as-es", alg: "ES256", priv: idpRSA}
	f := newIdP(t, rsaKey, ecKey2, edKey2, bareRSA, encRSA, smallRSA, wrongAlg)
	mapping := jwtctx.ClaimMapping{
		Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"org_id"}},
		Kind:   jwtctx.KindClaim{Path: jwtctx.ClaimPath{"user_type"}, Values: map[string]tenancy.Kind{"employee": "staff"}},
		Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"roles"}},
	}
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, mapping, nil))
	good := jwt.MapClaims{"org_id": "org_riverside", "user_type": "employee"}
	with := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		for k, v := range extra {
			c[k] = v
		}
		return f.claims(c)
	}
	other := newIdP(t, rsaKey) // a real provider, but not configured

	hsWithPublicKey := func() string {
		// The RSA public key's bytes as an HMAC secret: the classic
		// algorithm confusion.
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, with(nil))
		tok.Header["kid"], tok.Header["typ"] = rsaKey.kid, jwtctx.AccessTyp
		s, _ := tok.SignedString(jwksOf(rsaKey))
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, with(nil))
		tok.Header["kid"], tok.Header["typ"] = rsaKey.kid, jwtctx.AccessTyp
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	withHeader := func(name string, v any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, with(nil))
		tok.Header["kid"], tok.Header["typ"], tok.Header[name] = rsaKey.kid, jwtctx.AccessTyp, v
		s, _ := tok.SignedString(idpRSA)
		return s
	}
	forged := func() string {
		// Signed by another key under the provider's kid.
		return f.sign(t, idpKey{kid: rsaKey.kid, alg: "RS256", priv: idpRSA2}, "", jwtctx.AccessTyp, with(nil))
	}

	for _, tt := range []struct {
		name   string
		token  string
		accept jwtctx.TokenType
		want   error
	}{
		{"no tenant claim", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"org_id": nil})), 0, jwtctx.ErrTenant},
		{"tenant claim null", f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"user_type": "employee"})), 0, jwtctx.ErrTenant},
		{"empty tenant", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"org_id": ""})), 0, jwtctx.ErrTenant},
		{"two tenants in a list", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"org_id": []string{"org_a", "org_b"}})), 0, jwtctx.ErrTenant},
		{"tenant a number", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"org_id": 42})), 0, jwtctx.ErrTenant},
		{"tenant not a text key", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"org_id": "org|riverside"})), 0, jwtctx.ErrTenant},
		{"kind not mapped", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"user_type": "platform_admin"})), 0, jwtctx.ErrClaims},
		{"no kind claim", f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"})), 0, jwtctx.ErrClaims},
		{"no sub", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"sub": ""})), 0, jwtctx.ErrClaims},
		{"roles not a list", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"roles": "admin"})), 0, jwtctx.ErrClaims},
		{"empty role", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"roles": []string{""}})), 0, jwtctx.ErrClaims},
		{"no jti", f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"jti": nil, "org_id": "org_riverside", "user_type": "employee"})), 0, jwtctx.ErrClaims},
		{"no iat", f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"iat": nil, "org_id": "org_riverside", "user_type": "employee"})), 0, jwtctx.ErrClaims},
		{"act claim", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"act": map[string]any{"sub": "admin"}})), 0, jwtctx.ErrClaims},
		{"lifetime above MaxLifetime", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"exp": t0.Add(2 * time.Hour).Unix()})), 0, jwtctx.ErrClaims},
		{"expired", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"iat": t0.Add(-time.Hour).Unix(), "exp": t0.Add(-time.Minute).Unix()})), 0, jwtctx.ErrExpired},
		{"wrong audience", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"aud": "api://other"})), 0, jwtctx.ErrAudience},
		{"issuer not configured", other.sign(t, rsaKey, "", jwtctx.AccessTyp, other.claims(good)), 0, jwtctx.ErrIssuer},
		{"issuer with a trailing slash", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"iss": f.issuer + "/"})), 0, jwtctx.ErrIssuer},
		{"no issuer", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(jwt.MapClaims{"iss": nil})), 0, jwtctx.ErrIssuer},
		{"typ JWT without AllowJWTType", f.sign(t, rsaKey, "", "JWT", with(nil)), 0, jwtctx.ErrType},
		{"no typ", f.sign(t, rsaKey, "", "", with(nil)), 0, jwtctx.ErrUnknownKey},
		{"route accepts no access tokens", f.sign(t, rsaKey, "", jwtctx.AccessTyp, with(nil)), jwtctx.AnyToken, jwtctx.ErrType},
		{"alg none", none(), 0, jwtctx.ErrAlgorithm},
		{"HS256 with the public key", hsWithPublicKey(), 0, jwtctx.ErrAlgorithm},
		{"alg switch RS256 to PS256", f.sign(t, rsaKey, "PS256", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrAlgorithm},
		{"JWK alg ES256 on an RSA key", f.sign(t, wrongAlg, "RS256", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrKey},
		{"JWK alg ES256 on an RSA key, token ES256", f.sign(t, idpKey{kid: wrongAlg.kid, priv: idpEC}, "ES256", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrKey},
		{"JWK without alg", f.sign(t, bareRSA, "RS256", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrKey},
		{"JWK for encryption", f.sign(t, encRSA, "", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrKey},
		{"RSA key of 1024 bits", f.sign(t, smallRSA, "", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrKey},
		{"signed by another key", forged(), 0, jwtctx.ErrSignature},
		{"jku header", withHeader("jku", f.issuer+"/keys"), 0, jwtctx.ErrHeader},
		{"jwk header", withHeader("jwk", map[string]any{"kty": "RSA"}), 0, jwtctx.ErrHeader},
		{"malformed kid", f.sign(t, idpKey{kid: "a b", alg: "RS256", priv: idpRSA}, "", jwtctx.AccessTyp, with(nil)), 0, jwtctx.ErrUnknownKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			accept := tt.accept
			if accept == 0 {
				accept = jwtctx.AnyToken | jwtctx.AccessToken
			}
			_, err := a.Verify(context.Background(), tt.token, accept)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			msg := err.Error()
			for _, secret := range append(strings.Split(tt.token, "."), "org_riverside", "user-alex") {
				if len(secret) > 8 && strings.Contains(msg, secret) {
					t.Errorf("error %q quotes %q", msg, secret)
				}
			}
		})
	}
}

// TestProviderTenantCount refuses a Keycloak organization claim naming
// two organizations, or none, as a list or as an object (with and without
// Field), and accepts exactly one.
func TestProviderTenantCount(t *testing.T) {
	f := newIdP(t, rsaKey)
	obj := func(names ...string) map[string]any {
		o := map[string]any{}
		for _, n := range names {
			o[n] = map[string]any{"id": n + "-id"}
		}
		return o
	}
	for _, tt := range []struct {
		name   string
		tenant jwtctx.TenantClaim
		value  any
		want   error
	}{
		{"list of two", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyElement}, []string{"a", "b"}, jwtctx.ErrTenant},
		{"empty list", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyElement}, []string{}, jwtctx.ErrTenant},
		{"list of one", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyElement}, []string{"a"}, nil},
		{"list of one empty string", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyElement}, []string{""}, jwtctx.ErrTenant},
		{"object of two", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember}, obj("a", "b"), jwtctx.ErrTenant},
		{"object of two, Field", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember, Field: jwtctx.ClaimPath{"id"}}, obj("a", "b"), jwtctx.ErrTenant},
		{"empty object", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember}, obj(), jwtctx.ErrTenant},
		{"object of one", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember}, obj("a"), nil},
		{"object of one, Field", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember, Field: jwtctx.ClaimPath{"id"}}, obj("a"), nil},
		{"object of one, Field missing", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyMember, Field: jwtctx.ClaimPath{"uuid"}}, obj("a"), jwtctx.ErrTenant},
		{"a string where a list is declared", jwtctx.TenantClaim{Form: jwtctx.TenantOnlyElement}, "a", jwtctx.ErrTenant},
		{"a list where a string is declared", jwtctx.TenantClaim{}, []string{"a"}, jwtctx.ErrTenant},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.tenant.Path = jwtctx.ClaimPath{"organization"}
			a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, jwtctx.ClaimMapping{Tenant: tt.tenant, Kind: jwtctx.KindClaim{Fixed: "staff"}}, nil))
			_, err := a.Verify(context.Background(), f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"organization": tt.value})), jwtctx.AccessToken)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestProviderUUIDTenant refuses a provider's org id that is not a key of
// the declared type (UUID tenants), and accepts one that is.
func TestProviderUUIDTenant(t *testing.T) {
	f := newIdP(t, rsaKey)
	p := newProvider(t, f, auth0Mapping, nil)
	a, err := jwtctx.New(jwtctx.Config{
		Issuer: testIssuer, Audience: testAudience, Revoker: jwtctx.NoRevocation, Providers: []*jwtctx.Provider{p},
		Principals: tenancy.Principals{SubjectKey: tenancy.KeyText, Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}}},
		Now:        func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"})), jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrTenant) {
		t.Errorf("org_riverside as a UUID tenant: got %v, want ErrTenant", err)
	}
	tok, err := a.Verify(context.Background(), f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": clinic.String()})), jwtctx.AccessToken)
	if err != nil {
		t.Fatalf("UUID tenant: %v", err)
	}
	if tok.Principal.Tenant != clinic {
		t.Errorf("tenant = %v, want %v", tok.Principal.Tenant, clinic)
	}
}

// TestProviderAllowJWTType accepts typ "JWT" only where the provider
// allows it.
func TestProviderAllowJWTType(t *testing.T) {
	f := newIdP(t, rsaKey)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, func(c *jwtctx.ProviderConfig) { c.AllowJWTType = true }))
	for _, typ := range []string{"JWT", "jwt", "application/at+jwt", "AT+JWT"} {
		s := f.sign(t, rsaKey, "", typ, f.claims(jwt.MapClaims{"org_id": "org_riverside"}))
		if _, err := a.Verify(context.Background(), s, jwtctx.AccessToken); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

// TestProviderAlgorithms refuses an algorithm the provider's config does
// not list, though the key set's key has it.
func TestProviderAlgorithms(t *testing.T) {
	f := newIdP(t, rsaKey, edKey2)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, func(c *jwtctx.ProviderConfig) { c.Algorithms = []jwtctx.Algorithm{jwtctx.EdDSA} }))
	c := f.claims(jwt.MapClaims{"org_id": "org_riverside"})
	if _, err := a.Verify(context.Background(), f.sign(t, edKey2, "", jwtctx.AccessTyp, c), jwtctx.AccessToken); err != nil {
		t.Errorf("EdDSA: %v", err)
	}
	if _, err := a.Verify(context.Background(), f.sign(t, rsaKey, "", jwtctx.AccessTyp, c), jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrAlgorithm) {
		t.Errorf("RS256 not listed: got %v, want ErrAlgorithm", err)
	}
}

// TestProviderRevoker consults the Revoker for access tokens too.
func TestProviderRevoker(t *testing.T) {
	f := newIdP(t, rsaKey)
	var rev jwtctx.MemoryRevoker
	a := providerAuthority(t, &rev, newProvider(t, f, auth0Mapping, nil))
	s := f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"}))
	if _, err := a.Verify(context.Background(), s, jwtctx.AccessToken); err != nil {
		t.Fatal(err)
	}
	rev.RevokeToken("tok-1", t0.Add(time.Hour))
	if _, err := a.Verify(context.Background(), s, jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("revoked: got %v, want ErrRevoked", err)
	}
}

// TestOwnTokensBesideProviders checks that the SDK's own tokens verify on
// an Authority with providers, with the SDK's keys only: a provider's key
// never verifies a session token, and the SDK's key never an access token.
func TestOwnTokensBesideProviders(t *testing.T) {
	f := newIdP(t, rsaKey, edKey2)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, nil))
	staff := tenancy.Principal{Kind: "staff", Tenant: textID("clinic-1"), Subject: textID("u-1")}
	own := issue(t, a, staff, time.Hour)
	if tok, err := a.Verify(context.Background(), own, jwtctx.SessionToken); err != nil || tok.Issuer != testIssuer {
		t.Fatalf("own session token: %v, %+v", err, tok)
	}
	if _, err := a.Verify(context.Background(), own, jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrType) {
		t.Errorf("own session where only access tokens are accepted: got %v, want ErrType", err)
	}
	// The provider signs a token shaped as the SDK's own session.
	session := f.sign(t, edKey2, "", jwtctx.SessionTyp, jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "sub": "u-1", "kind": "staff", "tenant": "clinic-1",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Minute).Unix(), "jti": "x",
	})
	if _, err := a.Verify(context.Background(), session, jwtctx.AnyToken|jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrUnknownKey) {
		t.Errorf("provider-signed session token: got %v, want ErrUnknownKey", err)
	}
	// The SDK's own key signs an access token under the provider's name.
	ownKey := idpKey{kid: "own-1", alg: "EdDSA", priv: edPriv}
	access := f.sign(t, ownKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"}))
	if _, err := a.Verify(context.Background(), access, jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrUnknownKey) {
		t.Errorf("access token with the SDK's kid: got %v, want ErrUnknownKey", err)
	}
}

// TestProviderOnlyAuthority builds an Authority with a provider and no
// key of its own: it verifies access tokens and issues nothing.
func TestProviderOnlyAuthority(t *testing.T) {
	f := newIdP(t, rsaKey)
	a, err := jwtctx.New(jwtctx.Config{
		Issuer: testIssuer, Audience: testAudience, Revoker: jwtctx.NoRevocation, Principals: textPrincipals,
		Providers: []*jwtctx.Provider{newProvider(t, f, auth0Mapping, nil)}, Now: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"})), jwtctx.AccessToken); err != nil {
		t.Error(err)
	}
	if _, err := a.Issue(tenancy.Principal{Kind: "staff", Tenant: textID("t"), Subject: textID("s")}, time.Minute); !errors.Is(err, jwtctx.ErrNoSigningKey) {
		t.Errorf("Issue: got %v, want ErrNoSigningKey", err)
	}
}

// TestProviderConfig checks what New and NewProvider refuse.
func TestProviderConfig(t *testing.T) {
	f := newIdP(t, rsaKey)
	base := func() jwtctx.ProviderConfig {
		return jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: auth0Mapping, HTTPClient: f.srv.Client()}
	}
	for _, tt := range []struct {
		name string
		edit func(*jwtctx.ProviderConfig)
	}{
		{"no issuer", func(c *jwtctx.ProviderConfig) { c.Issuer = "" }},
		{"http issuer", func(c *jwtctx.ProviderConfig) { c.Issuer = strings.Replace(f.issuer, "https:", "http:", 1) }},
		{"no audience", func(c *jwtctx.ProviderConfig) { c.Audience = "" }},
		{"no tenant path", func(c *jwtctx.ProviderConfig) { c.Claims.Tenant.Path = nil }},
		{"empty name in a path", func(c *jwtctx.ProviderConfig) { c.Claims.Tenant.Path = jwtctx.ClaimPath{"o", ""} }},
		{"Field without TenantOnlyMember", func(c *jwtctx.ProviderConfig) { c.Claims.Tenant.Field = jwtctx.ClaimPath{"id"} }},
		{"unknown tenant form", func(c *jwtctx.ProviderConfig) { c.Claims.Tenant.Form = 9 }},
		{"no kind", func(c *jwtctx.ProviderConfig) { c.Claims.Kind = jwtctx.KindClaim{} }},
		{"fixed and path kinds", func(c *jwtctx.ProviderConfig) { c.Claims.Kind.Path = jwtctx.ClaimPath{"k"} }},
		{"kind path without values", func(c *jwtctx.ProviderConfig) { c.Claims.Kind = jwtctx.KindClaim{Path: jwtctx.ClaimPath{"k"}} }},
		{"system kind", func(c *jwtctx.ProviderConfig) { c.Claims.Kind = jwtctx.KindClaim{Fixed: tenancy.KindSystem} }},
		{"PerTenant on a list", func(c *jwtctx.ProviderConfig) { c.Claims.Roles.PerTenant = true }},
		{"roles form without path", func(c *jwtctx.ProviderConfig) { c.Claims.Roles = jwtctx.RolesClaim{Form: jwtctx.RolesMemberNames} }},
		{"HS256 allowed", func(c *jwtctx.ProviderConfig) { c.Algorithms = []jwtctx.Algorithm{jwtctx.HS256} }},
		{"lifetime above the maximum", func(c *jwtctx.ProviderConfig) { c.MaxLifetime = 25 * time.Hour }},
		{"refresh too often", func(c *jwtctx.ProviderConfig) { c.RefreshInterval = time.Millisecond }},
		{"unknown-kid refresh too often", func(c *jwtctx.ProviderConfig) { c.UnknownKeyRefreshInterval = time.Millisecond }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			if _, err := jwtctx.NewProvider(context.Background(), cfg); !errors.Is(err, jwtctx.ErrConfig) {
				t.Errorf("NewProvider: got %v, want ErrConfig", err)
			}
		})
	}

	p := newProvider(t, f, auth0Mapping, nil)
	operator := newProvider(t, f, jwtctx.ClaimMapping{Tenant: auth0Mapping.Tenant, Kind: jwtctx.KindClaim{Fixed: "platform_admin"}}, nil)
	undeclared := newProvider(t, f, jwtctx.ClaimMapping{Tenant: auth0Mapping.Tenant, Kind: jwtctx.KindClaim{Path: jwtctx.ClaimPath{"t"}, Values: map[string]tenancy.Kind{"x": "staff", "y": "dentist"}}}, nil)
	for _, tt := range []struct {
		name      string
		issuer    string
		providers []*jwtctx.Provider
	}{
		{"nil provider", testIssuer, []*jwtctx.Provider{nil}},
		{"provider twice", testIssuer, []*jwtctx.Provider{p, p}},
		{"provider with the SDK's issuer", f.issuer, []*jwtctx.Provider{p}},
		{"operator kind", testIssuer, []*jwtctx.Provider{operator}},
		{"undeclared kind", testIssuer, []*jwtctx.Provider{undeclared}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtctx.New(jwtctx.Config{Issuer: tt.issuer, Audience: testAudience, SigningKey: edKey, Revoker: jwtctx.NoRevocation, Principals: textPrincipals, Providers: tt.providers})
			if !errors.Is(err, jwtctx.ErrConfig) {
				t.Errorf("New: got %v, want ErrConfig", err)
			}
		})
	}
}

// TestProviderDiscovery checks that NewProvider refuses a provider whose
// discovery or key set is wrong, rather than starting without keys.
func TestProviderDiscovery(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*idp)
	}{
		{"discovery names another issuer", func(f *idp) { f.docIss = "https://evil.example" }},
		{"discovery names the issuer with a trailing slash", func(f *idp) { f.docIss = f.issuer + "/" }},
		{"jwks_uri over http", func(f *idp) {
			// A working key set, but over plain HTTP.
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(jwksOf(rsaKey)) }))
			t.Cleanup(plain.Close)
			f.jwksURI = plain.URL + "/keys"
		}},
		{"jwks_uri missing", func(f *idp) { f.jwksURI = "relative/keys" }},
		{"key set not JSON", func(f *idp) { f.rawJWKS = []byte("<html>") }},
		{"key set with a malformed key", func(f *idp) {
			f.rawJWKS = []byte(`{"keys":[{"kty":"RSA","kid":"bad","alg":"RS256","n":"AQAB!","e":"AQAB"}]}`)
		}},
		{"key set larger than the limit", func(f *idp) {
			f.rawJWKS = []byte(`{"keys":[],"pad":"` + strings.Repeat("x", jwtctx.MaxProviderResponseSize) + `"}`)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newIdP(t, rsaKey)
			tt.edit(f)
			_, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: auth0Mapping, HTTPClient: f.srv.Client()})
			if !errors.Is(err, jwtctx.ErrProvider) {
				t.Errorf("NewProvider: got %v, want ErrProvider", err)
			}
		})
	}
	t.Run("issuer unreachable", func(t *testing.T) {
		f := newIdP(t, rsaKey)
		f.srv.Close()
		_, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: auth0Mapping, HTTPClient: f.srv.Client()})
		if !errors.Is(err, jwtctx.ErrProvider) {
			t.Errorf("NewProvider: got %v, want ErrProvider", err)
		}
	})
	t.Run("discovery redirected to http", func(t *testing.T) {
		f := newIdP(t, rsaKey)
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"issuer":"` + f.issuer + `","jwks_uri":"` + f.issuer + `/keys"}`))
		}))
		t.Cleanup(plain.Close)
		redirect := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
		t.Cleanup(redirect.Close)
		c := f.srv.Client()
		c.Transport = redirectTo(c.Transport, f.srv.Listener.Addr().String(), redirect.Listener.Addr().String())
		_, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: auth0Mapping, HTTPClient: c})
		if !errors.Is(err, jwtctx.ErrProvider) {
			t.Errorf("NewProvider: got %v, want ErrProvider", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		f := newIdP(t, rsaKey)
		_, err := jwtctx.NewProvider(context.Background(), jwtctx.ProviderConfig{Issuer: f.issuer, Audience: "api://dental", Claims: auth0Mapping})
		if !errors.Is(err, jwtctx.ErrProvider) {
			t.Errorf("NewProvider: got %v, want ErrProvider", err)
		}
	})
}

// redirectTo sends the discovery request for host to other instead (both
// httptest TLS servers share one certificate), so that other's redirect
// answers it.
func redirectTo(base http.RoundTripper, host, other string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == host && strings.HasSuffix(r.URL.Path, "/openid-configuration") {
			r = r.Clone(r.Context())
			r.URL.Host = other
		}
		return base.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
