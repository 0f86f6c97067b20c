package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

// world is an Authority whose revocation hook is a GrantRevoker, and the
// Impersonations that issue its tokens, on one settable clock.
type world struct {
	clock   *clock
	auth    *jwtctx.Authority
	revoker *audit.GrantRevoker
	imp     *audit.Impersonations
}

func newWorld(t *testing.T, f *fixture) *world {
	t.Helper()
	w := &world{clock: newClock()}
	var err error
	if w.revoker, err = audit.NewGrantRevoker(f.platform, nil, w.clock.Now); err != nil {
		t.Fatal(err)
	}
	key, err := jwtctx.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	w.auth, err = jwtctx.New(jwtctx.Config{Issuer: "test", Audience: "test", SigningKey: key, Revoker: w.revoker,
		Now: w.clock.Now, MaxImpersonationLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.imp, err = audit.NewImpersonations(audit.ImpersonationConfig{Platform: f.platform, Issuer: w.auth, Revoker: w.revoker,
		Roles: []string{"support"}, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newImpersonation(t *testing.T, f *fixture) (*audit.Impersonations, error) {
	return newWorld(t, f).imp, nil
}

func TestStartRefusesBadRequests(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	tests := []struct {
		name   string
		ctx    context.Context
		reason string
		d      time.Duration
		want   error
	}{
		{"staff", staff(clinicA, ownerA, "owner"), "x", time.Minute, audit.ErrNotAdmin},
		{"no principal", context.Background(), "x", time.Minute, audit.ErrNotAdmin},
		{"blank reason", adminCtx(), "  ", time.Minute, audit.ErrNoReason},
		{"over an hour", adminCtx(), "x", time.Hour + time.Second, audit.ErrDuration},
		{"zero duration", adminCtx(), "x", 0, audit.ErrDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := w.imp.Start(tt.ctx, clinicA, tt.reason, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("Start: %v, want %v", err, tt.want)
			}
		})
	}
	if n := f.adminCount(t, clinicA, ""); n != 0 {
		t.Errorf("%d events after refused starts, want 0", n)
	}
}

func TestImpersonationLifecycle(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	ctx := context.Background()

	g, token, err := w.imp.Start(adminCtx(), clinicA, "support ticket 4711", 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken)
	if err != nil {
		t.Fatalf("Verify of a fresh impersonation token: %v", err)
	}
	want := tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin, Roles: []string{"support"},
		Impersonation: &tenancy.Impersonation{GrantID: g.ID, Admin: admin}}
	if tok.Principal.Tenant != want.Tenant || tok.Principal.Subject != want.Subject || *tok.Principal.Impersonation != *want.Impersonation {
		t.Errorf("token principal %+v, want %+v", tok.Principal, want)
	}
	if n := f.adminCount(t, clinicA, audit.ActionImpersonationStarted); n != 1 {
		t.Errorf("%d started events in A's chain, want 1", n)
	}

	// A second instance, with its own revoker and no memory of the End.
	other, err := audit.NewGrantRevoker(f.platform, nil, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if revoked, err := other.Revoked(ctx, tok); revoked || err != nil {
		t.Fatalf("other instance before End: %v, %v", revoked, err)
	}

	ended, err := w.imp.End(adminCtx(), clinicA, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.EndedBy != admin || ended.EndedAt.IsZero() {
		t.Errorf("ended grant %+v, want ended by the admin", ended)
	}
	if _, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("Verify right after End: %v, want ErrRevoked", err)
	}
	if revoked, err := other.Revoked(ctx, tok); !revoked || err != nil {
		t.Errorf("other instance right after End: %v, %v, want revoked", revoked, err)
	}
	if _, err := w.imp.End(adminCtx(), clinicA, g.ID); !errors.Is(err, audit.ErrGrantEnded) {
		t.Errorf("End twice: %v, want ErrGrantEnded", err)
	}
	if _, err := w.imp.End(adminCtx(), clinicA, tenancy.NewID()); !errors.Is(err, audit.ErrGrantNotFound) {
		t.Errorf("End of an unknown grant: %v, want ErrGrantNotFound", err)
	}
	if n := f.adminCount(t, clinicA, audit.ActionImpersonationEnded); n != 1 {
		t.Errorf("%d ended events, want 1", n)
	}
	if n := f.adminCount(t, clinicA, audit.ActionImpersonationRefused); n != 2 {
		t.Errorf("%d refused events, want 2 (one per refused verification)", n)
	}
	if _, err := audit.Verify(ctx, f.platform, clinicA); err != nil {
		t.Error(err)
	}
}

func TestExpiredGrantIsRefused(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	ctx := context.Background()
	_, token, err := w.imp.Start(adminCtx(), clinicA, "data export", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(9 * time.Minute)
	if _, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken); err != nil {
		t.Fatalf("Verify before expiry: %v", err)
	}
	// Past the grant's end, though within the token's leeway: the grant
	// decides.
	w.clock.Advance(time.Minute)
	if _, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("Verify at expiry: %v, want ErrRevoked", err)
	}
	if n := f.adminCount(t, clinicA, audit.ActionImpersonationRefused); n != 1 {
		t.Errorf("%d refused events, want 1", n)
	}
}

func TestOwnerMayEndAGrant(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	g, _, err := w.imp.Start(adminCtx(), clinicA, "support", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.imp.End(staff(clinicB, ownerB, "owner"), clinicA, g.ID); !errors.Is(err, audit.ErrNotAdmin) {
		t.Errorf("End by B's owner: %v, want ErrNotAdmin", err)
	}
	if _, err := w.imp.End(staff(clinicA, dentistA, "dentist"), clinicA, g.ID); !errors.Is(err, audit.ErrNotAdmin) {
		t.Errorf("End by A's dentist: %v, want ErrNotAdmin", err)
	}
	ended, err := w.imp.End(staff(clinicA, ownerA, "owner"), clinicA, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.EndedBy != ownerA {
		t.Errorf("ended by %s, want A's owner", ended.EndedBy)
	}
}
