package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestAuditKindKeepsAPIRequests: an admin's impersonated API read of a
// patient, recorded as its route ("GET /api/v1/patients/{id}"), is under
// "Patients and charts" in the owner's audit log, and not under
// "Invoices and payments".
func TestAuditKindKeepsAPIRequests(t *testing.T) {
	a := startApp(t)
	_, email := a.newAdmin(t, "Quinn Apiadmin")
	alex := a.patientID(t, riverside, "Alex", "Morgan")

	var login, grant struct{ Token string }
	code, body := api(t, a.base, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": seed.Password})
	if err := json.Unmarshal(body, &login); code != http.StatusOK || err != nil {
		t.Fatalf("admin sign-in: %d %s", code, body)
	}
	code, body = api(t, a.base, "POST", "/api/v1/admin/impersonations", login.Token,
		map[string]any{"clinic_id": riverside.ID, "reason": "Ticket 23: API reads by kind", "minutes": 5})
	if err := json.Unmarshal(body, &grant); code != http.StatusCreated || err != nil {
		t.Fatalf("impersonate: %d %s", code, body)
	}
	if code, body := api(t, a.base, "GET", "/api/v1/patients/"+alex.String(), grant.Token, nil); code != http.StatusOK {
		t.Fatalf("the impersonating admin reads Alex through the API: %d %s", code, body)
	}
	// What the filter must show exists: the entry, recorded as its route.
	var n int
	a.one(t, &n, `select count(*) from audit.events where tenant_id = $1 and action = 'GET /api/v1/patients/{id}' and resource_id = $2`,
		riverside.ID, alex.String())
	if n == 0 {
		t.Fatal("no audit entry of the API read")
	}

	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	has := func(kind string) bool {
		for _, r := range auditRows(owner.get("/audit?who=admins&kind=" + kind)) {
			if strings.Contains(r, "Quinn Apiadmin") && strings.Contains(r, "record through the API") {
				return true
			}
		}
		return false
	}
	if !has("patients") {
		t.Errorf(`"Patients and charts" hides the admin's API read of a patient: %q`, auditRows(owner.get("/audit?who=admins")))
	}
	if has("billing") {
		t.Error(`"Invoices and payments" shows the admin's API read of a patient`)
	}
}
