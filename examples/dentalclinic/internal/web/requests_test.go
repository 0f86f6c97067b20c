package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// portalAt signs Alex Morgan (enrolled at Riverside and Hillcrest) in to
// the portal of clinic, in client c.
func portalAt(t *testing.T, c *client, clinic seed.Clinic) {
	t.Helper()
	p := c.post("/portal/signin", url.Values{"email": {seed.PortalEmail}, "password": {seed.Password}, "clinic": {clinic.ID.String()}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/portal" {
		t.Fatalf("Alex's portal sign-in at %s: %d %q", clinic.Name, p.status, p.header.Get("Location"))
	}
}

// tuesdayAt is the Tuesday some weeks ahead in clinic's zone, as a date.
func tuesdayAt(t *testing.T, clinic seed.Clinic, weeks int) (string, *time.Location) {
	loc, err := time.LoadLocation(clinic.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 7*weeks)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	return day.Format(time.DateOnly), loc
}

func (a *testApp) requestStatus(t *testing.T, id tenancy.ID) string {
	t.Helper()
	var s string
	a.one(t, &s, `select status from appointment_requests where id = $1`, id)
	return s
}

// TestRequestsInbox: a portal request waits in Riverside's inbox (not
// Hillcrest's), a refused decline changes nothing, the front desk
// confirms it and the patient sees it confirmed; roles that do not book
// have no inbox.
func TestRequestsInbox(t *testing.T) {
	a := startApp(t)
	pc := newClient(t, a.base)
	portalAt(t, pc, riverside)
	day, _ := tuesdayAt(t, riverside, 45)
	home := pc.get("/portal")
	wantRedirect(t, "request", pc.post("/portal/request", url.Values{"csrf_token": {csrf(t, home)}, "date": {day}, "time": {"10:00"},
		"type": {"Check-up"}, "duration": {"30"}}), "/portal?done=requested")
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	var id tenancy.ID
	a.one(t, &id, `select id from appointment_requests where clinic_id = $1 and patient_id = $2 and status = 'requested' order by created_at desc limit 1`, riverside.ID, alex)
	if home := pc.get("/portal"); !strings.Contains(home.body, `id="portal-requests"`) || !strings.Contains(home.body, "Waiting for the clinic") {
		t.Errorf("the portal does not show the waiting request")
	}

	// Hillcrest's front desk: not in its inbox, and its forms are 404s.
	hill := newClient(t, a.base)
	hill.signIn(seed.StaffEmail("frontdesk", hillcrest), false, "/schedule")
	hp := hill.get("/requests")
	if hp.status != 200 || strings.Contains(hp.body, id.String()) {
		t.Errorf("Hillcrest's inbox: %d, lists Riverside's request: %v", hp.status, strings.Contains(hp.body, id.String()))
	}
	for _, action := range []string{"confirm", "decline"} {
		if p := hill.post("/requests/"+id.String()+"/"+action, url.Values{"csrf_token": {csrf(t, hp)}}); p.status != http.StatusNotFound {
			t.Errorf("Hillcrest %ss Riverside's request: %d, want 404", action, p.status)
		}
	}

	fd := newClient(t, a.base)
	fd.signIn(seed.StaffEmail("frontdesk", riverside), false, "/schedule")
	inbox := fd.get("/requests")
	if inbox.status != 200 || !strings.Contains(inbox.body, `data-id="`+id.String()+`"`) || !strings.Contains(inbox.body, "Alex Morgan") {
		t.Fatalf("Riverside's inbox: %d, lists the request: %v", inbox.status, strings.Contains(inbox.body, id.String()))
	}
	tok := csrf(t, inbox)
	wantRefused(t, "a reason too long", fd.post("/requests/"+id.String()+"/decline", url.Values{"csrf_token": {tok}, "reason": {strings.Repeat("x", 501)}}),
		http.StatusUnprocessableEntity, "at most 500")
	if got := a.requestStatus(t, id); got != "requested" {
		t.Errorf("after a refused decline: %s", got)
	}
	if p := fd.post("/requests/"+tenancy.NewID().String()+"/confirm", url.Values{"csrf_token": {tok}}); p.status != http.StatusNotFound {
		t.Errorf("confirm a missing request: %d", p.status)
	}
	wantRedirect(t, "confirm", fd.post("/requests/"+id.String()+"/confirm", url.Values{"csrf_token": {tok}}), "/requests?done=request-confirmed")
	if got := a.requestStatus(t, id); got != "confirmed" {
		t.Errorf("after confirming: %s", got)
	}
	wantRefused(t, "confirm twice", fd.post("/requests/"+id.String()+"/confirm", url.Values{"csrf_token": {tok}}), http.StatusConflict, "confirmed already")
	if home := pc.get("/portal"); !strings.Contains(home.body, "request-confirmed") || !strings.Contains(home.body, day+" 10:00") {
		t.Errorf("the patient does not see the request confirmed")
	}

	// Roles that do not book have no inbox.
	for _, role := range []string{"hygienist"} {
		c := newClient(t, a.base)
		c.signIn(seed.StaffEmail(role, riverside), false, "/schedule")
		if p := c.get("/requests"); p.status != http.StatusForbidden {
			t.Errorf("%s opens the inbox: %d, want 403", role, p.status)
		}
	}
}

// TestPortalCancelMoveForms: the cancel page asks first; a cancellation
// inside the notice, a move to a bad time or to a Sunday, and another
// patient's appointment change nothing; a move waits for the clinic and is
// withdrawn when the appointment is cancelled.
func TestPortalCancelMoveForms(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	pc := newClient(t, a.base)
	portalAt(t, pc, riverside)
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	day, loc := tuesdayAt(t, riverside, 47)
	book := func(patient tenancy.ID, start time.Time) tenancy.ID {
		id := tenancy.NewID()
		if _, err := a.super.Exec(ctx, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type)
			select $1, $2, $3, (select primary_dentist_id from patients where clinic_id = $1 and id = $3),
				(select id from operatories where clinic_id = $1 and not hidden order by name limit 1), $4, $5, 'Check-up'`,
			riverside.ID, id, patient, start, start.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		return id
	}
	status := func(id tenancy.ID) string {
		var s string
		a.one(t, &s, `select status || ' ' || starts_at::text from appointments where id = $1`, id)
		return s
	}
	d, _ := time.ParseInLocation(time.DateOnly, day, loc)
	mine := book(alex, d.Add(9*time.Hour))
	soon := book(alex, time.Now().Add(3*time.Hour).Truncate(time.Minute))
	var other tenancy.ID
	a.one(t, &other, `select id from patients where clinic_id = $1 and id <> $2 and status = 'active' order by id limit 1`, riverside.ID, alex)
	theirs := book(other, d.Add(11*time.Hour))

	home := pc.get("/portal")
	if !strings.Contains(home.body, `/portal/appointments/`+mine.String()+`/cancel"`) || !strings.Contains(home.body, `/portal/appointments/`+mine.String()+`/move"`) {
		t.Errorf("the portal offers no cancel or move for an upcoming appointment")
	}
	tok := csrf(t, home)
	ask := pc.get("/portal/appointments/" + mine.String() + "/cancel")
	if ask.status != 200 || !strings.Contains(ask.body, `id="confirm-cancel"`) {
		t.Errorf("the cancel page: %d", ask.status)
	}
	if status(mine)[:9] != "scheduled" {
		t.Fatalf("opening the cancel page changed the appointment: %s", status(mine))
	}

	// Another patient's appointment exists, and is a 404 on every form.
	before := status(theirs)
	for _, p := range []page{
		pc.get("/portal/appointments/" + theirs.String() + "/cancel"),
		pc.post("/portal/appointments/"+theirs.String()+"/cancel", url.Values{"csrf_token": {tok}}),
		pc.get("/portal/appointments/" + theirs.String() + "/move"),
		pc.post("/portal/appointments/"+theirs.String()+"/move", url.Values{"csrf_token": {tok}, "date": {day}, "time": {"14:00"}}),
		pc.get("/portal/appointments/not-an-id/cancel"),
	} {
		if p.status != http.StatusNotFound {
			t.Errorf("another patient's appointment: %d, want 404", p.status)
		}
	}
	if got := status(theirs); got != before {
		t.Errorf("another patient's appointment changed: %s", got)
	}

	// Inside the notice: refused in words, unchanged.
	before = status(soon)
	wantRefused(t, "cancel inside the notice", pc.post("/portal/appointments/"+soon.String()+"/cancel", url.Values{"csrf_token": {tok}}), http.StatusConflict, "hours before")
	if got := status(soon); got != before {
		t.Errorf("a refused cancel changed the appointment: %s", got)
	}

	// Bad moves change nothing.
	moves := func() int {
		var n int
		a.one(t, &n, `select count(*) from appointment_requests where appointment_id = $1`, mine)
		return n
	}
	sunday := d.AddDate(0, 0, 5).Format(time.DateOnly)
	wantRefused(t, "a move with no date", pc.post("/portal/appointments/"+mine.String()+"/move", url.Values{"csrf_token": {tok}, "date": {"soon"}, "time": {"14:00"}}), http.StatusUnprocessableEntity, "Choose a date")
	wantRefused(t, "a move to a Sunday", pc.post("/portal/appointments/"+mine.String()+"/move", url.Values{"csrf_token": {tok}, "date": {sunday}, "time": {"10:00"}}), http.StatusUnprocessableEntity, "not open")
	if n := moves(); n != 0 {
		t.Errorf("refused moves made %d requests", n)
	}
	before = status(mine)
	wantRedirect(t, "move", pc.post("/portal/appointments/"+mine.String()+"/move", url.Values{"csrf_token": {tok}, "date": {day}, "time": {"14:00"}}), "/portal?done=move-requested")
	if n, got := moves(), status(mine); n != 1 || got != before {
		t.Errorf("after asking to move: %d requests, appointment %s (was %s)", n, got, before)
	}
	if home := pc.get("/portal"); !strings.Contains(home.body, "Move asked for") {
		t.Errorf("the portal does not show the waiting move")
	}

	// Cancel: at once; the waiting move is withdrawn.
	wantRedirect(t, "cancel", pc.post("/portal/appointments/"+mine.String()+"/cancel", url.Values{"csrf_token": {tok}}), "/portal?done=cancelled")
	if got := status(mine); got[:9] != "cancelled" {
		t.Errorf("after cancelling: %s", got)
	}
	var withdrawn int
	a.one(t, &withdrawn, `select count(*) from appointment_requests where appointment_id = $1 and status = 'withdrawn'`, mine)
	if withdrawn != 1 {
		t.Errorf("the move request was not withdrawn")
	}
}

// TestCancelNoticeSetting: the settings page shows the clinic's
// cancellation notice; a notice that is not a number of hours, or too
// long, is refused in words and changes nothing.
func TestCancelNoticeSetting(t *testing.T) {
	a := startApp(t)
	o := newClient(t, a.base)
	o.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	page := o.get("/settings")
	if !strings.Contains(page.body, `id="cancel_notice_hours"`) || !strings.Contains(page.body, `value="24"`) {
		t.Fatalf("the settings page does not show the notice (24 hours by default)")
	}
	var before string
	a.one(t, &before, `select coalesce((select to_jsonb(s)::text from clinic_settings s where clinic_id = $1), '')`, lakeside.ID)
	for _, bad := range []struct{ value, words string }{{"a day", "whole number of hours"}, {"999", "0 to 336 hours"}, {"-1", "0 to 336 hours"}} {
		wantRefused(t, "notice "+bad.value, o.post("/settings", url.Values{"csrf_token": {csrf(t, page)}, "time_zone": {lakeside.TimeZone},
			"currency": {lakeside.Currency}, "cancel_notice_hours": {bad.value}}), http.StatusUnprocessableEntity, bad.words)
	}
	var after string
	a.one(t, &after, `select coalesce((select to_jsonb(s)::text from clinic_settings s where clinic_id = $1), '')`, lakeside.ID)
	if after != before {
		t.Errorf("refused notices changed the settings:\n%s\n%s", before, after)
	}
}
