package oidctest

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
)

// Client is a service client of a [Provider]: it gets JWT access tokens
// by the client credentials grant, for the provider's audience, with
// Subject as "sub" and Claims as private claims.
type Client struct {
	// ID and Secret authenticate the client at the token endpoint (HTTP
	// Basic). Both are required.
	ID, Secret string
	// Subject is the "sub" of the client's tokens. Empty means ID.
	Subject string
	// Claims are added to each token: the tenant, roles and whatever
	// else the service's claim mapping reads.
	Claims map[string]any
}

// Provider is a running OpenID provider over TLS. Its methods are safe for
// concurrent use.
type Provider struct {
	srv      *httptest.Server
	audience string
	st       *providerStorage
}

// Start starts a provider whose access tokens carry audience in "aud",
// signed with a fresh RSA key (RS256) whose kid is "key-1", and stops it
// when the test ends.
func Start(t testing.TB, audience string) *Provider {
	t.Helper()
	if audience == "" {
		t.Fatal("oidctest.Start: empty audience")
	}
	first := newKey(t, 1)
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	st := &providerStorage{
		Storage:   storage.NewStorage(storage.NewUserStore(srv.URL)),
		audience:  audience,
		signing:   first,
		published: []*key{first},
		clients:   map[string]*client{},
		next:      2,
	}
	p, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("oidctest"))}, st, op.StaticIssuer(srv.URL))
	if err != nil {
		t.Fatalf("oidctest: op.NewProvider: %v", err)
	}
	mux.Handle("/", p)
	return &Provider{srv: srv, audience: audience, st: st}
}

// Issuer returns the provider's issuer identifier, an https URL, where
// discovery is served.
func (p *Provider) Issuer() string { return p.srv.URL }

// Audience returns the audience of the provider's access tokens.
func (p *Provider) Audience() string { return p.audience }

// HTTPClient returns a client that trusts the provider's TLS certificate,
// for [jwtctx.ProviderConfig].HTTPClient.
func (p *Provider) HTTPClient() *http.Client { return p.srv.Client() }

// AddClient registers c, replacing a client of the same ID.
func (p *Provider) AddClient(c Client) {
	if c.Subject == "" {
		c.Subject = c.ID
	}
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.clients[c.ID] = &client{c: c}
}

// SigningKeyID returns the kid of the key that signs new tokens.
func (p *Provider) SigningKeyID() string {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.signing.id
}

// PublishedKeyIDs returns the kids of the key set endpoint's keys.
func (p *Provider) PublishedKeyIDs() []string {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	ids := make([]string, len(p.st.published))
	for i, k := range p.st.published {
		ids[i] = k.id
	}
	return ids
}

// Rotate makes a fresh RSA key the signing key ("key-2", "key-3", …) and
// publishes it beside the keys already published, as providers do: tokens
// of the old key keep verifying until [Provider.Retire] removes it. It
// returns the new key's kid.
func (p *Provider) Rotate(t testing.TB) string {
	t.Helper()
	p.st.mu.Lock()
	n := p.st.next
	p.st.next++
	p.st.mu.Unlock()
	k := newKey(t, n)
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.signing = k
	p.st.published = append(p.st.published, k)
	return k.id
}

// Retire removes the keys named by kids from the key set endpoint. The
// signing key cannot be retired.
func (p *Provider) Retire(t testing.TB, kids ...string) {
	t.Helper()
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	keep := p.st.published[:0:0]
	for _, k := range p.st.published {
		retire := false
		for _, id := range kids {
			retire = retire || k.id == id
		}
		if retire && k == p.st.signing {
			t.Fatalf("oidctest: Retire(%q): it is the signing key", k.id)
		}
		if !retire {
			keep = append(keep, k)
		}
	}
	p.st.published = keep
}

// Token returns an access token for the client with clientID, from the
// token endpoint that the provider's discovery document names, by the
// client credentials grant.
func (p *Provider) Token(t testing.TB, clientID string) string {
	t.Helper()
	tok, err := p.token(clientID)
	if err != nil {
		t.Fatalf("oidctest: token for %s: %v", clientID, err)
	}
	return tok
}

func (p *Provider) token(clientID string) (string, error) {
	p.st.mu.Lock()
	c, ok := p.st.clients[clientID]
	p.st.mu.Unlock()
	if !ok {
		return "", errors.New("no such client")
	}
	hc := p.srv.Client()
	res, err := hc.Get(p.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		return "", err
	}
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil || doc.TokenEndpoint == "" {
		return "", fmt.Errorf("discovery: %v, %+v", err, doc)
	}
	form := url.Values{"grant_type": {string(oidc.GrantTypeClientCredentials)}, "scope": {"api"}}
	req, err := http.NewRequest(http.MethodPost, doc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.c.ID, c.c.Secret)
	res, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d %s", res.StatusCode, body)
	}
	return tok.AccessToken, nil
}

// key is a signing key of the provider.
type key struct {
	id  string
	key *rsa.PrivateKey
}

func newKey(t testing.TB, n int) *key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &key{id: fmt.Sprintf("key-%d", n), key: k}
}

// signing is key as op.SigningKey (the private half).
type signing struct{ *key }

func (k signing) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signing) Key() any                                    { return k.key.key }
func (k signing) ID() string                                  { return k.id }

// public is key as op.Key (the public half, published).
type public struct{ *key }

func (k public) ID() string                         { return k.id }
func (k public) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k public) Use() string                        { return "sig" }
func (k public) Key() any                           { return &k.key.key.PublicKey }

// client is Client as op.Client.
type client struct{ c Client }

func (c *client) GetID() string                       { return c.c.ID }
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
	audience  string
	mu        sync.Mutex
	signing   *key
	published []*key
	clients   map[string]*client
	next      int
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
	if !ok || c.c.Secret != secret {
		return nil, errors.New("wrong client or secret")
	}
	return c, nil
}

func (s *providerStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("no such client")
	}
	return &oidc.JWTTokenRequest{Subject: c.c.Subject, Audience: []string{s.audience}, Scopes: scopes}, nil
}

func (s *providerStorage) GetPrivateClaimsFromScopes(_ context.Context, _, clientID string, _ []string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[clientID]; ok {
		return c.c.Claims, nil
	}
	return nil, nil
}
