package jwtctx_test

import (
	"context"
	"errors"
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
		a, err := jwtctx.New(jwtctx.Config{
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
