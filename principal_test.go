package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mydentalpractice/tenancy"
)

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	staff1  = tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000001")
	admin1  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ad")
	grant1  = tenancy.MustParseID("0195f1c2-0000-7000-8000-000000000901")
)

func TestKindText(t *testing.T) {
	for _, k := range []tenancy.Kind{tenancy.KindStaff, tenancy.KindPatient, tenancy.KindPlatformAdmin, tenancy.KindSystem} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", k, err)
		}
		var back tenancy.Kind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("round trip of %v = %v, %v", k, back, err)
		}
	}
	for _, s := range []string{"", "Staff", "admin", "root"} {
		if _, err := tenancy.ParseKind(s); !errors.Is(err, tenancy.ErrInvalidKind) {
			t.Errorf("ParseKind(%q) error = %v, want ErrInvalidKind", s, err)
		}
	}
	if _, err := tenancy.Kind(0).MarshalText(); !errors.Is(err, tenancy.ErrInvalidKind) {
		t.Errorf("Kind(0).MarshalText error = %v, want ErrInvalidKind", err)
	}
	if got := tenancy.Kind(9).String(); got != "Kind(9)" {
		t.Errorf("Kind(9).String() = %q", got)
	}
}

func TestPrincipalValidate(t *testing.T) {
	imp := &tenancy.Impersonation{GrantID: grant1, Admin: admin1}
	tests := []struct {
		name string
		p    tenancy.Principal
		ok   bool
	}{
		{"staff", tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA, Subject: staff1}, true},
		{"patient", tenancy.Principal{Kind: tenancy.KindPatient, Tenant: clinicA, Subject: staff1}, true},
		{"admin", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Subject: admin1}, true},
		{"admin impersonating", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1, Impersonation: imp}, true},
		{"system", tenancy.Principal{Kind: tenancy.KindSystem}, true},
		{"system with tenant", tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinicA}, true},

		{"zero kind", tenancy.Principal{Tenant: clinicA, Subject: staff1}, false},
		{"staff without tenant", tenancy.Principal{Kind: tenancy.KindStaff, Subject: staff1}, false},
		{"staff without subject", tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA}, false},
		{"staff impersonating", tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA, Subject: staff1, Impersonation: imp}, false},
		{"patient without tenant", tenancy.Principal{Kind: tenancy.KindPatient, Subject: staff1}, false},
		{"admin without subject", tenancy.Principal{Kind: tenancy.KindPlatformAdmin}, false},
		{"admin with tenant, no grant", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1}, false},
		{"admin impersonating without tenant", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Subject: admin1, Impersonation: imp}, false},
		{"impersonation without grant id", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1, Impersonation: &tenancy.Impersonation{Admin: admin1}}, false},
		{"impersonation by another admin", tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1, Impersonation: &tenancy.Impersonation{GrantID: grant1, Admin: staff1}}, false},
		{"system impersonating", tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinicA, Impersonation: imp}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, tenancy.ErrInvalidPrincipal) {
				t.Fatalf("Validate() = %v, want ErrInvalidPrincipal", err)
			}
		})
	}
}

func TestPrincipalActorAndRoles(t *testing.T) {
	p := tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA, Subject: staff1, Roles: []string{"owner", "dentist"}}
	if got := p.Actor(); got != staff1 {
		t.Errorf("Actor() = %v, want the subject %v", got, staff1)
	}
	if !p.HasRole("dentist") || p.HasRole("billing") {
		t.Errorf("HasRole: got dentist=%v billing=%v", p.HasRole("dentist"), p.HasRole("billing"))
	}
	imp := tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1,
		Impersonation: &tenancy.Impersonation{GrantID: grant1, Admin: admin1}}
	if got := imp.Actor(); got != admin1 {
		t.Errorf("impersonation Actor() = %v, want the admin %v", got, admin1)
	}
}

func TestPrincipalJSON(t *testing.T) {
	in := tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Subject: admin1, Roles: []string{"support"}, RequestID: "r-1"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"platform_admin","subject":"0195f1c2-0000-7000-8000-0000000000ad","roles":["support"],"request_id":"r-1"}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s\nwant %s", b, want)
	}
	var back tenancy.Principal
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRequire(t *testing.T) {
	staff := tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA, Subject: staff1, Roles: []string{"owner"}}
	tests := []struct {
		name    string
		ctx     context.Context
		wantErr error
	}{
		{"no principal", context.Background(), tenancy.ErrNoTenant},
		{"platform admin", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindPlatformAdmin, Subject: admin1}), tenancy.ErrNoTenant},
		{"system without tenant", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindSystem}), tenancy.ErrNoTenant},
		{"malformed", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindStaff, Tenant: clinicA}), tenancy.ErrInvalidPrincipal},
		{"staff", tenancy.NewContext(context.Background(), staff), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tenancy.Require(tt.ctx)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Require() error = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tenancy.Principal{}, p); diff != "" {
					t.Errorf("Require() returned a principal with its error:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Require() error = %v", err)
			}
			if diff := cmp.Diff(staff, p); diff != "" {
				t.Errorf("Require() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewContextCopies(t *testing.T) {
	roles := []string{"owner"}
	imp := &tenancy.Impersonation{GrantID: grant1, Admin: admin1}
	ctx := tenancy.NewContext(context.Background(), tenancy.Principal{
		Kind: tenancy.KindPlatformAdmin, Tenant: clinicA, Subject: admin1, Roles: roles, Impersonation: imp,
	})
	roles[0] = "hacked"
	imp.GrantID = staff1
	p, ok := tenancy.FromContext(ctx)
	if !ok {
		t.Fatal("FromContext found no principal")
	}
	if p.Roles[0] != "owner" {
		t.Errorf("roles changed through the caller's slice: %v", p.Roles)
	}
	if p.Impersonation.GrantID != grant1 {
		t.Errorf("impersonation changed through the caller's pointer: %v", p.Impersonation.GrantID)
	}
	p.Impersonation.GrantID = staff1 // a reader's change must not reach the context either
	// Appending to the returned roles must not write into the context's array.
	_ = append(p.Roles, "extra")
	p2, _ := tenancy.FromContext(ctx)
	if len(p2.Roles) != 1 {
		t.Errorf("roles = %v after an append by a reader", p2.Roles)
	}
	if p2.Impersonation.GrantID != grant1 {
		t.Errorf("impersonation changed through a reader's copy: %v", p2.Impersonation.GrantID)
	}
}

func TestAuthenticatorSource(t *testing.T) {
	a, b := tenancy.NewAuthenticator("a"), tenancy.NewAuthenticator("a")
	if a.Source() == b.Source() {
		t.Error("two authenticators of one name have equal sources")
	}
	if s1, s2 := a.Source(), a.Source(); s1 != s2 {
		t.Error("an authenticator's sources differ")
	}
	p := tenancy.Principal{Kind: tenancy.KindStaff, Tenant: tenancy.NewID(), Subject: tenancy.NewID(), Roles: []string{"x"}}
	ctx := a.NewContext(context.Background(), p)
	if got, ok := tenancy.FromContext(ctx); !ok || got.Tenant != p.Tenant {
		t.Errorf("FromContext = %v, %v; want the principal", got, ok)
	}
	// A later plain NewContext replaces the principal and drops the source.
	ctx = tenancy.NewContext(ctx, p)
	if src, ok := tenancy.SourceFromContext(ctx); ok || !src.IsZero() {
		t.Errorf("source after NewContext = %v, %v; want none", src, ok)
	}
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		sources []tenancy.Source
		want    error
	}{
		{"accepted", a.NewContext(context.Background(), p), []tenancy.Source{b.Source(), a.Source()}, nil},
		{"other authenticator", b.NewContext(context.Background(), p), []tenancy.Source{a.Source()}, tenancy.ErrUnverified},
		{"hand-built", tenancy.NewContext(context.Background(), p), []tenancy.Source{a.Source()}, tenancy.ErrUnverified},
		{"zero source listed", tenancy.NewContext(context.Background(), p), []tenancy.Source{{}}, tenancy.ErrUnverified},
		{"none listed", a.NewContext(context.Background(), p), nil, tenancy.ErrUnverified},
		{"no principal", context.Background(), []tenancy.Source{a.Source()}, tenancy.ErrNoTenant},
		{"invalid principal", a.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindStaff, Tenant: p.Tenant}), []tenancy.Source{a.Source()}, tenancy.ErrInvalidPrincipal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tenancy.RequireFrom(tc.ctx, tc.sources)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("RequireFrom: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewAuthenticatorNames(t *testing.T) {
	for _, name := range []string{"", "a b", "x/y", "é"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewAuthenticator(%q) did not panic", name)
				}
			}()
			tenancy.NewAuthenticator(name)
		}()
	}
}
