package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
)

type rxJSON struct {
	ID           tenancy.ID `json:"id"`
	ClinicID     tenancy.ID `json:"clinic_id"`
	PatientID    tenancy.ID `json:"patient_id"`
	DentistID    tenancy.ID `json:"dentist_id"`
	Drug         string     `json:"drug"`
	Strength     string     `json:"strength"`
	Form         string     `json:"form"`
	Directions   string     `json:"directions"`
	Quantity     int        `json:"quantity"`
	Refills      int        `json:"refills"`
	PrescribedOn string     `json:"prescribed_on"`
	Notes        string     `json:"notes"`
	Status       string     `json:"status"`
	VoidReason   *string    `json:"void_reason"`
}

// rxCreate writes a prescription and fails the test unless it is created.
func rxCreate(t *testing.T, a *apptest.App, token string, patient tenancy.ID) rxJSON {
	t.Helper()
	r := a.Do(t, "POST", "/api/v1/prescriptions", token, apptest.PrescriptionBody(patient))
	if r.Status != http.StatusCreated {
		t.Fatalf("create prescription: %d %s", r.Status, r.Body)
	}
	var rx rxJSON
	r.JSON(t, &rx)
	return rx
}

func rxSubject(t *testing.T, a *apptest.App, token string) tenancy.ID {
	t.Helper()
	var me struct{ Principal tenancy.Principal }
	a.Do(t, "GET", "/api/v1/me", token, nil).JSON(t, &me)
	return me.Principal.Subject
}

func rxCount(t *testing.T, a *apptest.App, patient tenancy.ID) int64 {
	t.Helper()
	return billCount(t, a, `select count(*) from prescriptions where patient_id = $1`, patient)
}

// TestPrescriptionLifecycle: a dentist prescribes, clinical staff read it,
// a dentist voids it with a reason, and it is kept.
func TestPrescriptionLifecycle(t *testing.T) {
	a := startApp(t)
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	patient := billPatient(t, a, dentist)

	r := a.Do(t, "POST", "/api/v1/prescriptions", dentist, apptest.PrescriptionBody(patient))
	billWant(t, "prescribe", r, 201)
	billCheckClinic(t, r.Body, riverside.ID)
	var rx rxJSON
	r.JSON(t, &rx)
	want := apptest.PrescriptionBody(patient)
	if rx.DentistID != rxSubject(t, a, dentist) || rx.PatientID != patient || rx.Drug != want["drug"] || rx.Quantity != 21 ||
		rx.Refills != 1 || rx.PrescribedOn != want["prescribed_on"] || rx.Status != "active" || rx.Notes != want["notes"] {
		t.Errorf("prescription = %+v", rx)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v1/prescriptions/"+rx.ID.String() {
		t.Errorf("Location %q", loc)
	}

	// The owner is a dentist too, and prescribes as themself; the date
	// defaults to today.
	owner := a.SignIn(t, seed.StaffEmail("owner", riverside), tenancy.ID{})
	body := apptest.PrescriptionBody(patient)
	delete(body, "prescribed_on")
	delete(body, "refills")
	delete(body, "notes")
	r = a.Do(t, "POST", "/api/v1/prescriptions", owner, body)
	billWant(t, "owner prescribes", r, 201)
	var second rxJSON
	r.JSON(t, &second)
	if second.DentistID != rxSubject(t, a, owner) || second.Refills != 0 || second.Notes != "" || second.PrescribedOn == "" {
		t.Errorf("owner's prescription = %+v", second)
	}

	for _, who := range []string{"hygienist", "frontdesk", "dentist"} {
		tok := a.SignIn(t, seed.StaffEmail(who, riverside), tenancy.ID{})
		r := a.Do(t, "GET", "/api/v1/prescriptions/"+rx.ID.String(), tok, nil)
		billWant(t, who+" reads", r, 200)
		billCheckClinic(t, r.Body, riverside.ID)
		r = a.Do(t, "GET", "/api/v1/prescriptions?patient_id="+patient.String(), tok, nil)
		billWant(t, who+" lists", r, 200)
		billCheckClinic(t, r.Body, riverside.ID)
		var page struct{ Items []rxJSON }
		r.JSON(t, &page)
		if len(page.Items) != 2 {
			t.Errorf("%s lists %d prescriptions of the patient, want 2", who, len(page.Items))
		}
	}

	r = a.Do(t, "POST", "/api/v1/prescriptions/"+rx.ID.String()+"/void", dentist, map[string]any{"reason": "Wrong strength."})
	billWant(t, "void", r, 200)
	var voided rxJSON
	r.JSON(t, &voided)
	if voided.Status != "void" || voided.VoidReason == nil || *voided.VoidReason != "Wrong strength." || voided.Drug != rx.Drug {
		t.Errorf("voided = %+v", voided)
	}
	billWant(t, "void again", a.Do(t, "POST", "/api/v1/prescriptions/"+rx.ID.String()+"/void", dentist, map[string]any{"reason": "Again."}), 409)
	if n := billCount(t, a, `select count(*) from prescriptions where id = $1 and voided_at is not null and void_reason = 'Wrong strength.'`, rx.ID); n != 1 {
		t.Errorf("the voided prescription is not kept (%d rows)", n)
	}

	// The whole list carries only the caller's clinic, and pages.
	r = a.Do(t, "GET", "/api/v1/prescriptions?limit=200", dentist, nil)
	billWant(t, "list all", r, 200)
	billCheckClinic(t, r.Body, riverside.ID)
	seen := map[tenancy.ID]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		var page struct {
			Items      []rxJSON
			NextCursor *string `json:"next_cursor"`
		}
		a.Do(t, "GET", "/api/v1/prescriptions?limit=3&cursor="+cursor, dentist, nil).JSON(t, &page)
		for _, p := range page.Items {
			if seen[p.ID] {
				t.Errorf("prescription %v on two pages", p.ID)
			}
			seen[p.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if n := billCount(t, a, `select count(*) from prescriptions where clinic_id = $1`, riverside.ID); int64(len(seen)) != n {
		t.Errorf("pages held %d prescriptions; the clinic has %d", len(seen), n)
	}
	// Writing, opening and voiding are in the owner's audit log.
	events := map[string]bool{}
	for _, e := range a.AuditLog(t, owner) {
		events[e.Action+" "+e.ResourceID] = true
	}
	for _, action := range []string{"prescription.create", "prescription.view", "prescription.void"} {
		if !events[action+" "+rx.ID.String()] {
			t.Errorf("no audit event %s for the prescription", action)
		}
	}
}

// TestPrescriptionPermissions: only a dentist prescribes or voids; billing
// staff do not read prescriptions; refusals change nothing.
func TestPrescriptionPermissions(t *testing.T) {
	a := startApp(t)
	dentist := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	hygienist := a.SignIn(t, seed.StaffEmail("hygienist", riverside), tenancy.ID{})
	frontDesk := a.SignIn(t, seed.StaffEmail("frontdesk", riverside), tenancy.ID{})
	billing := a.NewStaff(t, riverside, "billing").Token
	ownerOnly := a.NewStaff(t, riverside, "owner").Token
	patient := billPatient(t, a, dentist)
	rx := rxCreate(t, a, dentist, patient)

	for _, who := range []struct {
		name, token string
	}{{"hygienist", hygienist}, {"front desk and billing", frontDesk}, {"billing", billing}, {"owner who is not a dentist", ownerOnly}} {
		billWant(t, who.name+" prescribes", a.Do(t, "POST", "/api/v1/prescriptions", who.token, apptest.PrescriptionBody(patient)), 403)
		billWant(t, who.name+" voids", a.Do(t, "POST", "/api/v1/prescriptions/"+rx.ID.String()+"/void", who.token, map[string]any{"reason": "No."}), 403)
	}
	billWant(t, "billing lists", a.Do(t, "GET", "/api/v1/prescriptions", billing, nil), 403)
	billWant(t, "billing reads", a.Do(t, "GET", "/api/v1/prescriptions/"+rx.ID.String(), billing, nil), 403)
	billWant(t, "owner reads", a.Do(t, "GET", "/api/v1/prescriptions/"+rx.ID.String(), ownerOnly, nil), 200)
	billWant(t, "no token", a.Do(t, "GET", "/api/v1/prescriptions", "", nil), 401)
	if n := rxCount(t, a, patient); n != 1 {
		t.Errorf("the patient has %d prescriptions after refused ones, want 1", n)
	}
	if n := billCount(t, a, `select count(*) from prescriptions where id = $1 and voided_at is null`, rx.ID); n != 1 {
		t.Error("a refused void voided the prescription")
	}
}

// TestPrescriptionForeignClinic: another clinic's prescription answers 404
// byte-identical to a made-up id, and a prescription for another clinic's
// patient is refused like one for a made-up patient.
func TestPrescriptionForeignClinic(t *testing.T) {
	a := startApp(t)
	hill := a.SignIn(t, seed.StaffEmail("dentist", hillcrest), tenancy.ID{})
	hillPatient := billPatient(t, a, hill)
	foreign := rxCreate(t, a, hill, hillPatient)
	billWant(t, "Hillcrest reads its own", a.Do(t, "GET", "/api/v1/prescriptions/"+foreign.ID.String(), hill, nil), 200)

	river := a.SignIn(t, seed.StaffEmail("dentist", riverside), tenancy.ID{})
	random := tenancy.NewID().String()
	for _, tc := range []struct {
		method, action string
		body           any
	}{{"GET", "", nil}, {"POST", "/void", map[string]any{"reason": "Not ours."}}} {
		f := a.Do(t, tc.method, "/api/v1/prescriptions/"+foreign.ID.String()+tc.action, river, tc.body)
		m := a.Do(t, tc.method, "/api/v1/prescriptions/"+random+tc.action, river, tc.body)
		if f.Status != 404 || !bytes.Equal(f.Body, m.Body) || f.Header.Get("Content-Type") != m.Header.Get("Content-Type") {
			t.Errorf("%s %s: foreign %d %s; missing %d %s; want identical 404s", tc.method, tc.action, f.Status, f.Body, m.Status, m.Body)
		}
	}
	if n := billCount(t, a, `select count(*) from prescriptions where id = $1 and voided_at is null`, foreign.ID); n != 1 {
		t.Error("Riverside's void reached Hillcrest's prescription")
	}
	r := a.Do(t, "GET", "/api/v1/prescriptions?patient_id="+hillPatient.String(), river, nil)
	var page struct{ Items []rxJSON }
	r.JSON(t, &page)
	if r.Status != 200 || len(page.Items) != 0 {
		t.Errorf("Riverside listing Hillcrest's patient's prescriptions: %d %s", r.Status, r.Body)
	}
	f := a.Do(t, "POST", "/api/v1/prescriptions", river, apptest.PrescriptionBody(hillPatient))
	m := a.Do(t, "POST", "/api/v1/prescriptions", river, apptest.PrescriptionBody(tenancy.NewID()))
	if f.Status != 422 || !bytes.Equal(f.Body, m.Body) {
		t.Errorf("prescription for a foreign patient: %d %s; for a made-up one: %d %s", f.Status, f.Body, m.Status, m.Body)
	}
	if n := rxCount(t, a, hillPatient); n != 1 {
		t.Errorf("Hillcrest's patient has %d prescriptions, want 1", n)
	}
}

// TestPrescriptionBadInput: bad bodies answer 4xx problem+json and write
// nothing.
func TestPrescriptionBadInput(t *testing.T) {
	a := startApp(t)
	dentist := a.SignIn(t, seed.StaffEmail("dentist", billingLakeside), tenancy.ID{})
	patient := billPatient(t, a, dentist)
	rx := rxCreate(t, a, dentist, patient)
	with := func(k string, v any) map[string]any {
		b := apptest.PrescriptionBody(patient)
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	raw := func(path, body string) apptest.Response {
		t.Helper()
		req, err := http.NewRequest("POST", a.Base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+dentist)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	voidPath := "/api/v1/prescriptions/" + rx.ID.String() + "/void"
	for _, tc := range []struct {
		name   string
		path   string
		body   any // a string is sent as is
		status int
		field  string
	}{
		{"malformed", "/api/v1/prescriptions", `{"drug": `, 400, ""},
		{"unknown field", "/api/v1/prescriptions", with("dentist_id", tenancy.NewID()), 400, ""},
		{"clinic in body", "/api/v1/prescriptions", with("clinic_id", hillcrest.ID), 400, ""},
		{"quantity as string", "/api/v1/prescriptions", with("quantity", "21"), 400, ""},
		{"fractional quantity", "/api/v1/prescriptions", with("quantity", 1.5), 400, ""},
		{"zero quantity", "/api/v1/prescriptions", with("quantity", 0), 422, "quantity"},
		{"refills 13", "/api/v1/prescriptions", with("refills", 13), 422, "refills"},
		{"negative refills", "/api/v1/prescriptions", with("refills", -1), 422, "refills"},
		{"missing drug", "/api/v1/prescriptions", with("drug", nil), 422, "drug"},
		{"empty drug", "/api/v1/prescriptions", with("drug", ""), 422, "drug"},
		{"overlong drug", "/api/v1/prescriptions", with("drug", strings.Repeat("a", 201)), 422, "drug"},
		{"overlong notes", "/api/v1/prescriptions", with("notes", strings.Repeat("n", 2001)), 422, "notes"},
		{"control characters", "/api/v1/prescriptions", with("directions", "take\x00one"), 422, "directions"},
		{"bad date", "/api/v1/prescriptions", with("prescribed_on", "2025-13-01"), 400, ""},
		{"date as number", "/api/v1/prescriptions", with("prescribed_on", 20250101), 400, ""},
		{"future date", "/api/v1/prescriptions", with("prescribed_on", tomorrow), 422, "prescribed_on"},
		{"invalid patient uuid", "/api/v1/prescriptions", with("patient_id", "nope"), 400, ""},
		{"missing patient", "/api/v1/prescriptions", with("patient_id", nil), 422, "patient_id"},
		{"void without reason", voidPath, map[string]any{}, 422, "reason"},
		{"void blank reason", voidPath, map[string]any{"reason": "  \n "}, 422, "reason"},
		{"void overlong reason", voidPath, map[string]any{"reason": strings.Repeat("r", 501)}, 422, "reason"},
		{"void unknown field", voidPath, map[string]any{"reason": "x", "deleted": true}, 400, ""},
		{"void empty body", voidPath, "", 400, ""},
		{"void invalid id", "/api/v1/prescriptions/nope/void", map[string]any{"reason": "x"}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r apptest.Response
			if s, ok := tc.body.(string); ok {
				r = raw(tc.path, s)
			} else {
				r = a.Do(t, "POST", tc.path, dentist, tc.body)
			}
			billWant(t, tc.name, r, tc.status)
			var p struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
			}
			r.JSON(t, &p)
			if p.Status != tc.status || p.Field != tc.field {
				t.Errorf("problem = %s; want status %d, field %q", r.Body, tc.status, tc.field)
			}
		})
	}
	billWant(t, "invalid patient filter", a.Do(t, "GET", "/api/v1/prescriptions?patient_id=nope", dentist, nil), 422)
	billWant(t, "forged cursor", a.Do(t, "GET", "/api/v1/prescriptions?cursor=!!!", dentist, nil), 422)
	if n := rxCount(t, a, patient); n != 1 {
		t.Errorf("the patient has %d prescriptions after bad requests, want 1", n)
	}
	var voided bool
	if err := a.DB.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select voided_at is not null from prescriptions where id = $1`, rx.ID).Scan(&voided); err != nil || voided {
		t.Errorf("a bad void voided the prescription (%v)", err)
	}
}
