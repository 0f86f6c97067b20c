package api_test

import (
	"net/http"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestChartAccessIsAudited: a dentist opening a chart and changing it
// leaves events the owner reads, and no one else: other staff are refused,
// and another clinic's owner sees none of them.
func TestChartAccessIsAudited(t *testing.T) {
	a := startApp(t)
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	var created patientJSON
	r := a.Do(t, "POST", "/api/v1/patients", dentist, map[string]any{"given_name": "Audit", "family_name": "Subject"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &created)
	if r := a.Do(t, "GET", "/api/v1/patients/"+created.ID.String(), dentist, nil); r.Status != http.StatusOK {
		t.Fatalf("view: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "PATCH", "/api/v1/patients/"+created.ID.String(), dentist, map[string]any{"phone": "01632 960001"}); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}

	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	seen := map[string]bool{}
	for _, e := range a.AuditLog(t, owner) {
		if e.ClinicID != riverside.ID {
			t.Fatalf("LEAK: Riverside's audit log holds an event of %v", e.ClinicID)
		}
		if e.ResourceID == created.ID.String() {
			seen[e.Action] = true
		}
	}
	for _, action := range []string{"patient.create", "patient.view", "patient.update"} {
		if !seen[action] {
			t.Errorf("no %s event for the patient in the owner's audit log (saw %v)", action, seen)
		}
	}

	if r := a.Do(t, "GET", "/api/v1/audit", dentist, nil); r.Status != http.StatusForbidden {
		t.Errorf("dentist reading the audit log: %d %s", r.Status, r.Body)
	}
	hillOwner := a.SignIn(t, seed.StaffEmail("owner", hillcrest), tenancy.ID{})
	for _, e := range a.AuditLog(t, hillOwner) {
		if e.ClinicID != hillcrest.ID || e.ResourceID == created.ID.String() {
			t.Fatalf("LEAK: Hillcrest's owner sees %+v", e)
		}
	}
}
