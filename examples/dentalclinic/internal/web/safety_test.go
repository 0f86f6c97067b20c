package web_test

import (
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// TestSafetyWhereTreatmentHappens: a patient recorded as allergic to
// penicillin has the allergy on their appointment's page and, as an icon
// with the words for screen readers, on the schedule's tile; a patient
// with nothing recorded has no icon.
func TestSafetyWhereTreatmentHappens(t *testing.T) {
	a := startApp(t)
	var appt tenancy.ID
	var day string
	a.one(t, &appt, `select a.id from appointments a join patients p on p.clinic_id = a.clinic_id and p.id = a.patient_id
		where a.clinic_id = $1 and 'Penicillin' = any(p.allergies) and a.status not in ('cancelled', 'no_show') order by a.starts_at, a.id limit 1`, riverside.ID)
	a.one(t, &day, `select to_char(a.starts_at at time zone c.time_zone, 'YYYY-MM-DD') from appointments a join clinics c on c.id = a.clinic_id where a.id = $1`, appt)
	var plain int
	a.one(t, &plain, `select count(*) from appointments a join patients p on p.clinic_id = a.clinic_id and p.id = a.patient_id
		join clinics c on c.id = a.clinic_id
		where a.clinic_id = $1 and cardinality(p.allergies) = 0 and cardinality(p.medical_alerts) = 0
		and to_char(a.starts_at at time zone c.time_zone, 'YYYY-MM-DD') = $2 and a.status not in ('cancelled', 'no_show')`, riverside.ID, day)

	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("dentist", riverside), false, "/schedule")
	p := c.get("/appointments/" + appt.String())
	if p.status != 200 || !strings.Contains(p.body, `id="appointment-allergies"><span class="flag">⚠ Penicillin</span>`) {
		t.Errorf("the appointment page: %d, allergy shown: %v", p.status, strings.Contains(p.body, "⚠ Penicillin"))
	}
	s := c.get("/schedule?who=all&date=" + day)
	if s.status != 200 || !strings.Contains(s.body, `<span class="visually-hidden">`) || !strings.Contains(s.body, "Allergies: Penicillin") {
		t.Errorf("the schedule of %s: %d, the allergy in words on a tile: %v", day, s.status, strings.Contains(s.body, "Allergies: Penicillin"))
	}
	tiles := strings.Count(s.body, `class="appt `)
	icons := strings.Count(s.body, `class="safety"`)
	if plain > 0 && icons >= tiles {
		t.Errorf("%d icons on %d tiles, though %d of the day's patients have nothing recorded", icons, tiles, plain)
	}
}
