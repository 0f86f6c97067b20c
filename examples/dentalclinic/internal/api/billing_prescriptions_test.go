package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
)

// TestBillingAndPrescriptionAllow checks who the billing and prescription
// routes admit, role by role, including an impersonating platform admin
// ("support"), who reads everything and bills as an owner would but is
// not a dentist, and a platform admin's own session, which has no clinic.
func TestBillingAndPrescriptionAllow(t *testing.T) {
	clinic := tenancy.NewID()
	staff := func(roles ...string) tenancy.Principal {
		return tenancy.Principal{Kind: kinds.Staff, Tenant: clinic, Subject: tenancy.NewID(), Roles: roles}
	}
	admin := tenancy.NewID()
	support := tenancy.Principal{Kind: kinds.PlatformAdmin, Tenant: clinic, Subject: admin, Roles: []string{"support", "dentist"},
		Impersonation: &tenancy.Impersonation{GrantID: tenancy.NewID(), Admin: admin}}
	patient := tenancy.Principal{Kind: kinds.Patient, Tenant: clinic, Subject: tenancy.NewID()}

	callers := []struct {
		name string
		p    tenancy.Principal
		// may read billing, write billing, read prescriptions, write prescriptions
		billRead, billWrite, rxRead, rxWrite bool
	}{
		{"owner", staff("owner"), true, true, true, false},
		{"owner-dentist", staff("owner", "dentist"), true, true, true, true},
		{"billing", staff("billing"), true, true, false, false},
		{"front desk", staff("front_desk"), true, false, true, false},
		{"dentist", staff("dentist"), false, false, true, true},
		{"hygienist", staff("hygienist"), false, false, true, false},
		// Even with "dentist" among its roles, an impersonation is not staff.
		{"support", support, true, true, true, false},
		{"patient", patient, false, false, false, false},
		{"platform admin session", tenancy.Principal{Kind: kinds.PlatformAdmin, Subject: admin}, false, false, false, false},
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, c := range callers {
		for _, rule := range []struct {
			name  string
			allow Allow
			want  bool
		}{
			{"billingReaders", billingReaders, c.billRead},
			{"billingWriters", billingWriters, c.billWrite},
			{"prescriptionReaders", prescriptionReaders, c.rxRead},
			{"prescribers", prescribers, c.rxWrite},
		} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			permit(rule.allow, ok).ServeHTTP(rec, req.WithContext(tenancy.NewContext(req.Context(), c.p)))
			if got := rec.Code == http.StatusTeapot; got != rule.want {
				t.Errorf("%s by %s: admitted %v, want %v (status %d)", rule.name, c.name, got, rule.want, rec.Code)
			}
		}
	}
}
