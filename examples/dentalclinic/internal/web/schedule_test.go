package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// weekdayFrom is t, or the Monday after it when t falls on a weekend: the
// demo clinics open 08:30 to 17:30 on weekdays.
func weekdayFrom(t time.Time) time.Time {
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// demoOpen reports whether [start, start+minutes) lies within the demo
// clinics' opening hours (08:30 to 17:30 on weekdays) in start's zone.
func demoOpen(start time.Time, minutes int) bool {
	end := start.Add(time.Duration(minutes) * time.Minute)
	wd := start.Weekday()
	return wd != time.Saturday && wd != time.Sunday && start.Format(time.DateOnly) == end.Format(time.DateOnly) &&
		start.Format("15:04") >= "08:30" && end.Format("15:04") <= "17:30"
}

// schedFixture is Riverside's chairs, people and a weekday weeks ahead
// that the seed left empty.
type schedFixture struct {
	a              *testApp
	chair1, chair2 tenancy.ID
	dentist, owner tenancy.ID
	patients       []tenancy.ID
	day            string
	front          *client
	tok            string
}

func newSchedFixture(t *testing.T, daysAhead int) *schedFixture {
	t.Helper()
	a := startApp(t)
	f := &schedFixture{a: a}
	a.one(t, &f.chair1, `select id from operatories where clinic_id = $1 and name = 'Chair 1'`, riverside.ID)
	a.one(t, &f.chair2, `select id from operatories where clinic_id = $1 and name = 'Chair 2'`, riverside.ID)
	a.one(t, &f.dentist, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("dentist", riverside))
	a.one(t, &f.owner, `select id from staff where clinic_id = $1 and email = $2`, riverside.ID, seed.StaffEmail("owner", riverside))
	loc, _ := time.LoadLocation(riverside.TimeZone)
	f.day = weekdayFrom(time.Now().In(loc).AddDate(0, 0, daysAhead)).Format(time.DateOnly)
	rows, err := a.super.Query(t.Context(), `select id from patients where clinic_id = $1 and status = 'active' order by id desc limit 6`, riverside.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id tenancy.ID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.patients = append(f.patients, id)
	}
	rows.Close()
	f.front = newClient(t, a.base)
	f.front.signIn(seed.StaffEmail("frontdesk", riverside), false, "/schedule")
	f.tok = csrf(t, f.front.get("/appointments/new"))
	return f
}

// book posts the booking form as the front desk.
func (f *schedFixture) book(patient, dentist, chair tenancy.ID, clock, minutes string, extra url.Values) page {
	form := url.Values{"csrf_token": {f.tok}, "patient": {patient.String()}, "dentist": {dentist.String()},
		"chair": {chair.String()}, "date": {f.day}, "time": {clock}, "duration": {minutes}, "type": {"Check-up"}, "allow_overlap": {"on"}}
	for k, v := range extra {
		form[k] = v
	}
	return f.front.post("/appointments", form)
}

// count counts the clinic's appointments matching a condition on a (the
// appointment) and $2, $3 (more arguments).
func (f *schedFixture) count(t *testing.T, cond string, args ...any) int {
	t.Helper()
	var n int
	f.a.one(t, &n, `select count(*) from appointments a where a.clinic_id = $1 and `+cond, append([]any{riverside.ID}, args...)...)
	return n
}

// cell returns the HTML of the day view's cell of chair (by column, 1 for
// the first chair) in the row of clock, and whether that row is shaded.
func cell(t *testing.T, body, clock string, column int) (html string, closed bool) {
	t.Helper()
	m := regexp.MustCompile(`<tr( class="closed")?><th scope="row">` + clock + `(?:<span class="visually-hidden"> \(closed\)</span>)?</th>(.*?)</tr>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no row %s in the day view", clock)
	}
	cells := regexp.MustCompile(`<td[^>]*>.*?</td>`).FindAllString(m[2], -1)
	if column > len(cells) {
		t.Fatalf("row %s has %d cells", clock, len(cells))
	}
	return cells[column-1], m[1] != ""
}

// TestScheduleGrid: a 60-minute visit holds its chair for both half hours
// (no "+" in the second); each tile names the dentist; clinicians open on
// their own day, others on everyone's, with a choice of anyone; closed
// hours and days are shaded; the date picker is a plain GET form; a
// phone's chair switcher picks the chair shown.
func TestScheduleGrid(t *testing.T) {
	f := newSchedFixture(t, 23)
	wantRedirect(t, "book 60 minutes", f.book(f.patients[0], f.dentist, f.chair1, "10:00", "60", nil), "/schedule?done=booked")
	wantRedirect(t, "book the owner's", f.book(f.patients[1], f.owner, f.chair2, "10:00", "30", nil), "/schedule?done=booked")

	all := f.front.get("/schedule?date=" + f.day)
	if all.status != 200 || !strings.Contains(all.body, `id="schedule-who">Everyone<`) {
		t.Fatalf("the front desk's schedule: %d, not everyone's", all.status)
	}
	start, closed := cell(t, all.body, "10:00", 1)
	if !strings.Contains(start, `class="appt status-scheduled"`) || !strings.Contains(start, `<span class="dentist"><span class="visually-hidden">Dentist: </span>Dentist (`) {
		t.Errorf("the 10:00 tile does not name the dentist: %s", start)
	}
	if closed || strings.Contains(start, `class="free"`) {
		t.Errorf("10:00: shaded %v, offered free: %s", closed, start)
	}
	second, _ := cell(t, all.body, "10:30", 1)
	if strings.Contains(second, `class="free"`) || !strings.Contains(second, `class="appt cont status-scheduled"`) || !strings.Contains(second, "until 11:00") {
		t.Errorf("the visit's second half hour is not held: %s", second)
	}
	if after, _ := cell(t, all.body, "11:00", 1); !strings.Contains(after, `aria-label="Book Chair 1 at 11:00"`) {
		t.Errorf("11:00, after the visit, is not free: %s", after)
	}
	if owners, _ := cell(t, all.body, "10:00", 2); !strings.Contains(owners, ">Dentist: </span>Owner (") {
		t.Errorf("chair 2's tile does not name the owner: %s", owners)
	}

	// Closed hours: before 08:30 and from 17:30 are shaded, the rest not.
	for clock, want := range map[string]bool{"08:00": true, "08:30": false, "12:00": false, "17:00": false, "17:30": true} {
		if _, closed := cell(t, all.body, clock, 1); closed != want {
			t.Errorf("%s shaded %v, want %v", clock, closed, want)
		}
	}
	if strings.Contains(all.body, `id="closed-day"`) {
		t.Error("a weekday is said to be closed")
	}
	loc, _ := time.LoadLocation(riverside.TimeZone)
	d, _ := time.ParseInLocation(time.DateOnly, f.day, loc)
	sun := sunday(d).Format(time.DateOnly)
	if p := f.front.get("/schedule?date=" + sun); !strings.Contains(p.body, `id="closed-day"`) || !strings.Contains(p.body, `<tr class="closed"><th scope="row">10:00`) {
		t.Errorf("Sunday %s is not shaded closed", sun)
	}
	if p := f.front.get("/schedule?view=week&date=" + f.day); !strings.Contains(p.body, `<th scope="col" class="closed"><a href="/schedule?date=`+sun+`">`) {
		t.Errorf("the week view does not shade Sunday %s", sun)
	}

	// The date picker: a GET form with a date input holding the day.
	if !strings.Contains(all.body, `<form method="get" action="/schedule" class="schedule-filter" id="schedule-filter">`) ||
		!strings.Contains(all.body, `<input type="date" id="schedule-date" name="date" value="`+f.day+`"`) {
		t.Error("no date picker (a GET form with input type=date) on the schedule")
	}

	// The filter. The dentist opens on their own day: their tile, and
	// the owner's chair held but not shown.
	dc := newClient(t, f.a.base)
	dc.signIn(seed.StaffEmail("dentist", riverside), false, "/schedule")
	mine := dc.get("/schedule?date=" + f.day)
	if !strings.Contains(mine.body, `id="schedule-who">My day<`) || !strings.Contains(mine.body, `<option value="mine" selected>My day</option>`) {
		t.Errorf("the dentist's schedule does not open on their day")
	}
	if c, _ := cell(t, mine.body, "10:00", 1); !strings.Contains(c, `class="appt `) {
		t.Errorf("the dentist's day lacks their own visit: %s", c)
	}
	if c, _ := cell(t, mine.body, "10:00", 2); strings.Contains(c, `class="appt `) || strings.Contains(c, `class="free"`) || !strings.Contains(c, `class="busy"`) {
		t.Errorf("the dentist's day shows the owner's visit, or offers its chair: %s", c)
	}
	everyone := dc.get("/schedule?who=all&date=" + f.day)
	if c, _ := cell(t, everyone.body, "10:00", 2); !strings.Contains(c, `class="appt `) {
		t.Errorf("everyone's schedule lacks the owner's visit: %s", c)
	}
	// The front desk picks one dentist: the owner.
	one := f.front.get("/schedule?who=" + f.owner.String() + "&date=" + f.day)
	c1, _ := cell(t, one.body, "10:00", 1)
	c2, _ := cell(t, one.body, "10:00", 2)
	if strings.Contains(c1, `class="appt `) || !strings.Contains(c2, `class="appt `) || !strings.Contains(one.body, `id="schedule-who">Owner (`) {
		t.Errorf("the owner's schedule: chair 1 %s, chair 2 %s", c1, c2)
	}
	// An unknown or foreign id shows everyone, never another clinic's staff.
	if p := f.front.get("/schedule?who=" + tenancy.NewID().String() + "&date=" + f.day); !strings.Contains(p.body, `id="schedule-who">Everyone<`) {
		t.Error("an unknown staff id is not read as everyone")
	}

	// The phone's chair switcher: links that pick the chair shown.
	if !strings.Contains(all.body, `<nav aria-label="Chairs" class="chair-switch" id="chair-switch">`) ||
		!strings.Contains(all.body, `<th scope="col" class="current">Chair 1</th>`) {
		t.Error("no chair switcher, or chair 1 is not the one shown first")
	}
	second2 := f.front.get("/schedule?date=" + f.day + "&chair=" + f.chair2.String())
	if !strings.Contains(second2.body, `<th scope="col" class="current">Chair 2</th>`) || !strings.Contains(second2.body, `aria-current="page">Chair 2</a>`) {
		t.Error("?chair= does not pick chair 2")
	}
}

// TestScheduleForms: a booking at 21:00 is refused in words and the form
// asks for a reason, nothing written; with the reason it is booked and the
// reason shown. Arrived a week ahead is refused. Cancelling needs a reason
// and a tick, and the status form cannot cancel; a cancellation with both
// keeps the reason and shows it.
func TestScheduleForms(t *testing.T) {
	f := newSchedFixture(t, 30)
	before := f.count(t, `to_char(a.starts_at at time zone $2, 'YYYY-MM-DD') = $3`, riverside.TimeZone, f.day)
	late := f.book(f.patients[2], f.dentist, f.chair1, "21:00", "30", nil)
	wantRefused(t, "21:00", late, 409, "not open")
	if !strings.Contains(late.body, `name="hours_override"`) || strings.Contains(formError(late), "hours_override") || !strings.Contains(late.body, `value="21:00"`) {
		t.Errorf("the refusal does not ask for a reason in words, keeping the time: %q", formError(late))
	}
	if n := f.count(t, `to_char(a.starts_at at time zone $2, 'YYYY-MM-DD') = $3`, riverside.TimeZone, f.day); n != before {
		t.Fatalf("the refused booking was written (%d, was %d)", n, before)
	}
	wantRefused(t, "a reason in hours", f.book(f.patients[2], f.dentist, f.chair1, "11:00", "30", url.Values{"hours_override": {"No need"}}), 422, "only for a time when the clinic is closed")
	const reason = "Emergency after hours, agreed by the dentist."
	loc := wantRedirect(t, "21:00 with a reason", f.book(f.patients[2], f.dentist, f.chair1, "21:00", "30", url.Values{"hours_override": {reason}}), "/schedule?done=booked")
	_ = loc
	var appt tenancy.ID
	f.a.one(t, &appt, `select id from appointments where clinic_id = $1 and patient_id = $2 and hours_override = $3`, riverside.ID, f.patients[2], reason)
	var audited int
	f.a.one(t, &audited, `select count(*) from audit.events where tenant_id = $1 and action = 'appointment.hours_override' and resource_id = $2`, riverside.ID, appt.String())
	if audited != 1 {
		t.Errorf("%d audit events of the override, want 1", audited)
	}
	path := "/appointments/" + appt.String()
	if p := f.front.get(path); !strings.Contains(p.body, `<dd id="hours-override">`+reason+`</dd>`) {
		t.Error("the appointment page does not show the reason it is outside the hours")
	}

	// Moving it later still, without a reason, is refused with the field.
	move := f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"reschedule"}, "dentist": {f.dentist.String()}, "chair": {f.chair1.String()},
		"date": {f.day}, "time": {"22:00"}, "duration": {"30"}, "allow_overlap": {"on"}})
	wantRefused(t, "move to 22:00", move, 409, "not open")
	if !strings.Contains(move.body, `name="hours_override"`) || !strings.Contains(move.body, `value="22:00"`) {
		t.Error("the refused move does not ask for a reason, keeping the time typed")
	}

	// Arrived a month ahead.
	status := func() string {
		var s string
		f.a.one(t, &s, `select status || coalesce(':' || cancel_reason, '') from appointments where clinic_id = $1 and id = $2`, riverside.ID, appt)
		return s
	}
	wantRefused(t, "arrived ahead", f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"status"}, "status": {"arrived"}}), 409, "before its day")
	if p := f.front.get(path); strings.Contains(p.body, `<option value="arrived">`) || !strings.Contains(p.body, `<option value="confirmed">`) {
		t.Error("a month ahead, the status form offers arrived (which the store refuses until the day), or no longer offers confirmed")
	}
	// Cancelling.
	p := f.front.get(path)
	if !strings.Contains(p.body, `id="cancel-form"`) || strings.Contains(p.body, `<option value="cancelled">`) {
		t.Error("the page has no cancellation form, or the status form still offers cancelling")
	}
	wantRefused(t, "cancel by the status form", f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"status"}, "status": {"cancelled"}}), 422, "cancellation form")
	wantRefused(t, "cancel without a reason", f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"cancel"}, "cancel_reason": {"  "}, "confirm_cancel": {"on"}}), 422, "Give a reason")
	wantRefused(t, "cancel without the tick", f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"cancel"}, "cancel_reason": {"Unwell"}}), 422, "Tick the box")
	if s := status(); s != "scheduled" {
		t.Fatalf("refused changes changed the appointment: %s", s)
	}
	wantRedirect(t, "cancel", f.front.post(path, url.Values{"csrf_token": {f.tok}, "action": {"cancel"}, "cancel_reason": {"The patient is unwell."}, "confirm_cancel": {"on"}}), path)
	if s := status(); s != "cancelled:The patient is unwell." {
		t.Errorf("after cancelling: %s", s)
	}
	if p := f.front.get(path); !strings.Contains(p.body, `<dd id="cancel-reason">The patient is unwell.</dd>`) || strings.Contains(p.body, `id="cancel-form"`) {
		t.Error("the cancelled appointment's page does not show the reason, or still offers cancelling")
	}
}
