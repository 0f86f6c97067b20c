package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestPrescribeFormAllergyWarning: the chart's prescribing form refuses
// amoxicillin for a patient recorded as allergic to penicillin, in words
// that name the class, and then asks for the reason; with one it saves,
// and the chart marks the prescription as an override.
func TestPrescribeFormAllergyWarning(t *testing.T) {
	a := startApp(t)
	var patient tenancy.ID
	a.one(t, &patient, `select id from patients where clinic_id = $1 and status = 'active' and 'Penicillin' = any(allergies) order by id limit 1`, riverside.ID)
	var before int
	a.one(t, &before, `select count(*) from prescriptions where patient_id = $1`, patient)

	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("dentist", riverside), false, "/schedule")
	chart := c.get("/patients/" + patient.String())
	if chart.status != 200 || !strings.Contains(chart.body, "Penicillin") || strings.Contains(chart.body, `name="allergy_override"`) {
		t.Fatalf("the chart: %d, allergy shown %v, reason asked before any warning %v", chart.status,
			strings.Contains(chart.body, "Penicillin"), strings.Contains(chart.body, `name="allergy_override"`))
	}
	form := url.Values{"csrf_token": {csrf(t, chart)}, "drug": {"Amoxicillin"}, "strength": {"500 mg"}, "form": {"capsule"},
		"directions": {"One capsule three times a day."}, "quantity": {"21"}, "refills": {"0"}}
	p := c.post("/patients/"+patient.String()+"/prescriptions", form)
	wantRefused(t, "amoxicillin", p, 409, "allergy to penicillins")
	if !strings.Contains(p.body, `name="allergy_override"`) || strings.Contains(formError(p), "allergy_override") {
		t.Errorf("the refusal asks for a reason: %v; its words name no API field: %q", strings.Contains(p.body, `name="allergy_override"`), formError(p))
	}
	var n int
	if a.one(t, &n, `select count(*) from prescriptions where patient_id = $1`, patient); n != before {
		t.Fatalf("the refused prescription was written: %d, want %d", n, before)
	}

	form.Set("allergy_override", "Tolerated amoxicillin before; the rash was in childhood.")
	wantRedirect(t, "with a reason", c.post("/patients/"+patient.String()+"/prescriptions", form), "/patients/"+patient.String())
	if chart := c.get("/patients/" + patient.String()); !strings.Contains(chart.body, "Allergy overridden") {
		t.Error("the chart does not mark the overridden prescription")
	}
}
