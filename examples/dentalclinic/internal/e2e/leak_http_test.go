package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/api"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/store"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
)

// leakRoute says how TestLeakHTTP probes one route. Every route the
// router serves must have one: a route added without it fails the test.
type leakRoute struct {
	object string         // the kind of fixture in the path's {id}
	body   map[string]any // the request body, valid so the handler reaches the lookup
	query  string
	// create, for a write without an object, is the body that each actor
	// the route admits sends; the prober then checks its answer. Without
	// it, only the actors the route refuses call it.
	create func(a tenancytest.Actor, d *leakData) any
	skip   string // why the route is not probed
}

// leakData is what the create bodies need of each clinic.
type leakData struct {
	clinics map[tenancy.ID]leakClinic
}

type leakClinic struct {
	slug     string
	patient  tenancy.ID     // the portal patient of the test's own
	fee      string         // a code of the fee schedule
	settings map[string]any // the settings as they are, written back unchanged
	fees     map[string]any // the fee schedule as it is
}

// of returns the actor's clinic; an actor outside both (the platform
// admin), whom the route refuses, gets well-formed values of no clinic.
func (d *leakData) of(a tenancytest.Actor) leakClinic {
	if c, ok := d.clinics[a.Principal.Tenant]; ok {
		return c
	}
	return leakClinic{slug: "nowhere", patient: tenancy.NewID(), fee: "X", settings: map[string]any{}, fees: map[string]any{"items": []any{}}}
}

func leakSuffix() string { return tenancy.NewID().String()[24:] }

// leakRoutes lists every route of the API. Bodies of writes aimed at an
// object are valid, so that a foreign object's 404 comes from the lookup,
// not from the body's validation.
var leakRoutes = map[string]leakRoute{
	"GET /healthz":               {},
	"GET /readyz":                {},
	"GET /.well-known/jwks.json": {},
	"GET /api/openapi.json":      {},
	"POST /api/v1/auth/login":    {skip: "public sign-in: takes no object and answers only the caller's own session (TestLogin, TestEveryRoute)"},
	"POST /api/v1/auth/logout":   {skip: "it ends the actor's session, which the rest of the matrix needs (TestLogin, TestEveryRoute)"},
	"GET /api/v1/me":             {},
	"GET /api/v1/patients":       {query: "?limit=200"},
	"POST /api/v1/patients": {create: func(tenancytest.Actor, *leakData) any {
		return map[string]any{"given_name": "Leak", "family_name": "Probe"}
	}},
	"GET /api/v1/patients/{id}":                {object: "patients"},
	"PATCH /api/v1/patients/{id}":              {object: "patients", body: map[string]any{"phone": "+44 7700 900999"}},
	"POST /api/v1/patients/{id}/portal-invite": {object: "patients"},
	"GET /api/v1/appointments":                 {},
	// Booking needs a free chair, dentist and slot per actor: only the
	// actors it refuses call it here; TestEveryRoute and the scheduling
	// tests book.
	"POST /api/v1/appointments":       {},
	"GET /api/v1/appointments/{id}":   {object: "appointments"},
	"PATCH /api/v1/appointments/{id}": {object: "appointments", body: map[string]any{"note": "Leak probe"}},
	"GET /api/v1/invoices":            {},
	"POST /api/v1/invoices": {create: func(a tenancytest.Actor, d *leakData) any {
		return map[string]any{"patient_id": d.of(a).patient, "lines": []any{apptest.FeeLine(d.of(a).fee, 1)}}
	}},
	"GET /api/v1/invoices/{id}":            {object: "invoices"},
	"POST /api/v1/invoices/{id}/issue":     {object: "invoices"},
	"POST /api/v1/invoices/{id}/void":      {object: "invoices"},
	"POST /api/v1/invoices/{id}/payments":  {object: "invoices", body: map[string]any{"amount_minor": 1, "method": "cash"}},
	"GET /api/v1/prescriptions":            {},
	"POST /api/v1/prescriptions":           {create: func(a tenancytest.Actor, d *leakData) any { return apptest.PrescriptionBody(d.of(a).patient) }},
	"GET /api/v1/prescriptions/{id}":       {object: "prescriptions"},
	"POST /api/v1/prescriptions/{id}/void": {object: "prescriptions", body: map[string]any{"reason": "Leak probe"}},
	"GET /api/v1/settings":                 {},
	"PUT /api/v1/settings":                 {create: func(a tenancytest.Actor, d *leakData) any { return d.of(a).settings }},
	"GET /api/v1/fee-schedule":             {},
	"PUT /api/v1/fee-schedule":             {create: func(a tenancytest.Actor, d *leakData) any { return d.of(a).fees }},
	"GET /api/v1/operatories":              {},
	"POST /api/v1/operatories": {create: func(tenancytest.Actor, *leakData) any {
		return map[string]any{"name": "Leak chair " + leakSuffix()}
	}},
	"PATCH /api/v1/operatories/{id}": {object: "operatories", body: map[string]any{"hidden": true}},
	"GET /api/v1/staff":              {},
	"POST /api/v1/staff": {create: func(a tenancytest.Actor, d *leakData) any {
		return map[string]any{"email": "leak-" + leakSuffix() + "@" + d.of(a).slug + ".example", "name": "Leak Probe", "roles": []string{"hygienist"}, "password": seed.Password}
	}},
	"PATCH /api/v1/staff/{id}":     {object: "staff", body: map[string]any{"name": "Leak probe"}},
	"GET /api/v1/settings/exports": {},
	// Asking for an export is limited to one an hour per clinic: only the
	// actors it refuses call it here; TestClinicExport asks.
	"POST /api/v1/settings/exports":             {},
	"GET /api/v1/settings/exports/{id}/archive": {object: "exports"},
	"GET /api/v1/audit":                         {query: "?limit=50"},
	"GET /api/v1/audit/receipt":                 {},
	"GET /api/v1/portal/me":                     {},
	"PATCH /api/v1/portal/me":                   {create: func(tenancytest.Actor, *leakData) any { return map[string]any{"phone": "+44 7700 900777"} }},
	"GET /api/v1/portal/appointments":           {query: "?limit=200"},
	"GET /api/v1/portal/appointments/{id}":      {object: "appointments"},
	// As for booking: refusals here, requests in TestRequestLifecycle.
	"POST /api/v1/portal/appointment-requests":           {},
	"GET /api/v1/portal/appointment-requests":            {query: "?limit=200"},
	"GET /api/v1/portal/appointment-requests/{id}":       {object: "requests"},
	"POST /api/v1/portal/appointments/{id}/cancel":       {object: "appointments"},
	"POST /api/v1/portal/appointments/{id}/move-request": {object: "appointments", body: map[string]any{"starts_at": "2030-01-08T10:00:00Z"}},
	"GET /api/v1/appointment-requests":                   {query: "?limit=200"},
	"GET /api/v1/appointment-requests/{id}":              {object: "requests"},
	"POST /api/v1/appointment-requests/{id}/confirm":     {object: "requests"},
	"POST /api/v1/appointment-requests/{id}/decline":     {object: "requests", body: map[string]any{"reason": "Leak probe"}},
	"GET /api/v1/portal/invoices":                        {query: "?limit=200"},
	"GET /api/v1/portal/invoices/{id}":                   {object: "invoices"},
	"GET /api/v1/portal/prescriptions":                   {query: "?limit=200"},
	"POST /api/v1/portal/enrol":                          {skip: "public: redeems an invite code, whose scoping TestPortalInviteUseIsScoped and TestPortalEnrol prove"},
	"POST /api/v1/portal/login":                          {skip: "public sign-in: takes no object and answers only the caller's own session (TestPortalEnrol)"},
	"GET /api/v1/admin/clinics":                          {},
	"POST /api/v1/admin/clinics": {create: func(tenancytest.Actor, *leakData) any {
		return map[string]any{"name": "Leak Clinic " + leakSuffix(), "time_zone": "Europe/Dublin", "currency": "EUR"}
	}},
	"POST /api/v1/admin/clinics/{id}/suspend":  {skip: "platform console: the object is a clinic of the registry, not a tenant's record, and only a platform admin outside any clinic may call it (TestAdminConsole, TestEveryRoute)"},
	"POST /api/v1/admin/clinics/{id}/offboard": {skip: "platform console: the object is a clinic of the registry, which the call erases, and only a platform admin outside any clinic may call it (TestOffboardClinic, TestEveryRoute)"},
	"GET /api/v1/admin/offboardings":           {},
	"POST /api/v1/admin/impersonations": {create: func(tenancytest.Actor, *leakData) any {
		return map[string]any{"clinic_id": riverside.ID, "reason": "HTTP leak probe", "minutes": 1}
	}},
	"DELETE /api/v1/admin/impersonations/{id}": {skip: "platform console: the object is the admin's own impersonation grant (TestImpersonation, TestEveryRoute)"},
}

// allows is the route's declared permission, as the server's permit and
// console wrappers enforce it: the prober checks that the server answers
// accordingly.
func allows(rt api.Route) func(tenancytest.Actor) bool {
	return func(a tenancytest.Actor) bool {
		p := a.Principal
		switch {
		case rt.Allow.Public:
			return true
		case !slices.Contains(rt.Allow.Kinds, p.Kind):
			return false
		case len(rt.Allow.Roles) > 0 && !slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(rt.Allow.Roles, r) }):
			return false
		case strings.HasPrefix(rt.Path, "/api/v1/admin/") && (p.HasTenant() || p.Impersonation != nil):
			return false // the console is for an admin outside any clinic
		}
		return true
	}
}

// leakInventory is what the router serves, read with mux.Walk, checked
// against the server's own route table.
func leakInventory(t *testing.T, a *apptest.App) []tenancytest.Route {
	t.Helper()
	var walked []tenancytest.Route
	err := a.API.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			walked = append(walked, tenancytest.Route{Method: m, Path: path})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var table []tenancytest.Route
	for _, rt := range a.API.Routes() {
		table = append(table, tenancytest.Route{Method: rt.Method, Path: rt.Path})
	}
	if diff := cmp.Diff(tenancytest.SortRoutes(table), tenancytest.SortRoutes(slices.Clone(walked))); diff != "" {
		t.Fatalf("the route table and the router differ (-table +router):\n%s", diff)
	}
	return walked
}

// leakActors signs in staff of every role at Riverside and Hillcrest, a
// portal patient at each, the platform admin outside any clinic and
// impersonating Riverside, and reads each principal from /me.
func leakActors(t *testing.T, a *apptest.App, portals map[tenancy.ID]leakPortal) []tenancytest.Actor {
	t.Helper()
	type tok struct{ name, token string }
	var toks []tok
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		toks = append(toks, tok{c.Slug + "/owner", a.NewStaff(t, c, "owner").Token})
		for _, role := range []string{"dentist", "hygienist", "front_desk", "billing"} {
			_, token := staffRole(t, a, c, role)
			toks = append(toks, tok{c.Slug + "/" + role, token})
		}
		toks = append(toks, tok{c.Slug + "/portal-patient", portals[c.ID].token})
	}
	admin := a.SignInAdmin(t)
	toks = append(toks, tok{"platform-admin", admin})
	r := a.Do(t, "POST", "/api/v1/admin/impersonations", admin, map[string]any{"clinic_id": riverside.ID, "reason": "HTTP leak probe", "minutes": 30})
	if r.Status != http.StatusCreated {
		t.Fatalf("impersonating Riverside: %d %s", r.Status, r.Body)
	}
	var g struct {
		GrantID tenancy.ID `json:"grant_id"`
		Token   string     `json:"token"`
	}
	r.JSON(t, &g)
	t.Cleanup(func() { a.Do(t, "DELETE", "/api/v1/admin/impersonations/"+g.GrantID.String(), admin, nil) })
	toks = append(toks, tok{"platform-admin-as-riverside", g.Token})

	var actors []tenancytest.Actor
	for _, k := range toks {
		var me struct {
			Principal tenancy.Principal `json:"principal"`
		}
		r := a.Do(t, "GET", "/api/v1/me", k.token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/me as %s: %d %s", k.name, r.Status, r.Body)
		}
		r.JSON(t, &me)
		if me.Principal.Kind == "" {
			t.Fatalf("/me as %s: no principal in %s", k.name, r.Body)
		}
		actors = append(actors, tenancytest.Actor{Name: k.name, Principal: me.Principal, Token: k.token})
	}
	return actors
}

// leakPortal is a portal patient of the test's own, with an appointment
// and an issued invoice of their own.
type leakPortal struct {
	patient, appointment, invoice tenancy.ID
	token                         string
}

func newLeakPortal(t *testing.T, a *apptest.App, c seed.Clinic) leakPortal {
	t.Helper()
	desk := a.NewStaff(t, c, "front_desk").Token
	var pt patientJSON
	r := a.Do(t, "POST", "/api/v1/patients", desk, map[string]any{"given_name": "Leak", "family_name": "Portal " + tenancy.NewID().String()[24:]})
	if r.Status != http.StatusCreated {
		t.Fatalf("create patient at %s: %d %s", c.Slug, r.Status, r.Body)
	}
	r.JSON(t, &pt)
	// An account made as the superuser: enrolment through the API is
	// rate-limited per address, and other tests of the package enrol.
	email := a.NewPortalAccount(t, c.ID, pt.ID)
	p := leakPortal{patient: pt.ID, token: a.SignInPortal(t, email, seed.Password, c.ID)}

	f := newSchedFix(t, c)
	p.appointment = f.mustBook(t, f.booking(pt.ID, f.at(10, 0), 30)).ID
	var code string
	for k := range a.Fees(t, c.ID) {
		code = k
		break
	}
	billing := a.NewStaff(t, c, "billing").Token
	p.invoice = billCreate(t, a, billing, pt.ID, apptest.FeeLine(code, 1))
	if r := a.Do(t, "POST", "/api/v1/invoices/"+p.invoice.String()+"/issue", billing, nil); r.Status != http.StatusOK {
		t.Fatalf("issue at %s: %d %s", c.Slug, r.Status, r.Body)
	}
	return p
}

// leakSnapshot reads an object and what hangs on it, as the superuser.
var leakSnapshot = map[string]string{
	"patients": `select jsonb_build_array(
		(select to_jsonb(x) from patients x where id = $1),
		(select coalesce(jsonb_agg(to_jsonb(i) order by i.code_hash), '[]') from portal_invites i where i.patient_id = $1))::text`,
	"appointments": `select to_jsonb(x)::text from appointments x where id = $1`,
	"invoices": `select jsonb_build_array(
		(select to_jsonb(x) from invoices x where id = $1),
		(select coalesce(jsonb_agg(to_jsonb(l) order by l::text), '[]') from invoice_lines l where l.invoice_id = $1),
		(select coalesce(jsonb_agg(to_jsonb(p) order by p::text), '[]') from payments p where p.invoice_id = $1))::text`,
	"prescriptions": `select to_jsonb(x)::text from prescriptions x where id = $1`,
	"operatories":   `select to_jsonb(x)::text from operatories x where id = $1`,
	"staff":         `select to_jsonb(x)::text from staff x where id = $1`,
	"exports":       `select to_jsonb(x)::text from clinic_exports x where id = $1`,
	"requests":      `select to_jsonb(x)::text from appointment_requests x where id = $1`,
}

// TestLeakHTTP replays every route of the API, read from the router, as
// staff of every role at Riverside and Hillcrest, a portal patient at each,
// and the platform admin outside any clinic and impersonating Riverside,
// against every object of the other clinic (and, for the portal, of
// another patient): each answers exactly as a missing one, no answer names
// one, every clinic_id in an answer is the caller's, a refused write
// changes nothing, and each role gets what its route's Allow says. A route
// without an entry in leakRoutes fails it.
func TestLeakHTTP(t *testing.T) {
	a := startApp(t)
	portals := map[tenancy.ID]leakPortal{}
	var fixtures []tenancytest.Fixture
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		p := newLeakPortal(t, a, c)
		portals[c.ID] = p
		fixture := func(kind string, id, subject tenancy.ID) {
			fixtures = append(fixtures, tenancytest.Fixture{Kind: kind, ID: id.String(), Tenant: c.ID, Subject: subject})
		}
		fixture("patients", p.patient, p.patient)
		fixture("appointments", p.appointment, p.patient)
		fixture("invoices", p.invoice, p.patient)
		// Another patient's records at the clinic, from the demo data.
		other := func(table, where string) (id, subject tenancy.ID) {
			rows := a.SuperStrings(t, `select id::text || ' ' || coalesce(`+map[bool]string{true: "patient_id", false: "id"}[table != "patients"]+`::text, '') from `+table+
				` where clinic_id = $1 and `+where+` order by id limit 1`, c.ID)
			if len(rows) != 1 {
				t.Fatalf("fixture: no %s at %s where %s", table, c.Slug, where)
			}
			ids := strings.Fields(rows[0])
			return tenancy.MustParseID(ids[0]), tenancy.MustParseID(ids[1])
		}
		notMine := "id <> '" + p.patient.String() + "'"
		id, _ := other("patients", notMine)
		fixture("patients", id, id)
		otherPatient := id
		notMine = "patient_id <> '" + p.patient.String() + "'"
		id, subject := other("appointments", notMine)
		fixture("appointments", id, subject)
		id, subject = other("invoices", notMine+" and status <> 'draft'")
		fixture("invoices", id, subject)
		id, subject = other("prescriptions", notMine+" and voided_at is null")
		fixture("prescriptions", id, subject)
		ids := a.SuperStrings(t, `select id from operatories where clinic_id = $1 order by id limit 1`, c.ID)
		fixture("operatories", tenancy.MustParseID(ids[0]), tenancy.ID{})
		ids = a.SuperStrings(t, `select id from staff where clinic_id = $1 and email = $2`, c.ID, seed.StaffEmail("hygienist", c))
		fixture("staff", tenancy.MustParseID(ids[0]), tenancy.ID{})
		// A ready export of the clinic, written as the superuser (asking
		// for one is limited per hour), its archive a stand-in manifest
		// naming the clinic, where the app keeps exports.
		exportID := tenancy.NewID()
		a.SuperExec(t, `insert into clinic_exports (clinic_id, id, requested_by, status, finished_at)
			select $1, $2, id, 'ready', now() from staff where clinic_id = $1 and email = $3`, c.ID, exportID, seed.StaffEmail("owner", c))
		exportDir := filepath.Join(a.Dir, "exports", c.ID.String(), exportID.String())
		if err := os.MkdirAll(exportDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(exportDir, "manifest.json"), []byte(`{"tenant": "`+c.ID.String()+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		fixture("exports", exportID, tenancy.ID{})
		// Appointment requests, waiting: the portal patient's own and
		// another patient's.
		for _, patient := range []tenancy.ID{p.patient, otherPatient} {
			reqID := tenancy.NewID()
			a.SuperExec(t, `insert into appointment_requests (clinic_id, id, patient_id, kind, dentist_id, starts_at, ends_at, type)
				select $1, $2, $3, 'new', s.id, '2030-01-08 10:00Z', '2030-01-08 10:30Z', 'Leak probe'
				from staff s where s.clinic_id = $1 and s.email = $4`, c.ID, reqID, patient, seed.StaffEmail("dentist", c))
			fixture("requests", reqID, patient)
		}
	}

	// What the create bodies need: each clinic's own patient, a fee code,
	// and the settings and fee schedule as they are (written back as is).
	data := &leakData{clinics: map[tenancy.ID]leakClinic{}}
	for _, c := range []seed.Clinic{riverside, hillcrest} {
		lc := leakClinic{slug: c.Slug, patient: portals[c.ID].patient}
		for code := range a.Fees(t, c.ID) {
			lc.fee = code
			break
		}
		owner := a.NewStaff(t, c, "owner").Token
		var st store.Settings
		a.Do(t, "GET", "/api/v1/settings", owner, nil).JSON(t, &st)
		lc.settings = map[string]any{"opening_hours": st.OpeningHours, "closures": st.Closures}
		var fees struct{ Items []store.Fee }
		a.Do(t, "GET", "/api/v1/fee-schedule", owner, nil).JSON(t, &fees)
		items := []map[string]any{}
		for _, f := range fees.Items {
			items = append(items, map[string]any{"code": f.Code, "description": f.Description, "price_minor": f.PriceMinor})
		}
		lc.fees = map[string]any{"items": items}
		data.clinics[c.ID] = lc
	}

	var specs []tenancytest.RouteSpec
	for _, rt := range a.API.Routes() {
		lr, ok := leakRoutes[rt.Method+" "+rt.Path]
		if !ok {
			continue // ProbeHTTP fails the route: the inventory has it
		}
		spec := tenancytest.RouteSpec{Method: rt.Method, Path: rt.Path, Object: lr.object, Query: lr.query, Skip: lr.skip, Allowed: allows(rt)}
		switch {
		case lr.create != nil:
			spec.Call = true
			spec.Body = func(a tenancytest.Actor) any { return lr.create(a, data) }
		case lr.body != nil:
			body := lr.body
			spec.Body = func(tenancytest.Actor) any { return body }
		}
		specs = append(specs, spec)
	}
	for k := range leakRoutes {
		found := false
		for _, rt := range a.API.Routes() {
			found = found || rt.Method+" "+rt.Path == k
		}
		if !found {
			t.Errorf("leakRoutes has %s, which the server does not serve", k)
		}
	}

	owner := a.DB.Conn(t, pgtest.Admin)
	tenancytest.ProbeHTTP(t, tenancytest.HTTPConfig{
		BaseURL:    a.Base,
		Principals: tenancy.Principals{Kinds: kinds.Specs()},
		Inventory:  leakInventory(t, a),
		Routes:     specs,
		Actors:     leakActors(t, a, portals),
		Fixtures:   fixtures,
		// Every object the API answers with names its clinic here.
		TenantField: "clinic_id",
		Snapshot: func(ctx context.Context, f tenancytest.Fixture) (string, error) {
			var s string
			err := owner.QueryRow(ctx, leakSnapshot[f.Kind], f.ID).Scan(&s)
			return s, err
		},
	})
}
