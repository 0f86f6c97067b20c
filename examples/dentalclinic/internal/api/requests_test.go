package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

type requestJSON struct {
	ID            tenancy.ID  `json:"id"`
	ClinicID      tenancy.ID  `json:"clinic_id"`
	PatientID     tenancy.ID  `json:"patient_id"`
	Kind          string      `json:"kind"`
	AppointmentID *tenancy.ID `json:"appointment_id"`
	DentistID     tenancy.ID  `json:"dentist_id"`
	LocalStart    string      `json:"local_start"`
	Status        string      `json:"status"`
	Reason        string      `json:"reason"`
}

// wantCode checks a problem's status and code.
func wantCode(t *testing.T, what string, r apptest.Response, status int, code string) {
	t.Helper()
	var p struct{ Code string }
	r.JSON(t, &p)
	if r.Status != status || !r.IsProblem() || p.Code != code {
		t.Errorf("%s: %d %s, want %d %q", what, r.Status, r.Body, status, code)
	}
}

// portalSession enrols a new patient of Riverside (primary dentist: the
// seed's dentist) and signs them in.
func portalSession(t *testing.T, a *apptest.App, given string) (portalFixture, string) {
	t.Helper()
	f := newPortalPatient(t, a, given)
	email := given + "." + tenancy.NewID().String()[24:] + "@example.org"
	if r := a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": f.code, "email": email, "password": seed.Password}); r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	return f, a.SignInPortal(t, email, seed.Password, riverside.ID)
}

// tuesday returns a function giving wall-clock times, in Riverside's zone,
// on the Tuesday some weeks ahead.
func tuesday(t *testing.T, weeks int) func(hh, mm int) time.Time {
	loc, err := time.LoadLocation(riverside.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 7*weeks)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	return func(hh, mm int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc) }
}

// TestRequestLifecycle: a portal request waits, holding no slot, until
// the front desk confirms it (which books it, confirmed, and then blocks
// the slot) or declines it (with a reason the patient reads, blocking
// nothing). Confirming re-checks the dentist and the chairs, and a refused
// confirmation changes nothing. Another clinic's staff and another patient
// get 404.
func TestRequestLifecycle(t *testing.T) {
	a := startApp(t)
	f, tok := portalSession(t, a, "Lifecycle")
	at := tuesday(t, 37)
	dentist := a.SuperStrings(t, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))[0]
	chairs := a.SuperStrings(t, `select id from operatories where clinic_id = $1 and not hidden order by name, id`, riverside.ID)
	others := a.SuperStrings(t, `select id from patients where clinic_id = $1 and id <> $2 and status = 'active' order by id limit $3`, riverside.ID, f.patient, len(chairs)+2)
	request := func(start time.Time) apptest.Response {
		return a.Do(t, "POST", "/api/v1/portal/appointment-requests", tok,
			map[string]any{"starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Check-up"})
	}
	asked := func(start time.Time) requestJSON {
		t.Helper()
		r := request(start)
		var q requestJSON
		r.JSON(t, &q)
		if r.Status != http.StatusCreated || q.Status != "requested" || q.Kind != "new" || q.PatientID != f.patient ||
			q.DentistID.String() != dentist || q.LocalStart != start.Format("2006-01-02T15:04:05") ||
			r.Header.Get("Location") != "/api/v1/portal/appointment-requests/"+q.ID.String() {
			t.Fatalf("request at %v: %d %s", start, r.Status, r.Body)
		}
		return q
	}
	staffBook := func(patient string, chair string, start time.Time) apptest.Response {
		return a.Do(t, "POST", "/api/v1/appointments", f.desk, map[string]any{"patient_id": patient, "dentist_id": dentist,
			"operatory_id": chair, "starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Filling"})
	}
	mine := func() int {
		return a.SuperCount(t, `select count(*) from appointments where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)
	}
	state := func(id tenancy.ID) requestJSON {
		t.Helper()
		var q requestJSON
		r := a.Do(t, "GET", "/api/v1/portal/appointment-requests/"+id.String(), tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET own request: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &q)
		return q
	}
	confirm := func(id tenancy.ID) apptest.Response {
		return a.Do(t, "POST", "/api/v1/appointment-requests/"+id.String()+"/confirm", f.desk, nil)
	}

	// A request books nothing, and the dentist's slot stays free: the
	// front desk books another patient with the same dentist then.
	q1 := asked(at(9, 0))
	if n := mine(); n != 0 {
		t.Fatalf("a request booked %d appointments, want 0", n)
	}
	if r := staffBook(others[0], chairs[0], at(9, 0)); r.Status != http.StatusCreated {
		t.Fatalf("a waiting request blocked the dentist's slot: %d %s", r.Status, r.Body)
	}
	// The same patient at an overlapping time: their own waiting request.
	wantCode(t, "overlapping request", request(at(9, 15)), http.StatusConflict, "patient_busy")
	// Confirming re-checks the dentist: refused, nothing changed.
	wantCode(t, "confirm with the dentist busy", confirm(q1.ID), http.StatusConflict, "dentist_busy")
	if got := state(q1.ID); got.Status != "requested" || mine() != 0 {
		t.Errorf("after a refused confirmation: %+v, %d appointments", got, mine())
	}

	// Every chair busy at 11:00 (with another dentist): no_free_chair.
	owner := a.SuperStrings(t, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("owner", riverside))[0]
	for i, chair := range chairs {
		a.SuperExec(t, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type)
			values ($1, $2, $3, $4, $5, $6, $7, 'Filler')`, riverside.ID, tenancy.NewID(), others[i+1], owner, chair, at(11, 0), at(11, 30))
	}
	q2 := asked(at(11, 0))
	wantCode(t, "confirm with every chair busy", confirm(q2.ID), http.StatusConflict, "no_free_chair")

	// Declined, with a reason the patient reads; decided once.
	r := a.Do(t, "POST", "/api/v1/appointment-requests/"+q2.ID.String()+"/decline", f.desk, map[string]any{"reason": "Fully booked that morning."})
	if r.Status != http.StatusOK {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	if got := state(q2.ID); got.Status != "declined" || got.Reason != "Fully booked that morning." {
		t.Errorf("the patient sees %+v, want declined with the reason", got)
	}
	wantCode(t, "decline twice", a.Do(t, "POST", "/api/v1/appointment-requests/"+q2.ID.String()+"/decline", f.desk, map[string]any{}), http.StatusConflict, "request_decided")
	wantCode(t, "confirm a declined one", confirm(q2.ID), http.StatusConflict, "request_decided")
	wantCode(t, "a reason too long", a.Do(t, "POST", "/api/v1/appointment-requests/"+q1.ID.String()+"/decline", f.desk,
		map[string]any{"reason": string(make([]byte, 501))}), http.StatusUnprocessableEntity, "invalid")
	if got := state(q1.ID); got.Status != "requested" {
		t.Errorf("a refused decline changed the request: %+v", got)
	}

	// A declined request blocks nothing either.
	q3 := asked(at(15, 0))
	if r := a.Do(t, "POST", "/api/v1/appointment-requests/"+q3.ID.String()+"/decline", f.desk, map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("decline without a reason: %d %s", r.Status, r.Body)
	}
	if r := staffBook(others[len(others)-1], chairs[0], at(15, 0)); r.Status != http.StatusCreated {
		t.Errorf("a declined request blocked the slot: %d %s", r.Status, r.Body)
	}

	// Confirming re-checks the opening hours: a request whose time the
	// clinic is closed by now (moved, as the superuser, to a Sunday).
	q5 := asked(at(16, 0))
	sunday := at(16, 0).AddDate(0, 0, 5)
	a.SuperExec(t, `update appointment_requests set starts_at = $2, ends_at = $3 where id = $1`, q5.ID, sunday, sunday.Add(30*time.Minute))
	wantCode(t, "confirm when the clinic is closed", confirm(q5.ID), http.StatusConflict, "outside_opening_hours")
	if got := state(q5.ID); got.Status != "requested" {
		t.Errorf("after a refused confirmation: %+v", got)
	}

	// Another clinic's staff, and another patient: the same 404 as a missing request.
	hill := a.NewStaff(t, hillcrest, "front_desk").Token
	_, other := portalSession(t, a, "Otherpatient")
	for _, c := range []struct {
		name, method, path, token string
	}{
		{"Hillcrest reads", "GET", "/api/v1/appointment-requests/" + q1.ID.String(), hill},
		{"Hillcrest confirms", "POST", "/api/v1/appointment-requests/" + q1.ID.String() + "/confirm", hill},
		{"Hillcrest declines", "POST", "/api/v1/appointment-requests/" + q1.ID.String() + "/decline", hill},
		{"another patient reads", "GET", "/api/v1/portal/appointment-requests/" + q1.ID.String(), other},
		{"a missing request", "GET", "/api/v1/appointment-requests/" + tenancy.NewID().String(), f.desk},
	} {
		var body any
		if c.method == "POST" && c.path[len(c.path)-7:] == "decline" {
			body = map[string]any{}
		}
		wantCode(t, c.name, a.Do(t, c.method, c.path, c.token, body), http.StatusNotFound, "not_found")
	}
	if got := state(q1.ID); got.Status != "requested" {
		t.Errorf("another clinic changed the request: %+v", got)
	}

	// Confirmed: booked, confirmed, with the primary dentist; then it
	// blocks the dentist's slot.
	q4 := asked(at(14, 0))
	r = confirm(q4.ID)
	var done requestJSON
	r.JSON(t, &done)
	if r.Status != http.StatusOK || done.Status != "confirmed" || done.AppointmentID == nil {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if n := a.SuperCount(t, `select count(*) from appointments where clinic_id = $1 and id = $2 and patient_id = $3 and dentist_id = $4
		and status = 'confirmed' and starts_at = $5`, riverside.ID, *done.AppointmentID, f.patient, dentist, at(14, 0)); n != 1 {
		t.Errorf("the confirmed request's appointment: %d rows, want 1", n)
	}
	wantCode(t, "confirm twice", confirm(q4.ID), http.StatusConflict, "request_decided")
	wantCode(t, "book over a confirmed request", staffBook(others[0], chairs[len(chairs)-1], at(14, 0)), http.StatusConflict, "dentist_busy")
	if got := state(q4.ID); got.Status != "confirmed" || *got.AppointmentID != *done.AppointmentID {
		t.Errorf("the patient sees %+v", got)
	}
	found := false
	for _, it := range portalList(t, a, tok, "appointments") {
		found = found || it.ID == *done.AppointmentID
	}
	if !found {
		t.Errorf("the confirmed appointment is not in the portal list")
	}
	// The inbox lists the waiting one, not the decided ones.
	var inbox struct{ Items []requestJSON }
	a.Do(t, "GET", "/api/v1/appointment-requests?status=requested&limit=200", f.desk, nil).JSON(t, &inbox)
	waiting := map[tenancy.ID]bool{}
	for _, q := range inbox.Items {
		waiting[q.ID] = true
	}
	if !waiting[q1.ID] || waiting[q2.ID] || waiting[q4.ID] {
		t.Errorf("the inbox of waiting requests: %v", waiting)
	}
	wantCode(t, "a bad status filter", a.Do(t, "GET", "/api/v1/appointment-requests?status=maybe", f.desk, nil), http.StatusUnprocessableEntity, "invalid")
	// Audited, by id only.
	for action, id := range map[string]tenancy.ID{"appointment_request.confirm": q4.ID, "appointment_request.decline": q2.ID, "appointment_request.create": q1.ID} {
		if n := a.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and action = $2 and resource_id = $3`, riverside.ID, action, id.String()); n != 1 {
			t.Errorf("%s of %v: %d audit events, want 1", action, id, n)
		}
	}
}

// TestPortalCancelAndMove: a patient cancels their own appointment at once
// outside the clinic's notice, not inside it; asks to move one (a request
// that waits for the front desk, one at a time); and another patient's
// appointment at the same clinic is the same 404 as a missing one.
func TestPortalCancelAndMove(t *testing.T) {
	a := startApp(t)
	f, tok := portalSession(t, a, "Canceller")
	at := tuesday(t, 41)
	dentist := a.SuperStrings(t, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))[0]
	chair := a.SuperStrings(t, `select id from operatories where clinic_id = $1 and not hidden order by name, id limit 1`, riverside.ID)[0]
	book := func(patient tenancy.ID, start time.Time) tenancy.ID {
		id := tenancy.NewID()
		a.SuperExec(t, `insert into appointments (clinic_id, id, patient_id, dentist_id, operatory_id, starts_at, ends_at, type)
			values ($1, $2, $3, $4, $5, $6, $7, 'Check-up')`, riverside.ID, id, patient, dentist, chair, start, start.Add(30*time.Minute))
		return id
	}
	status := func(id tenancy.ID) string {
		return a.SuperStrings(t, `select status || ' ' || to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') from appointments where clinic_id = $1 and id = $2`, riverside.ID, id)[0]
	}
	far := book(f.patient, at(10, 0))
	soon := book(f.patient, time.Now().Add(3*time.Hour).Truncate(time.Minute))
	otherPatient := newPortalPatient(t, a, "Bystander").patient
	theirs := book(otherPatient, at(12, 0))
	cancel := func(id tenancy.ID) apptest.Response {
		return a.Do(t, "POST", "/api/v1/portal/appointments/"+id.String()+"/cancel", tok, nil)
	}
	move := func(id tenancy.ID, start time.Time) apptest.Response {
		return a.Do(t, "POST", "/api/v1/portal/appointments/"+id.String()+"/move-request", tok, map[string]any{"starts_at": start.Format(time.RFC3339)})
	}

	// Another patient's appointment exists, and is the same 404 as a missing one.
	before := status(theirs)
	wantCode(t, "cancel another patient's", cancel(theirs), http.StatusNotFound, "not_found")
	wantCode(t, "move another patient's", move(theirs, at(13, 0)), http.StatusNotFound, "not_found")
	wantCode(t, "cancel a missing one", cancel(tenancy.NewID()), http.StatusNotFound, "not_found")
	if got := status(theirs); got != before {
		t.Errorf("another patient's appointment changed: %s, was %s", got, before)
	}

	// Inside the notice (24 hours by default): refused, unchanged.
	before = status(soon)
	wantCode(t, "cancel inside the notice", cancel(soon), http.StatusConflict, "too_late")
	wantCode(t, "move inside the notice", move(soon, at(13, 0)), http.StatusConflict, "too_late")
	if got := status(soon); got != before {
		t.Errorf("a refused cancel changed the appointment: %s", got)
	}

	// A move: bad times refused, then a request that waits; one at a time.
	before = status(far)
	wantCode(t, "move outside the hours", move(far, at(22, 0)), http.StatusUnprocessableEntity, "outside_opening_hours")
	wantCode(t, "move with no time", a.Do(t, "POST", "/api/v1/portal/appointments/"+far.String()+"/move-request", tok, map[string]any{}), http.StatusUnprocessableEntity, "invalid")
	r := move(far, at(13, 0))
	var q requestJSON
	r.JSON(t, &q)
	if r.Status != http.StatusCreated || q.Kind != "move" || q.Status != "requested" || q.AppointmentID == nil || *q.AppointmentID != far {
		t.Fatalf("move request: %d %s", r.Status, r.Body)
	}
	wantCode(t, "a second move request", move(far, at(14, 0)), http.StatusConflict, "move_pending")
	if got := status(far); got != before {
		t.Errorf("a move request moved the appointment before the clinic confirmed: %s", got)
	}
	if r := a.Do(t, "POST", "/api/v1/appointment-requests/"+q.ID.String()+"/confirm", f.desk, nil); r.Status != http.StatusOK {
		t.Fatalf("confirm the move: %d %s", r.Status, r.Body)
	}
	if got, want := status(far), "confirmed "+at(13, 0).UTC().Format("2006-01-02 15:04"); got != want {
		t.Errorf("after the move: %s, want %s", got, want)
	}

	// Cancel outside the notice: at once, audited; then final.
	if r := cancel(far); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if got := status(far); got[:9] != "cancelled" {
		t.Errorf("after cancelling: %s", got)
	}
	wantCode(t, "cancel twice", cancel(far), http.StatusConflict, "not_changeable")
	if n := a.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and action = 'appointment.cancel' and resource_id = $2`, riverside.ID, far.String()); n != 1 {
		t.Errorf("cancel audit events: %d, want 1", n)
	}

	// The clinic's notice is its setting: out of range refused, 0 lets the
	// patient cancel the appointment in three hours.
	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), riverside.ID)
	wantCode(t, "a notice too long", a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{"cancel_notice_hours": 999}), http.StatusUnprocessableEntity, "invalid")
	if r := a.Do(t, "PUT", "/api/v1/settings", owner, map[string]any{"cancel_notice_hours": 0}); r.Status != http.StatusOK {
		t.Fatalf("set the notice: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() {
		a.SuperExec(t, `update clinic_settings set cancel_notice_hours = 24 where clinic_id = $1`, riverside.ID)
	})
	if r := cancel(soon); r.Status != http.StatusOK {
		t.Errorf("cancel with no notice required: %d %s", r.Status, r.Body)
	}
}
