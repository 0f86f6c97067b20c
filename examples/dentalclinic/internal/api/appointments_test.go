package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// The schedule tests share the app and its demo clinics with every other
// test of the package, so each books in a chair of its own (made for the
// test), with a dentist and patients of its own, on a random day decades
// ahead (or, to mark arrivals, decades back): nothing they do can collide
// with another test's bookings. The days are weekdays, when the demo
// clinics open (08:30 to 17:30).

var schedLakeside = seed.Clinics[2]

// schedStaff adds, through the API as the clinic's owner, a staff account
// with exactly these roles, and signs it in.
func schedStaff(t *testing.T, a *apptest.App, c seed.Clinic, roles ...string) (tenancy.ID, string) {
	t.Helper()
	email := fmt.Sprintf("sched-%s-%s@%s.example", strings.ReplaceAll(strings.Join(roles, "-"), "_", ""), tenancy.NewID().String()[24:], c.Slug)
	r := a.Do(t, "POST", "/api/v1/staff", a.NewStaff(t, c, "owner").Token, map[string]any{
		"email": email, "name": "Sched " + strings.Join(roles, " "), "roles": roles, "password": seed.Password,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create staff %v: %d %s", roles, r.Status, r.Body)
	}
	var m store.StaffMember
	r.JSON(t, &m)
	return m.ID, a.SignIn(t, email, tenancy.ID{})
}

// schedFix is one test's corner of a clinic: a chair, a dentist, a day.
type schedFix struct {
	a       *apptest.App
	c       seed.Clinic
	loc     *time.Location
	owner   string // the demo owner's token
	front   string // a front desk account's token
	dentist tenancy.ID
	chair   tenancy.ID
	day     time.Time // local midnight of the test's day, a weekday
	past    time.Time // local midnight of a weekday long past
}

// weekday is d, or the Monday after it when d is a Saturday or Sunday.
func weekday(d time.Time) time.Time {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func newSchedFix(t *testing.T, c seed.Clinic) *schedFix {
	t.Helper()
	a := startApp(t)
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	f := &schedFix{a: a, c: c, loc: loc, owner: a.NewStaff(t, c, "owner").Token}
	_, f.front = staffRole(t, a, c, "front_desk")
	f.dentist, _ = schedStaff(t, a, c, "dentist")
	f.chair = f.newChair(t)
	f.day = weekday(time.Date(2040+rand.IntN(60), 1, 1+rand.IntN(360), 0, 0, 0, 0, loc))
	f.past = weekday(time.Date(2001+rand.IntN(20), 1, 1+rand.IntN(300), 0, 0, 0, 0, loc))
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

// at is the test's day at a local wall-clock time.
func (f *schedFix) at(h, m int) time.Time {
	return time.Date(f.day.Year(), f.day.Month(), f.day.Day(), h, m, 0, 0, f.loc)
}

// demoOpen reports whether [start, start+minutes) is within the demo
// clinics' opening hours (08:30 to 17:30, Monday to Friday) in loc.
func demoOpen(loc *time.Location, start time.Time, minutes int) bool {
	ls, le := start.In(loc), start.Add(time.Duration(minutes)*time.Minute).In(loc)
	wd := ls.Weekday()
	return wd != time.Saturday && wd != time.Sunday && ls.Format(time.DateOnly) == le.Format(time.DateOnly) &&
		ls.Format("15:04") >= "08:30" && le.Format("15:04") <= "17:30"
}

// then is the test's past day at a local wall-clock time: an appointment
// then may be marked arrived, completed or a no-show.
func (f *schedFix) then(h, m int) time.Time {
	return time.Date(f.past.Year(), f.past.Month(), f.past.Day(), h, m, 0, 0, f.loc)
}

// booking is a request body for the fixture's dentist and chair.
func (f *schedFix) booking(patient tenancy.ID, start time.Time, minutes int) map[string]any {
	return map[string]any{
		"patient_id": patient, "dentist_id": f.dentist, "operatory_id": f.chair,
		"starts_at": start.Format(time.RFC3339), "duration_min": minutes, "type": "Check-up",
	}
}

// book posts a booking and returns the response.
func (f *schedFix) book(t *testing.T, token string, body map[string]any) apptest.Response {
	t.Helper()
	return f.a.Do(t, "POST", "/api/v1/appointments", token, body)
}

// mustBook posts a booking that must succeed.
func (f *schedFix) mustBook(t *testing.T, body map[string]any) store.Appointment {
	t.Helper()
	r := f.book(t, f.front, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("book %v: %d %s", body, r.Status, r.Body)
	}
	schedCheckClinic(t, r.Body, f.c.ID)
	var ap store.Appointment
	r.JSON(t, &ap)
	return ap
}

// chairCount counts the appointments in a chair, as the superuser.
func (f *schedFix) chairCount(t *testing.T, chair tenancy.ID) int {
	t.Helper()
	var n int
	if err := f.a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select count(*) from appointments where operatory_id = $1`, chair).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// schedWant checks a response's status, its problem+json type for errors,
// and its code when want is not "".
func schedWant(t *testing.T, what string, r apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, code)
		return
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q, want application/problem+json", what, ct)
		}
		var p struct{ Code string }
		_ = json.Unmarshal(r.Body, &p)
		if code != "" && p.Code != code {
			t.Errorf("%s: code %q, want %q (%s)", what, p.Code, code, r.Body)
		}
	}
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

func TestAppointmentBookAndRead(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	pt := f.patient(t)
	body := f.booking(pt, f.at(9, 0), 30)
	body["note"] = "Sensitive upper left"
	ap := f.mustBook(t, body)
	if ap.Status != "scheduled" || ap.ClinicID != riverside.ID || ap.PatientID != pt || ap.DurationMin != 30 ||
		!ap.StartsAt.Equal(f.at(9, 0)) || !ap.EndsAt.Equal(f.at(9, 30)) || ap.TimeZone != riverside.TimeZone ||
		ap.LocalStart != f.at(9, 0).Format(store.LocalLayout) || ap.Note != "Sensitive upper left" || ap.HygienistID != nil {
		t.Errorf("created %+v", ap)
	}
	if ap.StartsAt.Location() != time.UTC {
		t.Errorf("starts_at %v is not in UTC", ap.StartsAt)
	}
	var raw map[string]any
	a.Do(t, "GET", "/api/v1/appointments/"+ap.ID.String(), f.owner, nil).JSON(t, &raw)
	if s, _ := raw["starts_at"].(string); !strings.HasSuffix(s, "Z") {
		t.Errorf("starts_at is written %q, want UTC with Z", raw["starts_at"])
	}

	// The booking and the reading are in the clinic's audit chain, by id.
	if n := settingsCount(t, a, `select count(*) from audit.events where tenant_id = $1 and resource_id = $2
		and action in ('appointment.create', 'appointment.view')`, riverside.ID, ap.ID.String()); n != 2 {
		t.Errorf("%d audit events for the new appointment, want 2 (create, view)", n)
	}

	// Every staff role reads it; the list finds it by day, chair and patient.
	_, billing := staffRole(t, a, riverside, "billing")
	_, hyg := staffRole(t, a, riverside, "hygienist")
	for who, tok := range map[string]string{"billing": billing, "hygienist": hyg, "owner": f.owner, "front desk": f.front} {
		r := a.Do(t, "GET", "/api/v1/appointments/"+ap.ID.String(), tok, nil)
		schedWant(t, "GET as "+who, r, 200, "")
		schedCheckClinic(t, r.Body, riverside.ID)
	}
	q := url.Values{"from": {f.at(0, 0).Format(time.RFC3339)}, "to": {f.at(0, 0).AddDate(0, 0, 1).Format(time.RFC3339)},
		"operatory_id": {f.chair.String()}, "patient_id": {pt.String()}}
	r := a.Do(t, "GET", "/api/v1/appointments?"+q.Encode(), hyg, nil)
	schedWant(t, "list", r, 200, "")
	schedCheckClinic(t, r.Body, riverside.ID)
	var page struct {
		Items      []store.Appointment
		NextCursor *string `json:"next_cursor"`
	}
	r.JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != ap.ID || page.NextCursor != nil {
		t.Errorf("list = %+v", page)
	}

	// Pagination: three in the chair, two a page.
	f.mustBook(t, f.booking(f.patient(t), f.at(10, 0), 30))
	f.mustBook(t, f.booking(f.patient(t), f.at(11, 0), 30))
	q = url.Values{"operatory_id": {f.chair.String()}, "limit": {"2"}}
	a.Do(t, "GET", "/api/v1/appointments?"+q.Encode(), hyg, nil).JSON(t, &page)
	if len(page.Items) != 2 || page.NextCursor == nil || !page.Items[0].StartsAt.Equal(f.at(9, 0)) {
		t.Fatalf("first page = %+v", page)
	}
	q.Set("cursor", *page.NextCursor)
	a.Do(t, "GET", "/api/v1/appointments?"+q.Encode(), hyg, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.NextCursor != nil || !page.Items[0].StartsAt.Equal(f.at(11, 0)) {
		t.Errorf("second page = %+v", page)
	}

	// The seeded week's schedule: every record is Riverside's.
	r = a.Do(t, "GET", "/api/v1/appointments?limit=200", f.front, nil)
	schedWant(t, "whole list", r, 200, "")
	schedCheckClinic(t, r.Body, riverside.ID)
}

func TestAppointmentPermissions(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	_, billing := staffRole(t, a, riverside, "billing")
	_, hyg := staffRole(t, a, riverside, "hygienist")
	_, dentistTok := staffRole(t, a, riverside, "dentist")

	// Booking: the front desk, dentists and the owner; not a hygienist or
	// billing alone.
	for who, tok := range map[string]string{"hygienist": hyg, "billing": billing} {
		pt := f.patient(t)
		r := f.book(t, tok, f.booking(pt, f.at(8, 0), 30))
		schedWant(t, "POST as "+who, r, 403, "forbidden")
	}
	if n := f.chairCount(t, f.chair); n != 0 {
		t.Errorf("refused bookings left %d appointments", n)
	}
	var ids []tenancy.ID
	for i, tok := range []string{f.front, dentistTok, f.owner} {
		start := f.at(9+i, 0)
		if i == 0 { // marked arrived below: on a day that has come
			start = f.then(9, 0)
		}
		r := f.book(t, tok, f.booking(f.patient(t), start, 30))
		schedWant(t, fmt.Sprintf("POST %d", i), r, 201, "")
		var ap store.Appointment
		r.JSON(t, &ap)
		ids = append(ids, ap.ID)
	}

	// Status: a hygienist may mark arrival; billing may not; a hygienist
	// may not move an appointment.
	path := "/api/v1/appointments/" + ids[0].String()
	schedWant(t, "PATCH as billing", a.Do(t, "PATCH", path, billing, map[string]any{"status": "confirmed"}), 403, "forbidden")
	schedWant(t, "move as hygienist", a.Do(t, "PATCH", path, hyg, map[string]any{"starts_at": f.at(14, 0).Format(time.RFC3339)}), 403, "forbidden")
	schedWant(t, "arrive as hygienist", a.Do(t, "PATCH", path, hyg, map[string]any{"status": "arrived", "note": "On time"}), 200, "")
	schedWant(t, "move as front desk", a.Do(t, "PATCH", "/api/v1/appointments/"+ids[1].String(), f.front,
		map[string]any{"starts_at": f.at(14, 0).Format(time.RFC3339)}), 200, "")
	// No token at all.
	schedWant(t, "no token", a.Do(t, "GET", path, "", nil), 401, "")
}

func TestAppointmentForeignClinic(t *testing.T) {
	river := newSchedFix(t, riverside)
	hill := newSchedFix(t, hillcrest)
	a := river.a
	hillPatient := hill.patient(t)
	foreign := hill.mustBook(t, hill.booking(hillPatient, hill.at(9, 0), 30))
	// It exists: Hillcrest reads it, and so does the superuser.
	schedWant(t, "Hillcrest reads its own", a.Do(t, "GET", "/api/v1/appointments/"+foreign.ID.String(), hill.front, nil), 200, "")
	if n := river.chairCount(t, hill.chair); n != 1 {
		t.Fatalf("Hillcrest's chair has %d appointments, want 1", n)
	}

	unknown := tenancy.NewID()
	for _, m := range []string{"GET", "PATCH"} {
		var body any
		if m == "PATCH" {
			body = map[string]any{"status": "cancelled"}
		}
		got := a.Do(t, m, "/api/v1/appointments/"+foreign.ID.String(), river.owner, body)
		want := a.Do(t, m, "/api/v1/appointments/"+unknown.String(), river.owner, body)
		if got.Status != 404 || !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%s another clinic's appointment: %d %s; unknown id: %d %s; want identical 404s", m, got.Status, got.Body, want.Status, want.Body)
		}
		schedWant(t, m+" foreign", got, 404, "not_found")
	}
	var status string
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select status from appointments where id = $1`, foreign.ID).Scan(&status); err != nil || status != "scheduled" {
		t.Errorf("foreign appointment is %q (%v) after Riverside's refused PATCH", status, err)
	}

	// Hillcrest's patient, dentist and chair are unknown ids at Riverside,
	// exactly like made-up ones, and the refusal names the field.
	pt := river.patient(t)
	for _, field := range []string{"patient_id", "dentist_id", "operatory_id", "hygienist_id"} {
		foreignID := map[string]tenancy.ID{"patient_id": hillPatient, "dentist_id": hill.dentist, "operatory_id": hill.chair, "hygienist_id": hill.dentist}[field]
		body := river.booking(pt, river.at(9, 0), 30)
		body[field] = foreignID
		got := river.book(t, river.front, body)
		body[field] = tenancy.NewID()
		want := river.book(t, river.front, body)
		schedWant(t, "booking with a foreign "+field, got, 422, "")
		if !bytes.Equal(got.Body, want.Body) || !strings.Contains(string(got.Body), `"field":"`+field+`"`) {
			t.Errorf("foreign %s: %s; unknown: %s; want identical 422s naming the field", field, got.Body, want.Body)
		}
	}
	if n := river.chairCount(t, river.chair); n != 0 {
		t.Errorf("refused bookings left %d appointments", n)
	}
	// Filtering by a foreign patient finds nothing.
	var page struct{ Items []store.Appointment }
	r := a.Do(t, "GET", "/api/v1/appointments?patient_id="+hillPatient.String(), river.front, nil)
	r.JSON(t, &page)
	if r.Status != 200 || len(page.Items) != 0 {
		t.Errorf("Riverside filtering by Hillcrest's patient: %d %s", r.Status, r.Body)
	}
}

// TestChairConcurrentBooking races two bookings of one chair at one time,
// for different patients and dentists: exactly one wins.
func TestChairConcurrentBooking(t *testing.T) {
	f := newSchedFix(t, riverside)
	other, _ := schedStaff(t, f.a, riverside, "dentist")
	for round := range 5 {
		start := f.at(9+round, 0)
		bodies := []map[string]any{f.booking(f.patient(t), start, 30), f.booking(f.patient(t), start, 30)}
		bodies[1]["dentist_id"] = other
		results := schedRace(t, f, bodies)
		codes := map[int]int{}
		for _, r := range results {
			codes[r.Status]++
			if r.Status == 409 {
				schedWant(t, "loser", r, 409, "chair_busy")
				if !strings.Contains(string(r.Body), "chair is already booked") {
					t.Errorf("loser's words: %s", r.Body)
				}
			}
		}
		if codes[201] != 1 || codes[409] != 1 {
			t.Errorf("round %d: statuses %v, want one 201 and one 409: %s / %s", round, codes, results[0].Body, results[1].Body)
		}
	}
	if n := f.chairCount(t, f.chair); n != 5 {
		t.Errorf("chair has %d appointments after 5 rounds, want 5", n)
	}
}

func TestBackToBackAndCancel(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	// On a past day, so that the no-show below is allowed.
	p1, p2, p3 := f.patient(t), f.patient(t), f.patient(t)
	first := f.mustBook(t, f.booking(p1, f.then(9, 0), 30))
	f.mustBook(t, f.booking(p2, f.then(9, 30), 30)) // back to back: fine

	// Overlapping the first, in its chair.
	overlap := f.booking(p3, f.then(9, 15), 10)
	overlap["allow_dentist_overlap"] = true
	schedWant(t, "overlap", f.book(t, f.front, overlap), 409, "chair_busy")
	// The first patient in another chair at the same time.
	elsewhere := f.booking(p1, f.then(9, 10), 30)
	elsewhere["operatory_id"] = f.newChair(t)
	elsewhere["allow_dentist_overlap"] = true
	schedWant(t, "patient twice", f.book(t, f.front, elsewhere), 409, "patient_busy")

	// Cancelling frees the slot.
	r := a.Do(t, "PATCH", "/api/v1/appointments/"+first.ID.String(), f.front, map[string]any{"status": "cancelled"})
	schedWant(t, "cancel", r, 200, "")
	f.mustBook(t, f.booking(p3, f.then(9, 0), 30))
	// A no-show frees it too.
	late := f.mustBook(t, f.booking(p1, f.then(10, 0), 30))
	schedWant(t, "no-show", a.Do(t, "PATCH", "/api/v1/appointments/"+late.ID.String(), f.front, map[string]any{"status": "no_show"}), 200, "")
	f.mustBook(t, f.booking(f.patient(t), f.then(10, 0), 30))
	// A cancelled appointment stays cancelled.
	schedWant(t, "revive", a.Do(t, "PATCH", "/api/v1/appointments/"+first.ID.String(), f.front, map[string]any{"status": "scheduled"}), 409, "invalid_transition")
}

func TestDentistOverlap(t *testing.T) {
	f := newSchedFix(t, riverside)
	hygID, _ := staffRole(t, f.a, riverside, "hygienist")
	f.mustBook(t, f.booking(f.patient(t), f.at(9, 0), 60))

	second := f.booking(f.patient(t), f.at(9, 30), 30)
	second["operatory_id"] = f.newChair(t)
	schedWant(t, "dentist twice", f.book(t, f.front, second), 409, "dentist_busy")
	withHyg := f.booking(f.patient(t), f.at(9, 30), 30)
	withHyg["operatory_id"] = second["operatory_id"]
	withHyg["hygienist_id"] = hygID
	f.mustBook(t, withHyg) // supervising a hygienist is not an overlap
	// The hygienist, though, is in one chair at a time.
	hygTwice := f.booking(f.patient(t), f.at(9, 45), 30)
	hygTwice["operatory_id"] = f.newChair(t)
	hygTwice["hygienist_id"] = hygID
	hygTwice["allow_dentist_overlap"] = true
	schedWant(t, "hygienist twice", f.book(t, f.front, hygTwice), 409, "hygienist_busy")
	second["operatory_id"] = f.newChair(t)
	second["allow_dentist_overlap"] = true
	f.mustBook(t, second)

	// A hygienist in the dentist field is not a dentist.
	notDentist := f.booking(f.patient(t), f.at(15, 0), 30)
	notDentist["dentist_id"] = hygID
	schedWant(t, "hygienist as dentist", f.book(t, f.front, notDentist), 422, "invalid")

	// Several bookings of one dentist at once, each in a chair of its own:
	// the lock makes each see the others, so exactly one wins.
	const racers = 6
	for round := range 3 {
		start := f.at(11+round, 0)
		bodies := make([]map[string]any, racers)
		for i := range bodies {
			bodies[i] = f.booking(f.patient(t), start.Add(time.Duration(i)*time.Minute), 30)
			bodies[i]["operatory_id"] = f.newChair(t)
		}
		results := schedRace(t, f, bodies)
		won := 0
		for _, r := range results {
			if r.Status == 201 {
				won++
			} else {
				schedWant(t, "racing dentist booking", r, 409, "dentist_busy")
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d racing bookings of one dentist succeeded, want 1", round, won, racers)
		}
	}

	// A booking made without the check (as the patient portal books, since
	// a patient cannot see the dentist's other patients) is caught when
	// the front desk confirms it.
	portal := tenancy.NewID()
	if _, err := f.a.DB.Conn(t, pgtest.Admin).Exec(context.Background(), `insert into appointments (clinic_id, id, patient_id,
		dentist_id, operatory_id, starts_at, ends_at, type) values ($1, $2, $3, $4, $5, $6, $7, 'Check-up')`,
		riverside.ID, portal, f.patient(t), f.dentist, f.newChair(t), f.at(9, 45), f.at(10, 15)); err != nil {
		t.Fatal(err)
	}
	confirm := "/api/v1/appointments/" + portal.String()
	schedWant(t, "confirm an overlap", f.a.Do(t, "PATCH", confirm, f.front, map[string]any{"status": "confirmed"}), 409, "dentist_busy")
	schedWant(t, "confirm an overlap knowingly", f.a.Do(t, "PATCH", confirm, f.front,
		map[string]any{"status": "confirmed", "allow_dentist_overlap": true}), 200, "")

	// Moving an appointment onto the dentist's busy time is refused too.
	free := f.mustBook(t, f.booking(f.patient(t), f.at(16, 0), 30))
	mv := f.a.Do(t, "PATCH", "/api/v1/appointments/"+free.ID.String(), f.front, map[string]any{"starts_at": f.at(9, 15).Format(time.RFC3339), "operatory_id": f.newChair(t)})
	schedWant(t, "move onto a busy dentist", mv, 409, "dentist_busy")
}

func TestAppointmentTransitions(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	allowed := map[string][]string{
		"scheduled": {"confirmed", "arrived", "cancelled", "no_show"},
		"confirmed": {"arrived", "cancelled", "no_show"},
		"arrived":   {"completed", "cancelled"},
		"completed": {},
		"cancelled": {},
		"no_show":   {},
	}
	// path reaches each status from scheduled.
	path := map[string][]string{
		"scheduled": {}, "confirmed": {"confirmed"}, "arrived": {"arrived"}, "completed": {"arrived", "completed"},
		"cancelled": {"cancelled"}, "no_show": {"no_show"},
	}
	hour := 0
	for from, tos := range allowed {
		for _, to := range store.AppointmentStatuses {
			if to == from {
				continue
			}
			t.Run(from+"->"+to, func(t *testing.T) {
				// Within opening hours, 16 a day, on past days (a week apart,
				// so weekdays) so that arrived, completed and no-show are allowed.
				start := f.then(9, 0).AddDate(0, 0, 7*(hour/16)).Add(time.Duration(hour%16) * 30 * time.Minute)
				hour++
				ap := f.mustBook(t, f.booking(f.patient(t), start, 30))
				p := "/api/v1/appointments/" + ap.ID.String()
				for _, s := range path[from] {
					schedWant(t, "to "+s, a.Do(t, "PATCH", p, f.front, map[string]any{"status": s}), 200, "")
				}
				r := a.Do(t, "PATCH", p, f.front, map[string]any{"status": to})
				ok := false
				for _, x := range tos {
					ok = ok || x == to
				}
				if ok {
					schedWant(t, from+"->"+to, r, 200, "")
					var got store.Appointment
					r.JSON(t, &got)
					if got.Status != to {
						t.Errorf("status %q, want %q", got.Status, to)
					}
				} else {
					schedWant(t, from+"->"+to, r, 409, "invalid_transition")
				}
			})
		}
	}
	// A finished appointment cannot move.
	ap := f.mustBook(t, f.booking(f.patient(t), f.then(9, 0).AddDate(0, 0, 28), 30))
	p := "/api/v1/appointments/" + ap.ID.String()
	schedWant(t, "arrive", a.Do(t, "PATCH", p, f.front, map[string]any{"status": "arrived"}), 200, "")
	schedWant(t, "move an arrived appointment", a.Do(t, "PATCH", p, f.front, map[string]any{"duration_min": 60}), 409, "not_reschedulable")
	// The same status again is no change.
	schedWant(t, "arrived again", a.Do(t, "PATCH", p, f.front, map[string]any{"status": "arrived"}), 200, "")
}

// lastSunday is the last Sunday of a month; firstSunday and secondSunday
// the first and second.
func lastSunday(year int, m time.Month) time.Time {
	d := time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -int(d.Weekday()))
}

func nthSunday(year int, m time.Month, n int) time.Time {
	d := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, (7-int(d.Weekday()))%7+7*(n-1))
}

// TestAppointmentDaylightSaving books 09:00 local the day after each
// daylight-saving change of next year, at Riverside (Europe/London) and
// Lakeside (America/Chicago): each is still 09:00 local, at the UTC
// instant the change implies.
func TestAppointmentDaylightSaving(t *testing.T) {
	year := time.Now().Year() + 1
	cases := []struct {
		name      string
		clinic    seed.Clinic
		day       time.Time // the change
		offset    string    // the zone's offset the day after
		utc       int       // 09:00 local the day after, in UTC hours
		utcBefore int       // 09:00 local the Friday before, in UTC hours
	}{
		{"London spring", riverside, lastSunday(year, time.March), "+01:00", 8, 9},
		{"London autumn", riverside, lastSunday(year, time.October), "+00:00", 9, 8},
		{"Chicago spring", schedLakeside, nthSunday(year, time.March, 2), "-05:00", 14, 15},
		{"Chicago autumn", schedLakeside, nthSunday(year, time.November, 1), "-06:00", 15, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newSchedFix(t, c.clinic)
			after := c.day.AddDate(0, 0, 1)
			before := c.day.AddDate(0, 0, -2) // the Friday: the clinics are closed on Saturdays
			date := after.Format(time.DateOnly)
			wantUTC := time.Date(after.Year(), after.Month(), after.Day(), c.utc, 0, 0, 0, time.UTC)

			// As an instant with the local offset ...
			body := f.booking(f.patient(t), wantUTC, 30)
			body["starts_at"] = date + "T09:00:00" + c.offset
			ap := f.mustBook(t, body)
			// ... and as a local wall-clock time the server converts.
			body = f.booking(f.patient(t), wantUTC, 30)
			delete(body, "starts_at")
			body["local_start"] = date + "T10:00:00"
			ap2 := f.mustBook(t, body)
			// The Friday before the change, 09:00 local is an hour away in UTC.
			body = f.booking(f.patient(t), wantUTC, 30)
			delete(body, "starts_at")
			body["local_start"] = before.Format(time.DateOnly) + "T09:00:00"
			ap0 := f.mustBook(t, body)

			for _, x := range []struct {
				ap    store.Appointment
				local string
				utc   time.Time
			}{
				{ap, date + "T09:00:00", wantUTC},
				{ap2, date + "T10:00:00", wantUTC.Add(time.Hour)},
				{ap0, before.Format(time.DateOnly) + "T09:00:00", time.Date(before.Year(), before.Month(), before.Day(), c.utcBefore, 0, 0, 0, time.UTC)},
			} {
				var got store.Appointment
				f.a.Do(t, "GET", "/api/v1/appointments/"+x.ap.ID.String(), f.owner, nil).JSON(t, &got)
				if got.LocalStart != x.local || !got.StartsAt.Equal(x.utc) || got.TimeZone != c.clinic.TimeZone {
					t.Errorf("got local %s, UTC %s, zone %s; want local %s, UTC %s, zone %s",
						got.LocalStart, got.StartsAt, got.TimeZone, x.local, x.utc, c.clinic.TimeZone)
				}
			}
			// Across the change three local days are 71 or 73 hours.
			if d := ap.StartsAt.Sub(ap0.StartsAt); d != 71*time.Hour && d != 73*time.Hour {
				t.Errorf("09:00 local before and after the change are %v apart, want 71h or 73h", d)
			}
		})
	}
	// A wall-clock time the spring change skips does not exist.
	f := newSchedFix(t, riverside)
	body := f.booking(f.patient(t), time.Now(), 30)
	delete(body, "starts_at")
	body["local_start"] = lastSunday(year, time.March).Format(time.DateOnly) + "T01:30:00"
	schedWant(t, "skipped local time", f.book(t, f.front, body), 422, "invalid")
}

func TestAppointmentHiddenChair(t *testing.T) {
	f := newSchedFix(t, riverside)
	ap := f.mustBook(t, f.booking(f.patient(t), f.at(9, 0), 30))
	r := f.a.Do(t, "PATCH", "/api/v1/operatories/"+f.chair.String(), f.owner, map[string]any{"hidden": true})
	schedWant(t, "hide", r, 200, "")
	schedWant(t, "book a hidden chair", f.book(t, f.front, f.booking(f.patient(t), f.at(10, 0), 30)), 422, "operatory_hidden")
	// Its appointments stay.
	schedWant(t, "read an appointment of a hidden chair", f.a.Do(t, "GET", "/api/v1/appointments/"+ap.ID.String(), f.front, nil), 200, "")
	schedWant(t, "unhide", f.a.Do(t, "PATCH", "/api/v1/operatories/"+f.chair.String(), f.owner, map[string]any{"hidden": false}), 200, "")
	f.mustBook(t, f.booking(f.patient(t), f.at(10, 0), 30))
}

func TestAppointmentBadInput(t *testing.T) {
	f := newSchedFix(t, riverside)
	a := f.a
	pt := f.patient(t)
	ap := f.mustBook(t, f.booking(pt, f.at(9, 0), 30))
	good := func(change func(map[string]any)) map[string]any {
		b := f.booking(f.patient(t), f.at(12, 0), 30)
		change(b)
		return b
	}
	long := strings.Repeat("x", 2001)
	cases := []struct {
		name   string
		body   any
		raw    string // sent as is when set
		status int
	}{
		{"malformed JSON", nil, `{"patient_id": `, 400},
		{"two objects", nil, `{} {}`, 400},
		{"unknown field", good(func(b map[string]any) { b["clinic_id"] = riverside.ID }), "", 400},
		{"wrong type", good(func(b map[string]any) { b["duration_min"] = "thirty" }), "", 400},
		{"invalid uuid", good(func(b map[string]any) { b["patient_id"] = "not-a-uuid" }), "", 400},
		{"no offset", good(func(b map[string]any) { b["starts_at"] = "2050-01-01T09:00:00" }), "", 400},
		{"too short", good(func(b map[string]any) { b["duration_min"] = 4 }), "", 422},
		{"too long", good(func(b map[string]any) { b["duration_min"] = 481 }), "", 422},
		{"overlong note", good(func(b map[string]any) { b["note"] = long }), "", 422},
		{"overlong type", good(func(b map[string]any) { b["type"] = long[:101] }), "", 422},
		{"empty type", good(func(b map[string]any) { b["type"] = "" }), "", 422},
		{"unknown status", good(func(b map[string]any) { b["status"] = "done" }), "", 422},
		{"born completed", good(func(b map[string]any) { b["status"] = "completed" }), "", 422},
		{"both starts", good(func(b map[string]any) { b["local_start"] = "2050-01-01T09:00:00" }), "", 422},
		{"bad local", good(func(b map[string]any) { delete(b, "starts_at"); b["local_start"] = "2050-01-01 09:00" }), "", 422},
		{"missing patient", good(func(b map[string]any) { delete(b, "patient_id") }), "", 422},
	}
	before := f.chairCount(t, f.chair)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r apptest.Response
			if c.raw != "" {
				r = schedRaw(t, a, "POST", "/api/v1/appointments", f.front, c.raw)
			} else {
				r = f.book(t, f.front, c.body.(map[string]any))
			}
			schedWant(t, c.name, r, c.status, "")
		})
	}
	// PATCH with bad input changes nothing either.
	p := "/api/v1/appointments/" + ap.ID.String()
	for name, body := range map[string]any{
		"patch unknown status": map[string]any{"status": "done"},
		"patch long note":      map[string]any{"note": long},
		"patch patient":        map[string]any{"patient_id": f.patient(t)},
		"patch unknown field":  map[string]any{"ends_at": "2050-01-01T09:00:00Z"},
		"patch bad hygienist":  map[string]any{"hygienist_id": "nope"},
	} {
		r := a.Do(t, "PATCH", p, f.front, body)
		if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if n := f.chairCount(t, f.chair); n != before {
		t.Errorf("bad input changed the chair's appointments: %d, want %d", n, before)
	}
	var got store.Appointment
	a.Do(t, "GET", p, f.front, nil).JSON(t, &got)
	if got.Note != ap.Note || got.Status != ap.Status || !got.UpdatedAt.Equal(ap.UpdatedAt) {
		t.Errorf("bad PATCHes changed the appointment: %+v", got)
	}
	// Bad query parameters and path ids.
	for _, q := range []string{"from=yesterday", "to=2050-01-01", "patient_id=42", "operatory_id=x", "limit=-1", "status=done", "cursor=%21%21"} {
		r := a.Do(t, "GET", "/api/v1/appointments?"+q, f.front, nil)
		if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET ?%s: %d %s", q, r.Status, r.Body)
		}
	}
	schedWant(t, "malformed path id", a.Do(t, "GET", "/api/v1/appointments/not-an-id", f.front, nil), 404, "not_found")
}

// schedRaw sends a raw JSON body.
func schedRaw(t *testing.T, a *apptest.App, method, path, token, body string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(method, a.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}

// schedRace posts the bookings at once, released together, and returns
// the responses in order.
func schedRace(t *testing.T, f *schedFix, bodies []map[string]any) []apptest.Response {
	t.Helper()
	results := make([]apptest.Response, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = f.book(t, f.front, bodies[i])
		}()
	}
	close(start)
	wg.Wait()
	return results
}
