package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/passwords"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

var fieldErrors = regexp.MustCompile(`class="field-error" id="([a-z_]+)-error">([^<]*)<`)

// fieldError is the refusal shown beside field, or "".
func fieldError(p page, field string) string {
	for _, m := range fieldErrors.FindAllStringSubmatch(p.body, -1) {
		if m[1] == field {
			return m[2]
		}
	}
	return ""
}

// patientValues is a valid register form.
func patientValues(tok, given, family, dob string) url.Values {
	return url.Values{"csrf_token": {tok}, "given_name": {given}, "family_name": {family}, "date_of_birth": {dob},
		"sex": {"female"}, "phone": {"+44 20 7946 0100"}, "email": {"pat@example.net"}, "address": {"1 High Street"},
		"medical_alerts": {"Asthma\n\n  Anticoagulants  "}, "allergies": {"Latex"}}
}

// TestPatientForms registers, edits, archives and un-archives a patient
// through the web forms, as the front desk; a namesake needs "register
// anyway"; refused input is re-rendered in words beside its field and
// changes nothing; each change is audited as the API's is.
func TestPatientForms(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("frontdesk", lakeside), false, "/schedule")
	tag := "Pf" + tenancy.NewID().String()[24:]
	count := func() int {
		var n int
		a.one(t, &n, `select count(*) from patients where clinic_id = $1 and given_name ilike $2`, lakeside.ID, tag+"%")
		return n
	}
	audited := func(action string, id tenancy.ID) int {
		var n int
		a.one(t, &n, `select count(*) from audit.events where tenant_id = $1 and action = $2 and resource_id = $3`, lakeside.ID, action, id.String())
		return n
	}
	form := c.get("/patients/new")
	if form.status != http.StatusOK || !strings.Contains(form.body, `id="patient-form"`) {
		t.Fatalf("the register form: %d", form.status)
	}
	tok := csrf(t, form)

	// Refused input: the words beside the field, no API field name, nothing written.
	for _, bad := range []struct {
		name, field, value, words string
	}{
		{"no first name", "given_name", "", "First name must be 1 to 100 characters"},
		{"a long family name", "family_name", strings.Repeat("x", 101), "Family name must be"},
		{"not a date", "date_of_birth", "1980-02-30", "Enter the date of birth as a date"},
		{"born in the future", "date_of_birth", "2090-01-01", "Date of birth is in the future"},
		{"not an email", "email", "not-an-address", "Email is not an email address"},
		{"an empty allergy too long", "allergies", strings.Repeat("y", 201), "Allergies must be 1 to 200 characters"},
	} {
		v := patientValues(tok, tag+"Bad", "Refused", "1980-04-05")
		v.Set(bad.field, bad.value)
		p := c.post("/patients", v)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p, bad.field), bad.words) {
			t.Errorf("%s: %d, beside %s %q, want 422 with %q", bad.name, p.status, bad.field, fieldError(p, bad.field), bad.words)
		}
		if msg := formError(p); msg == "" || strings.Contains(msg+fieldError(p, bad.field), "_") {
			t.Errorf("%s: the refusal reads %q / %q, want words without field names", bad.name, msg, fieldError(p, bad.field))
		}
		if !strings.Contains(p.body, `value="1 High Street"`) && !strings.Contains(p.body, ">1 High Street<") {
			t.Errorf("%s: the form did not keep what was typed", bad.name)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("refused registrations wrote %d patients", n)
	}

	// Registered.
	loc := wantRedirect(t, "register", c.post("/patients", patientValues(tok, tag, "Namesake", "1980-04-05")), "/patients/")
	first := idFrom(t, loc)
	var alerts, allergies []string
	a.one(t, &alerts, `select medical_alerts from patients where id = $1`, first)
	a.one(t, &allergies, `select allergies from patients where id = $1`, first)
	if strings.Join(alerts, "|") != "Asthma|Anticoagulants" || strings.Join(allergies, "|") != "Latex" {
		t.Errorf("stored alerts %q, allergies %q", alerts, allergies)
	}
	if audited("patient.create", first) != 1 {
		t.Error("the registration is not in the audit log")
	}
	if chart := c.get(loc); !strings.Contains(chart.body, "The patient is registered.") || !strings.Contains(chart.body, `id="edit-patient"`) {
		t.Errorf("the chart after registering: %d, no notice or no edit link", chart.status)
	}

	// The same name and date of birth: a warning, nothing written, then "register anyway".
	p := c.post("/patients", patientValues(tok, strings.ToUpper(tag), "NAMESAKE", "1980-04-05"))
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="duplicate-warning"`) || !strings.Contains(p.body, `href="/patients/`+first.String()+`"`) ||
		!strings.Contains(formError(p), "same name and date of birth") {
		t.Fatalf("a namesake: %d %q, want 409 with the warning and a link to the existing chart", p.status, formError(p))
	}
	if n := count(); n != 1 {
		t.Fatalf("the refused namesake was written: %d patients", n)
	}
	v := patientValues(tok, tag, "Namesake", "1980-04-05")
	v.Set("allow_duplicate", "on")
	second := idFrom(t, wantRedirect(t, "register anyway", c.post("/patients", v), "/patients/"))
	if n := count(); n != 2 || second == first {
		t.Fatalf("registered anyway: %d patients", n)
	}

	// Edit: the form holds the record; a refusal changes nothing; a save is audited.
	edit := c.get("/patients/" + first.String() + "/edit")
	if edit.status != http.StatusOK || !strings.Contains(edit.body, "Anticoagulants") || !strings.Contains(edit.body, `value="1980-04-05"`) {
		t.Fatalf("the edit form: %d", edit.status)
	}
	ev := patientValues(tok, tag, "Namesake", "1980-04-05")
	ev.Set("status", "active")
	ev.Set("family_name", "")
	if p := c.post("/patients/"+first.String(), ev); p.status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p, "family_name"), "Family name") {
		t.Errorf("an edit without a family name: %d %q", p.status, fieldError(p, "family_name"))
	}
	var family string
	if a.one(t, &family, `select family_name from patients where id = $1`, first); family != "Namesake" {
		t.Fatalf("the refused edit was written: %q", family)
	}
	ev.Set("family_name", "Namesake")
	ev.Set("date_of_birth", "")
	if p := c.post("/patients/"+first.String(), ev); p.status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p, "date_of_birth"), "cannot be removed") {
		t.Errorf("an edit without the date of birth: %d %q, want 422 saying it cannot be removed", p.status, fieldError(p, "date_of_birth"))
	}
	ev.Set("date_of_birth", "1980-04-05")
	ev.Set("allergies", "Latex\nPenicillin")
	ev.Set("phone", "+44 20 7946 0199")
	wantRedirect(t, "edit", c.post("/patients/"+first.String(), ev), "/patients/"+first.String())
	var phone string
	a.one(t, &allergies, `select allergies from patients where id = $1`, first)
	a.one(t, &phone, `select phone from patients where id = $1`, first)
	if strings.Join(allergies, "|") != "Latex|Penicillin" || phone != "+44 20 7946 0199" {
		t.Errorf("after the edit: allergies %q, phone %q", allergies, phone)
	}
	if audited("patient.update", first) != 1 {
		t.Error("the edit is not in the audit log")
	}

	// Editing another patient into a namesake warns too.
	third := idFrom(t, wantRedirect(t, "register", c.post("/patients", patientValues(tok, tag, "Other", "1980-04-05")), "/patients/"))
	ov := patientValues(tok, tag, "namesake", "1980-04-05")
	ov.Set("status", "active")
	if p := c.post("/patients/"+third.String(), ov); p.status != http.StatusConflict || !strings.Contains(p.body, `id="duplicate-warning"`) {
		t.Errorf("renaming into a namesake: %d, want 409 with the warning", p.status)
	}
	if a.one(t, &family, `select family_name from patients where id = $1`, third); family != "Other" {
		t.Errorf("the refused rename was written: %q", family)
	}

	// Archive: the chart says what it means, booking no longer offers the patient; and back.
	ev.Set("status", "archived")
	wantRedirect(t, "archive", c.post("/patients/"+first.String(), ev), "/patients/"+first.String())
	chart := c.get("/patients/" + first.String())
	if !strings.Contains(chart.body, `id="status-note"`) || !strings.Contains(chart.body, "not offered for booking") ||
		strings.Contains(chart.body, "/appointments/new?patient=") {
		t.Error("the archived patient's chart does not say what archiving means, or still offers booking")
	}
	if p := c.get("/appointments/new?q=" + url.QueryEscape(tag+" Namesake")); strings.Contains(p.body, first.String()) || !strings.Contains(p.body, second.String()) {
		t.Errorf("the booking picker: archived offered %v, its active namesake offered %v", strings.Contains(p.body, first.String()), strings.Contains(p.body, second.String()))
	}
	ev.Set("status", "active")
	wantRedirect(t, "un-archive", c.post("/patients/"+first.String(), ev), "/patients/"+first.String())
	var status string
	if a.one(t, &status, `select status from patients where id = $1`, first); status != "active" {
		t.Errorf("after un-archiving: %q", status)
	}
}

// TestPatientFormsRefused: a role the API does not let write patients
// (billing) neither sees nor reaches the forms, and another clinic's
// patient on the edit routes is the very 404 of a missing id, whatever
// the form holds; nothing changes.
func TestPatientFormsRefused(t *testing.T) {
	a := startApp(t)
	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	email := "billing-" + tenancy.NewID().String()[24:] + "@riverside.example"
	wantRedirect(t, "add a billing clerk", owner.post("/staff", url.Values{"csrf_token": {csrf(t, owner.get("/staff"))}, "name": {"Billing Clerk"},
		"email": {email}, "roles": {"billing"}, "password": {"a long enough password"}}), "/staff")
	bc := newClient(t, a.base)
	if p := bc.post("/signin", url.Values{"email": {email}, "password": {"a long enough password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("the billing clerk's sign-in: %d", p.status)
	}
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	jordan := a.patientID(t, hillcrest, "Jordan", "Whitlock")
	snapshot := func() string {
		var s string
		a.one(t, &s, `select count(*)::text || max(updated_at)::text from patients`)
		return s
	}
	before := snapshot()

	list := bc.get("/patients")
	tok := csrf(t, list)
	if strings.Contains(list.body, `id="new-patient"`) || strings.Contains(bc.get("/patients/"+alex.String()).body, `id="edit-patient"`) {
		t.Error("the billing clerk is shown the patient forms")
	}
	valid := patientValues(tok, "Refused", "Clerk", "1970-01-01")
	valid.Set("status", "active")
	for _, r := range []struct {
		method, path string
	}{{"GET", "/patients/new"}, {"POST", "/patients"}, {"GET", "/patients/" + alex.String() + "/edit"}, {"POST", "/patients/" + alex.String()}} {
		var p page
		if r.method == "GET" {
			p = bc.get(r.path)
		} else {
			p = bc.post(r.path, valid)
		}
		if p.status != http.StatusForbidden {
			t.Errorf("billing %s %s: %d, want 403", r.method, r.path, p.status)
		}
	}

	// Another clinic's patient: the data exists, and is the one 404.
	var n int
	if a.one(t, &n, `select count(*) from patients where id = $1 and clinic_id = $2`, jordan, hillcrest.ID); n != 1 {
		t.Fatal("Hillcrest's patient is not there to be refused")
	}
	fd := newClient(t, a.base)
	fd.signIn(seed.StaffEmail("frontdesk", lakeside), false, "/schedule")
	tok = csrf(t, fd.get("/patients"))
	missing := tenancy.NewID()
	bad := patientValues(tok, "", "Clerk", "not a date")
	bad.Set("status", "active")
	good := patientValues(tok, "Jordan", "Whitlock", "1970-01-01")
	good.Set("status", "archived")
	for _, r := range []struct {
		name string
		do   func(id tenancy.ID) page
	}{
		{"edit form", func(id tenancy.ID) page { return fd.get("/patients/" + id.String() + "/edit") }},
		{"valid edit", func(id tenancy.ID) page { return fd.post("/patients/"+id.String(), good) }},
		{"refused edit", func(id tenancy.ID) page { return fd.post("/patients/"+id.String(), bad) }},
		{"refused store edit", func(id tenancy.ID) page {
			v := patientValues(tok, "", "Clerk", "1970-01-01")
			v.Set("status", "active")
			return fd.post("/patients/"+id.String(), v)
		}},
	} {
		other, none := r.do(jordan), r.do(missing)
		if other.status != http.StatusNotFound || other.status != none.status || other.body != none.body {
			t.Errorf("%s: Hillcrest's patient %d, a missing id %d (same body %v), want the one 404", r.name, other.status, none.status, other.body == none.body)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("refused requests changed patients: %s, was %s", after, before)
	}
}

// TestPatientListPaging: without a search the list shows the clinic's
// first page of patients; a search longer than a page has a "Next page"
// link (the store's cursor) whose page continues it, with no patient twice
// and none left out.
func TestPatientListPaging(t *testing.T) {
	a := startApp(t)
	tag := "Pg" + tenancy.NewID().String()[24:]
	var made []tenancy.ID // new ids, so that the tests that take the clinic's first patient do not meet them
	for range 60 {
		made = append(made, tenancy.NewID())
	}
	if _, err := a.super.Exec(context.Background(), `insert into patients (clinic_id, id, given_name, family_name)
		select $1, id, $2, 'Paged' || lpad(i::text, 3, '0') from unnest($3::uuid[]) with ordinality as m(id, i)`, lakeside.ID, tag, made); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("frontdesk", lakeside), false, "/schedule")
	rows := regexp.MustCompile(`<tr data-id="([^"]+)"`)
	next := regexp.MustCompile(`href="([^"]+)" id="next-page"`)
	if p := c.get("/patients"); len(rows.FindAllString(p.body, -1)) == 0 {
		t.Errorf("the list without a search shows no patients (%d)", p.status)
	}
	seen := map[string]bool{}
	path := "/patients?q=" + tag
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("the pages do not end")
		}
		p := c.get(strings.ReplaceAll(path, "&amp;", "&"))
		for _, m := range rows.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Errorf("patient %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(p.body); m != nil {
			path = m[1]
		}
	}
	if len(seen) != 60 {
		t.Errorf("the pages showed %d patients, want the 60", len(seen))
	}
	if p := c.get("/patients?cursor=not-a-cursor"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "first page") {
		t.Errorf("a made-up cursor: %d", p.status)
	}
}

// TestPatientPicker: booking and the new invoice find the patient by a
// search, never by a list of every patient; namesakes are told apart by
// their dates of birth; the search keeps the slot clicked on the schedule;
// a patient chosen on the chart is offered, checked.
func TestPatientPicker(t *testing.T) {
	a := startApp(t)
	tag := "Pk" + tenancy.NewID().String()[24:]
	if _, err := a.super.Exec(context.Background(), `insert into patients (clinic_id, id, given_name, family_name, date_of_birth)
		values ($1, $3, $2, 'Twin', '1991-03-04'), ($1, $4, $2, 'Twin', '1993-05-06')`, riverside.ID, tag, tenancy.NewID(), tenancy.NewID()); err != nil {
		t.Fatal(err)
	}
	var active int
	a.one(t, &active, `select count(*) from patients where clinic_id = $1 and status = 'active'`, riverside.ID)
	radios := regexp.MustCompile(`type="radio" name="patient"`)
	owner := newClient(t, a.base)
	owner.signIn(seed.StaffEmail("owner", riverside), false, "/schedule")
	for _, page := range []string{"/appointments/new", "/invoices/new"} {
		if p := owner.get(page); p.status != http.StatusOK || len(radios.FindAllString(p.body, -1)) != 0 || strings.Contains(p.body, `<select id="patient"`) {
			t.Errorf("%s without a search: %d, %d patients offered of %d, want none", page, p.status, len(radios.FindAllString(p.body, -1)), active)
		}
		p := owner.get(page + "?chair=c1&date=2030-01-02&q=" + tag)
		if n := len(radios.FindAllString(p.body, -1)); n != 2 || !strings.Contains(p.body, "born 4 Mar 1991") || !strings.Contains(p.body, "born 6 May 1993") {
			t.Errorf("%s, searching the namesakes: %d offered, dates of birth shown %v", page, n, strings.Contains(p.body, "born 4 Mar 1991"))
		}
		if page == "/appointments/new" && !strings.Contains(p.body, `name="chair" value="c1"`) {
			t.Error("the booking search drops the slot clicked")
		}
	}
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	p := owner.get("/appointments/new?patient=" + alex.String())
	if !strings.Contains(p.body, `value="`+alex.String()+`" id="patient-`+alex.String()+`" required checked`) {
		t.Error("the patient chosen on the chart is not offered, checked")
	}
	// Hillcrest's patient is never offered at Riverside, by search or by id.
	jordan := a.patientID(t, hillcrest, "Jordan", "Whitlock")
	if p := owner.get("/appointments/new?q=Whitlock&patient=" + jordan.String()); strings.Contains(p.body, jordan.String()) || len(radios.FindAllString(p.body, -1)) != 0 {
		t.Error("the picker offers Hillcrest's patient at Riverside")
	}
}

// TestPasswordHint: the staff and enrolment forms ask for the password
// length the server accepts (passwords.MinLength), and the server refuses
// one shorter.
func TestPasswordHint(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	want := fmt.Sprintf(`minlength="%d"`, passwords.MinLength)
	hint := fmt.Sprintf("At least %d characters.", passwords.MinLength)
	staff := c.get("/staff")
	if !strings.Contains(staff.body, want) || !strings.Contains(staff.body, hint) {
		t.Errorf("the staff form does not ask for %s (%q)", want, hint)
	}
	if p := newClient(t, a.base).get("/portal/enrol"); !strings.Contains(p.body, want) || !strings.Contains(p.body, hint) {
		t.Errorf("the enrolment form does not ask for %s", want)
	}
	short := strings.Repeat("p", passwords.MinLength-1)
	p := c.post("/staff", url.Values{"csrf_token": {csrf(t, staff)}, "name": {"Short Password"},
		"email": {"short-" + tenancy.NewID().String()[24:] + "@lakeside.example"}, "roles": {"hygienist"}, "password": {short}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("a password one shorter than the hint: %d, want 422", p.status)
	}
}

// TestRegisterAnywayHoldsForOnePerson: a "register anyway" carried through
// a form shown again (for another field's refusal) holds only for the
// name and date of birth it was ticked for: changed to another existing
// patient's, the form warns again and writes nothing.
func TestRegisterAnywayHoldsForOnePerson(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("frontdesk", hillcrest), false, "/schedule")
	tok := csrf(t, c.get("/patients/new"))
	tag := "Ra" + tenancy.NewID().String()[24:]
	count := func() int {
		var n int
		a.one(t, &n, `select count(*) from patients where clinic_id = $1 and given_name ilike $2`, hillcrest.ID, tag+"%")
		return n
	}
	wantRedirect(t, "the first", c.post("/patients", patientValues(tok, tag, "Onetwin", "1970-01-02")), "/patients/")
	wantRedirect(t, "the second", c.post("/patients", patientValues(tok, tag+"b", "Twotwin", "1970-01-02")), "/patients/")
	// Register anyway for Onetwin, with an email the store refuses: the
	// form comes back carrying the allowance.
	v := patientValues(tok, tag, "Onetwin", "1970-01-02")
	v.Set("allow_duplicate", "on")
	v.Set("email", "not an email")
	p := c.post("/patients", v)
	m := regexp.MustCompile(`name="allow_duplicate_for" value="([0-9a-f]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusUnprocessableEntity || m == nil {
		t.Fatalf("register anyway with a bad email: %d, allowance carried: %v", p.status, m != nil)
	}
	// The same form, now for the other existing patient: warned again.
	again := patientValues(tok, tag+"b", "Twotwin", "1970-01-02")
	again.Set("allow_duplicate_for", m[1])
	if p := c.post("/patients", again); p.status != http.StatusConflict || !strings.Contains(p.body, `id="duplicate-warning"`) {
		t.Errorf("the carried allowance with another person's name: %d, want the warning again", p.status)
	}
	if n := count(); n != 2 {
		t.Errorf("%d patients, want the 2 registered", n)
	}
	// For the person it was ticked for, it holds.
	same := patientValues(tok, tag, "Onetwin", "1970-01-02")
	same.Set("allow_duplicate_for", m[1])
	wantRedirect(t, "the carried allowance for the same person", c.post("/patients", same), "/patients/")
}
