package jwtctx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// TestProviderKeyRotation rotates the provider's key: a token of a new kid
// makes the key set be fetched at once; made-up kids do not make it be
// fetched again and again; a key the provider removed stops verifying at
// the next scheduled refresh; a refresh that returns a broken set keeps
// the cached keys.
func TestProviderKeyRotation(t *testing.T) {
	k1 := idpKey{kid: "2025-01", alg: "RS256", priv: idpRSA}
	k2 := idpKey{kid: "2025-02", alg: "RS256", priv: idpRSA2}
	f := newIdP(t, k1)
	var mu sync.Mutex
	var refreshErrs []error
	p := newProvider(t, f, auth0Mapping, func(c *jwtctx.ProviderConfig) {
		c.RefreshInterval = time.Second
		c.OnRefreshError = func(err error) { mu.Lock(); refreshErrs = append(refreshErrs, err); mu.Unlock() }
	})
	a := providerAuthority(t, jwtctx.NoRevocation, p)
	claims := f.claims(jwt.MapClaims{"org_id": "org_riverside"})
	verify := func(s string) error {
		_, err := a.Verify(context.Background(), s, jwtctx.AccessToken)
		return err
	}
	old := f.sign(t, k1, "", jwtctx.AccessTyp, claims)
	if err := verify(old); err != nil {
		t.Fatalf("k1 before rotation: %v", err)
	}

	f.setKeys(k1, k2)
	before := f.fetches.Load()
	next := f.sign(t, k2, "", jwtctx.AccessTyp, claims)
	if err := verify(next); err != nil {
		t.Fatalf("k2 right after the provider published it: %v", err)
	}
	if got := f.fetches.Load() - before; got != 1 {
		t.Errorf("key set fetched %d times for the new kid, want 1", got)
	}

	before = f.fetches.Load()
	for _, kid := range []string{"made-up-1", "made-up-2", "made up"} {
		if err := verify(f.sign(t, idpKey{kid: kid, alg: "RS256", priv: idpRSA}, "", jwtctx.AccessTyp, claims)); !errors.Is(err, jwtctx.ErrUnknownKey) {
			t.Errorf("kid %q: got %v, want ErrUnknownKey", kid, err)
		}
	}
	// Only the scheduled refresh may have run meanwhile.
	if got := f.fetches.Load() - before; got > 1 {
		t.Errorf("made-up kids fetched the key set %d times, want at most the one scheduled refresh", got)
	}

	// The provider removes k1: its token fails once the cache refreshes.
	f.setKeys(k2)
	waitFor(t, 5*time.Second, func() bool { return errors.Is(verify(old), jwtctx.ErrUnknownKey) })
	if err := verify(next); err != nil {
		t.Errorf("k2 after k1 was removed: %v", err)
	}

	// A broken key set is not taken: k2 keeps verifying.
	f.mu.Lock()
	f.rawJWKS = []byte(`{"keys":[{"kty":"RSA","kid":"broken","alg":"RS256","n":"!!","e":"AQAB"}]}`)
	f.mu.Unlock()
	waitFor(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(refreshErrs) > 0 })
	if err := verify(next); err != nil {
		t.Errorf("k2 after a broken refresh: %v", err)
	}
	mu.Lock()
	if !errors.Is(refreshErrs[0], jwtctx.ErrProvider) {
		t.Errorf("refresh error %v does not wrap ErrProvider", refreshErrs[0])
	}
	mu.Unlock()
}

// waitFor polls cond until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMiddlewareAccessToken puts a provider's principal in the request
// context, stamped with the middleware's Source, on routes that accept
// access tokens, and refuses the token elsewhere.
func TestMiddlewareAccessToken(t *testing.T) {
	f := newIdP(t, rsaKey)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, nil))
	s := f.sign(t, rsaKey, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside", "https://dental.example/roles": []string{"owner"}}))
	var got tenancy.Principal
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, err := tenancy.RequireFrom(r.Context(), []tenancy.Source{jwtctx.Source()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		got = p
	})
	for _, tt := range []struct {
		accept jwtctx.TokenType
		want   int
	}{
		{jwtctx.AnyToken | jwtctx.AccessToken, http.StatusOK},
		{jwtctx.AccessToken, http.StatusOK},
		{jwtctx.AnyToken, http.StatusUnauthorized},
	} {
		got = tenancy.Principal{}
		srv := httptest.NewServer(newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: tt.accept}).Handler(h))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+s)
		res := do(t, req)
		srv.Close()
		if res.status != tt.want {
			t.Errorf("accept %v: status %d, want %d (%s)", tt.accept, res.status, tt.want, res.body)
			continue
		}
		if tt.want == http.StatusOK && (got.Tenant != textID("org_riverside") || !got.HasRole("owner") || got.RequestID == "") {
			t.Errorf("accept %v: principal %+v", tt.accept, got)
		}
	}
}

// TestProviderMalformedKidFetchesNothing: a kid no provider would use
// (space, quote, control character, too long) is refused without fetching
// the key set, while a well-formed unknown kid does fetch it once.
func TestProviderMalformedKidFetchesNothing(t *testing.T) {
	f := newIdP(t, rsaKey)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, nil))
	claims := f.claims(jwt.MapClaims{"org_id": "org_riverside"})
	before := f.fetches.Load()
	for _, kid := range []string{"a b", `a"b`, "a\x01b", strings.Repeat("k", jwtctx.MaxExternalKeyIDLength+1)} {
		if _, err := a.Verify(context.Background(), f.sign(t, idpKey{kid: kid, alg: "RS256", priv: idpRSA}, "", jwtctx.AccessTyp, claims), jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrUnknownKey) {
			t.Errorf("kid %q: got %v, want ErrUnknownKey", kid, err)
		}
	}
	if got := f.fetches.Load() - before; got != 0 {
		t.Errorf("malformed kids fetched the key set %d times, want 0", got)
	}
	if _, err := a.Verify(context.Background(), f.sign(t, idpKey{kid: "well-formed", alg: "RS256", priv: idpRSA}, "", jwtctx.AccessTyp, claims), jwtctx.AccessToken); !errors.Is(err, jwtctx.ErrUnknownKey) {
		t.Errorf("unknown kid: got %v, want ErrUnknownKey", err)
	}
	if got := f.fetches.Load() - before; got != 1 {
		t.Errorf("a well-formed unknown kid fetched the key set %d times, want 1", got)
	}
}

// TestProviderRotationUnderLoad sends many requests with a key the
// provider has just published, at once: the key set is fetched once and
// every request verifies, none refused by the rate limit while the fetch
// runs.
func TestProviderRotationUnderLoad(t *testing.T) {
	k1 := idpKey{kid: "2025-01", alg: "RS256", priv: idpRSA}
	k2 := idpKey{kid: "2025-02", alg: "ES256", priv: idpEC}
	f := newIdP(t, k1)
	a := providerAuthority(t, jwtctx.NoRevocation, newProvider(t, f, auth0Mapping, nil))
	f.setKeys(k1, k2)
	next := f.sign(t, k2, "", jwtctx.AccessTyp, f.claims(jwt.MapClaims{"org_id": "org_riverside"}))
	before := f.fetches.Load()
	const n = 32
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			_, err := a.Verify(context.Background(), next, jwtctx.AccessToken)
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a request with the new key: %v", err)
		}
	}
	if got := f.fetches.Load() - before; got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}
