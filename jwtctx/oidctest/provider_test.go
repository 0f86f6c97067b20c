package oidctest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// apiAudience is the audience the provider puts in access tokens for the
// API under test.
const apiAudience = "api://dental"

// opKey is a signing key of the provider under test.
type opKey struct {
	id  string
	key *rsa.PrivateKey
}

// signing is opKey as op.SigningKey (the private half).
type signing struct{ *opKey }

func (k signing) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signing) Key() any                                    { return k.key }
func (k signing) ID() string                                  { return k.id }

// public is opKey as op.Key (the public half, published).
type public struct{ *opKey }

func (k public) ID() string                         { return k.id }
func (k public) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k public) Use() string                        { return "sig" }
func (k public) Key() any                           { return &k.key.PublicKey }

// client is a service client that gets JWT access tokens by the client
// credentials grant, with the private claims the test gives it.
type client struct {
	id, secret string
	claims     map[string]any
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return time.Minute }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// providerStorage is zitadel's example storage with what the test
// controls: the signing key, the published keys and the service clients.
type providerStorage struct {
	*storage.Storage
	mu        sync.Mutex
	signing   *opKey
	published []*opKey
	clients   map[string]*client
}

func (s *providerStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return signing{s.signing}, nil
}

func (s *providerStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *providerStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]op.Key, len(s.published))
	for i, k := range s.published {
		keys[i] = public{k}
	}
	return keys, nil
}

func (s *providerStorage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || c.secret != secret {
		return nil, errors.New("wrong client or secret")
	}
	return c, nil
}

func (s *providerStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	return &oidc.JWTTokenRequest{Subject: id, Audience: []string{apiAudience}, Scopes: scopes}, nil
}

func (s *providerStorage) GetPrivateClaimsFromScopes(_ context.Context, subject, clientID string, _ []string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[clientID]; ok {
		return c.claims, nil
	}
	return nil, nil
}

// rotate makes next the signing key and publishes keep (and next).
func (s *providerStorage) rotate(next *opKey, keep ...*opKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signing = next
	s.published = append(keep, next)
}

// unpublish publishes only keep.
func (s *providerStorage) unpublish(keep ...*opKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = keep
}

// provider is a running zitadel op over TLS.
type provider struct {
	srv     *httptest.Server
	issuer  string
	storage *providerStorage
}

func newKey(t *testing.T, id string) *opKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &opKey{id: id, key: k}
}

// startProvider starts zitadel's OpenID provider, with key first as its
// signing key and clients as its service clients.
func startProvider(t *testing.T, first *opKey, clients ...*client) *provider {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	st := &providerStorage{
		Storage:   storage.NewStorage(storage.NewUserStore(srv.URL)),
		signing:   first,
		published: []*opKey{first},
		clients:   map[string]*client{},
	}
	for _, c := range clients {
		st.clients[c.id] = c
	}
	p, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("oidctest"))}, st, op.StaticIssuer(srv.URL))
	if err != nil {
		t.Fatalf("op.NewProvider: %v", err)
	}
	mux.Handle("/", p)
	return &provider{srv: srv, issuer: srv.URL, storage: st}
}

// token gets an access token for c by the client credentials grant, at
// the token endpoint that discovery names.
func (p *provider) token(t *testing.T, c *client) string {
	t.Helper()
	res, err := p.srv.Client().Get(p.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil || doc.TokenEndpoint == "" {
		t.Fatalf("discovery: %v, %+v", err, doc)
	}
	form := url.Values{"grant_type": {string(oidc.GrantTypeClientCredentials)}, "scope": {"api"}}
	req, _ := http.NewRequest(http.MethodPost, doc.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.id, c.secret)
	res, err = p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s", res.StatusCode, body)
	}
	return tok.AccessToken
}

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
func verifier(t *testing.T, p *provider, edit func(*jwtctx.ProviderConfig)) *jwtctx.Authority {
	t.Helper()
	cfg := jwtctx.ProviderConfig{
		Issuer: p.issuer, Audience: apiAudience, Claims: zitadelMapping,
		AllowJWTType: true, // zitadel's op types its access tokens "JWT"
		HTTPClient:   p.srv.Client(), RefreshInterval: time.Second,
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
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	riverside := &client{id: "svc-riverside", secret: "s3cret-riverside", claims: zitadelClaims("2781233", "dentist")}
	p := startProvider(t, k1, riverside)
	a := verifier(t, p, nil)
	ctx := context.Background()

	old := p.token(t, riverside)
	tok, err := a.Verify(ctx, old, jwtctx.AccessToken)
	if err != nil {
		t.Fatalf("k1 token: %v", err)
	}
	org, _ := tenancy.KeyBigint.Parse("2781233")
	svc, _ := tenancy.TextID("svc-riverside")
	want := tenancy.Principal{Kind: "staff", Tenant: org, Subject: svc, Roles: []string{"dentist"}}
	if fmt.Sprint(tok.Principal) != fmt.Sprint(want) || tok.KeyID != "k1" || tok.Issuer != p.issuer || tok.Type != jwtctx.AccessToken {
		t.Fatalf("k1 token: got %+v, want principal %+v from k1", tok, want)
	}

	// The provider rotates: k2 signs, k1 is still published.
	p.storage.rotate(k2, k1)
	next := p.token(t, riverside)
	if tok, err := a.Verify(ctx, next, jwtctx.AccessToken); err != nil || tok.KeyID != "k2" {
		t.Fatalf("k2 token right after the rotation: %v (kid %q)", err, tok.KeyID)
	}
	if _, err := a.Verify(ctx, old, jwtctx.AccessToken); err != nil {
		t.Errorf("k1 token while k1 is published: %v", err)
	}

	// The provider removes k1: its token is refused after the next
	// scheduled refresh; k2's still verifies.
	p.storage.unpublish(k2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.Verify(ctx, old, jwtctx.AccessToken)
		if errors.Is(err, jwtctx.ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("k1 token still gives %v 10s after k1 was removed, want ErrUnknownKey", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := a.Verify(ctx, next, jwtctx.AccessToken); err != nil {
		t.Errorf("k2 token after k1 was removed: %v", err)
	}
}

// TestZitadelProviderRefusals checks tokens that zitadel really issues but
// that must not become a principal.
func TestZitadelProviderRefusals(t *testing.T) {
	k := newKey(t, "k1")
	noOrg := &client{id: "svc-no-org", secret: "s3cret-no-org", claims: map[string]any{"other": "x"}}
	twoOrgs := &client{id: "svc-two-orgs", secret: "s3cret-two-orgs", claims: map[string]any{"organization": []string{"1", "2"}}}
	textOrg := &client{id: "svc-text-org", secret: "s3cret-text-org", claims: zitadelClaims("riverside")}
	good := &client{id: "svc-good", secret: "s3cret-good", claims: zitadelClaims("2781233")}
	p := startProvider(t, k, noOrg, twoOrgs, textOrg, good)
	other := startProvider(t, newKey(t, "k1"), good) // same kid, another issuer
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
		{"no tenant claim", a, p.token(t, noOrg), jwtctx.ErrTenant},
		{"two organizations", keycloak, p.token(t, twoOrgs), jwtctx.ErrTenant},
		{"tenant not a bigint key", a, p.token(t, textOrg), jwtctx.ErrTenant},
		{"issuer not configured", a, other.token(t, good), jwtctx.ErrIssuer},
		{"typ JWT without AllowJWTType", strict, p.token(t, good), jwtctx.ErrType},
		{"audience of another API", wrongAud, p.token(t, good), jwtctx.ErrAudience},
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
	if _, err := a.Verify(ctx, p.token(t, good), jwtctx.AccessToken); err != nil {
		t.Errorf("good token: %v", err)
	}
}

// TestZitadelProviderMiddleware serves an API behind jwtctx's middleware
// and calls it with zitadel's token over HTTP: the handler sees the
// organization as the tenant.
func TestZitadelProviderMiddleware(t *testing.T) {
	riverside := &client{id: "svc-riverside", secret: "s3cret-riverside", claims: zitadelClaims("2781233", "owner")}
	p := startProvider(t, newKey(t, "k1"), riverside)
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
		{"Bearer " + p.token(t, riverside), http.StatusOK, "staff 2781233 true"},
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
