package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

// alexAt returns Alex Morgan's patient id at clinic.
func alexAt(t *testing.T, a *apptest.App, clinic tenancy.ID) tenancy.ID {
	t.Helper()
	var id tenancy.ID
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select id from patients where clinic_id = $1 and given_name = 'Alex' and family_name = 'Morgan'`, clinic).Scan(&id); err != nil {
		t.Fatalf("Alex Morgan at %v: %v", clinic, err)
	}
	return id
}

type portalItem struct {
	ID        tenancy.ID `json:"id"`
	ClinicID  tenancy.ID `json:"clinic_id"`
	PatientID tenancy.ID `json:"patient_id"`
}

func portalList(t *testing.T, a *apptest.App, token, what string) []portalItem {
	t.Helper()
	var page struct {
		Items      []portalItem `json:"items"`
		NextCursor *string      `json:"next_cursor"`
	}
	r := a.Do(t, "GET", "/api/v1/portal/"+what+"?limit=200", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /portal/%s: %d %s", what, r.Status, r.Body)
	}
	r.JSON(t, &page)
	if page.NextCursor != nil {
		t.Fatalf("GET /portal/%s: more than a page", what)
	}
	return page.Items
}

func isProblem(r apptest.Response) bool {
	return r.Header.Get("Content-Type") == "application/problem+json"
}

// TestPortalAlexSeesOnlyOneClinic: Alex Morgan is enrolled at Riverside and
// at Hillcrest with one email and password. Each portal session sees that
// clinic's Alex only, and nothing of the other clinic, though the other
// clinic's rows exist.
func TestPortalAlexSeesOnlyOneClinic(t *testing.T) {
	a := startApp(t)
	alex := map[tenancy.ID]tenancy.ID{riverside.ID: alexAt(t, a, riverside.ID), hillcrest.ID: alexAt(t, a, hillcrest.ID)}

	// The data exists at both clinics, as the superuser sees it.
	tables := map[string]string{
		"appointments":  `select id from appointments where clinic_id = $1 and patient_id = $2`,
		"invoices":      `select id from invoices where clinic_id = $1 and patient_id = $2 and status <> 'draft'`,
		"prescriptions": `select id from prescriptions where clinic_id = $1 and patient_id = $2`,
	}
	want := map[tenancy.ID]map[string][]string{}
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		want[c.ID] = map[string][]string{}
		for what, sql := range tables {
			ids := a.SuperStrings(t, sql, c.ID, alex[c.ID])
			if len(ids) == 0 {
				t.Fatalf("fixture: Alex has no %s at %s", what, c.Name)
			}
			want[c.ID][what] = ids
		}
	}

	// Without a clinic, the same credentials match two accounts: 409 with both.
	r := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": seed.PortalEmail, "password": seed.Password})
	var choose struct {
		Code    string `json:"code"`
		Choices []struct {
			ClinicID   tenancy.ID `json:"clinic_id"`
			ClinicName string     `json:"clinic_name"`
		} `json:"choices"`
	}
	r.JSON(t, &choose)
	if r.Status != http.StatusConflict || choose.Code != "choose_clinic" || len(choose.Choices) != 2 || !r.IsProblem() {
		t.Fatalf("Alex's login without a clinic: %d %s", r.Status, r.Body)
	}
	got := map[tenancy.ID]string{}
	for _, c := range choose.Choices {
		got[c.ClinicID] = c.ClinicName
	}
	if got[riverside.ID] != riverside.Name || got[hillcrest.ID] != hillcrest.Name {
		t.Errorf("choices = %+v", choose.Choices)
	}

	for _, c := range []seed.Clinic{hillcrest, riverside} {
		t.Run(c.Slug, func(t *testing.T) {
			tok := a.SignInPortal(t, seed.PortalEmail, seed.Password, c.ID)
			var me patientJSON
			r := a.Do(t, "GET", "/api/v1/portal/me", tok, nil)
			r.JSON(t, &me)
			if r.Status != http.StatusOK || me.ID != alex[c.ID] || me.ClinicID != c.ID {
				t.Errorf("GET /portal/me: %d %s", r.Status, r.Body)
			}
			for what := range tables {
				items := portalList(t, a, tok, what)
				seen := map[string]bool{}
				for _, it := range items {
					if it.ClinicID != c.ID || it.PatientID != alex[c.ID] {
						t.Errorf("LEAK: %s's portal %s returned %+v", c.Name, what, it)
					}
					seen[it.ID.String()] = true
				}
				for _, id := range want[c.ID][what] {
					if !seen[id] {
						t.Errorf("%s's portal %s lacks Alex's %s", c.Name, what, id)
					}
				}
				if len(items) != len(want[c.ID][what]) {
					t.Errorf("%s's portal %s: %d items, want %d", c.Name, what, len(items), len(want[c.ID][what]))
				}
			}

			// Another patient's appointment and invoice at the same clinic,
			// and Alex's own at the other clinic, are as missing as a made-up id.
			other := riverside
			if c.ID == riverside.ID {
				other = hillcrest
			}
			missing := a.Do(t, "GET", "/api/v1/portal/appointments/"+tenancy.NewID().String(), tok, nil)
			if missing.Status != http.StatusNotFound || !missing.IsProblem() {
				t.Fatalf("unknown appointment: %d %s", missing.Status, missing.Body)
			}
			for _, probe := range []struct{ what, sql string }{
				{"appointments", `select id from appointments where clinic_id = $1 and patient_id <> $2 limit 1`},
				{"invoices", `select id from invoices where clinic_id = $1 and patient_id <> $2 limit 1`},
			} {
				ids := a.SuperStrings(t, probe.sql, c.ID, alex[c.ID])
				ids = append(ids, want[other.ID][probe.what][0])
				for _, id := range ids {
					r := a.Do(t, "GET", "/api/v1/portal/"+probe.what+"/"+id, tok, nil)
					if r.Status != http.StatusNotFound || !bytes.Equal(r.Body, missing.Body) {
						t.Errorf("LEAK: %s's portal reads %s %s: %d %s", c.Name, probe.what, id, r.Status, r.Body)
					}
				}
				own := want[c.ID][probe.what][0]
				if r := a.Do(t, "GET", "/api/v1/portal/"+probe.what+"/"+own, tok, nil); r.Status != http.StatusOK {
					t.Errorf("Alex's own %s %s: %d %s", probe.what, own, r.Status, r.Body)
				}
			}

			// Staff and console routes refuse a patient.
			for _, route := range []struct{ method, path string }{
				{"GET", "/api/v1/patients"},
				{"GET", "/api/v1/patients/" + alex[c.ID].String()},
				{"PATCH", "/api/v1/patients/" + alex[c.ID].String()},
				{"GET", "/api/v1/appointments/" + want[c.ID]["appointments"][0]},
				{"GET", "/api/v1/invoices/" + want[c.ID]["invoices"][0]},
				{"POST", "/api/v1/patients/" + alex[c.ID].String() + "/portal-invite"},
				{"GET", "/api/v1/audit"},
				{"GET", "/api/v1/admin/clinics"},
			} {
				var body any
				if route.method != "GET" {
					body = map[string]any{}
				}
				if r := a.Do(t, route.method, route.path, tok, body); r.Status != http.StatusForbidden || !r.IsProblem() {
					t.Errorf("patient %s %s: %d %s", route.method, route.path, r.Status, r.Body)
				}
			}
		})
	}
}

// portalFixture is a patient of Riverside made for one test, with an
// invite code from the front desk.
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

// TestPortalEnrol: an invite code from the front desk enrols once; the
// code is stored only as a hash; unknown, used and expired codes get one
// answer; bad input changes nothing.
func TestPortalEnrol(t *testing.T) {
	a := startApp(t)
	f := newPortalPatient(t, a, "Enrol")

	// Only the SHA-256 of the code is stored.
	normalized := strings.ReplaceAll(f.code, "-", "")
	if len(normalized)*5 < 80 {
		t.Errorf("code %q has fewer than 80 bits", f.code)
	}
	sum := sha256.Sum256([]byte(normalized))
	stored := a.SuperStrings(t, `select code_hash from portal_invites where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)
	if len(stored) != 1 || stored[0] != hex.EncodeToString(sum[:]) || strings.Contains(stored[0], normalized) {
		t.Fatalf("stored invite = %q", stored)
	}

	// Roles: a dentist and a patient may not issue codes.
	dentist := a.NewStaff(t, riverside, "dentist").Token
	if r := a.Do(t, "POST", "/api/v1/patients/"+f.patient.String()+"/portal-invite", dentist, nil); r.Status != http.StatusForbidden {
		t.Errorf("dentist issuing an invite: %d %s", r.Status, r.Body)
	}
	// Another clinic's patient is as missing as an unknown one.
	hillDesk := a.NewStaff(t, hillcrest, "front_desk").Token
	foreign := a.Do(t, "POST", "/api/v1/patients/"+f.patient.String()+"/portal-invite", hillDesk, nil)
	unknown := a.Do(t, "POST", "/api/v1/patients/"+tenancy.NewID().String()+"/portal-invite", hillDesk, nil)
	if foreign.Status != http.StatusNotFound || !bytes.Equal(foreign.Body, unknown.Body) {
		t.Errorf("Hillcrest inviting Riverside's patient: %d %s", foreign.Status, foreign.Body)
	}

	email := "enrol." + tenancy.NewID().String()[24:] + "@example.org"
	enrol := func(code, email, password string) apptest.Response {
		return a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": code, "email": email, "password": password})
	}
	accounts := func() int {
		return a.SuperCount(t, `select count(*) from portal_accounts where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)
	}

	// Bad input: refused, nothing made, the code still unused.
	for _, bad := range []struct {
		name string
		r    apptest.Response
	}{
		{"short password", enrol(f.code, email, "short")},
		{"bad email", enrol(f.code, "not-an-email", seed.Password)},
		{"unknown field", a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": f.code, "email": email, "password": seed.Password, "clinic_id": riverside.ID})},
	} {
		if bad.r.Status < 400 || bad.r.Status >= 500 || !isProblem(bad.r) {
			t.Errorf("%s: %d %s", bad.name, bad.r.Status, bad.r.Body)
		}
	}
	if n := accounts(); n != 0 {
		t.Fatalf("bad enrolments made %d accounts", n)
	}

	unknownCode := enrol("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", email, seed.Password)
	if unknownCode.Status != http.StatusUnprocessableEntity || !unknownCode.IsProblem() {
		t.Fatalf("unknown code: %d %s", unknownCode.Status, unknownCode.Body)
	}

	r := enrol(strings.ToLower(f.code), email, seed.Password) // codes are read case-insensitively
	if r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	if n := accounts(); n != 1 {
		t.Fatalf("enrol made %d accounts", n)
	}
	// Used once: now refused exactly like an unknown code.
	again := enrol(f.code, "other."+email, seed.Password)
	if again.Status != unknownCode.Status || !bytes.Equal(again.Body, unknownCode.Body) {
		t.Errorf("used code: %d %s; unknown code: %d %s", again.Status, again.Body, unknownCode.Status, unknownCode.Body)
	}
	// An expired code: the same answer.
	f2 := newPortalPatient(t, a, "Expired")
	a.SuperExec(t, `update portal_invites set expires_at = now() - interval '1 minute' where clinic_id = $1 and patient_id = $2`, riverside.ID, f2.patient)
	expired := enrol(f2.code, "expired."+email, seed.Password)
	if expired.Status != unknownCode.Status || !bytes.Equal(expired.Body, unknownCode.Body) {
		t.Errorf("expired code: %d %s", expired.Status, expired.Body)
	}
	if n := a.SuperCount(t, `select count(*) from portal_accounts where clinic_id = $1 and patient_id = $2`, riverside.ID, f2.patient); n != 0 {
		t.Errorf("expired code made %d accounts", n)
	}

	// The new account signs in (one clinic: no choice needed) and sees its record.
	tok := a.SignInPortal(t, email, seed.Password, tenancy.ID{})
	var me patientJSON
	a.Do(t, "GET", "/api/v1/portal/me", tok, nil).JSON(t, &me)
	if me.ID != f.patient || me.ClinicID != riverside.ID {
		t.Errorf("me = %+v, want patient %v", me, f.patient)
	}
	// Wrong password and unknown email: one answer, as for staff.
	wrong := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": email, "password": "wrong-password-1"})
	nobody := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": "nobody." + email, "password": "wrong-password-1"})
	staffWrong := a.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody." + email, "password": "wrong-password-1"})
	if wrong.Status != http.StatusUnauthorized || !bytes.Equal(wrong.Body, nobody.Body) || !bytes.Equal(wrong.Body, staffWrong.Body) {
		t.Errorf("wrong password %d %s, unknown email %d %s", wrong.Status, wrong.Body, nobody.Status, nobody.Body)
	}
	// A disabled account: the same answer.
	a.SuperExec(t, `update portal_accounts set disabled = true where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)
	disabled := a.Do(t, "POST", "/api/v1/portal/login", "", map[string]any{"email": email, "password": seed.Password})
	if disabled.Status != http.StatusUnauthorized || !bytes.Equal(disabled.Body, nobody.Body) {
		t.Errorf("disabled account: %d %s", disabled.Status, disabled.Body)
	}
	a.SuperExec(t, `update portal_accounts set disabled = false where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)

	// A second invite for an enrolled patient is a conflict.
	if r := a.Do(t, "POST", "/api/v1/patients/"+f.patient.String()+"/portal-invite", f.desk, nil); r.Status != http.StatusConflict {
		t.Errorf("invite for an enrolled patient: %d %s", r.Status, r.Body)
	}
}

// TestPortalMe: a patient changes their own contact details and nothing
// else.
func TestPortalMe(t *testing.T) {
	a := startApp(t)
	f := newPortalPatient(t, a, "Contact")
	email := "contact." + tenancy.NewID().String()[24:] + "@example.org"
	if r := a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": f.code, "email": email, "password": seed.Password}); r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	tok := a.SignInPortal(t, email, seed.Password, riverside.ID)
	var me struct {
		patientJSON
		Phone   string `json:"phone"`
		Address string `json:"address"`
	}
	r := a.Do(t, "PATCH", "/api/v1/portal/me", tok, map[string]any{"phone": "01632 960999", "address": "1 High Street"})
	r.JSON(t, &me)
	if r.Status != http.StatusOK || me.Phone != "01632 960999" || me.Address != "1 High Street" || me.ID != f.patient {
		t.Fatalf("PATCH /portal/me: %d %s", r.Status, r.Body)
	}
	for _, bad := range []map[string]any{
		{"given_name": "Mallory"},
		{"status": "archived"},
		{"primary_dentist_id": tenancy.NewID()},
		{"phone": strings.Repeat("9", 41)},
		{"address": "bad\x00text"},
	} {
		r := a.Do(t, "PATCH", "/api/v1/portal/me", tok, bad)
		if r.Status < 400 || r.Status >= 500 || !r.IsProblem() {
			t.Errorf("PATCH %v: %d %s", bad, r.Status, r.Body)
		}
	}
	got := a.SuperStrings(t, `select given_name || '|' || status || '|' || phone from patients where clinic_id = $1 and id = $2`, riverside.ID, f.patient)
	if len(got) != 1 || got[0] != "Contact|active|01632 960999" {
		t.Errorf("after refused PATCHes the record is %q", got)
	}
}

// TestPortalAppointmentRequest: a patient books within opening hours into
// whichever chair the database finds free, never outside hours, and gets
// 409 no_free_chair when every chair is taken.
func TestPortalAppointmentRequest(t *testing.T) {
	a := startApp(t)
	f := newPortalPatient(t, a, "Booker")
	email := "booker." + tenancy.NewID().String()[24:] + "@example.org"
	if r := a.Do(t, "POST", "/api/v1/portal/enrol", "", map[string]any{"code": f.code, "email": email, "password": seed.Password}); r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	tok := a.SignInPortal(t, email, seed.Password, riverside.ID)
	loc, err := time.LoadLocation(riverside.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	// A Tuesday far enough ahead to be free of the demo week and other tests.
	day := time.Now().In(loc).AddDate(0, 0, 7*23)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	at := func(hh, mm int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc) }
	request := func(start time.Time, minutes int) apptest.Response {
		return a.Do(t, "POST", "/api/v1/portal/appointment-requests", tok,
			map[string]any{"starts_at": start.Format(time.RFC3339), "duration_min": minutes, "type": "Check-up"})
	}
	mine := func() int {
		return a.SuperCount(t, `select count(*) from appointments where clinic_id = $1 and patient_id = $2`, riverside.ID, f.patient)
	}

	// Bad requests: 4xx problems, nothing booked.
	for _, bad := range []struct {
		name string
		r    apptest.Response
		code string
	}{
		{"before opening", request(at(7, 0), 30), "outside_opening_hours"},
		{"past closing", request(at(17, 15), 30), "outside_opening_hours"},
		{"on a Saturday", request(at(10, 0).AddDate(0, 0, 4), 30), "outside_opening_hours"},
		{"in the past", request(time.Now().Add(-24*time.Hour).Truncate(time.Minute), 30), "invalid"},
		{"too long", request(at(9, 0), 600), "invalid"},
		{"no type", a.Do(t, "POST", "/api/v1/portal/appointment-requests", tok, map[string]any{"starts_at": at(9, 0), "duration_min": 30}), "invalid"},
		{"a chair named", a.Do(t, "POST", "/api/v1/portal/appointment-requests", tok, map[string]any{"starts_at": at(9, 0), "duration_min": 30, "type": "x", "operatory_id": tenancy.NewID()}), "unknown_field"},
	} {
		var p struct{ Code string }
		bad.r.JSON(t, &p)
		if bad.r.Status < 400 || bad.r.Status >= 500 || !isProblem(bad.r) || p.Code != bad.code {
			t.Errorf("%s: %d %s", bad.name, bad.r.Status, bad.r.Body)
		}
	}
	if n := mine(); n != 0 {
		t.Fatalf("refused requests booked %d appointments", n)
	}

	// The lifecycle of a request that passes: TestRequestLifecycle.
}
