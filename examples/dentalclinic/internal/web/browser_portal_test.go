package web_test

import (
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// portalRequests: Alex asks Riverside for an appointment on a phone; the
// front desk confirms it from the inbox at tablet width; Alex sees it
// confirmed. Then Alex signs in to Hillcrest too and switches back to
// Riverside without signing out.
func (b *browser) portalRequests(t *testing.T) {
	p := b.tab(t)
	p.viewport(390, 844)
	p.signIn(seed.PortalEmail, true, riverside.Name)
	if got := p.text("#clinic-name"); got != riverside.Name {
		t.Fatalf("portal header names %q, want %q", got, riverside.Name)
	}
	day, _ := tuesdayAt(t, riverside, 50)
	p.open("/portal/request")
	p.set("#date", day)
	p.set("#time", "10:30")
	p.shot("portal-request")
	p.submit("#request-form")
	if got := p.path(); got != "/portal" {
		t.Fatalf("the request led to %s: %s", got, p.text("#form-error"))
	}
	if got := p.text("#portal-requests tbody tr"); !containsAll(got, day+" 10:30", "Waiting for the clinic") {
		t.Errorf("the portal shows the request as %q", got)
	}
	var id tenancy.ID
	b.app.one(t, &id, `select q.id from appointment_requests q join patients p on p.clinic_id = q.clinic_id and p.id = q.patient_id
		where q.clinic_id = $1 and p.given_name = 'Alex' and p.family_name = 'Morgan' and q.status = 'requested' order by q.created_at desc limit 1`, riverside.ID)

	f := b.tab(t)
	f.viewport(820, 1000)
	f.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	f.open("/requests")
	row := `#requests-waiting tr[data-id="` + id.String() + `"]`
	if f.count(row) != 1 || !containsAll(f.text(row), "Alex Morgan", day+" 10:30") {
		t.Fatalf("the inbox does not list the request: %q", f.text("#requests-waiting"))
	}
	f.shot("requests-inbox")
	f.submit(row + ` form[action$="/confirm"]`)
	if got := f.text(".notice"); !containsAll(got, "confirmed") || f.count(row) != 0 {
		t.Errorf("after confirming: notice %q, still waiting %d", got, f.count(row))
	}

	p.open("/portal")
	if got := p.text(`#portal-requests tr[data-request="` + id.String() + `"]`); !containsAll(got, "Confirmed") {
		t.Errorf("the patient sees the request as %q", got)
	}
	if got := p.text("#upcoming"); !containsAll(got, day+" 10:30", "Confirmed") {
		t.Errorf("the confirmed appointment is not among the upcoming: %q", got)
	}

	// A second clinic, and back, without signing out.
	p.signIn(seed.PortalEmail, true, hillcrest.Name)
	if got := p.text("#clinic-name"); got != hillcrest.Name {
		t.Fatalf("after signing in to Hillcrest the header names %q", got)
	}
	if got := p.text("#switch-slot"); got != riverside.Name {
		t.Errorf("the switcher offers %q, want %q alone", got, riverside.Name)
	}
	p.tokenShowsClinic(hillcrest.ID)
	p.shot("portal-switch")
	p.submit("#clinic-switcher")
	if got := p.text("#clinic-name"); got != riverside.Name || p.path() != "/portal" {
		t.Errorf("after switching: %q at %s", got, p.path())
	}
	p.tokenShowsClinic(riverside.ID)
	if got := p.text("#upcoming"); !containsAll(got, day+" 10:30") {
		t.Errorf("Riverside's appointments after switching back: %q", got)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
