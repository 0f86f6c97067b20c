package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// auditCount counts the clinic's audit events of action on an appointment.
func auditCount(t *testing.T, f *schedFix, action string, id tenancy.ID) int {
	t.Helper()
	return f.a.SuperCount(t, `select count(*) from audit.events where tenant_id = $1 and action = $2 and resource_id = $3`,
		f.c.ID, action, id.String())
}

// auditHas counts the clinic's audit rows holding words anywhere.
func auditHas(t *testing.T, f *schedFix, words string) int {
	t.Helper()
	return f.a.SuperCount(t, `select count(*) from audit.events e where tenant_id = $1 and strpos(row_to_json(e)::text, $2) > 0`, f.c.ID, words)
}

// TestBookingOutsideOpeningHours: the front desk's booking at 21:00 on a
// weekday, on a Sunday, or on a closure day is refused (409
// "outside_opening_hours", nothing written) until it carries a reason; the
// reason is kept with the appointment and the override audited without
// its words. A blank reason, and a reason for a time within the hours,
// are refused. A move is held to the same rule, and a move back within
// the hours drops the reason.
func TestBookingOutsideOpeningHours(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	sunday := f.day.AddDate(0, 0, (7-int(f.day.Weekday()))%7)
	closure := weekday(sunday.AddDate(0, 0, 1))
	var orig store.Settings
	a.Do(t, "GET", "/api/v1/settings", f.owner, nil).JSON(t, &orig)
	closures := append([]store.Closure{}, orig.Closures...)
	closures = append(closures, store.Closure{Date: store.DateOf(closure), Reason: "Staff training"})
	schedWant(t, "add a closure", a.Do(t, "PUT", "/api/v1/settings", f.owner, map[string]any{"closures": closures}), 200, "")
	t.Cleanup(func() { a.Do(t, "PUT", "/api/v1/settings", f.owner, map[string]any{"closures": orig.Closures}) })

	for name, start := range map[string]time.Time{
		"21:00 on a weekday":      f.at(21, 0),
		"17:15 to 17:45":          f.at(17, 15),
		"Sunday morning":          time.Date(sunday.Year(), sunday.Month(), sunday.Day(), 10, 0, 0, 0, f.loc),
		"on a closure day, 10:00": time.Date(closure.Year(), closure.Month(), closure.Day(), 10, 0, 0, 0, f.loc),
	} {
		r := f.book(t, f.front, f.booking(f.patient(t), start, 30))
		schedWant(t, name, r, http.StatusConflict, "outside_opening_hours")
	}
	if n := f.chairCount(t, f.chair); n != 0 {
		t.Fatalf("refused bookings wrote %d appointments", n)
	}

	body := f.booking(f.patient(t), f.at(21, 0), 30)
	body["hours_override"] = "   "
	schedWant(t, "a blank reason", f.book(t, f.front, body), http.StatusUnprocessableEntity, "invalid")
	inHours := f.booking(f.patient(t), f.at(10, 0), 30)
	inHours["hours_override"] = "No reason needed"
	schedWant(t, "a reason within the hours", f.book(t, f.front, inHours), http.StatusUnprocessableEntity, "invalid")
	if n := f.chairCount(t, f.chair); n != 0 {
		t.Fatalf("refused bookings wrote %d appointments", n)
	}

	const reason = "Emergency: swelling after an extraction elsewhere; Dr agreed to stay late."
	body["hours_override"] = reason
	ap := f.mustBook(t, body)
	if ap.HoursOverride == nil || *ap.HoursOverride != reason || ap.LocalStart[11:16] != "21:00" {
		t.Errorf("the booking's override: %v at %s, want the reason at 21:00", ap.HoursOverride, ap.LocalStart)
	}
	if n := auditCount(t, f, "appointment.hours_override", ap.ID); n != 1 {
		t.Errorf("%d audit events of the override, want 1", n)
	}
	if n := auditHas(t, f, "swelling after an extraction"); n != 0 {
		t.Errorf("the reason's words are in %d audit rows", n)
	}

	// Moves.
	p := "/api/v1/appointments/"
	day := f.mustBook(t, f.booking(f.patient(t), f.at(10, 0), 30))
	late := map[string]any{"starts_at": f.at(20, 0).Format(time.RFC3339)}
	schedWant(t, "move to 20:00", a.Do(t, "PATCH", p+day.ID.String(), f.front, late), http.StatusConflict, "outside_opening_hours")
	var got store.Appointment
	a.Do(t, "GET", p+day.ID.String(), f.front, nil).JSON(t, &got)
	if got.LocalStart != day.LocalStart || !got.UpdatedAt.Equal(day.UpdatedAt) || auditCount(t, f, "appointment.hours_override", day.ID) != 0 {
		t.Errorf("the refused move changed the appointment: %+v", got)
	}
	late["hours_override"] = "The patient can only come after work."
	r := a.Do(t, "PATCH", p+day.ID.String(), f.front, late)
	schedWant(t, "move to 20:00 with a reason", r, 200, "")
	r.JSON(t, &got)
	if got.HoursOverride == nil || got.LocalStart[11:16] != "20:00" || auditCount(t, f, "appointment.hours_override", day.ID) != 1 {
		t.Errorf("the overridden move: %+v", got)
	}
	// Another chair at the same time needs no new reason ...
	r = a.Do(t, "PATCH", p+day.ID.String(), f.front, map[string]any{"operatory_id": f.newChair(t)})
	schedWant(t, "change the chair only", r, 200, "")
	r.JSON(t, &got)
	if got.HoursOverride == nil {
		t.Error("changing the chair dropped the reason of a time it still needs")
	}
	// ... and a reason without a new time is refused.
	schedWant(t, "a reason without a time", a.Do(t, "PATCH", p+day.ID.String(), f.front, map[string]any{"hours_override": "x"}),
		http.StatusUnprocessableEntity, "invalid")
	r = a.Do(t, "PATCH", p+day.ID.String(), f.front, map[string]any{"starts_at": f.at(11, 0).Format(time.RFC3339)})
	schedWant(t, "move back within the hours", r, 200, "")
	r.JSON(t, &got)
	if got.HoursOverride != nil {
		t.Errorf("a time within the hours kept the reason %q", *got.HoursOverride)
	}
}

// TestStatusBeforeTheDay: arrived and no-show are refused a week before
// the appointment (409 "before_appointment_day", nothing changed); on the
// day, and after it, they are allowed; confirming and cancelling ahead are
// allowed.
func TestStatusBeforeTheDay(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	p := "/api/v1/appointments/"
	ahead := f.mustBook(t, f.booking(f.patient(t), f.at(9, 0), 30))
	for _, st := range []string{"arrived", "no_show"} {
		schedWant(t, st+" ahead", a.Do(t, "PATCH", p+ahead.ID.String(), f.front, map[string]any{"status": st}),
			http.StatusConflict, "before_appointment_day")
	}
	var got store.Appointment
	a.Do(t, "GET", p+ahead.ID.String(), f.front, nil).JSON(t, &got)
	if got.Status != ahead.Status || !got.UpdatedAt.Equal(ahead.UpdatedAt) {
		t.Errorf("refused status changes changed the appointment: %s", got.Status)
	}
	schedWant(t, "confirm ahead", a.Do(t, "PATCH", p+ahead.ID.String(), f.front, map[string]any{"status": "confirmed"}), 200, "")

	// Today, at any hour of the clinic's day.
	now := time.Now().In(f.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 17, 0, 0, 0, f.loc)
	body := f.booking(f.patient(t), today, 30)
	if !demoOpen(f.loc, today, 30) {
		body["hours_override"] = "The test books today, whatever the day."
	}
	ap := f.mustBook(t, body)
	schedWant(t, "arrived today", a.Do(t, "PATCH", p+ap.ID.String(), f.front, map[string]any{"status": "arrived"}), 200, "")
	schedWant(t, "completed today", a.Do(t, "PATCH", p+ap.ID.String(), f.front, map[string]any{"status": "completed"}), 200, "")
	past := f.mustBook(t, f.booking(f.patient(t), f.then(9, 0), 30))
	schedWant(t, "no-show after the day", a.Do(t, "PATCH", p+past.ID.String(), f.front, map[string]any{"status": "no_show"}), 200, "")
}

// TestCancelReason: a cancellation's reason is kept with the appointment
// (and not in the audit log); a reason goes only with cancelling, is not
// blank, and cannot change once cancelled.
func TestCancelReason(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	p := "/api/v1/appointments/"
	ap := f.mustBook(t, f.booking(f.patient(t), f.at(9, 0), 30))
	id := p + ap.ID.String()
	schedWant(t, "a reason without cancelling", a.Do(t, "PATCH", id, f.front, map[string]any{"cancel_reason": "Unwell"}), 422, "invalid")
	schedWant(t, "a reason with confirming", a.Do(t, "PATCH", id, f.front, map[string]any{"status": "confirmed", "cancel_reason": "Unwell"}), 422, "invalid")
	schedWant(t, "a blank reason", a.Do(t, "PATCH", id, f.front, map[string]any{"status": "cancelled", "cancel_reason": " "}), 422, "invalid")
	var got store.Appointment
	a.Do(t, "GET", id, f.front, nil).JSON(t, &got)
	if got.Status != ap.Status || got.CancelReason != nil {
		t.Fatalf("refused cancellations changed the appointment: %s %v", got.Status, got.CancelReason)
	}
	const reason = "The patient phoned: a family emergency, will rebook."
	r := a.Do(t, "PATCH", id, f.front, map[string]any{"status": "cancelled", "cancel_reason": reason})
	schedWant(t, "cancel with a reason", r, 200, "")
	a.Do(t, "GET", id, f.front, nil).JSON(t, &got)
	if got.Status != "cancelled" || got.CancelReason == nil || *got.CancelReason != reason {
		t.Errorf("the cancelled appointment: %s %v, want cancelled with the reason", got.Status, got.CancelReason)
	}
	if n := auditHas(t, f, "family emergency"); n != 0 {
		t.Errorf("the reason's words are in %d audit rows", n)
	}
	schedWant(t, "a new reason once cancelled", a.Do(t, "PATCH", id, f.front, map[string]any{"status": "cancelled", "cancel_reason": "Other"}),
		http.StatusConflict, "invalid_transition")
}
