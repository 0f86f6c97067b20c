package access

import (
	"context"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
)

// TestAdmits: who passes which permission, one principal of each kind.
func TestAdmits(t *testing.T) {
	clinic := tenancy.NewID()
	owner := tenancy.Principal{Kind: kinds.Staff, Tenant: clinic, Subject: tenancy.NewID(), Roles: []string{"owner"}}
	hygienist := tenancy.Principal{Kind: kinds.Staff, Tenant: clinic, Subject: tenancy.NewID(), Roles: []string{"hygienist"}}
	patient := tenancy.Principal{Kind: kinds.Patient, Tenant: clinic, Subject: tenancy.NewID()}
	admin := tenancy.Principal{Kind: kinds.PlatformAdmin, Subject: tenancy.NewID()}
	support := tenancy.Principal{Kind: kinds.PlatformAdmin, Tenant: clinic, Subject: admin.Subject, Roles: []string{"support"},
		Impersonation: &tenancy.Impersonation{GrantID: tenancy.NewID(), Admin: admin.Subject}}
	for _, tc := range []struct {
		name  string
		allow Allow
		want  map[string]bool // by principal; absent: false
	}{
		{"Public", Public, map[string]bool{"owner": true, "hygienist": true, "patient": true, "admin": true, "support": true}},
		{"SignedIn", SignedIn, map[string]bool{"owner": true, "hygienist": true, "patient": true, "admin": true, "support": true}},
		{"AnyStaff", AnyStaff, map[string]bool{"owner": true, "hygienist": true, "support": true}},
		{"ClinicAdmin", ClinicAdmin, map[string]bool{"owner": true, "support": true}},
		{"Owner", Owner, map[string]bool{"owner": true}},
		{"Prescribers", Prescribers, map[string]bool{}},
		{"PortalPatient", PortalPatient, map[string]bool{"patient": true}},
		{"PlatformConsole", PlatformConsole, map[string]bool{"admin": true}},
		{"Impersonating", Impersonating, map[string]bool{"admin": true, "support": true}},
	} {
		for name, p := range map[string]tenancy.Principal{"owner": owner, "hygienist": hygienist, "patient": patient, "admin": admin, "support": support} {
			if got := tc.allow.Admits(p); got != tc.want[name] {
				t.Errorf("%s admits %s: %v, want %v", tc.name, name, got, tc.want[name])
			}
		}
	}
	// Without a verified principal only Public passes; the console needs a
	// session token besides, which a bare context lacks.
	if !Public.Permits(context.Background()) || SignedIn.Permits(context.Background()) {
		t.Error("Permits without a principal")
	}
	if PlatformConsole.Permits(tenancy.NewContext(context.Background(), admin)) {
		t.Error("the console admitted a principal without a session token")
	}
}
