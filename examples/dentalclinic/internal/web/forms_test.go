package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
)

// wantRedirect fails unless p is a 303 to a path starting with prefix, and
// returns the Location.
func wantRedirect(t *testing.T, what string, p page, prefix string) string {
	t.Helper()
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %s…\n%s", what, p.status, loc, prefix, formError(p))
	}
	return loc
}

var errorPara = regexp.MustCompile(`id="form-error">([^<]*)<`)

// formError is the refusal a page shows, or "".
func formError(p page) string {
	if m := errorPara.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

// wantRefused fails unless p shows a refusal in words containing words,
// with status.
func wantRefused(t *testing.T, what string, p page, status int, words string) {
	t.Helper()
	if p.status != status || !strings.Contains(formError(p), words) {
		t.Errorf("%s: %d %q, want %d with %q", what, p.status, formError(p), status, words)
	}
}

func idFrom(t *testing.T, loc string) tenancy.ID {
	t.Helper()
	path, _, _ := strings.Cut(loc, "?")
	id, err := tenancy.ParseID(path[strings.LastIndexByte(path, '/')+1:])
	if err != nil {
		t.Fatalf("no id in %q", loc)
	}
	return id
}

// TestInvoiceForms creates an invoice from the fee schedule, issues it,
// records a payment and voids it; refused input changes nothing, and
// another clinic's patient cannot be billed.
func TestInvoiceForms(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	var patient tenancy.ID
	a.one(t, &patient, `select id from patients where clinic_id = $1 order by id limit 1`, lakeside.ID)
	tok := csrf(t, c.get("/invoices/new?patient="+patient.String()))
	invoices := func() int {
		var n int
		a.one(t, &n, `select count(*) from invoices where clinic_id = $1`, lakeside.ID)
		return n
	}
	before := invoices()
	wantRefused(t, "no lines", c.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {patient.String()}}), 422, "lines")
	alex := a.patientID(t, riverside, "Alex", "Morgan")
	p := c.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {alex.String()}, "qty_EXAM": {"1"}})
	if p.status < 400 || p.status == http.StatusForbidden {
		t.Errorf("billing another clinic's patient: %d, want a refusal", p.status)
	}
	if got := invoices(); got != before {
		t.Fatalf("refused invoices were written: %d, was %d", got, before)
	}
	loc := wantRedirect(t, "create", c.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {patient.String()}, "qty_EXAM": {"1"}, "qty_XRAY": {"2"}}), "/invoices/")
	inv := idFrom(t, loc)
	var total int64
	var status string
	read := func() {
		a.one(t, &total, `select total_minor from invoices where clinic_id = $1 and id = $2`, lakeside.ID, inv)
		a.one(t, &status, `select status from invoices where clinic_id = $1 and id = $2`, lakeside.ID, inv)
	}
	read()
	if total != 4500+2*3500 || status != "draft" {
		t.Fatalf("new invoice: total %d status %s, want 11500 draft", total, status)
	}
	if page := c.get(loc); !strings.Contains(page.body, "$115.00") {
		t.Errorf("the invoice page does not show the total in dollars")
	}
	wantRedirect(t, "issue", c.post("/invoices/"+inv.String()+"/issue", url.Values{"csrf_token": {tok}}), "/invoices/"+inv.String())
	wantRefused(t, "a payment in words", c.post("/invoices/"+inv.String()+"/payments", url.Values{"csrf_token": {tok}, "amount": {"fifty"}, "method": {"card"}}), 422, "amount")
	wantRedirect(t, "payment", c.post("/invoices/"+inv.String()+"/payments", url.Values{"csrf_token": {tok}, "amount": {"50.5"}, "method": {"card"}}), "/invoices/")
	var paid int64
	a.one(t, &paid, `select coalesce(sum(amount_minor), 0) from payments where clinic_id = $1 and invoice_id = $2`, lakeside.ID, inv)
	if paid != 5050 {
		t.Errorf("paid %d, want 5050", paid)
	}
	if page := c.get("/invoices/" + inv.String()); !strings.Contains(page.body, "Partly paid") {
		t.Error("the invoice page does not say partly paid")
	}
	wantRefused(t, "void a paid invoice", c.post("/invoices/"+inv.String()+"/void", url.Values{"csrf_token": {tok}}), 409, "cannot be voided")
	loc = wantRedirect(t, "another", c.post("/invoices", url.Values{"csrf_token": {tok}, "patient": {patient.String()}, "qty_SCALE": {"1"}}), "/invoices/")
	inv = idFrom(t, loc)
	wantRedirect(t, "void", c.post("/invoices/"+inv.String()+"/void", url.Values{"csrf_token": {tok}}), "/invoices/")
	read()
	if status != "void" {
		t.Errorf("after void: %s", status)
	}
}

// TestSettingsForms changes hours, zone, chairs, fees and staff through
// the forms, and shows refusals in words.
func TestSettingsForms(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("owner", lakeside), false, "/schedule")
	settings := c.get("/settings")
	tok := csrf(t, settings)
	form := url.Values{"csrf_token": {tok}, "time_zone": {"America/Chicago"}, "currency": {"USD"}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		form.Set("open_"+d, "08:00")
		form.Set("close_"+d, "18:00")
	}
	form.Set("open_sat", "09:00")
	form.Set("close_sat", "12:00")
	wantRedirect(t, "hours", c.post("/settings", form), "/settings")
	var sat string
	a.one(t, &sat, `select opening_hours->>'sat' from clinic_settings where clinic_id = $1`, lakeside.ID)
	if sat != `[["09:00", "12:00"]]` {
		t.Errorf("Saturday hours %s", sat)
	}
	form.Set("time_zone", "Mars/Olympus_Mons")
	wantRefused(t, "unknown zone", c.post("/settings", form), 422, "Time zone is not")
	form.Set("time_zone", "America/Chicago")
	form.Set("close_sat", "")
	wantRefused(t, "half a day", c.post("/settings", form), 422, "Saturday")

	chairs := func() int {
		var n int
		a.one(t, &n, `select count(*) from operatories where clinic_id = $1`, lakeside.ID)
		return n
	}
	n := chairs()
	wantRedirect(t, "add chair", c.post("/settings/chairs", url.Values{"csrf_token": {tok}, "name": {fmt.Sprintf("Chair %d", time.Now().UnixNano()%100000)}}), "/settings")
	if chairs() != n+1 {
		t.Errorf("chairs %d, want %d", chairs(), n+1)
	}
	wantRefused(t, "duplicate chair", c.post("/settings/chairs", url.Values{"csrf_token": {tok}, "name": {"Chair 1"}}), 409, "")

	fees := url.Values{"csrf_token": {tok}}
	for _, f := range [][3]string{{"EXAM", "Examination", "45.00"}, {"XRAY", "Bitewing X-rays", "35.00"}, {"SCALE", "Scale and polish", "65"},
		{"FILL1", "Filling, one surface", "95.00"}, {"FILL2", "Filling, two surfaces", "130.00"}, {"EXTR", "Extraction", "150.00"}, {"PANO", "Panoramic X-ray", "80.25"}} {
		fees.Add("code", f[0])
		fees.Add("description", f[1])
		fees.Add("price", f[2])
	}
	wantRedirect(t, "fees", c.post("/settings/fees", fees), "/settings")
	var pano int64
	a.one(t, &pano, `select price_minor from fee_schedule where clinic_id = $1 and code = 'PANO'`, lakeside.ID)
	if pano != 8025 {
		t.Errorf("PANO price %d, want 8025", pano)
	}

	email := fmt.Sprintf("new.%d@lakeside.example", time.Now().UnixNano())
	wantRedirect(t, "add staff", c.post("/staff", url.Values{"csrf_token": {tok}, "name": {"New Hygienist"}, "email": {email},
		"roles": {"hygienist"}, "password": {"a long enough password"}}), "/staff")
	var roles []string
	a.one(t, &roles, `select roles from staff where clinic_id = $1 and email = $2`, lakeside.ID, email)
	if len(roles) != 1 || roles[0] != "hygienist" {
		t.Errorf("new staff roles %v", roles)
	}
	wantRefused(t, "same email again", c.post("/staff", url.Values{"csrf_token": {tok}, "name": {"Again"}, "email": {email},
		"roles": {"hygienist"}, "password": {"a long enough password"}}), 409, "")

	// A hygienist reads the settings but cannot change them.
	h := newClient(t, a.base)
	h.signIn(seed.StaffEmail("hygienist", lakeside), false, "/schedule")
	hs := h.get("/settings")
	if hs.status != 200 || strings.Contains(hs.body, "Save the fee schedule") {
		t.Errorf("hygienist settings: %d, edit buttons shown: %v", hs.status, strings.Contains(hs.body, "Save the fee schedule"))
	}
	if p := h.post("/settings/chairs", url.Values{"csrf_token": {csrf(t, hs)}, "name": {"Sneaky chair"}}); p.status != http.StatusForbidden {
		t.Errorf("hygienist adding a chair: %d, want 403", p.status)
	}
}

// TestAppointmentForms books, confirms and reschedules an appointment,
// with a conflict in words on the way.
func TestAppointmentForms(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.StaffEmail("dentist", hillcrest), false, "/schedule")
	var chair1, chair2, patient, dentist tenancy.ID
	a.one(t, &chair1, `select id from operatories where clinic_id = $1 and name = 'Chair 1'`, hillcrest.ID)
	a.one(t, &chair2, `select id from operatories where clinic_id = $1 and name = 'Chair 2'`, hillcrest.ID)
	a.one(t, &patient, `select id from patients where clinic_id = $1 and given_name = 'Jordan' and family_name = 'Whitlock'`, hillcrest.ID)
	a.one(t, &dentist, `select id from staff where clinic_id = $1 and email = $2`, hillcrest.ID, seed.StaffEmail("dentist", hillcrest))
	// A weekday the seed left empty (the clinic opens on weekdays).
	day := weekdayFrom(time.Now().AddDate(0, 2, 0)).Format(time.DateOnly)
	tok := csrf(t, c.get("/appointments/new"))
	book := func(chair tenancy.ID, clock string) page {
		return c.post("/appointments", url.Values{"csrf_token": {tok}, "patient": {patient.String()}, "dentist": {dentist.String()},
			"chair": {chair.String()}, "date": {day}, "time": {clock}, "duration": {"30"}, "type": {"Check-up"}})
	}
	wantRedirect(t, "book", book(chair1, "10:00"), "/schedule?done=booked")
	var appt tenancy.ID
	a.one(t, &appt, `select id from appointments where clinic_id = $1 and patient_id = $2 and operatory_id = $3
		and to_char(starts_at at time zone $4, 'YYYY-MM-DD HH24:MI') = $5`, hillcrest.ID, patient, chair1, hillcrest.TimeZone, day+" 10:00")
	wantRefused(t, "the patient twice", book(chair2, "10:00"), 409, "already has an appointment")

	// Someone else in chair 2 at 11:00, then move Jordan there.
	var other tenancy.ID
	a.one(t, &other, `select id from patients where clinic_id = $1 and id <> $2 and status = 'active' order by id limit 1`, hillcrest.ID, patient)
	wantRedirect(t, "book the other", c.post("/appointments", url.Values{"csrf_token": {tok}, "patient": {other.String()}, "dentist": {dentist.String()},
		"chair": {chair2.String()}, "date": {day}, "time": {"11:00"}, "duration": {"30"}, "type": {"Check-up"}, "allow_overlap": {"on"}}), "/schedule")
	path := "/appointments/" + appt.String()
	move := func(chair tenancy.ID, clock string) page {
		return c.post(path, url.Values{"csrf_token": {tok}, "action": {"reschedule"}, "dentist": {dentist.String()}, "chair": {chair.String()},
			"date": {day}, "time": {clock}, "duration": {"30"}, "allow_overlap": {"on"}})
	}
	wantRefused(t, "move into a taken chair", move(chair2, "11:00"), 409, "chair is already booked")
	wantRedirect(t, "move", move(chair2, "14:00"), path)
	var local string
	a.one(t, &local, `select to_char(starts_at at time zone $3, 'YYYY-MM-DD HH24:MI') from appointments where clinic_id = $1 and id = $2`, hillcrest.ID, appt, hillcrest.TimeZone)
	if local != day+" 14:00" {
		t.Errorf("after the move: %s", local)
	}
	wantRedirect(t, "confirm", c.post(path, url.Values{"csrf_token": {tok}, "action": {"status"}, "status": {"confirmed"}}), path)
	wantRefused(t, "back to scheduled", c.post(path, url.Values{"csrf_token": {tok}, "action": {"status"}, "status": {"scheduled"}}), 409, "")
	if p := c.get(path); !strings.Contains(p.body, `id="appointment-status">Confirmed`) {
		t.Error("the appointment page does not show Confirmed")
	}
	// The hygienist may change a status but not reschedule.
	h := newClient(t, a.base)
	h.signIn(seed.StaffEmail("hygienist", hillcrest), false, "/schedule")
	hp := h.get(path)
	if strings.Contains(hp.body, `id="reschedule-form"`) {
		t.Error("the hygienist sees the reschedule form")
	}
	if p := h.post(path, url.Values{"csrf_token": {csrf(t, hp)}, "action": {"reschedule"}, "chair": {chair1.String()}, "date": {day}, "time": {"15:00"}, "duration": {"30"}}); p.status != http.StatusForbidden {
		t.Errorf("the hygienist rescheduling: %d, want 403", p.status)
	}
}

// TestPortalForms: an invite code from the front desk, enrolment, sign-in,
// a request for a free time, contact details.
func TestPortalForms(t *testing.T) {
	a := startApp(t)
	fd := newClient(t, a.base)
	fd.signIn(seed.StaffEmail("frontdesk", hillcrest), false, "/schedule")
	var patient tenancy.ID
	a.one(t, &patient, `select p.id from patients p where p.clinic_id = $1 and p.status = 'active' and p.given_name <> 'Alex'
		and not exists (select 1 from portal_accounts x where x.clinic_id = p.clinic_id and x.patient_id = p.id) order by p.id desc limit 1`, hillcrest.ID)
	chart := fd.get("/patients/" + patient.String())
	inv := fd.post("/patients/"+patient.String()+"/portal-invite", url.Values{"csrf_token": {csrf(t, chart)}})
	m := regexp.MustCompile(`id="invite-code">([^<]+)<`).FindStringSubmatch(inv.body)
	if inv.status != 200 || m == nil {
		t.Fatalf("invite: %d, code shown: %v", inv.status, m != nil)
	}
	email := fmt.Sprintf("patient.%d@example.org", time.Now().UnixNano())
	pc := newClient(t, a.base)
	wantRefused(t, "a wrong code", pc.post("/portal/enrol", url.Values{"code": {"NOT-A-CODE"}, "email": {email}, "password": {"a long enough password"}}), 422, "invite code")
	wantRedirect(t, "enrol", pc.post("/portal/enrol", url.Values{"code": {m[1]}, "email": {email}, "password": {"a long enough password"}}), "/portal/signin")
	p := pc.post("/portal/signin", url.Values{"email": {email}, "password": {"a long enough password"}})
	wantRedirect(t, "portal sign-in", p, "/portal")
	home := pc.get("/portal")
	if home.status != 200 || !strings.Contains(home.body, hillcrest.Name) {
		t.Fatalf("portal home: %d", home.status)
	}
	tok := csrf(t, home)

	// The first weekday at least a week away, at 08:30, when the clinic is
	// open and the seed booked nothing.
	loc, _ := time.LoadLocation(hillcrest.TimeZone)
	day := time.Now().In(loc).AddDate(0, 0, 8)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	date := day.Format(time.DateOnly)
	wantRefused(t, "a Sunday", pc.post("/portal/request", url.Values{"csrf_token": {tok}, "date": {sunday(day).Format(time.DateOnly)}, "time": {"10:00"}, "type": {"Check-up"}, "duration": {"30"}}), 422, "")
	wantRedirect(t, "request", pc.post("/portal/request", url.Values{"csrf_token": {tok}, "date": {date}, "time": {"08:30"}, "type": {"Check-up"}, "duration": {"30"}}), "/portal?done=requested")
	if home := pc.get("/portal"); !strings.Contains(home.body, date+" 08:30") {
		t.Error("the request is not on the portal's home page")
	}
	wantRedirect(t, "contact", pc.post("/portal/contact", url.Values{"csrf_token": {tok}, "phone": {"+44 7700 900123"}, "email": {email}, "address": {"1 High Street"}}), "/portal/contact")
	var phone string
	a.one(t, &phone, `select phone from patients where clinic_id = $1 and id = $2`, hillcrest.ID, patient)
	if phone != "+44 7700 900123" {
		t.Errorf("phone %q after the contact form", phone)
	}
	if p := pc.get("/portal/invoices"); p.status != 200 || !strings.Contains(p.body, `id="balance"`) {
		t.Errorf("portal invoices: %d", p.status)
	}
	if p := pc.get("/portal/prescriptions"); p.status != 200 {
		t.Errorf("portal prescriptions: %d", p.status)
	}
}

func sunday(t time.Time) time.Time {
	for t.Weekday() != time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// TestConsoleForms: a new clinic, its suspension, and impersonation
// refused without a reason or for a suspended clinic.
func TestConsoleForms(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.AdminEmail, false, "/admin")
	tok := csrf(t, c.get("/admin"))
	name := fmt.Sprintf("Test Dental %d", time.Now().UnixNano())
	wantRedirect(t, "new clinic", c.post("/admin/clinics", url.Values{"csrf_token": {tok}, "name": {name}, "time_zone": {"Europe/Paris"}, "currency": {"EUR"}}), "/admin")
	var id tenancy.ID
	a.one(t, &id, `select id from clinics where name = $1`, name)
	wantRefused(t, "no reason", c.post("/admin/impersonate", url.Values{"csrf_token": {tok}, "clinic": {id.String()}, "reason": {"  "}, "minutes": {"15"}}), 422, "reason")
	wantRefused(t, "two hours", c.post("/admin/impersonate", url.Values{"csrf_token": {tok}, "clinic": {id.String()}, "reason": {"checking"}, "minutes": {"120"}}), 422, "60 minutes")
	// Another admin session impersonates the new clinic; suspending the
	// clinic ends the impersonation at once, and that session is handed
	// back its own console.
	imp := newClient(t, a.base)
	imp.signIn(seed.AdminEmail, false, "/admin")
	wantRedirect(t, "impersonate", imp.post("/admin/impersonate", url.Values{"csrf_token": {csrf(t, imp.get("/admin"))}, "clinic": {id.String()},
		"reason": {"set-up check"}, "minutes": {"30"}}), "/schedule")
	if p := imp.get("/session"); p.status != 200 || !strings.Contains(p.body, `id="impersonation-banner"`) || !strings.Contains(p.body, name) {
		t.Fatalf("impersonating the new clinic: %d, banner shown: %v", p.status, strings.Contains(p.body, `id="impersonation-banner"`))
	}
	row := regexp.MustCompile(regexp.QuoteMeta(name) + `.*?</tr>`).FindString(strings.ReplaceAll(c.get("/admin").body, "\n", " "))
	if !regexp.MustCompile(`<td class="num">0</td><td class="num">0</td><td class="num">[1-9][0-9]*</td><td class="num">1 \(1\)</td>`).MatchString(row) {
		t.Errorf("the console's row for the new clinic does not count no staff, no patients, its audit entries and one active impersonation: %s", row)
	}
	// A seeded clinic's size, as the console shows it, is what its rows say.
	var staff, patients int
	a.one(t, &staff, `select count(*) from staff where clinic_id = $1 and not disabled`, riverside.ID)
	a.one(t, &patients, `select count(*) from patients where clinic_id = $1 and status <> 'archived'`, riverside.ID)
	if staff == 0 || patients == 0 {
		t.Fatalf("Riverside has %d staff and %d patients: the fixture is missing", staff, patients)
	}
	row = regexp.MustCompile(regexp.QuoteMeta(riverside.Name) + `.*?</tr>`).FindString(strings.ReplaceAll(c.get("/admin").body, "\n", " "))
	if want := fmt.Sprintf(`<td class="num">%d</td><td class="num">%d</td>`, staff, patients); !strings.Contains(row, want) {
		t.Errorf("the console's row for Riverside does not show its %d staff and %d patients: %s", staff, patients, row)
	}
	wantRedirect(t, "suspend", c.post("/admin/clinics/"+id.String()+"/suspend", url.Values{"csrf_token": {tok}}), "/admin")
	if p := imp.get("/schedule"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin?done=ended" {
		t.Errorf("the suspended clinic's impersonation: %d to %q, want 303 to /admin?done=ended", p.status, p.header.Get("Location"))
	}
	if p := imp.get("/admin"); p.status != 200 || strings.Contains(p.body, `id="impersonation-banner"`) {
		t.Errorf("back in the console: %d, banner shown: %v", p.status, strings.Contains(p.body, `id="impersonation-banner"`))
	}
	var status string
	a.one(t, &status, `select status from clinics where id = $1`, id)
	if status != "suspended" {
		t.Errorf("after suspending: %s", status)
	}
	wantRefused(t, "a suspended clinic", c.post("/admin/impersonate", url.Values{"csrf_token": {tok}, "clinic": {id.String()}, "reason": {"checking"}, "minutes": {"15"}}), 422, "suspended")
	var grants int
	a.one(t, &grants, `select count(*) from audit.impersonation_grants where tenant_id = $1`, id)
	if grants != 1 {
		t.Errorf("the clinic has %d impersonation grants, want the one that was not refused", grants)
	}
}

// TestStaffClinicChoice: an email with staff accounts at two clinics is
// asked which clinic, and the session is then that clinic's only.
func TestStaffClinicChoice(t *testing.T) {
	a := startApp(t)
	email := fmt.Sprintf("locum.%d@example.org", time.Now().UnixNano())
	const password = "a locum's long password"
	for _, c := range []seed.Clinic{riverside, lakeside} {
		owner := newClient(t, a.base)
		owner.signIn(seed.StaffEmail("owner", c), false, "/schedule")
		tok := csrf(t, owner.get("/staff"))
		wantRedirect(t, "add the locum at "+c.Name, owner.post("/staff", url.Values{"csrf_token": {tok}, "name": {"Locum Dentist"}, "email": {email},
			"roles": {"dentist"}, "password": {password}}), "/staff")
	}
	c := newClient(t, a.base)
	choice := c.post("/signin", url.Values{"email": {email}, "password": {password}})
	if choice.status != http.StatusOK || !strings.Contains(choice.body, `id="clinic-choice"`) ||
		!strings.Contains(choice.body, riverside.Name) || !strings.Contains(choice.body, lakeside.Name) || len(choice.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("sign-in with two clinics: %d, choice shown %v, cookies %v", choice.status, strings.Contains(choice.body, `id="clinic-choice"`), choice.header.Values("Set-Cookie"))
	}
	wantRedirect(t, "choose Lakeside", c.post("/signin", url.Values{"email": {email}, "password": {password}, "clinic": {lakeside.ID.String()}}), "/schedule")
	session := c.get("/session")
	if !strings.Contains(session.body, `id="session-clinic">`+lakeside.Name) || !strings.Contains(session.body, lakeside.ID.String()) {
		t.Errorf("the chosen session is not Lakeside's")
	}
	a.patientID(t, riverside, "Alex", "Morgan") // exists, at Riverside, where the locum also works
	if p := c.get("/patients?q=Alex+Morgan"); !strings.Contains(p.body, `id="no-results"`) {
		t.Error("the Lakeside session finds Riverside's Alex Morgan")
	}
	// A clinic id the password does not open is the one wrong-credentials answer.
	wantRefused(t, "a clinic without the account", newClient(t, a.base).post("/signin", url.Values{"email": {email}, "password": {password}, "clinic": {hillcrest.ID.String()}}),
		http.StatusUnauthorized, "email or password is wrong")
}

// TestSignOutWhileImpersonating: signing out during an impersonation ends
// the grant and revokes the admin's own session as well.
func TestSignOutWhileImpersonating(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.AdminEmail, false, "/admin")
	u, _ := url.Parse(a.base)
	console := c.http.Jar.Cookies(u)
	reason := fmt.Sprintf("sign-out check %d", time.Now().UnixNano())
	wantRedirect(t, "impersonate", c.post("/admin/impersonate", url.Values{"csrf_token": {csrf(t, c.get("/admin"))}, "clinic": {lakeside.ID.String()},
		"reason": {reason}, "minutes": {"10"}}), "/schedule")
	sched := c.get("/schedule")
	if !strings.Contains(sched.body, `id="impersonation-banner"`) {
		t.Fatal("no banner while impersonating")
	}
	wantRedirect(t, "sign out", c.post("/signout", url.Values{"csrf_token": {csrf(t, sched)}}), "/signin")
	var ended bool
	a.one(t, &ended, `select ended_at is not null from audit.impersonation_grants where tenant_id = $1 and reason = $2`, lakeside.ID, reason)
	if !ended {
		t.Error("signing out left the impersonation grant running")
	}
	replay := newClient(t, a.base)
	replay.http.Jar.SetCookies(u, console)
	if p := replay.get("/admin"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Errorf("the admin's console session after sign-out: %d to %q, want a redirect to sign in", p.status, p.header.Get("Location"))
	}
}

// TestUnrecordedImpersonatedPageIsAPage: an impersonated page whose audit
// event cannot be written is refused with the web UI's own 503 page,
// rendered through the impersonation middleware's Deny hook, not with the
// SDK's problem document.
func TestUnrecordedImpersonatedPageIsAPage(t *testing.T) {
	a := startApp(t)
	c := newClient(t, a.base)
	c.signIn(seed.AdminEmail, false, "/admin")
	name := fmt.Sprintf("Unrecorded Dental %d", time.Now().UnixNano())
	wantRedirect(t, "new clinic", c.post("/admin/clinics", url.Values{"csrf_token": {csrf(t, c.get("/admin"))}, "name": {name},
		"time_zone": {"Europe/Paris"}, "currency": {"EUR"}}), "/admin")
	var id tenancy.ID
	a.one(t, &id, `select id from clinics where name = $1`, name)
	wantRedirect(t, "impersonate", c.post("/admin/impersonate", url.Values{"csrf_token": {csrf(t, c.get("/admin"))}, "clinic": {id.String()},
		"reason": {"set-up check"}, "minutes": {"30"}}), "/schedule")
	if p := c.get("/session"); p.status != http.StatusOK || !strings.Contains(p.body, name) {
		t.Fatalf("impersonating the new clinic: %d", p.status)
	}
	// Only this clinic's events of this page fail.
	ctx := context.Background()
	if _, err := a.super.Exec(ctx, `alter table audit.events add constraint unrecorded_page
		check (tenant_id is distinct from '`+id.String()+`'::uuid or action <> 'GET /session') not valid`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.super.Exec(ctx, `alter table audit.events drop constraint unrecorded_page`) })
	p := c.get("/session")
	if p.status != http.StatusServiceUnavailable || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(p.body, "cannot be reached just now") || p.header.Get("Retry-After") == "" {
		t.Errorf("unrecorded impersonated page: %d %q Retry-After %q; want the 503 page",
			p.status, p.header.Get("Content-Type"), p.header.Get("Retry-After"))
	}
}
