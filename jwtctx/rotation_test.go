package jwtctx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy/jwtctx"
)

// TestRotation rotates the signing key: tokens signed by the old key verify
// until they expire, while new tokens use the new key; once the old key is
// retired, its tokens fail even before expiry.
func TestRotation(t *testing.T) {
	clk := newClock(t0)
	oldKey := must(jwtctx.NewEd25519Key("2025-01", edPriv))
	newKey := must(jwtctx.NewEd25519Key("2025-03", edOther))
	build := func(signing jwtctx.Key, verify ...jwtctx.Key) *jwtctx.Authority {
		t.Helper()
		a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals,
			Issuer: testIssuer, Audience: testAudience,
			SigningKey: signing, VerificationKeys: verify,
			Revoker: jwtctx.NoRevocation, Now: clk.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	verify := func(a *jwtctx.Authority, s string) (string, error) {
		tok, err := a.Verify(context.Background(), s, jwtctx.SessionToken)
		return tok.KeyID, err
	}

	before := build(oldKey)
	oldTok := issue(t, before, staffPrincipal, time.Hour)

	// Rotation: the new key signs, the old one only verifies.
	rotated := build(newKey, oldKey.VerifyOnly())
	clk.Set(t0.Add(30 * time.Minute))
	newTok := issue(t, rotated, staffPrincipal, time.Hour)
	if kid, err := verify(rotated, newTok); err != nil || kid != "2025-03" {
		t.Errorf("new token: kid %q, err %v; want 2025-03, nil", kid, err)
	}
	if kid, err := verify(rotated, oldTok); err != nil || kid != "2025-01" {
		t.Errorf("old token after rotation, before expiry: kid %q, err %v; want 2025-01, nil", kid, err)
	}

	// Past the old token's expiry and the leeway, it fails; the new one
	// still works.
	clk.Set(t0.Add(time.Hour + jwtctx.DefaultLeeway + time.Second))
	if _, err := verify(rotated, oldTok); !errors.Is(err, jwtctx.ErrExpired) {
		t.Errorf("old token after expiry: got %v, want ErrExpired", err)
	}
	if _, err := verify(rotated, newTok); err != nil {
		t.Errorf("new token after the old one expired: %v", err)
	}

	// Retiring the old key makes its tokens unknown, even unexpired ones.
	clk.Set(t0.Add(time.Minute))
	retired := build(newKey)
	if _, err := verify(retired, oldTok); !errors.Is(err, jwtctx.ErrUnknownKey) {
		t.Errorf("old token after retiring its key: got %v, want ErrUnknownKey", err)
	}
}

// TestSetKeysWithoutDowntime rotates the keys of one Authority in place,
// behind a running middleware, while requests, issuing and JWKS exports run
// concurrently (run with -race): no request with a valid token fails during
// the rotation, new tokens switch to the new key, and old tokens keep
// verifying until their key is retired.
func TestSetKeysWithoutDowntime(t *testing.T) {
	oldKey := must(jwtctx.NewEd25519Key("2025-01", edPriv))
	newKey := must(jwtctx.NewEd25519Key("2025-03", edOther))
	a, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals,
		Issuer: testIssuer, Audience: testAudience, SigningKey: oldKey,
		Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	m := newMiddleware(t, a, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	h := m.Handler(whoami)
	oldTok := issue(t, a, staffPrincipal, time.Hour)

	// Stage 1: publish the new key for verification only.
	if err := a.SetKeys(oldKey, newKey.VerifyOnly()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	failures := make(chan string, 100)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := a.Issue(staffPrincipal, time.Hour)
				if err != nil {
					failures <- "Issue: " + err.Error()
					return
				}
				for _, s := range []string{oldTok, tok} {
					req := httptest.NewRequest("GET", "/", nil)
					req.Header.Set("Authorization", "Bearer "+s)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						failures <- fmt.Sprintf("request during rotation: status %d", rec.Code)
						return
					}
				}
				if _, err := a.JWKS(); err != nil {
					failures <- "JWKS: " + err.Error()
					return
				}
			}
		})
	}
	// Stage 2, concurrently with the traffic: the new key signs, the old
	// one only verifies; flip back and forth to stress the swap.
	for i := range 200 {
		signing, verify := newKey, oldKey.VerifyOnly()
		if i%2 == 1 {
			signing, verify = oldKey, newKey.VerifyOnly()
		}
		if err := a.SetKeys(signing, verify); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetKeys(newKey, oldKey.VerifyOnly()); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}

	newTok := issue(t, a, staffPrincipal, time.Hour)
	if tok, err := a.Verify(t.Context(), newTok, jwtctx.SessionToken); err != nil || tok.KeyID != "2025-03" {
		t.Errorf("after rotation, new token: kid %q, err %v; want 2025-03", tok.KeyID, err)
	}
	// Stage 3: retire the old key; its tokens fail at once.
	if err := a.SetKeys(newKey); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(t.Context(), oldTok, jwtctx.SessionToken); !errors.Is(err, jwtctx.ErrUnknownKey) {
		t.Errorf("old token after retiring its key: got %v, want ErrUnknownKey", err)
	}
	if _, err := a.Verify(t.Context(), newTok, jwtctx.SessionToken); err != nil {
		t.Errorf("new token after retiring the old key: %v", err)
	}
}

// TestSetKeysRejects checks that a bad key set is refused with ErrConfig and
// leaves the current keys in place.
func TestSetKeysRejects(t *testing.T) {
	a := newAuthority(t, edKey, nil) // AllowHS256 is set
	strict, err := jwtctx.New(jwtctx.Config{Principals: testPrincipals, Issuer: testIssuer, Audience: testAudience, SigningKey: edKey,
		Revoker: jwtctx.NoRevocation, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok := issue(t, a, staffPrincipal, time.Hour)
	for _, tt := range []struct {
		name string
		a    *jwtctx.Authority
		keys []jwtctx.Key // signing, then verification
	}{
		{"no keys", a, []jwtctx.Key{{}}},
		{"verify-only signing key", a, []jwtctx.Key{edKey.VerifyOnly()}},
		{"duplicate kid", a, []jwtctx.Key{edKey, must(jwtctx.NewEd25519Key("ed-1", edOther)).VerifyOnly()}},
		{"zero verification key", a, []jwtctx.Key{edKey, {}}},
		{"HS256 without AllowHS256", strict, []jwtctx.Key{edKey, hsKey}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.a.SetKeys(tt.keys[0], tt.keys[1:]...); !errors.Is(err, jwtctx.ErrConfig) {
				t.Fatalf("SetKeys: got %v, want ErrConfig", err)
			}
			if _, err := tt.a.Verify(t.Context(), tok, jwtctx.SessionToken); err != nil {
				t.Errorf("a refused SetKeys changed the key set: %v", err)
			}
			if _, err := tt.a.Issue(staffPrincipal, time.Minute); err != nil {
				t.Errorf("a refused SetKeys changed the signing key: %v", err)
			}
		})
	}
}
