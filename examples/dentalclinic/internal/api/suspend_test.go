package api_test

import (
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestSuspendingAClinicEndsItsSessions: once a clinic is suspended, the
// tokens it had already been given stop working at once: staff sessions,
// portal sessions and impersonation grants; and neither its staff nor its
// patients can sign in again.
func TestSuspendingAClinicEndsItsSessions(t *testing.T) {
	a := startApp(t)
	c, _, owner := settingsClinic(t, a, "Europe/London", "GBP")
	admin := a.SignInAdmin(t)

	// A portal patient of the clinic, enrolled and signed in.
	r := a.Do(t, "POST", "/api/v1/patients", owner, map[string]any{"given_name": "Suspended", "family_name": "Patient"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.Status, r.Body)
	}
	email := a.NewPortalAccount(t, c.ID, idOf(t, r))
	portal := a.SignInPortal(t, email, seed.Password, c.ID)

	// An impersonation grant.
	r = a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": c.ID, "reason": "suspension test", "minutes": 10})
	if r.Status != http.StatusCreated {
		t.Fatalf("impersonate: %d %s", r.Status, r.Body)
	}
	var grant struct{ Token string }
	r.JSON(t, &grant)

	tokens := []struct{ who, token, path string }{
		{"staff", owner, "/api/v1/patients"},
		{"portal", portal, "/api/v1/portal/me"},
		{"impersonation", grant.Token, "/api/v1/patients"},
	}
	for _, tk := range tokens {
		if r := a.Do(t, "GET", tk.path, tk.token, nil); r.Status != http.StatusOK {
			t.Fatalf("%s token before suspension: %d %s", tk.who, r.Status, r.Body)
		}
	}

	if r := a.Do(t, "POST", "/api/v1/admin/clinics/"+c.ID.String()+"/suspend", admin, nil); r.Status != http.StatusOK {
		t.Fatalf("suspend: %d %s", r.Status, r.Body)
	}
	for _, tk := range tokens {
		r := a.Do(t, "GET", tk.path, tk.token, nil)
		var p struct{ Code string }
		r.JSON(t, &p)
		if r.Status != http.StatusUnauthorized || !r.IsProblem() || p.Code != "clinic_suspended" {
			t.Errorf("%s token after suspension: %d %s", tk.who, r.Status, r.Body)
		}
	}
	if r := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": email, "password": seed.Password}); r.Status != http.StatusUnauthorized {
		t.Errorf("portal sign-in at a suspended clinic: %d %s", r.Status, r.Body)
	}
	// Other clinics are untouched.
	if r := a.Do(t, "GET", "/api/v1/patients", a.NewStaff(t, riverside, "owner").Token, nil); r.Status != http.StatusOK {
		t.Errorf("Riverside after another clinic's suspension: %d %s", r.Status, r.Body)
	}
}
