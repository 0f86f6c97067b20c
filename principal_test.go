package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

// testPrincipals declares the kinds of a project tracker: members of an
// organization, guests limited to their own rows, and support operators.
var testPrincipals = tenancy.Principals{Kinds: []tenancy.KindSpec{
	{Name: "member", Access: tenancy.AccessTenant},
	{Name: "guest", Access: tenancy.AccessSubject},
	{Name: "support", Access: tenancy.AccessOperator},
}}

func TestKindText(t *testing.T) {
	for _, k := range []tenancy.Kind{"member", "api_client", "service_account2", tenancy.KindSystem} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", k, err)
		}
		var back tenancy.Kind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("round trip of %v = %v, %v", k, back, err)
		}
	}
	long := strings.Repeat("a", tenancy.MaxKindLen+1)
	for _, s := range []string{"", "Staff", "2fa", "_x", "api-client", "a b", "a|b", long} {
		if _, err := tenancy.ParseKind(s); !errors.Is(err, tenancy.ErrInvalidKind) {
			t.Errorf("ParseKind(%q) error = %v, want ErrInvalidKind", s, err)
		}
	}
	if _, err := tenancy.Kind("").MarshalText(); !errors.Is(err, tenancy.ErrInvalidKind) {
		t.Errorf("Kind(\"\").MarshalText error = %v, want ErrInvalidKind", err)
	}
}

func TestPrincipalsValidate(t *testing.T) {
	if err := testPrincipals.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	for name, ps := range map[string]tenancy.Principals{
		"no access":    {Kinds: []tenancy.KindSpec{{Name: "member"}}},
		"system":       {Kinds: []tenancy.KindSpec{{Name: tenancy.KindSystem, Access: tenancy.AccessTenant}}},
		"twice":        {Kinds: []tenancy.KindSpec{{Name: "a", Access: tenancy.AccessTenant}, {Name: "a", Access: tenancy.AccessOperator}}},
		"malformed":    {Kinds: []tenancy.KindSpec{{Name: "A", Access: tenancy.AccessTenant}}},
		"bad access":   {Kinds: []tenancy.KindSpec{{Name: "a", Access: 9}}},
		"bad key type": {TenantKey: 7},
		"bad subject":  {SubjectKey: 7},
	} {
		if err := ps.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", name)
		}
	}
}

func TestPrincipalsCheck(t *testing.T) {
	imp := &tenancy.Impersonation{GrantID: grant1, Admin: admin1}
	tests := []struct {
		name string
		p    tenancy.Principal
		ok   bool
	}{
		{"member", tenancy.Principal{Kind: "member", Tenant: clinicA, Subject: staff1}, true},
		{"guest", tenancy.Principal{Kind: "guest", Tenant: clinicA, Subject: staff1}, true},
		{"support", tenancy.Principal{Kind: "support", Subject: admin1}, true},
		{"support impersonating", tenancy.Principal{Kind: "support", Tenant: clinicA, Subject: admin1, Impersonation: imp}, true},
		{"system", tenancy.Principal{Kind: tenancy.KindSystem}, true},
		{"system with tenant", tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinicA}, true},

		{"zero kind", tenancy.Principal{Tenant: clinicA, Subject: staff1}, false},
		{"undeclared kind", tenancy.Principal{Kind: "api_client", Tenant: clinicA, Subject: staff1}, false},
		{"member without tenant", tenancy.Principal{Kind: "member", Subject: staff1}, false},
		{"member without subject", tenancy.Principal{Kind: "member", Tenant: clinicA}, false},
		{"member impersonating", tenancy.Principal{Kind: "member", Tenant: clinicA, Subject: admin1, Impersonation: imp}, false},
		{"guest without tenant", tenancy.Principal{Kind: "guest", Subject: staff1}, false},
		{"support without subject", tenancy.Principal{Kind: "support"}, false},
		{"support with tenant, no grant", tenancy.Principal{Kind: "support", Tenant: clinicA, Subject: admin1}, false},
		{"support impersonating without tenant", tenancy.Principal{Kind: "support", Subject: admin1, Impersonation: imp}, false},
		{"impersonation without grant id", tenancy.Principal{Kind: "support", Tenant: clinicA, Subject: admin1, Impersonation: &tenancy.Impersonation{Admin: admin1}}, false},
		{"impersonation by another admin", tenancy.Principal{Kind: "support", Tenant: clinicA, Subject: admin1, Impersonation: &tenancy.Impersonation{GrantID: grant1, Admin: staff1}}, false},
		{"system impersonating", tenancy.Principal{Kind: tenancy.KindSystem, Tenant: clinicA, Impersonation: imp}, false},
		{"bigint tenant where uuid is declared", tenancy.Principal{Kind: "member", Tenant: tenancy.IntID(7), Subject: staff1}, false},
		{"bigint subject where uuid is declared", tenancy.Principal{Kind: "member", Tenant: clinicA, Subject: tenancy.IntID(7)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testPrincipals.Check(tt.p)
			if tt.ok && err != nil {
				t.Fatalf("Check() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, tenancy.ErrInvalidPrincipal) {
				t.Fatalf("Check() = %v, want ErrInvalidPrincipal", err)
			}
		})
	}
}

// Each key type accepts its own keys and refuses the others'.
func TestPrincipalsCheckKeyTypes(t *testing.T) {
	text, _ := tenancy.TextID("acme")
	keys := map[tenancy.KeyType]tenancy.ID{tenancy.KeyUUID: clinicA, tenancy.KeyBigint: tenancy.IntID(42), tenancy.KeyText: text}
	for typ, own := range keys {
		ps := testPrincipals
		ps.TenantKey, ps.SubjectKey = typ, typ
		p := tenancy.Principal{Kind: "member", Tenant: own, Subject: own}
		if err := ps.Check(p); err != nil {
			t.Errorf("%s: Check of its own keys = %v", typ, err)
		}
		for other, id := range keys {
			if other == typ || typ == tenancy.KeyText {
				continue // "42" and a UUID are valid text keys too
			}
			p := tenancy.Principal{Kind: "member", Tenant: id, Subject: own}
			if err := ps.Check(p); !errors.Is(err, tenancy.ErrInvalidID) {
				t.Errorf("%s: Check of a %s tenant = %v, want ErrInvalidID", typ, other, err)
			}
		}
	}
}

func TestPrincipalValidate(t *testing.T) {
	imp := &tenancy.Impersonation{GrantID: grant1, Admin: admin1}
	for _, p := range []tenancy.Principal{
		{Kind: "whatever", Tenant: clinicA, Subject: staff1},
		{Kind: "support", Tenant: clinicA, Subject: admin1, Impersonation: imp},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%v) = %v, want nil: it checks the form only", p.Kind, err)
		}
	}
	for _, p := range []tenancy.Principal{
		{Tenant: clinicA},
		{Kind: "Bad Kind"},
		{Kind: tenancy.KindSystem, Tenant: clinicA, Impersonation: imp},
		{Kind: "support", Subject: admin1, Impersonation: imp},
	} {
		if err := p.Validate(); !errors.Is(err, tenancy.ErrInvalidPrincipal) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidPrincipal", p, err)
		}
	}
}

func TestPrincipalActorAndRoles(t *testing.T) {
	p := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staff1, Roles: []string{"owner", "dentist"}}
	if got := p.Actor(); got != staff1 {
		t.Errorf("Actor() = %v, want the subject %v", got, staff1)
	}
	if !p.HasRole("dentist") || p.HasRole("billing") {
		t.Errorf("HasRole: got dentist=%v billing=%v", p.HasRole("dentist"), p.HasRole("billing"))
	}
	imp := tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin1,
		Impersonation: &tenancy.Impersonation{GrantID: grant1, Admin: admin1}}
	if got := imp.Actor(); got != admin1 {
		t.Errorf("impersonation Actor() = %v, want the admin %v", got, admin1)
	}
}

func TestPrincipalJSON(t *testing.T) {
	in := tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin1, Roles: []string{"support"}, RequestID: "r-1"}
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
	staff := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staff1, Roles: []string{"owner"}}
	tests := []struct {
		name    string
		ctx     context.Context
		wantErr error
	}{
		{"no principal", context.Background(), tenancy.ErrNoTenant},
		{"platform admin", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin1}), tenancy.ErrNoTenant},
		{"system without tenant", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.KindSystem}), tenancy.ErrNoTenant},
		{"malformed", tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA}), tenancy.ErrInvalidPrincipal},
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
		Kind: tenancy.Kind("platform_admin"), Tenant: clinicA, Subject: admin1, Roles: roles, Impersonation: imp,
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
	p := tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: tenancy.NewID(), Subject: tenancy.NewID(), Roles: []string{"x"}}
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
		{"invalid principal", a.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: p.Tenant}), []tenancy.Source{a.Source()}, tenancy.ErrInvalidPrincipal},
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
