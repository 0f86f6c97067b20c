package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// The fixtures the cross-cutting tests make through the API: a schedule
// corner of a test's own (schedFix), invoices, prescriptions, a patient
// invited to the portal.

// schedFix is one test's corner of a clinic: a chair, a dentist, a day
// decades ahead, so that nothing it books collides with another test's
// bookings in the shared app.
type schedFix struct {
	a       *apptest.App
	c       seed.Clinic
	loc     *time.Location
	owner   string // an owner account's token
	front   string // a front desk account's token
	dentist tenancy.ID
	chair   tenancy.ID
	day     time.Time // local midnight of the test's day
}

func newSchedFix(t *testing.T, c seed.Clinic) *schedFix {
	t.Helper()
	a := startApp(t)
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	f := &schedFix{a: a, c: c, loc: loc, owner: a.NewStaff(t, c, "owner").Token}
	f.front = a.NewStaff(t, c, "front_desk").Token
	f.dentist = a.NewStaff(t, c, "dentist").ID
	f.chair = f.newChair(t)
	f.day = weekday(time.Date(2040+rand.IntN(60), 1, 1+rand.IntN(360), 0, 0, 0, 0, loc))
	return f
}

// newChair makes a chair of the test's own.
func (f *schedFix) newChair(t *testing.T) tenancy.ID {
	t.Helper()
	r := f.a.Do(t, "POST", "/api/v1/operatories", f.owner, map[string]any{"name": "Test chair " + tenancy.NewID().String()[19:]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create chair: %d %s", r.Status, r.Body)
	}
	var o store.Operatory
	r.JSON(t, &o)
	return o.ID
}

// patient makes a patient of the test's own.
func (f *schedFix) patient(t *testing.T) tenancy.ID {
	t.Helper()
	r := f.a.Do(t, "POST", "/api/v1/patients", f.front, map[string]any{"given_name": "Sched", "family_name": "Test " + tenancy.NewID().String()[24:]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.Status, r.Body)
	}
	var p patientJSON
	r.JSON(t, &p)
	return p.ID
}

// weekday is d, or the Monday after it when d is a Saturday or Sunday:
// the demo clinics open on weekdays (08:30 to 17:30), and staff bookings
// outside those hours are refused.
func weekday(d time.Time) time.Time {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// at is the test's day at a local wall-clock time.
func (f *schedFix) at(h, m int) time.Time {
	return time.Date(f.day.Year(), f.day.Month(), f.day.Day(), h, m, 0, 0, f.loc)
}

// booking is a request body for the fixture's dentist and chair.
func (f *schedFix) booking(patient tenancy.ID, start time.Time, minutes int) map[string]any {
	return map[string]any{
		"patient_id": patient, "dentist_id": f.dentist, "operatory_id": f.chair,
		"starts_at": start.Format(time.RFC3339), "duration_min": minutes, "type": "Check-up",
	}
}

// mustBook posts a booking that must succeed.
func (f *schedFix) mustBook(t *testing.T, body map[string]any) store.Appointment {
	t.Helper()
	r := f.a.Do(t, "POST", "/api/v1/appointments", f.front, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("book %v: %d %s", body, r.Status, r.Body)
	}
	schedCheckClinic(t, r.Body, f.c.ID)
	var ap store.Appointment
	r.JSON(t, &ap)
	return ap
}

// schedCheckClinic fails the test for any record in a JSON body (an object
// with an "id") whose clinic_id is not want.
func schedCheckClinic(t *testing.T, body []byte, want tenancy.ID) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["id"]; ok {
				if got := x["clinic_id"]; got != want.String() {
					t.Errorf("LEAK or missing clinic_id: record %v has clinic_id %v, want %v", x["id"], got, want)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// billCreate creates an invoice and fails the test unless it is created;
// it returns the invoice's id.
func billCreate(t *testing.T, a *apptest.App, token string, patient tenancy.ID, lines ...map[string]any) tenancy.ID {
	t.Helper()
	r := a.Do(t, "POST", "/api/v1/invoices", token, map[string]any{"patient_id": patient, "lines": lines})
	if r.Status != http.StatusCreated {
		t.Fatalf("create invoice: %d %s", r.Status, r.Body)
	}
	var inv struct {
		ID tenancy.ID `json:"id"`
	}
	r.JSON(t, &inv)
	return inv.ID
}

// portalFixture is a Riverside patient of a test's own with a portal
// invite code.
type portalFixture struct {
	patient tenancy.ID
	code    string
	desk    string // the front desk's token
}

func newPortalPatient(t *testing.T, a *apptest.App, given string) portalFixture {
	t.Helper()
	desk := a.NewStaff(t, riverside, "front_desk").Token
	dentist := a.SuperStrings(t, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))
	var p patientJSON
	r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": given, "family_name": "Portaltest", "primary_dentist_id": dentist[0]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &p)
	r = a.Do(t, "POST", "/api/v1/patients/"+p.ID.String()+"/portal-invite", desk, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("portal invite: %d %s", r.Status, r.Body)
	}
	var inv struct {
		Code      string    `json:"code"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r.JSON(t, &inv)
	if d := time.Until(inv.ExpiresAt); d < 7*24*time.Hour-time.Hour || d > 7*24*time.Hour+time.Hour {
		t.Errorf("invite expires in %v, want 7 days", d)
	}
	return portalFixture{patient: p.ID, code: inv.Code, desk: desk}
}
