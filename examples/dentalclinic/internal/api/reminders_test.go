package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// waitCount polls an administrator's count until it is want, for at most
// 30 seconds (River's scheduler and its leader take a few seconds), and
// returns the last count.
func waitCount(t *testing.T, a *apptest.App, want int, sql string, args ...any) int {
	t.Helper()
	conn := a.DB.Conn(t, pgtest.Admin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const (
	outboxOf = `select count(*) from reminder_outbox where clinic_id = $1 and appointment_id = $2`
	jobsOf   = `select count(*) from river_job where kind = 'appointment_reminder' and args->>'appointment_id' = $1::text`
)

// TestAppointmentReminders: booking an appointment enqueues its reminder in
// the booking's transaction; the job writes it to the outbox in the
// clinic's context (the job's stored tenant is the clinic's, its row the
// clinic's); a refused booking enqueues nothing; a job that runs again
// writes nothing twice; a cancelled or moved appointment's old job writes
// nothing; a job whose arguments were changed to another clinic's
// appointment is cancelled; a patient's own portal request gets its
// reminder through the patient's principal.
func TestAppointmentReminders(t *testing.T) {
	river := newSchedFix(t, riverside)
	hill := newSchedFix(t, hillcrest)
	a := river.a
	soon := time.Now().Add(3 * time.Hour).Truncate(time.Hour) // within the 24 h lead: due at once
	// soon may fall outside the demo clinics' opening hours: those
	// bookings carry a reason, as the front desk's would.
	soonBooking := func(f *schedFix, patient tenancy.ID) map[string]any {
		b := f.booking(patient, soon, 30)
		if !demoOpen(f.loc, soon, 30) {
			b["hours_override"] = "A reminder test books within the day, whatever the hour."
		}
		return b
	}

	// Hillcrest's reminder exists, so the checks below can miss it.
	hillAp := hill.mustBook(t, soonBooking(hill, hill.patient(t)))
	if n := waitCount(t, a, 1, outboxOf, hillcrest.ID, hillAp.ID); n != 1 {
		t.Fatalf("Hillcrest's booking: %d reminders, want 1", n)
	}

	patient := river.patient(t)
	ap := river.mustBook(t, soonBooking(river, patient))
	if n := waitCount(t, a, 1, outboxOf, riverside.ID, ap.ID); n != 1 {
		t.Fatalf("Riverside's booking: %d reminders in its outbox, want 1", n)
	}
	// The job's row and the reminder are Riverside's, and name the patient
	// (River marks the job completed just after its work commits).
	if n := waitCount(t, a, 1, `select count(*) from river_job j join reminder_outbox o on o.job_id = j.id
		where o.clinic_id = $1 and o.appointment_id = $2 and o.patient_id = $3 and o.starts_at = $4
		  and j.`+tenantriver.TenantColumn+` = $1 and j.state = 'completed'`, riverside.ID, ap.ID, patient, soon); n != 1 {
		t.Errorf("Riverside's reminder: %d matching completed jobs of Riverside, want 1", n)
	}
	if n := a.SuperCount(t, `select count(*) from reminder_outbox where appointment_id = $1 and clinic_id <> $2`, ap.ID, riverside.ID); n != 0 {
		t.Errorf("Riverside's appointment has %d reminders in other clinics", n)
	}

	// A booking refused after its job was enqueued (the dentist is busy:
	// checked after the insert) enqueues nothing: the job was inserted in
	// the transaction that rolled back.
	clash := soonBooking(river, river.patient(t))
	clash["operatory_id"] = river.newChair(t)
	schedWant(t, "the dentist's clash", river.book(t, river.front, clash), http.StatusConflict, "dentist_busy")
	if n := a.SuperCount(t, `select count(*) from river_job j where kind = 'appointment_reminder'
		and not exists (select 1 from appointments ap where ap.id = (j.args->>'appointment_id')::uuid)`); n != 0 {
		t.Errorf("%d reminder jobs name an appointment that was never booked", n)
	}

	// app.Run the completed job again: the outbox keeps one row.
	a.SuperExec(t, `update river_job set state = 'available', scheduled_at = now(), finalized_at = null, attempt = 0
		where kind = 'appointment_reminder' and args->>'appointment_id' = $1::text`, ap.ID)
	if n := waitCount(t, a, 1, `select count(*) from river_job where args->>'appointment_id' = $1::text and state = 'completed' and attempt = 1`, ap.ID); n != 1 {
		t.Fatalf("the rerun job did not complete (%d)", n)
	}
	if n := a.SuperCount(t, outboxOf, riverside.ID, ap.ID); n != 1 {
		t.Errorf("after the job ran again: %d reminders, want 1", n)
	}

	// Far ahead: scheduled for a day before. Cancelled, then made due: the
	// job runs and writes nothing.
	later := river.at(10, 0)
	gone := river.mustBook(t, river.booking(river.patient(t), later, 30))
	if n := a.SuperCount(t, jobsOf+` and state = 'scheduled' and scheduled_at = $2`, gone.ID, later.Add(-24*time.Hour)); n != 1 {
		t.Fatalf("a booking far ahead: %d jobs scheduled a day before it, want 1", n)
	}
	if r := a.Do(t, "PATCH", "/api/v1/appointments/"+gone.ID.String(), river.front, map[string]any{"status": store.StatusCancelled}); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	a.SuperExec(t, `update river_job set scheduled_at = now() where args->>'appointment_id' = $1::text`, gone.ID)
	if n := waitCount(t, a, 1, jobsOf+` and state = 'completed'`, gone.ID); n != 1 {
		t.Fatalf("the cancelled appointment's job did not complete (%d)", n)
	}
	if n := a.SuperCount(t, outboxOf, riverside.ID, gone.ID); n != 0 {
		t.Errorf("a cancelled appointment got %d reminders", n)
	}

	// Moved: the move enqueues a job of its own; the old one, made due,
	// writes nothing, the new one writes the new time.
	moved := river.mustBook(t, river.booking(river.patient(t), river.at(11, 0), 30))
	if r := a.Do(t, "PATCH", "/api/v1/appointments/"+moved.ID.String(), river.front, map[string]any{"starts_at": river.at(12, 0).Format(time.RFC3339)}); r.Status != http.StatusOK {
		t.Fatalf("move: %d %s", r.Status, r.Body)
	}
	if n := a.SuperCount(t, jobsOf, moved.ID); n != 2 {
		t.Fatalf("a moved appointment has %d reminder jobs, want 2", n)
	}
	a.SuperExec(t, `update river_job set scheduled_at = now() where args->>'appointment_id' = $1::text`, moved.ID)
	if n := waitCount(t, a, 2, jobsOf+` and state = 'completed'`, moved.ID); n != 2 {
		t.Fatalf("the moved appointment's jobs: %d completed, want 2", n)
	}
	if got := a.SuperStrings(t, `select starts_at from reminder_outbox where clinic_id = $1 and appointment_id = $2`, riverside.ID, moved.ID); len(got) != 1 ||
		a.SuperCount(t, outboxOf+` and starts_at = $3`, riverside.ID, moved.ID, river.at(12, 0)) != 1 {
		t.Errorf("the moved appointment's reminders: %v, want one, at its new time", got)
	}

	// A job whose arguments an attacker with River's tables points at
	// Hillcrest's appointment: its seal no longer verifies, so it is
	// cancelled and writes nothing anywhere.
	forged := river.mustBook(t, river.booking(river.patient(t), river.at(14, 0), 30))
	a.SuperExec(t, `update river_job set args = jsonb_set(args, '{appointment_id}', to_jsonb($2::text)), scheduled_at = now()
		where args->>'appointment_id' = $1::text`, forged.ID, hillAp.ID)
	if n := waitCount(t, a, 1, jobsOf+` and state = 'cancelled'`, hillAp.ID); n != 1 {
		t.Fatalf("the forged job: %d cancelled, want 1", n)
	}
	if n := a.SuperCount(t, `select count(*) from reminder_outbox where appointment_id = $1`, hillAp.ID); n != 1 {
		t.Errorf("Hillcrest's appointment has %d reminders after the forged job, want its own 1", n)
	}

	// A patient's portal request, once the front desk confirms it: the
	// reminder is the patient's own.
	pf := newPortalPatient(t, a, "Reminded")
	email := "reminded." + tenancy.NewID().String()[24:] + "@example.org"
	if r := a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": pf.code, "email": email, "password": seed.Password}); r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	tok := a.SignInPortal(t, email, seed.Password, riverside.ID)
	day := time.Now().In(river.loc).AddDate(0, 0, 7*31)
	for day.Weekday() != time.Wednesday {
		day = day.AddDate(0, 0, 1)
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, river.loc)
	r := a.Do(t, "POST", "/api/v1/portal/appointment-requests", tok, map[string]any{"starts_at": start.Format(time.RFC3339), "duration_min": 30, "type": "Check-up"})
	if r.Status != http.StatusCreated {
		t.Fatalf("portal request: %d %s", r.Status, r.Body)
	}
	var req struct {
		ID tenancy.ID `json:"id"`
	}
	r.JSON(t, &req)
	// The request waits for the front desk; confirming books it and
	// enqueues its reminder.
	r = a.Do(t, "POST", "/api/v1/appointment-requests/"+req.ID.String()+"/confirm", pf.desk, nil)
	var confirmed struct {
		AppointmentID tenancy.ID `json:"appointment_id"`
	}
	r.JSON(t, &confirmed)
	if r.Status != http.StatusOK {
		t.Fatalf("confirm the portal request: %d %s", r.Status, r.Body)
	}
	req.ID = confirmed.AppointmentID
	a.SuperExec(t, `update river_job set scheduled_at = now() where args->>'appointment_id' = $1::text`, req.ID)
	if n := waitCount(t, a, 1, outboxOf+` and patient_id = $3`, riverside.ID, req.ID, pf.patient); n != 1 {
		t.Errorf("the portal request's reminder: %d, want 1", n)
	}
}
