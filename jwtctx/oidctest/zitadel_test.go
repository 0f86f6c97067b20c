package oidctest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/jwtctx/oidctest"
)

// apiAudience is the audience the provider puts in access tokens for the
// API under test.
const apiAudience = "api://dental"

// principals declares the application's kinds: Zitadel organizations are
// tenants with numeric-string ids, service clients are staff.
var principals = tenancy.Principals{
	TenantKey:  tenancy.KeyBigint,
	SubjectKey: tenancy.KeyText,
	Kinds: []tenancy.KindSpec{
		{Name: "staff", Access: tenancy.AccessTenant},
		{Name: "platform_admin", Access: tenancy.AccessOperator},
	},
}

// zitadelMapping is Zitadel's shape: the organization id, and project
// roles keyed by role with the organizations that granted each.
var zitadelMapping = jwtctx.ClaimMapping{
	Tenant: jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:id"}},
	Kind:   jwtctx.KindClaim{Fixed: "staff"},
	Roles:  jwtctx.RolesClaim{Path: jwtctx.ClaimPath{"urn:zitadel:iam:org:project:roles"}, Form: jwtctx.RolesMemberNames, PerTenant: true},
}

func zitadelClaims(org string, roles ...string) map[string]any {
	grants := map[string]any{}
	for _, r := range roles {
		grants[r] = map[string]any{org: org + ".zitadel.test"}
	}
	return map[string]any{"urn:zitadel:iam:org:id": org, "urn:zitadel:iam:org:project:roles": grants}
}

// verifier returns an Authority that accepts p's tokens, with a Provider
// whose key set refreshes every second.
func verifier(t *testing.T, p *oidctest.Provider, edit func(*jwtctx.ProviderConfig)) *jwtctx.Authority {
	t.Helper()
	cfg := jwtctx.ProviderConfig{
		Issuer: p.Issuer(), Audience: p.Audience(), Claims: zitadelMapping,
		AllowJWTType: true, // zitadel's op types its access tokens "JWT"
		HTTPClient:   p.HTTPClient(), RefreshInterval: time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	prov, err := jwtctx.NewProvider(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	t.Cleanup(prov.Close)
	own, err := jwtctx.GenerateKey("own-1")
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtctx.New(jwtctx.Config{
		Issuer: "https://sdk.example", Audience: "sdk", SigningKey: own, Revoker: jwtctx.NoRevocation,
		Principals: principals, Providers: []*jwtctx.Provider{prov},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// TestZitadelProviderKeyRotation verifies zitadel's access tokens through
// discovery and its key set, while the provider rotates its key: a token
// of the new key verifies as soon as the provider signs with it, an old
// key's token verifies while the key is published and is refused once the
// provider removes it.
func TestZitadelProviderKeyRotation(t *testing.T) {
	p := oidctest.Start(t, apiAudience)
	p.AddClient(oidctest.Client{ID: "svc-riverside", Secret: "s3cret-riverside", Claims: zitadelClaims("2781233", "dentist")})
	a := verifier(t, p, nil)
	ctx := context.Background()

	old := p.Token(t, "svc-riverside")
	tok, err := a.Verify(ctx, old, jwtctx.AccessToken)
	if err != nil {
		t.Fatalf("key-1 token: %v", err)
	}
	org, _ := tenancy.KeyBigint.Parse("2781233")
	svc, _ := tenancy.TextID("svc-riverside")
	want := tenancy.Principal{Kind: "staff", Tenant: org, Subject: svc, Roles: []string{"dentist"}}
	if fmt.Sprint(tok.Principal) != fmt.Sprint(want) || tok.KeyID != "key-1" || tok.Issuer != p.Issuer() || tok.Type != jwtctx.AccessToken {
		t.Fatalf("key-1 token: got %+v, want principal %+v from key-1", tok, want)
	}

	// The provider rotates: key-2 signs, key-1 is still published.
	if kid := p.Rotate(t); kid != "key-2" {
		t.Fatalf("rotated to %q", kid)
	}
	next := p.Token(t, "svc-riverside")
	if tok, err := a.Verify(ctx, next, jwtctx.AccessToken); err != nil || tok.KeyID != "key-2" {
		t.Fatalf("key-2 token right after the rotation: %v (kid %q)", err, tok.KeyID)
	}
	if _, err := a.Verify(ctx, old, jwtctx.AccessToken); err != nil {
		t.Errorf("key-1 token while key-1 is published: %v", err)
	}

	// The provider removes key-1: its token is refused after the next
	// scheduled refresh; key-2's still verifies.
	p.Retire(t, "key-1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.Verify(ctx, old, jwtctx.AccessToken)
		if errors.Is(err, jwtctx.ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key-1 token still gives %v 10s after key-1 was removed, want ErrUnknownKey", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := a.Verify(ctx, next, jwtctx.AccessToken); err != nil {
		t.Errorf("key-2 token after key-1 was removed: %v", err)
	}
}

// TestZitadelProviderRefusals checks tokens that zitadel really issues but
// that must not become a principal.
func TestZitadelProviderRefusals(t *testing.T) {
	p := oidctest.Start(t, apiAudience)
	p.AddClient(oidctest.Client{ID: "svc-no-org", Secret: "s3cret-no-org", Claims: map[string]any{"other": "x"}})
	p.AddClient(oidctest.Client{ID: "svc-two-orgs", Secret: "s3cret-two-orgs", Claims: map[string]any{"organization": []string{"1", "2"}}})
	p.AddClient(oidctest.Client{ID: "svc-text-org", Secret: "s3cret-text-org", Claims: zitadelClaims("riverside")})
	good := oidctest.Client{ID: "svc-good", Secret: "s3cret-good", Claims: zitadelClaims("2781233")}
	p.AddClient(good)
	other := oidctest.Start(t, apiAudience) // the same kid, another issuer
	other.AddClient(good)
	a := verifier(t, p, nil)
	keycloak := verifier(t, p, func(c *jwtctx.ProviderConfig) {
		c.Claims.Tenant = jwtctx.TenantClaim{Path: jwtctx.ClaimPath{"organization"}, Form: jwtctx.TenantOnlyElement}
		c.Claims.Roles = jwtctx.RolesClaim{}
	})
	strict := verifier(t, p, func(c *jwtctx.ProviderConfig) { c.AllowJWTType = false })
	wrongAud := verifier(t, p, func(c *jwtctx.ProviderConfig) { c.Audience = "api://other" })
	ctx := context.Background()

	for _, tt := range []struct {
		name  string
		a     *jwtctx.Authority
		token string
		want  error
	}{
		{"no tenant claim", a, p.Token(t, "svc-no-org"), jwtctx.ErrTenant},
		{"two organizations", keycloak, p.Token(t, "svc-two-orgs"), jwtctx.ErrTenant},
		{"tenant not a bigint key", a, p.Token(t, "svc-text-org"), jwtctx.ErrTenant},
		{"issuer not configured", a, other.Token(t, "svc-good"), jwtctx.ErrIssuer},
		{"typ JWT without AllowJWTType", strict, p.Token(t, "svc-good"), jwtctx.ErrType},
		{"audience of another API", wrongAud, p.Token(t, "svc-good"), jwtctx.ErrAudience},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.a.Verify(ctx, tt.token, jwtctx.AccessToken); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			} else if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error quotes the token")
			}
		})
	}
	// The good client's token verifies, so the refusals above are the
	// claims', not the setup's.
	if _, err := a.Verify(ctx, p.Token(t, "svc-good"), jwtctx.AccessToken); err != nil {
		t.Errorf("good token: %v", err)
	}
}

// TestZitadelProviderMiddleware serves an API behind jwtctx's middleware
// and calls it with zitadel's token over HTTP: the handler sees the
// organization as the tenant.
func TestZitadelProviderMiddleware(t *testing.T) {
	p := oidctest.Start(t, apiAudience)
	p.AddClient(oidctest.Client{ID: "svc-riverside", Secret: "s3cret-riverside", Claims: zitadelClaims("2781233", "owner")})
	m, err := jwtctx.NewMiddleware(verifier(t, p, nil), jwtctx.MiddlewareConfig{Accept: jwtctx.AnyToken | jwtctx.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _, err := tenancy.RequireFrom(r.Context(), []tenancy.Source{jwtctx.Source()})
		if err != nil {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s %v", pr.Kind, pr.Tenant, pr.HasRole("owner"))
	})))
	defer api.Close()
	for _, tt := range []struct {
		auth       string
		wantStatus int
		wantBody   string
	}{
		{"Bearer " + p.Token(t, "svc-riverside"), http.StatusOK, "staff 2781233 true"},
		{"", http.StatusUnauthorized, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/patients", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
			t.Errorf("status %d body %q, want %d %q", res.StatusCode, body, tt.wantStatus, tt.wantBody)
		}
	}
}
