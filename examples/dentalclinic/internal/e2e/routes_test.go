package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
)

// TestEveryRoute probes every route of the OpenAPI document, which is
// built from the router's own table: success for a role that may call it,
// 403 for a principal that may not, and, for a route that names an object
// by id, 404 for another clinic's object, byte for byte the 404 of an
// unknown id, after proving that object exists. A route in the document
// without a probe of each kind fails the test, so a route cannot be added
// without being probed.
//
// The caller is Riverside; the other clinic is Hillcrest.
func TestEveryRoute(t *testing.T) {
	a := startApp(t)
	m := newRouteMatrix(t, a)

	// The routes the server serves.
	r := a.Do(t, "GET", "/api/openapi.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("openapi: %d %s", r.Status, r.Body)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security []any `json:"security"`
		} `json:"paths"`
	}
	r.JSON(t, &doc)
	served := map[string]bool{} // "GET /api/v1/patients/{id}" -> public
	for path, ops := range doc.Paths {
		for method, op := range ops {
			served[strings.ToUpper(method)+" "+path] = len(op.Security) == 0
		}
	}

	m.run(t)

	routes := make([]string, 0, len(served))
	for rt := range served {
		routes = append(routes, rt)
	}
	sort.Strings(routes)
	for _, rt := range routes {
		public := served[rt]
		got := m.probed[rt]
		switch {
		case !got.ok:
			t.Errorf("route %s has no success probe: add it to routeMatrix.run", rt)
		case !public && !got.forbidden && routesWithoutWrongPrincipal[rt] == "":
			t.Errorf("route %s has no 403 probe for a wrong role", rt)
		case strings.Contains(rt, "{id}") && !strings.Contains(rt, "/admin/") && !got.foreign:
			t.Errorf("route %s has no probe with another clinic's object", rt)
		}
	}
	for rt := range m.probed {
		if _, ok := served[rt]; !ok {
			t.Errorf("probed route %s is not in the OpenAPI document", rt)
		}
	}
}

// routesWithoutWrongPrincipal are the signed-in routes that every kind of
// principal may call, so no token is refused with 403; each says why.
var routesWithoutWrongPrincipal = map[string]string{
	"POST /api/v1/auth/logout": "every principal may end its own session",
	"GET /api/v1/me":           "every principal may see who its token says it is",
}

type probeKinds struct{ ok, forbidden, foreign bool }

// routeMatrix holds the tokens and objects the probes use.
type routeMatrix struct {
	a  *apptest.App
	mu sync.Mutex
	// probed records, per route template, which probes ran.
	probed map[string]probeKinds

	owner, dentist, hygienist, front, billing, portal, admin string
}

func newRouteMatrix(t *testing.T, a *apptest.App) *routeMatrix {
	m := &routeMatrix{a: a, probed: map[string]probeKinds{}}
	m.owner = a.NewStaff(t, riverside, "owner").Token // roles: owner only, no dentist
	_, m.dentist = staffRole(t, a, riverside, "dentist")
	_, m.hygienist = staffRole(t, a, riverside, "hygienist")
	_, m.front = staffRole(t, a, riverside, "front_desk")
	_, m.billing = staffRole(t, a, riverside, "billing")
	m.admin = a.SignInAdmin(t)
	return m
}

var templateID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// template turns a concrete path back into its route template.
func template(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return templateID.ReplaceAllString(path, "{id}")
}

func (m *routeMatrix) mark(method, path string, f func(*probeKinds)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := method + " " + template(path)
	p := m.probed[k]
	f(&p)
	m.probed[k] = p
}

// ok calls a route as a principal that may, wants status, checks that
// every record in the body carries the caller's clinic (clinic is zero
// for routes outside any clinic) and that lists are pages, and returns the
// response.
func (m *routeMatrix) ok(t *testing.T, method, path, token string, body any, status int, clinic tenancy.ID) apptest.Response {
	t.Helper()
	m.mark(method, path, func(p *probeKinds) { p.ok = true })
	r := m.a.Do(t, method, path, token, body)
	if r.Status != status {
		t.Errorf("%s %s: got %d %s, want %d", method, path, r.Status, r.Body, status)
		return r
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		var v any
		r.JSON(t, &v)
		if obj, isObj := v.(map[string]any); isObj && method == "GET" {
			_, items := obj["items"]
			_, next := obj["next_cursor"]
			if (items || next) && (!items || !next || len(obj) != 2) {
				t.Errorf("%s %s: a list must be exactly {items, next_cursor}: %s", method, path, r.Body)
			}
		}
		if !clinic.IsZero() {
			schedCheckClinic(t, r.Body, clinic)
		}
	}
	return r
}

// forbidden calls a route as a principal that may not: 403, problem+json.
func (m *routeMatrix) forbidden(t *testing.T, method, path, token string, body any) {
	t.Helper()
	m.mark(method, path, func(p *probeKinds) { p.forbidden = true })
	r := m.a.Do(t, method, path, token, body)
	var p struct{ Code string }
	_ = json.Unmarshal(r.Body, &p)
	if r.Status != http.StatusForbidden || !r.IsProblem() || p.Code != "forbidden" {
		t.Errorf("%s %s as a wrong role: got %d %q %s, want 403 forbidden", method, path, r.Status, r.Header.Get("Content-Type"), r.Body)
	}
}

// foreign calls a route naming another clinic's object (pathFmt has one
// %s for the id) and an unknown id: both 404, byte for byte the same. It
// first proves the object exists, as the database superuser, with exists
// (one row of table with that id at that clinic).
func (m *routeMatrix) foreign(t *testing.T, method, pathFmt, token string, body any, table string, clinic, id tenancy.ID) {
	t.Helper()
	if n := m.a.SuperCount(t, `select count(*) from `+table+` where clinic_id = $1 and id = $2`, clinic, id); n != 1 {
		t.Fatalf("fixture: %s %v is not at clinic %v", table, id, clinic)
	}
	path := fmt.Sprintf(pathFmt, id)
	m.mark(method, path, func(p *probeKinds) { p.foreign = true })
	theirs := m.a.Do(t, method, path, token, body)
	missing := m.a.Do(t, method, fmt.Sprintf(pathFmt, tenancy.NewID()), token, body)
	if theirs.Status != http.StatusNotFound || !theirs.IsProblem() || !bytes.Equal(theirs.Body, missing.Body) {
		t.Errorf("%s %s with another clinic's or patient's %s: %d %s; unknown id: %d %s; want identical 404s",
			method, pathFmt, table, theirs.Status, theirs.Body, missing.Status, missing.Body)
	}
}

// one returns the id of some row of table at clinic, as the superuser.
func (m *routeMatrix) one(t *testing.T, table string, clinic tenancy.ID, where string) tenancy.ID {
	t.Helper()
	ids := m.a.SuperStrings(t, `select id from `+table+` where clinic_id = $1 `+where+` order by id limit 1`, clinic)
	if len(ids) != 1 {
		t.Fatalf("fixture: no %s at clinic %v (%s)", table, clinic, where)
	}
	return tenancy.MustParseID(ids[0])
}

func idOf(t *testing.T, r apptest.Response) tenancy.ID {
	t.Helper()
	var v struct {
		ID tenancy.ID `json:"id"`
	}
	r.JSON(t, &v)
	if v.ID.IsZero() {
		t.Fatalf("no id in %d %s", r.Status, r.Body)
	}
	return v.ID
}

func (m *routeMatrix) run(t *testing.T) {
	a := m.a
	R := riverside.ID
	H := hillcrest.ID
	const v1 = "/api/v1"

	// Public routes.
	for _, p := range []string{"/healthz", "/readyz", "/.well-known/jwks.json", "/api/openapi.json"} {
		m.ok(t, "GET", p, "", nil, 200, tenancy.ID{})
	}

	// Sign-in, /me and logout, with an account of the test's own.
	email := "routes-" + tenancy.NewID().String()[24:] + "@" + riverside.Slug + ".example"
	r := a.Do(t, "POST", v1+"/staff", m.owner, map[string]any{"email": email, "name": "Routes Test", "roles": []string{"hygienist"}, "password": seed.Password})
	if r.Status != http.StatusCreated {
		t.Fatalf("create staff: %d %s", r.Status, r.Body)
	}
	r = m.ok(t, "POST", v1+"/auth/login", "", map[string]any{"email": email, "password": seed.Password}, 200, tenancy.ID{})
	var login struct{ Token string }
	r.JSON(t, &login)
	m.ok(t, "GET", v1+"/me", login.Token, nil, 200, tenancy.ID{})
	m.ok(t, "POST", v1+"/auth/logout", login.Token, nil, 204, tenancy.ID{})
	if r := a.Do(t, "GET", v1+"/me", login.Token, nil); r.Status != 401 {
		t.Errorf("token after logout: %d %s", r.Status, r.Body)
	}

	// A portal patient of the test's own, enrolled and signed in.
	pf := newPortalPatient(t, a, "Routes")
	portalEmail := "routes." + tenancy.NewID().String()[24:] + "@example.org"
	m.ok(t, "POST", v1+"/portal/enrol", "", map[string]any{"code": pf.code, "email": portalEmail, "password": seed.Password}, 201, R)
	r = m.ok(t, "POST", v1+"/portal/login", "", map[string]any{"email": portalEmail, "password": seed.Password, "clinic_id": R}, 200, tenancy.ID{})
	r.JSON(t, &login)
	m.portal = login.Token
	patient := pf.patient

	// Hillcrest's objects, and another Riverside patient's.
	hPatient := m.one(t, "patients", H, "")
	hAppt := m.one(t, "appointments", H, "")
	hInvoice := m.one(t, "invoices", H, "and status <> 'draft'")
	hRx := m.one(t, "prescriptions", H, "")
	hChair := m.one(t, "operatories", H, "")
	hStaff := m.one(t, "staff", H, "")
	rOtherAppt := m.one(t, "appointments", R, "and patient_id <> '"+patient.String()+"'")
	rOtherInvoice := m.one(t, "invoices", R, "and status <> 'draft' and patient_id <> '"+patient.String()+"'")

	// Patients.
	m.forbidden(t, "GET", v1+"/patients", m.portal, nil)
	m.ok(t, "GET", v1+"/patients?q=Routes", m.billing, nil, 200, R)
	newPatient := map[string]any{"given_name": "Routes", "family_name": "Matrix"}
	m.forbidden(t, "POST", v1+"/patients", m.billing, newPatient)
	other := idOf(t, m.ok(t, "POST", v1+"/patients", m.front, newPatient, 201, R))
	m.forbidden(t, "GET", v1+"/patients/"+patient.String(), m.portal, nil)
	m.foreign(t, "GET", v1+"/patients/%s", m.front, nil, "patients", H, hPatient)
	m.ok(t, "GET", v1+"/patients/"+patient.String(), m.hygienist, nil, 200, R)
	phone := map[string]any{"phone": "+44 7700 900123"}
	m.forbidden(t, "PATCH", v1+"/patients/"+patient.String(), m.billing, phone)
	m.foreign(t, "PATCH", v1+"/patients/%s", m.front, phone, "patients", H, hPatient)
	m.ok(t, "PATCH", v1+"/patients/"+patient.String(), m.front, phone, 200, R)
	m.forbidden(t, "POST", v1+"/patients/"+other.String()+"/portal-invite", m.dentist, nil)
	m.foreign(t, "POST", v1+"/patients/%s/portal-invite", m.front, nil, "patients", H, hPatient)
	m.ok(t, "POST", v1+"/patients/"+other.String()+"/portal-invite", m.owner, nil, 201, R)

	// Appointments, in a chair of the test's own on a day far ahead.
	f := newSchedFix(t, riverside)
	m.forbidden(t, "GET", v1+"/appointments", m.portal, nil)
	m.ok(t, "GET", v1+"/appointments?patient_id="+patient.String(), m.billing, nil, 200, R)
	booking := f.booking(patient, f.at(10, 0), 30)
	m.forbidden(t, "POST", v1+"/appointments", m.hygienist, booking)
	appt := idOf(t, m.ok(t, "POST", v1+"/appointments", m.front, booking, 201, R))
	later := idOf(t, m.ok(t, "POST", v1+"/appointments", m.owner, f.booking(patient, f.at(11, 0), 30), 201, R))
	m.forbidden(t, "GET", v1+"/appointments/"+appt.String(), m.portal, nil)
	m.foreign(t, "GET", v1+"/appointments/%s", m.front, nil, "appointments", H, hAppt)
	m.ok(t, "GET", v1+"/appointments/"+appt.String(), m.billing, nil, 200, R)
	note := map[string]any{"note": "Routes test"}
	m.forbidden(t, "PATCH", v1+"/appointments/"+later.String(), m.billing, note)
	m.foreign(t, "PATCH", v1+"/appointments/%s", m.front, note, "appointments", H, hAppt)
	m.ok(t, "PATCH", v1+"/appointments/"+later.String(), m.hygienist, note, 200, R)

	// Invoices and payments.
	var code string
	for c := range a.Fees(t, R) {
		code = c
		break
	}
	newInvoice := map[string]any{"patient_id": patient, "lines": []any{apptest.FeeLine(code, 1)}}
	m.forbidden(t, "GET", v1+"/invoices", m.hygienist, nil)
	m.ok(t, "GET", v1+"/invoices", m.front, nil, 200, R)
	m.forbidden(t, "POST", v1+"/invoices", m.front, newInvoice)
	inv := idOf(t, m.ok(t, "POST", v1+"/invoices", m.billing, newInvoice, 201, R))
	toVoid := idOf(t, m.ok(t, "POST", v1+"/invoices", m.owner, newInvoice, 201, R))
	m.forbidden(t, "GET", v1+"/invoices/"+inv.String(), m.dentist, nil)
	m.foreign(t, "GET", v1+"/invoices/%s", m.front, nil, "invoices", H, hInvoice)
	m.ok(t, "GET", v1+"/invoices/"+inv.String(), m.front, nil, 200, R)
	for _, act := range []struct {
		suffix string
		body   any
		id     tenancy.ID
		status int
	}{
		{"/issue", nil, inv, 200},
		{"/payments", map[string]any{"amount_minor": 1, "method": "cash"}, inv, 201},
		{"/void", nil, toVoid, 200},
	} {
		m.forbidden(t, "POST", v1+"/invoices/"+act.id.String()+act.suffix, m.front, act.body)
		m.foreign(t, "POST", v1+"/invoices/%s"+act.suffix, m.billing, act.body, "invoices", H, hInvoice)
		m.ok(t, "POST", v1+"/invoices/"+act.id.String()+act.suffix, m.billing, act.body, act.status, R)
	}

	// Prescriptions.
	m.forbidden(t, "GET", v1+"/prescriptions", m.billing, nil)
	m.ok(t, "GET", v1+"/prescriptions", m.hygienist, nil, 200, R)
	m.forbidden(t, "POST", v1+"/prescriptions", m.owner, apptest.PrescriptionBody(patient))
	rx := idOf(t, m.ok(t, "POST", v1+"/prescriptions", m.dentist, apptest.PrescriptionBody(patient), 201, R))
	m.forbidden(t, "GET", v1+"/prescriptions/"+rx.String(), m.billing, nil)
	m.foreign(t, "GET", v1+"/prescriptions/%s", m.front, nil, "prescriptions", H, hRx)
	m.ok(t, "GET", v1+"/prescriptions/"+rx.String(), m.front, nil, 200, R)
	reason := map[string]any{"reason": "Routes test"}
	m.forbidden(t, "POST", v1+"/prescriptions/"+rx.String()+"/void", m.hygienist, reason)
	m.foreign(t, "POST", v1+"/prescriptions/%s/void", m.dentist, reason, "prescriptions", H, hRx)

	// The portal: its own records; another clinic's and another patient's
	// are missing.
	for _, what := range []string{"me", "appointments", "invoices", "prescriptions"} {
		m.forbidden(t, "GET", v1+"/portal/"+what, m.front, nil)
		m.ok(t, "GET", v1+"/portal/"+what, m.portal, nil, 200, R)
	}
	m.forbidden(t, "PATCH", v1+"/portal/me", m.front, phone)
	m.ok(t, "PATCH", v1+"/portal/me", m.portal, phone, 200, R)
	m.forbidden(t, "GET", v1+"/portal/appointments/"+appt.String(), m.front, nil)
	m.foreign(t, "GET", v1+"/portal/appointments/%s", m.portal, nil, "appointments", H, hAppt)
	m.foreign(t, "GET", v1+"/portal/appointments/%s", m.portal, nil, "appointments", R, rOtherAppt)
	m.ok(t, "GET", v1+"/portal/appointments/"+appt.String(), m.portal, nil, 200, R)
	m.forbidden(t, "GET", v1+"/portal/invoices/"+inv.String(), m.front, nil)
	m.foreign(t, "GET", v1+"/portal/invoices/%s", m.portal, nil, "invoices", H, hInvoice)
	m.foreign(t, "GET", v1+"/portal/invoices/%s", m.portal, nil, "invoices", R, rOtherInvoice)
	m.ok(t, "GET", v1+"/portal/invoices/"+inv.String(), m.portal, nil, 200, R)
	// The prescription is voided only now: the portal list above ran first.
	m.ok(t, "POST", v1+"/prescriptions/"+rx.String()+"/void", m.dentist, reason, 200, R)
	// A Wednesday within the year, within Riverside's opening hours.
	loc, err := time.LoadLocation(riverside.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 0, 7*(4+rand.IntN(40)))
	for day.Weekday() != time.Wednesday {
		day = day.AddDate(0, 0, 1)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 10+rand.IntN(5), 5*rand.IntN(12), 0, 0, loc)
	request := map[string]any{"starts_at": day.Format(time.RFC3339), "duration_min": 15, "type": "Check-up"}
	m.forbidden(t, "POST", v1+"/portal/appointment-requests", m.front, request)
	req := idOf(t, m.ok(t, "POST", v1+"/portal/appointment-requests", m.portal, request, 201, R))
	// Hillcrest's request and another Riverside patient's, as the superuser.
	hReq, rOtherReq := tenancy.NewID(), tenancy.NewID()
	for _, q := range []struct {
		clinic, id tenancy.ID
		c          seed.Clinic
		patient    string
	}{{H, hReq, hillcrest, hPatient.String()}, {R, rOtherReq, riverside, other.String()}} {
		a.SuperExec(t, `insert into appointment_requests (clinic_id, id, patient_id, kind, dentist_id, starts_at, ends_at, type)
			select $1, $2, $3, 'new', s.id, $4, $5, 'Routes' from staff s where s.clinic_id = $1 and s.email = $6`,
			q.clinic, q.id, q.patient, day, day.Add(15*time.Minute), seed.StaffEmail("dentist", q.c))
	}
	m.forbidden(t, "GET", v1+"/portal/appointment-requests", m.front, nil)
	m.ok(t, "GET", v1+"/portal/appointment-requests", m.portal, nil, 200, R)
	m.forbidden(t, "GET", v1+"/portal/appointment-requests/"+req.String(), m.front, nil)
	m.foreign(t, "GET", v1+"/portal/appointment-requests/%s", m.portal, nil, "appointment_requests", H, hReq)
	m.foreign(t, "GET", v1+"/portal/appointment-requests/%s", m.portal, nil, "appointment_requests", R, rOtherReq)
	m.ok(t, "GET", v1+"/portal/appointment-requests/"+req.String(), m.portal, nil, 200, R)
	// The front desk's inbox: the roles that book.
	m.forbidden(t, "GET", v1+"/appointment-requests", m.hygienist, nil)
	m.ok(t, "GET", v1+"/appointment-requests?status=requested", m.front, nil, 200, R)
	m.forbidden(t, "GET", v1+"/appointment-requests/"+req.String(), m.billing, nil)
	m.foreign(t, "GET", v1+"/appointment-requests/%s", m.front, nil, "appointment_requests", H, hReq)
	m.ok(t, "GET", v1+"/appointment-requests/"+req.String(), m.front, nil, 200, R)
	decline := map[string]any{"reason": "Routes test"}
	m.forbidden(t, "POST", v1+"/appointment-requests/"+rOtherReq.String()+"/decline", m.hygienist, decline)
	m.foreign(t, "POST", v1+"/appointment-requests/%s/decline", m.front, decline, "appointment_requests", H, hReq)
	m.ok(t, "POST", v1+"/appointment-requests/"+rOtherReq.String()+"/decline", m.front, decline, 200, R)
	m.forbidden(t, "POST", v1+"/appointment-requests/"+req.String()+"/confirm", m.hygienist, nil)
	m.foreign(t, "POST", v1+"/appointment-requests/%s/confirm", m.front, nil, "appointment_requests", H, hReq)
	var confirmed struct {
		AppointmentID tenancy.ID `json:"appointment_id"`
	}
	m.ok(t, "POST", v1+"/appointment-requests/"+req.String()+"/confirm", m.front, nil, 200, R).JSON(t, &confirmed)
	// The patient asks to move the confirmed appointment, then cancels it.
	moveTo := map[string]any{"starts_at": day.Add(time.Hour).Format(time.RFC3339)}
	mine := confirmed.AppointmentID.String()
	m.forbidden(t, "POST", v1+"/portal/appointments/"+mine+"/move-request", m.front, moveTo)
	m.foreign(t, "POST", v1+"/portal/appointments/%s/move-request", m.portal, moveTo, "appointments", H, hAppt)
	m.foreign(t, "POST", v1+"/portal/appointments/%s/move-request", m.portal, moveTo, "appointments", R, rOtherAppt)
	m.ok(t, "POST", v1+"/portal/appointments/"+mine+"/move-request", m.portal, moveTo, 201, R)
	m.forbidden(t, "POST", v1+"/portal/appointments/"+mine+"/cancel", m.front, nil)
	m.foreign(t, "POST", v1+"/portal/appointments/%s/cancel", m.portal, nil, "appointments", H, hAppt)
	m.foreign(t, "POST", v1+"/portal/appointments/%s/cancel", m.portal, nil, "appointments", R, rOtherAppt)
	m.ok(t, "POST", v1+"/portal/appointments/"+mine+"/cancel", m.portal, nil, 200, R)

	// Settings, fees, chairs and staff: every staff role reads; the owner
	// writes (the same values back, so other tests see what they expect).
	for _, what := range []string{"settings", "fee-schedule", "operatories", "staff"} {
		m.forbidden(t, "GET", v1+"/"+what, m.portal, nil)
		m.ok(t, "GET", v1+"/"+what, m.hygienist, nil, 200, R)
	}
	var st store.Settings
	a.Do(t, "GET", v1+"/settings", m.owner, nil).JSON(t, &st)
	sameSettings := map[string]any{"opening_hours": st.OpeningHours, "closures": st.Closures}
	m.forbidden(t, "PUT", v1+"/settings", m.dentist, sameSettings)
	m.ok(t, "PUT", v1+"/settings", m.owner, sameSettings, 200, R)
	var fees struct{ Items []store.Fee }
	a.Do(t, "GET", v1+"/fee-schedule", m.owner, nil).JSON(t, &fees)
	sameFees := []map[string]any{}
	for _, f := range fees.Items {
		sameFees = append(sameFees, map[string]any{"code": f.Code, "description": f.Description, "price_minor": f.PriceMinor})
	}
	m.forbidden(t, "PUT", v1+"/fee-schedule", m.front, map[string]any{"items": sameFees})
	m.ok(t, "PUT", v1+"/fee-schedule", m.owner, map[string]any{"items": sameFees}, 200, R)
	chairName := map[string]any{"name": "Routes chair " + tenancy.NewID().String()[24:]}
	m.forbidden(t, "POST", v1+"/operatories", m.front, chairName)
	chair := idOf(t, m.ok(t, "POST", v1+"/operatories", m.owner, chairName, 201, R))
	hidden := map[string]any{"hidden": true}
	m.forbidden(t, "PATCH", v1+"/operatories/"+chair.String(), m.dentist, hidden)
	m.foreign(t, "PATCH", v1+"/operatories/%s", m.owner, hidden, "operatories", H, hChair)
	m.ok(t, "PATCH", v1+"/operatories/"+chair.String(), m.owner, hidden, 200, R)
	newStaff := map[string]any{"email": "routes-b-" + tenancy.NewID().String()[24:] + "@riverside.example", "name": "Routes B", "roles": []string{"billing"}, "password": seed.Password}
	m.forbidden(t, "POST", v1+"/staff", m.dentist, newStaff)
	staff := idOf(t, m.ok(t, "POST", v1+"/staff", m.owner, newStaff, 201, R))
	rename := map[string]any{"name": "Routes B renamed"}
	m.forbidden(t, "PATCH", v1+"/staff/"+staff.String(), m.front, rename)
	m.foreign(t, "PATCH", v1+"/staff/%s", m.owner, rename, "staff", H, hStaff)
	m.ok(t, "PATCH", v1+"/staff/"+staff.String(), m.owner, rename, 200, R)

	// The clinic's exports: asked for (the hour's limit moved out of the
	// way by the superuser: other tests ask too), made, downloaded.
	a.SuperExec(t, `update clinic_exports set requested_at = requested_at - interval '2 hours' where clinic_id = $1`, R)
	m.forbidden(t, "POST", v1+"/settings/exports", m.front, nil)
	export := idOf(t, m.ok(t, "POST", v1+"/settings/exports", m.owner, nil, 202, R))
	m.forbidden(t, "GET", v1+"/settings/exports", m.dentist, nil)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var list struct{ Items []store.Export }
		m.ok(t, "GET", v1+"/settings/exports", m.owner, nil, 200, R).JSON(t, &list)
		if len(list.Items) > 0 && list.Items[0].ID == export && list.Items[0].Status == store.ExportReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export is not ready after a minute: %+v", list.Items)
		}
	}
	hExport := tenancy.NewID()
	a.SuperExec(t, `insert into clinic_exports (clinic_id, id, requested_by, status, finished_at)
		select $1, $2, id, 'failed', now() from staff where clinic_id = $1 and email = $3`, H, hExport, seed.StaffEmail("owner", hillcrest))
	m.forbidden(t, "GET", v1+"/settings/exports/"+export.String()+"/archive", m.billing, nil)
	m.foreign(t, "GET", v1+"/settings/exports/%s/archive", m.owner, nil, "clinic_exports", H, hExport)
	m.ok(t, "GET", v1+"/settings/exports/"+export.String()+"/archive", m.owner, nil, 200, R)

	// The owner's audit log.
	m.forbidden(t, "GET", v1+"/audit", m.dentist, nil)
	m.ok(t, "GET", v1+"/audit?limit=5", m.owner, nil, 200, R)
	m.forbidden(t, "GET", v1+"/audit/receipt", m.dentist, nil)
	m.ok(t, "GET", v1+"/audit/receipt", m.owner, nil, 200, R)

	// The platform console: a clinic of the test's own, impersonated,
	// released, suspended. Clinic staff are refused.
	newClinic := map[string]any{"name": "Routes Test Clinic " + tenancy.NewID().String()[24:], "time_zone": "Europe/Dublin", "currency": "EUR"}
	m.forbidden(t, "GET", v1+"/admin/clinics", m.owner, nil)
	m.ok(t, "GET", v1+"/admin/clinics", m.admin, nil, 200, tenancy.ID{})
	m.forbidden(t, "POST", v1+"/admin/clinics", m.owner, newClinic)
	clinic := idOf(t, m.ok(t, "POST", v1+"/admin/clinics", m.admin, newClinic, 201, tenancy.ID{}))
	start := map[string]any{"clinic_id": clinic, "reason": "Routes test", "minutes": 5}
	m.forbidden(t, "POST", v1+"/admin/impersonations", m.owner, start)
	r = m.ok(t, "POST", v1+"/admin/impersonations", m.admin, start, 201, tenancy.ID{})
	var grant struct {
		GrantID tenancy.ID `json:"grant_id"`
	}
	r.JSON(t, &grant)
	m.forbidden(t, "DELETE", v1+"/admin/impersonations/"+grant.GrantID.String(), m.owner, nil)
	m.ok(t, "DELETE", v1+"/admin/impersonations/"+grant.GrantID.String(), m.admin, nil, 200, tenancy.ID{})
	m.forbidden(t, "POST", v1+"/admin/clinics/"+clinic.String()+"/suspend", m.owner, nil)
	m.ok(t, "POST", v1+"/admin/clinics/"+clinic.String()+"/suspend", m.admin, nil, 200, tenancy.ID{})
	// Offboarding the test's own clinic: suspended, exported and erased
	// in the background (TestOffboardClinic follows one to its end).
	offboard := map[string]any{"reason": "routes test: offboard a clinic of its own"}
	m.forbidden(t, "POST", v1+"/admin/clinics/"+clinic.String()+"/offboard", m.owner, offboard)
	m.ok(t, "POST", v1+"/admin/clinics/"+clinic.String()+"/offboard", m.admin, offboard, 202, tenancy.ID{})
	m.forbidden(t, "GET", v1+"/admin/offboardings", m.owner, nil)
	m.ok(t, "GET", v1+"/admin/offboardings", m.admin, nil, 200, tenancy.ID{})
}
