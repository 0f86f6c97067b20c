package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// click clicks a link or button that leads to another page and returns
// that page's status.
func (p *tab) click(sel string) int {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("clicking %s: %v", sel, err)
	}
	return int(resp.Status)
}

// schedule: at 1280 px the front desk books 21:00, is refused in words and
// asked for a reason, and books it with one; the dentist opens on their
// own day, alerts on the tiles; the front desk cancels with a reason and a
// tick; at 390 px the day view shows one chair at a time, switched by its
// links, and neither it nor a list scrolls the page sideways.
func (b *browser) schedule(t *testing.T) {
	a := b.app
	loc, _ := time.LoadLocation(riverside.TimeZone)
	day := weekdayFrom(time.Now().In(loc).AddDate(0, 0, 37)).Format(time.DateOnly)
	var chair, dentist, patient tenancy.ID
	a.one(t, &chair, `select id from operatories where clinic_id = $1 and name = 'Chair 1'`, riverside.ID)
	a.one(t, &dentist, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))
	a.one(t, &patient, `select id from patients where clinic_id = $1 and status = 'active' order by id desc offset 7 limit 1`, riverside.ID)
	lateCount := func() int {
		var n int
		a.one(t, &n, `select count(*) from appointments where clinic_id = $1 and patient_id = $2
			and to_char(starts_at at time zone $3, 'YYYY-MM-DD HH24:MI') = $4`, riverside.ID, patient, riverside.TimeZone, day+" 21:00")
		return n
	}

	fd := b.tab(t)
	fd.viewport(1280, 900)
	fd.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	fd.open("/appointments/new?chair=" + chair.String() + "&date=" + day + "&time=21:00&patient=" + patient.String())
	fd.set("#dentist", dentist.String())
	if status := fd.submit("#booking-form"); status != 409 {
		t.Errorf("booking 21:00 answered %d, want 409", status)
	}
	if msg := fd.text("#form-error"); !strings.Contains(msg, "not open") || strings.Contains(msg, "hours_override") {
		t.Errorf("the refusal reads %q, want words saying the clinic is not open", msg)
	}
	if fd.count("#hours_override") != 1 || lateCount() != 0 {
		t.Fatalf("the refusal asks for a reason: %v; refused bookings written: %d", fd.count("#hours_override") == 1, lateCount())
	}
	fd.shot("booking-hours")
	fd.typeIn("#hours_override", "Emergency: the dentist stays late for a broken crown.")
	fd.submit("#booking-form")
	if got := fd.path(); got != "/schedule" || lateCount() != 1 {
		t.Fatalf("with a reason the booking led to %s (%s), %d booked", got, fd.text("#form-error"), lateCount())
	}

	// The dentist's own day, with the alerts on the tiles.
	var alertDay string
	a.one(t, &alertDay, `select to_char(a.starts_at at time zone $3, 'YYYY-MM-DD') from appointments a join patients p on p.clinic_id = a.clinic_id and p.id = a.patient_id
		where a.clinic_id = $1 and a.dentist_id = $2 and cardinality(p.allergies) + cardinality(p.medical_alerts) > 0
		and a.status not in ('cancelled', 'no_show') order by a.starts_at, a.id limit 1`, riverside.ID, dentist, riverside.TimeZone)
	dp := b.tab(t)
	dp.viewport(1280, 900)
	dp.signIn(seed.StaffEmail("dentist", riverside), false, "")
	dp.open("/schedule?date=" + alertDay)
	if who := dp.text("#schedule-who"); who != "My day" {
		t.Errorf("the dentist's schedule opens on %q, want My day", who)
	}
	names := eval[[]string](dp, `[...document.querySelectorAll("#schedule a.appt:not(.cont) .dentist")].map(e => e.textContent.trim())`)
	if len(names) == 0 || dp.count("#schedule .appt .safety") == 0 {
		t.Errorf("the dentist's day on %s: %d tiles, %d with alerts", alertDay, len(names), dp.count("#schedule .appt .safety"))
	}
	for _, n := range names {
		if !strings.Contains(n, "Dentist (") {
			t.Errorf("a tile of another clinician on the dentist's own day: %q", n)
		}
	}
	dp.shot("schedule-day")
	dp.set("#schedule-who-choice", "all")
	dp.submit("#schedule-filter")
	if who := dp.text("#schedule-who"); who != "Everyone" || dp.count("#schedule a.appt") <= len(names) {
		t.Errorf("everyone's schedule: %q, %d tiles (the dentist's day had %d)", who, dp.count("#schedule a.appt"), len(names))
	}
	dp.open("/schedule?view=week&who=all&date=" + alertDay)
	dp.shot("schedule-week")

	// Cancelling, with a reason and a tick.
	var late tenancy.ID
	a.one(t, &late, `select id from appointments where clinic_id = $1 and patient_id = $2 and hours_override is not null`, riverside.ID, patient)
	fd.open("/appointments/" + late.String())
	if fd.text("#hours-override") == "" {
		t.Error("the appointment page does not show why it is outside the hours")
	}
	fd.typeIn("#cancel_reason", "The patient found an emergency dentist nearer home.")
	if err := chromedp.Do(fd.ctx, chromedp.Click(chromedp.CSS("#confirm_cancel"))); err != nil {
		t.Fatal(err)
	}
	fd.shot("appointment-cancel")
	fd.submit("#cancel-form")
	if st, why := fd.text("#appointment-status"), fd.text("#cancel-reason"); st != "Cancelled" || !strings.Contains(why, "emergency dentist") {
		t.Errorf("after cancelling: status %q, reason %q (%s)", st, why, fd.text("#form-error"))
	}

	// A phone: one chair at a time.
	ph := b.tab(t)
	ph.viewport(390, 844)
	ph.signIn(seed.StaffEmail("frontdesk", riverside), false, "")
	ph.open("/schedule?date=" + alertDay)
	visible := func() []string {
		return eval[[]string](ph, `[...document.querySelectorAll("#schedule thead th")].filter(e => e.offsetParent !== null).map(e => e.textContent.trim())`)
	}
	if got := visible(); len(got) != 2 || got[1] != "Chair 1" {
		t.Errorf("at 390 px the day view shows the columns %q, want Time and Chair 1", got)
	}
	if ph.count("#chair-switch a") < 2 || eval[bool](ph, `document.querySelector("#chair-switch").offsetParent === null`) {
		t.Fatal("no chair switcher at 390 px")
	}
	ph.fitsWidth("the day view", 390)
	ph.click(`#chair-switch a:nth-child(2)`)
	if got := visible(); len(got) != 2 || got[1] != "Chair 2" {
		t.Errorf("after switching, the day view shows %q, want Time and Chair 2", got)
	}
	if ph.count("#schedule tbody td.current a.appt") == 0 {
		t.Error("chair 2 shows no appointments on a seeded day")
	}
	ph.fitsWidth("chair 2", 390)
	ph.shot("schedule-phone")
	for _, path := range []string{"/schedule?view=week&date=" + alertDay, "/patients", "/invoices"} {
		if status := ph.open(path); status == 200 {
			ph.fitsWidth(path, 390)
		}
	}
	// Desktop shows every chair again, without the switcher.
	ph.viewport(1280, 900)
	ph.open("/schedule?date=" + alertDay)
	if got := visible(); len(got) != 4 || eval[bool](ph, `document.querySelector("#chair-switch").offsetParent !== null`) {
		t.Errorf("at 1280 px the day view shows %q, and the switcher: want every chair, no switcher", got)
	}
}
