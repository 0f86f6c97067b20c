package impersonation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
)

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
		{"staff", staff(tenantA, ownerA, "owner"), "x", time.Minute, impersonation.ErrNotAdmin},
		{"no principal", context.Background(), "x", time.Minute, impersonation.ErrNotAdmin},
		{"blank reason", adminCtx(), "  ", time.Minute, impersonation.ErrNoReason},
		{"over an hour", adminCtx(), "x", time.Hour + time.Second, impersonation.ErrDuration},
		{"zero duration", adminCtx(), "x", 0, impersonation.ErrDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := w.imp.Start(tt.ctx, tenantA, tt.reason, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("Start: %v, want %v", err, tt.want)
			}
		})
	}
	if n := f.adminCount(t, tenantA, ""); n != 0 {
		t.Errorf("%d events after refused starts, want 0", n)
	}
}

func TestImpersonationLifecycle(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	ctx := context.Background()

	g, token, err := w.imp.Start(adminCtx(), tenantA, "support ticket 4711", 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken)
	if err != nil {
		t.Fatalf("Verify of a fresh impersonation token: %v", err)
	}
	want := tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: tenantA, Subject: admin, Roles: []string{"support"},
		Impersonation: &tenancy.Impersonation{GrantID: g.ID, Admin: admin}}
	if tok.Principal.Tenant != want.Tenant || tok.Principal.Subject != want.Subject || *tok.Principal.Impersonation != *want.Impersonation {
		t.Errorf("token principal %+v, want %+v", tok.Principal, want)
	}
	if n := f.adminCount(t, tenantA, impersonation.ActionStarted); n != 1 {
		t.Errorf("%d started events in A's chain, want 1", n)
	}

	// A second instance, with its own revoker and no memory of the End.
	other, err := impersonation.NewGrantRevoker(f.platform, nil, w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if revoked, err := other.Revoked(ctx, tok); revoked || err != nil {
		t.Fatalf("other instance before End: %v, %v", revoked, err)
	}

	ended, err := w.imp.End(adminCtx(), tenantA, g.ID)
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
	if _, err := w.imp.End(adminCtx(), tenantA, g.ID); !errors.Is(err, impersonation.ErrGrantEnded) {
		t.Errorf("End twice: %v, want ErrGrantEnded", err)
	}
	if _, err := w.imp.End(adminCtx(), tenantA, tenancy.NewID()); !errors.Is(err, impersonation.ErrGrantNotFound) {
		t.Errorf("End of an unknown grant: %v, want ErrGrantNotFound", err)
	}
	if n := f.adminCount(t, tenantA, impersonation.ActionEnded); n != 1 {
		t.Errorf("%d ended events, want 1", n)
	}
	if n := f.adminCount(t, tenantA, impersonation.ActionRefused); n != 2 {
		t.Errorf("%d refused events, want 2 (one per refused verification)", n)
	}
	if _, err := audit.Verify(ctx, f.platform, tenantA); err != nil {
		t.Error(err)
	}
}

func TestExpiredGrantIsRefused(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	ctx := context.Background()
	_, token, err := w.imp.Start(adminCtx(), tenantA, "data export", 10*time.Minute)
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
	if n := f.adminCount(t, tenantA, impersonation.ActionRefused); n != 1 {
		t.Errorf("%d refused events, want 1", n)
	}
}

func TestOwnerMayEndAGrant(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	g, _, err := w.imp.Start(adminCtx(), tenantA, "support", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.imp.End(staff(tenantB, ownerB, "owner"), tenantA, g.ID); !errors.Is(err, impersonation.ErrNotAdmin) {
		t.Errorf("End by B's owner: %v, want ErrNotAdmin", err)
	}
	if _, err := w.imp.End(staff(tenantA, memberA, "member"), tenantA, g.ID); !errors.Is(err, impersonation.ErrNotAdmin) {
		t.Errorf("End by A's member: %v, want ErrNotAdmin", err)
	}
	ended, err := w.imp.End(staff(tenantA, ownerA, "owner"), tenantA, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.EndedBy != ownerA {
		t.Errorf("ended by %s, want A's owner", ended.EndedBy)
	}
}

// TestGrantsUnderAnotherTenantColumn: an application whose tenant column
// is org_id starts, checks and ends grants through tenantdb's default
// guard: the audit tables carry their own tenant column.
func TestGrantsUnderAnotherTenantColumn(t *testing.T) {
	f := setupWith(t, "org_id", nil)
	ctx := context.Background()
	w := newWorld(t, f)
	g, token, err := w.imp.Start(adminCtx(), tenantA, "support ticket 4711", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken); err != nil {
		t.Fatalf("Verify of the impersonation token: %v", err)
	}
	if _, err := w.imp.End(adminCtx(), tenantA, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.auth.Verify(ctx, token, jwtctx.ImpersonationToken); !errors.Is(err, jwtctx.ErrRevoked) {
		t.Errorf("Verify after End: %v, want ErrRevoked", err)
	}
	if _, err := audit.VerifyAll(ctx, f.platform); err != nil {
		t.Errorf("VerifyAll: %v", err)
	}
	if n := f.adminCount(t, tenantA, ""); n != 3 {
		t.Errorf("A's chain has %d events, want 3 (started, ended, refused)", n)
	}
}

// TestReaderRolesEndGrants: the audit log's reader roles, not a fixed
// "owner", may end a grant, and may not be given to impersonating admins.
func TestReaderRolesEndGrants(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f)
	acfg := audit.Config{ReaderRoles: []string{"auditor"}}
	if _, err := impersonation.New(impersonation.Config{Platform: f.platform, Issuer: w.auth, Revoker: w.revoker, Principals: tenancy.Principals{Kinds: testKinds},
		Audit: acfg, Roles: []string{"auditor"}}); !errors.Is(err, impersonation.ErrInvalidConfig) {
		t.Errorf("New with a reader role for admins: %v, want ErrInvalidConfig", err)
	}
	grants, err := impersonation.New(impersonation.Config{Platform: f.platform, Issuer: w.auth, Revoker: w.revoker, Principals: tenancy.Principals{Kinds: testKinds},
		Audit: acfg, Roles: []string{"owner"}, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := grants.Start(adminCtx(), tenantA, "support", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grants.End(staff(tenantA, ownerA, "owner"), tenantA, g.ID); !errors.Is(err, impersonation.ErrNotAdmin) {
		t.Errorf("End by an owner who is no reader: %v, want ErrNotAdmin", err)
	}
	if _, err := grants.End(staff(tenantA, memberA, "auditor"), tenantA, g.ID); err != nil {
		t.Errorf("End by an auditor: %v", err)
	}
}
