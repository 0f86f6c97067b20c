package web_test

import (
	"context"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/web"
)

// The page leak harness walks the web UI's route table (Server.Routes),
// so that a new page or form is covered without being listed here, and
// fails on a route it does not know how to exercise. Riverside's staff and
// its portal patient Alex Morgan act; Hillcrest's records, and at the
// portal the records of Riverside's other patients (and Alex's own at
// Hillcrest, where Alex is enrolled too), are what they must not reach.

// leakKinds says which record a route's {id} names, by the route's path
// prefix (the first match wins, so longer prefixes come first), and the
// table that holds that kind. A route with a wildcard under no prefix here
// fails the harness until it is added.
var leakKinds = []struct{ prefix, kind, table string }{
	{"/portal/appointments/", "appointment", "appointments"},
	{"/portal/invoices/", "invoice", "invoices"},
	{"/settings/chairs/", "chair", "operatories"},
	{"/settings/exports/", "export", "clinic_exports"},
	{"/appointments/", "appointment", "appointments"},
	{"/invoices/", "invoice", "invoices"},
	{"/patients/", "patient", "patients"},
	{"/payments/", "payment", "payments"},
	{"/staff/", "staff member", "staff"},
	{"/requests/", "appointment request", "appointment_requests"},
}

// leakForms are forms the pages accept, by route: placeholders in braces
// ({patient}, {dentist}, {hygienist}, {chair}, {date}) are replaced by the
// acting clinic's records, or, one at a time, by another clinic's. A form
// of a route with {id} is posted with another clinic's id and a missing
// one, which must be the same 404 with nothing changed. A form of a route
// without {id} that names records is first posted with each reference
// pointing at another clinic (refused, nothing changed), then with its
// own (accepted: so the refusals were about the reference). Every form is
// then posted with bad values in each field (no 5xx; a 4xx changes
// nothing).
var leakForms = map[string]url.Values{
	"POST /appointments": {"patient": {"{patient}"}, "dentist": {"{dentist}"}, "chair": {"{chair}"}, "date": {"{date}"},
		"time": {"09:00"}, "duration": {"30"}, "type": {"Check-up"}},
	"POST /appointments/{id}":               {"action": {"status"}, "status": {"confirmed"}},
	"POST /invoices":                        {"patient": {"{patient}"}, "qty_EXAM": {"1"}},
	"POST /invoices/{id}/issue":             {},
	"POST /invoices/{id}/void":              {},
	"POST /invoices/{id}/payments":          {"amount": {"1.00"}, "method": {"card"}},
	"POST /patients/{id}/prescriptions":     {"drug": {"Ibuprofen"}, "strength": {"200 mg"}, "form": {"tablet"}, "directions": {"One every 6 hours"}, "quantity": {"10"}, "refills": {"0"}},
	"POST /patients/{id}/portal-invite":     {},
	"POST /staff/{id}":                      {"name": {"Leak Harness"}, "roles": {"hygienist"}},
	"POST /portal/appointments/{id}/cancel": {},
	"POST /portal/appointments/{id}/move":   {"date": {"{date}"}, "time": {"11:00"}},
	"POST /requests/{id}/confirm":           {},
	"POST /requests/{id}/decline":           {"reason": {"The dentist is away that day."}},
	"POST /settings/chairs/{id}":            {"name": {"Chair renamed"}},
	"POST /portal/contact":                  {"phone": {"+44 7700 900555"}, "email": {seed.PortalEmail}, "address": {"2 High Street"}},
	"POST /portal/request":                  {"date": {"{date}"}, "time": {"10:00"}, "type": {"Check-up"}, "duration": {"30"}},
	"POST /staff":                           {"name": {"Harness Hire"}, "email": {"harness.hire@riverside.example"}, "password": {"a long enough password"}, "roles": {"hygienist"}},
	"POST /settings/chairs":                 {"name": {"Harness chair"}},
	"POST /settings/fees":                   {"code": {"EXAM"}, "description": {"Examination"}, "price": {"45.00"}},
	"POST /settings": {"time_zone": {"Europe/London"}, "currency": {"GBP"}, "open_mon": {"08:00"}, "close_mon": {"18:00"},
		"open_tue": {"08:00"}, "close_tue": {"18:00"}, "open_wed": {"08:00"}, "close_wed": {"18:00"}, "open_thu": {"08:00"},
		"close_thu": {"18:00"}, "open_fri": {"08:00"}, "close_fri": {"18:00"}},
	"POST /patients": {"given_name": {"Harness"}, "family_name": {"Patient"}, "date_of_birth": {"1990-02-03"}, "sex": {"female"},
		"phone": {"+44 7700 900777"}, "email": {"harness.patient@example.org"}, "medical_alerts": {"Asthma"}, "allergies": {"Latex"}, "allow_duplicate": {"on"}},
	"POST /patients/{id}": {"given_name": {"Harness"}, "family_name": {"Edited"}, "date_of_birth": {"{dob}"}, "sex": {"female"}, "status": {"active"}},
}

// leakSkip are the routes the harness does not post to, and why: none
// reads a record of a clinic by an id the caller chooses.
var leakSkip = map[string]string{
	"POST /signout":                    "ends the acting session; names no record",
	"POST /impersonation/end":          "ends the caller's own impersonation (TestSignOutWhileImpersonating)",
	"POST /signin":                     "public: no session, no clinic yet (TestStaffClinicChoice, the sign-in service's tests)",
	"POST /portal/switch":              "switches among the sessions this browser holds, by slot (1 to 4); names no record (TestPortalClinicSwitch)",
	"POST /portal/signin":              "public: no session, no clinic yet",
	"POST /portal/enrol":               "public: an invite code, not an id (TestPortalForms)",
	"POST /settings/exports":           "starts a whole-clinic export of the caller's own clinic; names no record (TestSettingsExport)",
	"POST /admin/clinics":              "platform console: works across clinics by design (checked: clinic staff get 403)",
	"POST /admin/offboard":             "platform console",
	"POST /admin/impersonate":          "platform console",
	"POST /admin/clinics/{id}/suspend": "platform console: its {id} is a clinic",
}

// leakStateful are the forms whose valid post is refused once the record
// has moved on (an invoice issued, voided, paid in full by an earlier
// post of the walk): their bad values are checked, the valid form's
// acceptance is not.
var leakStateful = map[string]bool{
	"POST /invoices/{id}/issue": true, "POST /invoices/{id}/void": true, "POST /invoices/{id}/payments": true,
	"POST /appointments/{id}": true, "POST /patients/{id}/prescriptions": true, "POST /patients/{id}/portal-invite": true,
	"POST /portal/appointments/{id}/cancel": true, "POST /portal/appointments/{id}/move": true, "POST /requests/{id}/confirm": true, "POST /requests/{id}/decline": true,
}

// leakBad are the bad values each form field is given in turn.
var leakBad = []struct{ name, value string }{
	{"empty", ""},
	{"long", strings.Repeat("x", 20000)},
	{"NUL", "a\x00b"},
	{"invalid UTF-8", "\xff\xfe"},
	{"negative", "-1"},
	{"huge number", "99999999999999999999999"},
	{"not an id", "0195f1c2-0000-7000-8000-00000000010g"},
}

type leakActor struct {
	apptest.Staff
	roles []string
}

type leakHarness struct {
	a       *apptest.App
	snap    *apptest.Snapshot
	clients map[string]*client // by email
	staff   []leakActor        // Riverside's actors, one per demo role
	alex    tenancy.ID         // Alex Morgan at Riverside, the portal actor
	alexHC  tenancy.ID         // Alex Morgan at Hillcrest
	// foreign is a Hillcrest patient whose family name no Riverside
	// patient has: the name, and the phone and email no page of
	// Riverside's may show.
	foreign                                 tenancy.ID
	foreignName, foreignPhone, foreignEmail string
	// ownName and ownPhone are a Riverside patient's, and ownShown the
	// pages whose search showed that phone: the control of the query check.
	ownName, ownPhone string
	ownShown          []string
	date              string
}

// TestPagesLeakNothing is the web UI's leak harness: for every route of
// the route table, another clinic's record (and, at the portal, another
// patient's) is the very same 404 page as a missing id, a form naming
// another clinic's record is refused and changes nothing, no page given
// another clinic's ids in its query shows that clinic's patient, bad form
// values never get a 5xx and a refused form changes nothing.
func TestPagesLeakNothing(t *testing.T) {
	a := apptest.Start(t, apptest.Options{})
	if a.Web == nil {
		t.Fatal("the app did not hand over its web server")
	}
	h := &leakHarness{a: a, snap: apptest.NewPageSnapshot(t, a.SuperConn(t)), clients: map[string]*client{}}
	h.setUp(t)
	routes := a.Web.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d web routes: %v", len(routes), routes)
	}
	for _, rt := range routes {
		t.Run(rt.Pattern, func(t *testing.T) { h.route(t, rt) })
	}
	// The query check can see a patient's phone: the patient search
	// showed the clinic's own.
	if !slices.Contains(h.ownShown, "/patients") {
		t.Errorf("searching the clinic's own patient showed their phone on %v, not on /patients: the query check is blind", h.ownShown)
	}
	for pattern := range leakForms {
		if !slices.ContainsFunc(routes, func(r web.Route) bool { return r.Pattern == pattern }) {
			t.Errorf("leakForms names %s, which is not a route: remove it", pattern)
		}
	}
}

func (h *leakHarness) setUp(t *testing.T) {
	riverside, hillcrest := seed.Clinics[0], seed.Clinics[1]
	for _, m := range seed.StaffRoles {
		h.staff = append(h.staff, leakActor{h.a.NewStaff(t, riverside, m.Roles...), m.Roles})
	}
	h.alex = h.one(t, `select id from patients where clinic_id = $1 and given_name = 'Alex' and family_name = 'Morgan'`, riverside.ID)
	h.alexHC = h.one(t, `select id from patients where clinic_id = $1 and given_name = 'Alex' and family_name = 'Morgan'`, hillcrest.ID)
	// The data the pages must not show exists: a Hillcrest patient whose
	// name no Riverside patient shares.
	var given, family string
	if err := h.a.SuperConn(t).QueryRow(context.Background(), `select id, given_name, family_name, phone, email from patients p
		where clinic_id = $1 and status = 'active' and phone <> '' and email <> ''
		and not exists (select 1 from patients q where q.clinic_id = $2 and q.family_name = p.family_name) order by id limit 1`,
		hillcrest.ID, riverside.ID).Scan(&h.foreign, &given, &family, &h.foreignPhone, &h.foreignEmail); err != nil {
		t.Fatalf("a Hillcrest-only patient: %v", err)
	}
	h.foreignName = given + " " + family
	if err := h.a.SuperConn(t).QueryRow(context.Background(), `select given_name || ' ' || family_name, phone from patients
		where clinic_id = $1 and status = 'active' and phone <> '' and id <> $2 order by id limit 1`, riverside.ID, h.alex).Scan(&h.ownName, &h.ownPhone); err != nil {
		t.Fatalf("a Riverside patient with a phone: %v", err)
	}
	loc, err := time.LoadLocation(riverside.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 9)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	h.date = day.Format(time.DateOnly)
	// Each clinic has a request of Alex's waiting, for the inbox's routes.
	for _, c := range []struct {
		clinic  seed.Clinic
		patient tenancy.ID
	}{{riverside, h.alex}, {hillcrest, h.alexHC}} {
		h.a.SuperExec(t, `insert into appointment_requests (clinic_id, id, patient_id, kind, dentist_id, starts_at, ends_at, type)
			select $1, gen_random_uuid(), $2, 'new', id, now() + interval '20 days', now() + interval '20 days 30 minutes', 'Check-up'
			from staff where clinic_id = $1 and 'dentist' = any(roles) order by id limit 1`, c.clinic.ID, c.patient)
	}
	// Each clinic has an export of its own, for the download route.
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		h.a.SuperExec(t, `insert into clinic_exports (clinic_id, id, requested_by, status) select $1, gen_random_uuid(), id, 'pending'
			from staff where clinic_id = $1 order by id limit 1`, c.ID)
	}
}

// settled returns a snapshot of the database once background work (the
// reminder job of a booking) is done: two snapshots 50 ms apart agree.
func (h *leakHarness) settled(t *testing.T) map[string]string {
	t.Helper()
	prev := h.snap.Take(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		cur := h.snap.Take(t)
		if maps.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatalf("the database is still changing 10 s after the last accepted form")
	return nil
}

// one reads one id as the superuser.
func (h *leakHarness) one(t *testing.T, sql string, args ...any) tenancy.ID {
	t.Helper()
	var id tenancy.ID
	if err := h.a.SuperConn(t).QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// actor signs in (once) a principal that the route admits: one of
// Riverside's staff, Alex at Riverside's portal, or nobody for a public
// route (nil).
func (h *leakHarness) actor(t *testing.T, allow web.Allow) *client {
	t.Helper()
	if allow.Public {
		return newClient(t, h.a.Base)
	}
	if slices.Contains(allow.Kinds, kinds.Patient) {
		return h.signedIn(t, seed.PortalEmail, true)
	}
	for _, s := range h.staff {
		if allow.Admits(tenancy.Principal{Kind: kinds.Staff, Tenant: seed.Clinics[0].ID, Subject: s.ID, Roles: s.roles}) {
			return h.signedIn(t, s.Email, false)
		}
	}
	return nil
}

func (h *leakHarness) signedIn(t *testing.T, email string, portal bool) *client {
	t.Helper()
	if c, ok := h.clients[email]; ok {
		c.t = t
		return c
	}
	c := newClient(t, h.a.Base)
	form := url.Values{"email": {email}, "password": {seed.Password}}
	path := "/signin"
	if portal {
		path = "/portal/signin"
		form.Set("clinic", seed.Clinics[0].ID.String())
	}
	if p := c.post(path, form); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d\n%.500s", email, p.status, p.body)
	}
	h.clients[email] = c
	return c
}

// token returns the actor's CSRF token, from a page every signed-in
// principal reaches.
func (h *leakHarness) token(t *testing.T, c *client) string {
	t.Helper()
	return csrf(t, c.get("/session"))
}

// ids returns, for kind's table, the acting principal's own record and
// the records it must not reach.
func (h *leakHarness) ids(t *testing.T, table string, portal bool) (own tenancy.ID, foreign []tenancy.ID) {
	t.Helper()
	riverside, hillcrest := seed.Clinics[0].ID, seed.Clinics[1].ID
	if !portal {
		own = h.one(t, `select id from `+table+` where clinic_id = $1 order by id limit 1`, riverside)
		foreign = append(foreign, h.one(t, `select id from `+table+` where clinic_id = $1 order by id limit 1`, hillcrest))
		return own, foreign
	}
	own = h.one(t, `select id from `+table+` where clinic_id = $1 and patient_id = $2 order by id limit 1`, riverside, h.alex)
	foreign = append(foreign,
		h.one(t, `select id from `+table+` where clinic_id = $1 and patient_id <> $2 order by id limit 1`, riverside, h.alex),
		h.one(t, `select id from `+table+` where clinic_id = $1 and patient_id = $2 order by id limit 1`, hillcrest, h.alexHC))
	return own, foreign
}

// refs returns the values of a form's placeholders at clinic c.
func (h *leakHarness) refs(t *testing.T, c seed.Clinic) map[string]string {
	t.Helper()
	patient := h.one(t, `select id from patients where clinic_id = $1 and status = 'active' and id <> $2 order by id limit 1`, c.ID, h.alex)
	if c == seed.Clinics[1] {
		patient = h.foreign
	}
	return map[string]string{
		"{patient}":   patient.String(),
		"{dentist}":   h.one(t, `select id from staff where clinic_id = $1 and 'dentist' = any(roles) and not disabled order by id limit 1`, c.ID).String(),
		"{hygienist}": h.one(t, `select id from staff where clinic_id = $1 and 'hygienist' = any(roles) and not disabled order by id limit 1`, c.ID).String(),
		"{chair}":     h.one(t, `select id from operatories where clinic_id = $1 order by id limit 1`, c.ID).String(),
		"{date}":      h.date,
	}
}

// fill returns form with its placeholders replaced from refs, and
// foreign's value for the one placeholder named swap.
func fill(form url.Values, refs, foreign map[string]string, swap, csrfToken string) url.Values {
	out := url.Values{}
	for k, vs := range form {
		for _, v := range vs {
			if v == swap {
				v = foreign[v]
			} else if r, ok := refs[v]; ok {
				v = r
			}
			out.Add(k, v)
		}
	}
	out.Set("csrf_token", csrfToken)
	return out
}

// apiFieldName is a name such as amount_minor: a form's refusal must say
// it in the form's words.
var apiFieldName = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)

var placeholder = regexp.MustCompile(`^\{[a-z]+\}$`)

func (h *leakHarness) route(t *testing.T, rt web.Route) {
	method, path, _ := strings.Cut(rt.Pattern, " ")
	if rt.Allow.Console {
		h.console(t, method, path)
		return
	}
	if !rt.Allow.Public {
		h.refusedRoles(t, rt, method, path)
	}
	if strings.Contains(path, "{") && !strings.HasSuffix(path, "{$}") {
		h.withID(t, rt, method, path)
		return
	}
	switch method {
	case http.MethodGet:
		h.query(t, rt, path)
	case http.MethodPost:
		h.form(t, rt, path)
	default:
		t.Errorf("%s: the harness does not know the method", rt.Pattern)
	}
}

// refusedRoles checks that every signed-in principal the route does not
// admit (Riverside's demo roles, Alex at the portal) gets 403, with the
// caller's own record where the path names one.
func (h *leakHarness) refusedRoles(t *testing.T, rt web.Route, method, path string) {
	if i := slices.IndexFunc(leakKinds, func(k struct{ prefix, kind, table string }) bool { return strings.HasPrefix(path, k.prefix) }); i >= 0 {
		own, _ := h.ids(t, leakKinds[i].table, false)
		path = strings.Replace(path, "{id}", own.String(), 1)
	}
	var refused []*client
	for _, s := range h.staff {
		if !rt.Allow.Admits(tenancy.Principal{Kind: kinds.Staff, Tenant: seed.Clinics[0].ID, Subject: s.ID, Roles: s.roles}) {
			refused = append(refused, h.signedIn(t, s.Email, false))
		}
	}
	if !slices.Contains(rt.Allow.Kinds, kinds.Patient) {
		refused = append(refused, h.signedIn(t, seed.PortalEmail, true))
	}
	for _, c := range refused {
		var p page
		if method == http.MethodGet {
			p = c.get(path)
		} else {
			p = c.post(path, url.Values{"csrf_token": {h.token(t, c)}})
		}
		if p.status != http.StatusForbidden {
			t.Errorf("%s %s by a principal it does not admit: %d, want 403", method, path, p.status)
		}
	}
}

// console checks that a clinic's owner cannot reach a platform route.
func (h *leakHarness) console(t *testing.T, method, path string) {
	c := h.signedIn(t, h.staff[0].Email, false)
	path = strings.ReplaceAll(path, "{id}", seed.Clinics[1].ID.String())
	var p page
	if method == http.MethodGet {
		p = c.get(path)
	} else {
		p = c.post(path, url.Values{"csrf_token": {h.token(t, c)}, "reason": {"harness"}, "clinic": {seed.Clinics[1].ID.String()}})
	}
	if p.status != http.StatusForbidden {
		t.Errorf("a clinic owner at %s %s: %d, want 403", method, path, p.status)
	}
}

// withID checks a route whose path names a record.
func (h *leakHarness) withID(t *testing.T, rt web.Route, method, path string) {
	if reason, ok := leakSkip[rt.Pattern]; ok {
		t.Logf("not posted: %s", reason)
		return
	}
	i := slices.IndexFunc(leakKinds, func(k struct{ prefix, kind, table string }) bool { return strings.HasPrefix(path, k.prefix) })
	if i < 0 || strings.Count(path, "{") != 1 || !strings.Contains(path, "{id}") {
		t.Fatalf("%s: the leak harness does not know which record this path names: add its prefix to leakKinds (one {id} per path)", rt.Pattern)
	}
	k := leakKinds[i]
	c := h.actor(t, rt.Allow)
	if c == nil {
		t.Fatalf("%s: no Riverside actor the route admits (%+v)", rt.Pattern, rt.Allow)
	}
	portal := slices.Contains(rt.Allow.Kinds, kinds.Patient)
	own, foreign := h.ids(t, k.table, portal)
	missing := tenancy.NewID()
	at := func(id tenancy.ID) string { return strings.Replace(path, "{id}", id.String(), 1) }
	send := func(id tenancy.ID) page {
		if method == http.MethodGet {
			return c.get(at(id))
		}
		form, ok := leakForms[rt.Pattern]
		if !ok {
			t.Fatalf("%s: the harness has no form for this route: add one to leakForms that the route accepts for the caller's own %s", rt.Pattern, k.kind)
		}
		return c.post(at(id), fill(form, h.refs(t, seed.Clinics[0]), nil, "", h.token(t, c)))
	}
	before := h.settled(t)
	want := send(missing)
	if want.status != http.StatusNotFound {
		t.Fatalf("%s with a missing %s: %d, want 404 (the form must pass the route's checks up to the lookup)\n%.300s", rt.Pattern, k.kind, want.status, formError(want))
	}
	for _, id := range foreign {
		got := send(id)
		if got.status != want.status || got.body != want.body {
			t.Errorf("%s with another's %s %s: %d, not the missing one's %d page\n%.300s", rt.Pattern, k.kind, id, got.status, want.status, got.body)
		}
	}
	if method == http.MethodPost {
		if after := h.snap.Take(t); !maps.Equal(before, after) {
			t.Errorf("%s with another's or a missing %s changed %v", rt.Pattern, k.kind, apptest.DiffTables(before, after))
		}
	}
	// The route reaches its own records: the 404s were about the id.
	var got page
	if method == http.MethodGet {
		got = c.get(at(own))
	} else {
		got = c.post(at(own), url.Values{"csrf_token": {h.token(t, c)}})
	}
	if got.status == http.StatusNotFound || got.status == http.StatusForbidden || got.status >= 500 {
		t.Errorf("%s with the caller's own %s %s: %d, want the route to reach it", rt.Pattern, k.kind, own, got.status)
	}
	if method == http.MethodPost {
		extra := map[string]string{}
		if k.table == "patients" {
			var dob string
			if err := h.a.SuperConn(t).QueryRow(context.Background(), `select coalesce(to_char(date_of_birth, 'YYYY-MM-DD'), '')
				from patients where clinic_id = $1 and id = $2`, seed.Clinics[0].ID, own).Scan(&dob); err != nil {
				t.Fatal(err)
			}
			extra["{dob}"] = dob
		}
		h.badValues(t, rt, c, at(own), extra, true)
	}
}

// query checks that a page given another clinic's ids in its query (and
// its patient's name to search for) shows nothing of that clinic.
func (h *leakHarness) query(t *testing.T, rt web.Route, path string) {
	if path == "/static/" {
		path = "/static/app.css"
	}
	c := h.actor(t, rt.Allow)
	if c == nil {
		t.Fatalf("%s: no Riverside actor the route admits", rt.Pattern)
	}
	// Asked by id, then by name (the invoice list searches its patient
	// parameter by name), the page may echo what it was asked; it must
	// not show what it was not: the other clinic's patient's phone or
	// email.
	foreign := h.refs(t, seed.Clinics[1])
	for _, q := range []url.Values{
		{"q": {h.foreignName}, "id": {foreign["{patient}"]}, "patient": {foreign["{patient}"]}, "date": {h.date},
			"dentist": {foreign["{dentist}"]}, "chair": {foreign["{chair}"]}, "who": {foreign["{dentist}"]}},
		{"q": {h.foreignName}, "patient": {h.foreignName}},
	} {
		p := c.get(path + "?" + q.Encode())
		if p.status >= 500 {
			t.Errorf("GET %s with another clinic's ids: %d", path, p.status)
		}
		if body := html.UnescapeString(p.body); strings.Contains(body, h.foreignPhone) || strings.Contains(body, h.foreignEmail) {
			t.Errorf("GET %s?%s shows the other clinic's patient's contact details", path, q.Encode())
		}
	}
	// The same question about the clinic's own patient: where a page does
	// show it, the check above could have seen the other's.
	own := url.Values{"q": {h.ownName}, "patient": {h.ownName}}
	// (Pages are compared unescaped: html/template writes "+44" as "&#43;44".)
	if p := c.get(path + "?" + own.Encode()); strings.Contains(html.UnescapeString(p.body), h.ownPhone) {
		h.ownShown = append(h.ownShown, path)
	}
}

// form checks a form whose path names no record: each record it names in
// its fields, pointed at another clinic, is refused and changes nothing;
// then its own records are accepted. A form that names no record (the
// clinic's own settings, a new patient) is only posted as it is, then
// with bad values.
func (h *leakHarness) form(t *testing.T, rt web.Route, path string) {
	if reason, ok := leakSkip[rt.Pattern]; ok {
		t.Logf("not posted: %s", reason)
		return
	}
	form, ok := leakForms[rt.Pattern]
	if !ok {
		t.Fatalf("%s: the harness has no form for this route: add one to leakForms (with placeholders for the records it names), or to leakSkip with the reason it names none", rt.Pattern)
	}
	c := h.actor(t, rt.Allow)
	if c == nil {
		t.Fatalf("%s: no Riverside actor the route admits", rt.Pattern)
	}
	own, foreign := h.refs(t, seed.Clinics[0]), h.refs(t, seed.Clinics[1])
	named := 0
	for _, vs := range form {
		for _, v := range vs {
			if !placeholder.MatchString(v) || v == "{date}" {
				continue
			}
			named++
			before := h.settled(t)
			p := c.post(path, fill(form, own, foreign, v, h.token(t, c)))
			if p.status < 400 || p.status >= 500 {
				t.Errorf("%s with another clinic's %s: %d, want a refusal", rt.Pattern, v, p.status)
			}
			if body := html.UnescapeString(p.body); strings.Contains(body, h.foreignName) || strings.Contains(body, h.foreignPhone) {
				t.Errorf("%s with another clinic's %s names that clinic's patient", rt.Pattern, v)
			}
			if after := h.snap.Take(t); !maps.Equal(before, after) {
				t.Errorf("%s with another clinic's %s changed %v", rt.Pattern, v, apptest.DiffTables(before, after))
			}
		}
	}
	if p := c.post(path, fill(form, own, nil, "", h.token(t, c))); p.status != http.StatusSeeOther && p.status != http.StatusOK {
		t.Errorf("%s with the clinic's own records: %d %q, want it accepted (else the refusals above prove nothing)", rt.Pattern, p.status, formError(p))
	}
	h.badValues(t, rt, c, path, nil, false)
}

// badValues posts the route's form with each field given each bad value:
// never a 5xx, and a refusal changes nothing.
// checkValid posts the valid form first and wants it accepted (form has
// done so already for its routes).
func (h *leakHarness) badValues(t *testing.T, rt web.Route, c *client, path string, extra map[string]string, checkValid bool) {
	form := leakForms[rt.Pattern]
	own := h.refs(t, seed.Clinics[0])
	maps.Copy(own, extra)
	tok := h.token(t, c)
	// The valid form is accepted (else the bad values below would test
	// its refusal, not their own), unless the record has moved on.
	if !checkValid || leakStateful[rt.Pattern] {
		// form posted it; or the record has moved on
	} else if p := c.post(path, fill(form, own, nil, "", tok)); p.status != http.StatusSeeOther && p.status != http.StatusOK {
		t.Errorf("%s: the valid form is refused (%d %q): its bad values would prove nothing", rt.Pattern, p.status, formError(p))
	}
	fields := slices.Sorted(maps.Keys(form))
	before := h.settled(t)
	for _, f := range fields {
		for _, bad := range leakBad {
			v := fill(form, own, nil, "", tok)
			v.Set(f, bad.value)
			p := c.post(path, v)
			switch {
			case p.status >= 500:
				t.Errorf("%s, %s %s: %d", rt.Pattern, f, bad.name, p.status)
			case p.status >= 400:
				if m := apiFieldName.FindString(formError(p)); m != "" {
					t.Errorf("%s, %s %s: the refusal names the API's field %q: %q", rt.Pattern, f, bad.name, m, formError(p))
				}
				if after := h.snap.Take(t); !maps.Equal(before, after) {
					t.Errorf("%s, %s %s: refused (%d) but changed %v", rt.Pattern, f, bad.name, p.status, apptest.DiffTables(before, after))
				}
			default:
				before = h.settled(t) // accepted: a new baseline
			}
			if p.status >= 400 && strings.Contains(p.body, bad.value) && len(bad.value) > 3 && bad.name != "negative" {
				// Echoing a field back into its form is fine; a page
				// must not be the raw value with no form around it.
				if !strings.Contains(p.body, "<form") {
					t.Errorf("%s, %s %s: a refusal page that only echoes the value", rt.Pattern, f, bad.name)
				}
			}
		}
	}
	// The valid form once more, so that the routes after this one see the
	// clinic as the harness set it (a bad value that was accepted, such as
	// a day's opening time left empty, is undone).
	if p := c.post(path, fill(form, own, nil, "", tok)); p.status >= 500 {
		t.Errorf("%s, the valid form again: %d", rt.Pattern, p.status)
	}
}
