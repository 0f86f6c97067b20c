package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestPrescribingAgainstAnAllergy: amoxicillin for a patient recorded as
// allergic to penicillin is refused (409 "allergy", the class named,
// nothing written) until the dentist gives a reason; the reason is kept
// with the prescription and the clinic's audit log records the override
// without the reason's words. A reason where no allergy matches is
// refused, and a drug of another class goes through without one.
func TestPrescribingAgainstAnAllergy(t *testing.T) {
	a := startApp(t)
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	ids := a.SuperStrings(t, `select id::text from patients where clinic_id = $1 and status = 'active' and 'Penicillin' = any(allergies) order by id limit 1`, riverside.ID)
	if len(ids) != 1 {
		t.Fatal("no Riverside patient recorded as allergic to penicillin: the seed changed")
	}
	patient := tenancy.MustParseID(ids[0])
	before := rxCount(t, a, patient)

	r := a.Do(t, "POST", "/api/v1/prescriptions", dentist, apptest.PrescriptionBody(patient))
	billWant(t, "amoxicillin without a reason", r, http.StatusConflict)
	if p := r.Problem(t); p.Code != "allergy" || !strings.Contains(p.Detail, "penicillins") {
		t.Errorf("the refusal: %+v, want code allergy naming penicillins", p)
	}
	if n := rxCount(t, a, patient); n != before {
		t.Fatalf("a refused prescription was written: %d prescriptions, want %d", n, before)
	}

	body := apptest.PrescriptionBody(patient)
	body["allergy_override"] = "   "
	billWant(t, "a blank reason", a.Do(t, "POST", "/api/v1/prescriptions", dentist, body), http.StatusUnprocessableEntity)

	const reason = "Rash only in childhood; tolerated amoxicillin in 2024 under supervision."
	body["allergy_override"] = reason
	r = a.Do(t, "POST", "/api/v1/prescriptions", dentist, body)
	billWant(t, "amoxicillin with a reason", r, http.StatusCreated)
	var rx struct {
		ID              tenancy.ID `json:"id"`
		AllergyOverride *string    `json:"allergy_override"`
	}
	r.JSON(t, &rx)
	if rx.AllergyOverride == nil || *rx.AllergyOverride != reason {
		t.Errorf("the prescription's override: %v, want the reason", rx.AllergyOverride)
	}
	if n := a.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and action = 'prescription.allergy_override' and resource_id = $2`,
		riverside.ID, rx.ID.String()); n != 1 {
		t.Errorf("%d audit events of the override, want 1", n)
	}
	if n := a.SuperCount(t, `select count(*) from audit.events e where tenant_id = $1 and strpos(row_to_json(e)::text, $2) > 0`,
		riverside.ID, "tolerated amoxicillin"); n != 0 {
		t.Errorf("the reason's words are in %d audit rows", n)
	}

	// A drug of no class the patient is allergic to: no warning, and no
	// place for a reason.
	other := apptest.PrescriptionBody(patient)
	other["drug"] = "Chlorhexidine 0.2% mouthwash"
	other["allergy_override"] = "just in case"
	billWant(t, "a reason with nothing to override", a.Do(t, "POST", "/api/v1/prescriptions", dentist, other), http.StatusUnprocessableEntity)
	delete(other, "allergy_override")
	billWant(t, "chlorhexidine", a.Do(t, "POST", "/api/v1/prescriptions", dentist, other), http.StatusCreated)
}
