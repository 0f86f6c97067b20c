package tenancytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The HTTP prober's tests run a small API over the SQL fixture's database
// (patients and appointments isolated by rls.Generate, served as the app
// role through tenantdb), first as written, then with one layer broken at
// a time, and check that ProbeHTTP reports exactly the holes it should.

var (
	patientA1 = "0195f1c2-0000-7000-8000-0000000000a1"
	patientA2 = "0195f1c2-0000-7000-8000-0000000000a2"
	patientB1 = "0195f1c2-0000-7000-8000-0000000000b1"
)

// leak names the one broken layer of a leakyAPI; "" breaks none.
type leak string

const (
	leakNone    leak = ""
	leakGet     leak = "get"     // GET /patients/{id} reads through the privileged pool
	leakList    leak = "list"    // GET /patients lists through the privileged pool
	leakPatch   leak = "patch"   // PATCH /patients/{id} writes through the privileged pool, then answers as if scoped
	leakMessage leak = "message" // a foreign patient's 404 says why
	leakReport  leak = "report"  // the guard is in report mode and GET /patients/{id} forgets its tenant filter
	leakRandom  leak = "random"  // every 404 of GET /patients/{id} carries a fresh request id
	// POST /appointments trusts the body's patient_id: it reads the
	// patient without its tenant and books in the patient's tenant.
	leakBody leak = "body"
	// POST /appointments tags the body's patient without its tenant before
	// its scoped lookup, which then answers 404 as for a missing one.
	leakBodyWrite leak = "body-write"
)

// leakyAPI is the test's API. Tokens are principals' names.
type leakyAPI struct {
	db     *tenantdb.Pool
	priv   *pgxpool.Pool // a superuser: what a handler that forgets to scope reaches
	leak   leak
	tokens map[string]tenancy.Principal

	mu       sync.Mutex
	refusals []error
}

func (h *leakyAPI) handler() http.Handler {
	staff := []tenancy.Kind{tenancy.Kind("staff")}
	both := []tenancy.Kind{tenancy.Kind("staff"), tenancy.Kind("patient")}
	mux := http.NewServeMux()
	mux.Handle("GET /patients", h.auth(staff, h.listPatients))
	mux.Handle("GET /patients/{id}", h.auth(both, h.getPatient))
	mux.Handle("PATCH /patients/{id}", h.auth(staff, h.patchPatient))
	mux.Handle("GET /appointments/{id}", h.auth(both, h.getAppointment))
	mux.Handle("POST /appointments", h.auth(staff, h.createAppointment))
	mux.Handle("GET /admin/health", h.auth([]tenancy.Kind{tenancy.Kind("platform_admin")}, func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, 200, map[string]any{"ok": true})
	}))
	return mux
}

func (h *leakyAPI) auth(kinds []tenancy.Kind, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		switch {
		case !ok:
			writeTestProblem(w, 401, "unauthenticated", "")
		case !slices.Contains(kinds, p.Kind):
			writeTestProblem(w, 403, "forbidden", "")
		default:
			next(w, r.WithContext(Context(r.Context(), p)))
		}
	})
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeTestProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code, "detail": detail})
}

const patientCols = `clinic_id::text, id::text, email, name`

func scanPatients(rows pgx.Rows, err error) ([]map[string]any, error) {
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rows.Next() {
		var c, id, email, name string
		if err := rows.Scan(&c, &id, &email, &name); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, map[string]any{"clinic_id": c, "id": id, "email": email, "name": name})
	}
	rows.Close()
	return out, rows.Err()
}

func (h *leakyAPI) listPatients(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.FromContext(r.Context())
	var items []map[string]any
	var err error
	if h.leak == leakList {
		items, err = scanPatients(h.priv.Query(r.Context(), `select `+patientCols+` from public.patients order by id`))
	} else {
		items, err = scanPatients(h.db.Query(r.Context(), `select `+patientCols+` from public.patients where clinic_id = $1 order by id`, p.Tenant))
	}
	if err != nil {
		writeTestProblem(w, 500, "internal", "")
		return
	}
	writeTestJSON(w, 200, map[string]any{"items": items})
}

// patient reads one patient as the principal does; only GET's read is
// broken, so that each broken layer shows on one route.
func (h *leakyAPI) patient(r *http.Request, id tenancy.ID) ([]map[string]any, error) {
	p, _ := tenancy.FromContext(r.Context())
	leak := h.leak
	if r.Method != http.MethodGet {
		leak = leakNone
	}
	switch leak {
	case leakGet:
		return scanPatients(h.priv.Query(r.Context(), `select `+patientCols+` from public.patients where id = $1`, id))
	case leakReport:
		return scanPatients(h.db.Query(r.Context(), `select `+patientCols+` from public.patients where id = $1`, id))
	}
	return scanPatients(h.db.Query(r.Context(), `select `+patientCols+` from public.patients where clinic_id = $1 and id = $2`, p.Tenant, id))
}

func (h *leakyAPI) getPatient(w http.ResponseWriter, r *http.Request) {
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		writeTestProblem(w, 404, "not_found", "")
		return
	}
	rows, err := h.patient(r, id)
	switch {
	case err != nil:
		writeTestProblem(w, 500, "internal", "")
	case len(rows) == 0:
		detail := ""
		if h.leak == leakMessage && r.Method == http.MethodGet {
			var n int
			if err := h.priv.QueryRow(r.Context(), `select count(*) from public.patients where id = $1`, id).Scan(&n); err == nil && n > 0 {
				detail = "This patient belongs to another clinic."
			}
		}
		if h.leak == leakRandom && r.Method == http.MethodGet {
			detail = "request " + tenancy.NewID().String()
		}
		writeTestProblem(w, 404, "not_found", detail)
	default:
		writeTestJSON(w, 200, rows[0])
	}
}

func (h *leakyAPI) patchPatient(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.FromContext(r.Context())
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		writeTestProblem(w, 404, "not_found", "")
		return
	}
	var in struct{ Name string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
		writeTestProblem(w, 400, "bad_request", "")
		return
	}
	if h.leak == leakPatch {
		if _, err := h.priv.Exec(r.Context(), `update public.patients set name = $2 where id = $1`, id, in.Name); err != nil {
			writeTestProblem(w, 500, "internal", "")
			return
		}
	} else if _, err := h.db.Exec(r.Context(), `update public.patients set name = $3 where clinic_id = $1 and id = $2`, p.Tenant, id, in.Name); err != nil {
		writeTestProblem(w, 500, "internal", "")
		return
	}
	h.getPatient(w, r)
}

func (h *leakyAPI) getAppointment(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.FromContext(r.Context())
	id, err := tenancy.ParseID(r.PathValue("id"))
	if err != nil {
		writeTestProblem(w, 404, "not_found", "")
		return
	}
	var c, aid, patient, note string
	err = h.db.QueryRow(r.Context(), `select clinic_id::text, id::text, patient_id::text, note from public.appointments where clinic_id = $1 and id = $2`, p.Tenant, id).
		Scan(&c, &aid, &patient, &note)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		writeTestProblem(w, 404, "not_found", "")
	case err != nil:
		writeTestProblem(w, 500, "internal", "")
	default:
		writeTestJSON(w, 200, map[string]any{"clinic_id": c, "id": aid, "patient_id": patient, "note": note})
	}
}

// createAppointment books an appointment for the body's patient_id in the
// actor's clinic, after looking the patient up there.
func (h *leakyAPI) createAppointment(w http.ResponseWriter, r *http.Request) {
	p, _ := tenancy.FromContext(r.Context())
	var in struct {
		PatientID string `json:"patient_id"`
		Note      string `json:"note"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeTestProblem(w, 400, "bad_request", "")
		return
	}
	patient, err := tenancy.ParseID(in.PatientID)
	if err != nil {
		writeTestProblem(w, 400, "bad_request", "")
		return
	}
	id := tenancy.NewID()
	switch h.leak {
	case leakBody:
		// The body's id picks the patient, and with it the clinic.
		var clinic string
		err := h.priv.QueryRow(r.Context(), `select clinic_id::text from public.patients where id = $1`, patient).Scan(&clinic)
		if errors.Is(err, pgx.ErrNoRows) {
			writeTestProblem(w, 404, "not_found", "")
			return
		} else if err != nil {
			writeTestProblem(w, 500, "internal", "")
			return
		}
		if _, err := h.priv.Exec(r.Context(), `insert into public.appointments (clinic_id, id, patient_id, note) values ($1, $2, $3, $4)`, clinic, id, patient, in.Note); err != nil {
			writeTestProblem(w, 500, "internal", "")
			return
		}
		writeTestJSON(w, 201, map[string]any{"clinic_id": clinic, "id": id.String(), "patient_id": patient.String(), "note": in.Note})
		return
	case leakBodyWrite:
		if _, err := h.priv.Exec(r.Context(), `update public.patients set tags = array['booked ' || now()::text] where id = $1`, patient); err != nil {
			writeTestProblem(w, 500, "internal", "")
			return
		}
	}
	var n int
	if err := h.db.QueryRow(r.Context(), `select count(*) from public.patients where clinic_id = $1 and id = $2`, p.Tenant, patient).Scan(&n); err != nil {
		writeTestProblem(w, 500, "internal", "")
		return
	}
	if n == 0 {
		writeTestProblem(w, 404, "not_found", "")
		return
	}
	if _, err := h.db.Exec(r.Context(), `insert into public.appointments (clinic_id, id, patient_id, note) values ($1, $2, $3, $4)`, p.Tenant, id, patient, in.Note); err != nil {
		writeTestProblem(w, 500, "internal", "")
		return
	}
	writeTestJSON(w, 201, map[string]any{"clinic_id": p.Tenant.String(), "id": id.String(), "patient_id": patient.String(), "note": in.Note})
}

// httpFixture is the SQL fixture's database with an appointment for each
// patient, and the API's actors and fixtures.
type httpFixture struct {
	db       *pgtest.DB
	actors   []Actor
	fixtures []Fixture
	tokens   map[string]tenancy.Principal
}

func newHTTPFixture(t *testing.T) *httpFixture {
	t.Helper()
	db := fixture(t)
	db.Exec(t, pgtest.Admin, `INSERT INTO public.appointments (clinic_id, id, patient_id, note) VALUES ($1, gen_random_uuid(), $2, 'cleaning')`, clinicA, patientA2)
	f := &httpFixture{db: db, tokens: map[string]tenancy.Principal{}}
	add := func(name string, p tenancy.Principal) {
		f.tokens[name] = p
		f.actors = append(f.actors, Actor{Name: name, Principal: p, Token: name})
	}
	add("staff-a", tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: tenancy.NewID(), Roles: []string{"owner"}})
	add("staff-b", tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicB, Subject: tenancy.NewID(), Roles: []string{"owner"}})
	add("patient-a1", tenancy.Principal{Kind: tenancy.Kind("patient"), Tenant: clinicA, Subject: tenancy.MustParseID(patientA1)})
	add("admin", tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: tenancy.NewID()})
	for _, p := range []string{patientA1, patientA2, patientB1} {
		tenant := clinicA
		if p == patientB1 {
			tenant = clinicB
		}
		f.fixtures = append(f.fixtures, Fixture{Kind: "patients", ID: p, Tenant: tenant, Subject: tenancy.MustParseID(p)})
	}
	rows, err := db.Conn(t, pgtest.Admin).Query(t.Context(), `select id::text, clinic_id::text, patient_id::text from public.appointments order by id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, c, p string
		if err := rows.Scan(&id, &c, &p); err != nil {
			t.Fatal(err)
		}
		f.fixtures = append(f.fixtures, Fixture{Kind: "appointments", ID: id, Tenant: tenancy.MustParseID(c), Subject: tenancy.MustParseID(p)})
	}
	if rows.Err() != nil || len(f.fixtures) != 6 {
		t.Fatalf("fixtures %v: %v", f.fixtures, rows.Err())
	}
	return f
}

// api returns the API with one broken layer.
func (f *httpFixture) api(t *testing.T, l leak) *leakyAPI {
	t.Helper()
	app := f.db.Pool(t, pgtest.App)
	h := &leakyAPI{priv: f.db.Pool(t, pgtest.Admin), leak: l, tokens: f.tokens}
	cfg := tenantdb.Config{Model: fixtureModel(t, f.db), Sources: []tenancy.Source{Source()}}
	if l == leakReport {
		var err error
		cfg.Guard, err = sqlguard.New(sqlguard.Config{Model: cfg.Model, Mode: sqlguard.Report, OnReport: func(e *sqlguard.RefusalError) {
			h.mu.Lock()
			h.refusals = append(h.refusals, e)
			h.mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := tenantdb.New(t.Context(), app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.db = db
	return h
}

func (h *leakyAPI) drainRefusals() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.refusals
	h.refusals = nil
	return out
}

var testInventory = []Route{
	{"GET", "/patients"},
	{"GET", "/patients/{id}"},
	{"PATCH", "/patients/{id}"},
	{"GET", "/appointments/{id}"},
	{"POST", "/appointments"},
	{"GET", "/admin/health"},
}

func kindIs(kinds ...tenancy.Kind) func(Actor) bool {
	return func(a Actor) bool { return slices.Contains(kinds, a.Principal.Kind) }
}

// httpConfig probes the API in process.
func (f *httpFixture) config(t *testing.T, h *leakyAPI) HTTPConfig {
	staff := kindIs(tenancy.Kind("staff"))
	both := kindIs(tenancy.Kind("staff"), tenancy.Kind("patient"))
	admin := f.db.Pool(t, pgtest.Admin)
	return HTTPConfig{
		Principals: tenancy.Principals{Kinds: testKinds},
		Handler:    h.handler(),
		Inventory:  slices.Clone(testInventory),
		Routes: []RouteSpec{
			{Method: "GET", Path: "/patients", Allowed: staff},
			{Method: "GET", Path: "/patients/{id}", Object: "patients", Allowed: both},
			{Method: "PATCH", Path: "/patients/{id}", Object: "patients", Allowed: staff, Body: func(Actor) any { return map[string]any{"name": "Changed By The Probe"} }},
			{Method: "GET", Path: "/appointments/{id}", Object: "appointments", Allowed: both},
			// Each staff member books for a patient of their own clinic;
			// the prober then tries the other clinic's patients there.
			{Method: "POST", Path: "/appointments", Allowed: staff, Call: true, Body: func(a Actor) any {
				patient := patientA1
				if a.Principal.Tenant == clinicB {
					patient = patientB1
				}
				return map[string]any{"patient_id": patient, "note": "booked by the probe"}
			}},
			{Method: "GET", Path: "/admin/health", Allowed: kindIs(tenancy.Kind("platform_admin"))},
		},
		Actors:      f.actors,
		Fixtures:    f.fixtures,
		TenantField: "clinic_id",
		Snapshot: func(ctx context.Context, fx Fixture) (string, error) {
			var s string
			err := admin.QueryRow(ctx, `select to_jsonb(x)::text from public.`+fx.Kind+` x where id = $1`, fx.ID).Scan(&s)
			return s, err
		},
	}
}

// probeHTTP runs ProbeHTTP with a recorder.
func probeHTTP(t *testing.T, cfg HTTPConfig) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ProbeHTTP(r, cfg)
	}()
	<-done
	return r
}

// httpHole is what a test expects of a failure: the route and the check.
type httpHole struct {
	Route Route
	Check Check
}

func (r *recorder) httpHoles() []httpHole {
	var hs []httpHole
	for _, f := range r.http {
		h := httpHole{f.Route, f.Check}
		if !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, compareHoles)
	return hs
}

func compareHoles(a, b httpHole) int {
	if c := strings.Compare(a.Route.String(), b.Route.String()); c != 0 {
		return c
	}
	return strings.Compare(string(a.Check), string(b.Check))
}

// TestProbeHTTPPasses: the API as written passes, with the real
// testing.T, over the network.
func TestProbeHTTPPasses(t *testing.T) {
	f := newHTTPFixture(t)
	h := f.api(t, leakNone)
	srv := httptest.NewServer(h.handler())
	defer srv.Close()
	cfg := f.config(t, h)
	cfg.Handler, cfg.BaseURL = nil, srv.URL
	cfg.Refusals = h.drainRefusals
	ProbeHTTP(t, cfg)
}

// TestProbeHTTPFindsHoles: the prober can fail. Each broken layer is
// reported on the route it breaks, with the check that catches it, and
// nothing else is.
func TestProbeHTTPFindsHoles(t *testing.T) {
	f := newHTTPFixture(t)
	getP := Route{"GET", "/patients/{id}"}
	tests := []struct {
		name   string
		leak   leak
		modify func(*HTTPConfig)
		want   []httpHole
	}{
		{"a handler reads by id without its tenant", leakGet, nil,
			[]httpHole{{getP, CheckForeign}, {getP, CheckForeignID}, {getP, CheckTenantField}}},
		{"a list without its tenant", leakList, nil,
			[]httpHole{{Route{"GET", "/patients"}, CheckForeignID}, {Route{"GET", "/patients"}, CheckTenantField}}},
		{"a write without its tenant that answers as if scoped", leakPatch, nil,
			[]httpHole{{Route{"PATCH", "/patients/{id}"}, CheckUnchanged}}},
		{"a 404 that says the object exists elsewhere", leakMessage, nil,
			[]httpHole{{getP, CheckForeign}}},
		{"the guard in report mode lets a statement without its tenant run", leakReport, nil,
			[]httpHole{{getP, CheckGuard}}},
		{"404s that differ by a request id", leakRandom, nil,
			[]httpHole{{getP, CheckForeign}}},
		{"404s that differ by a request id, normalized", leakRandom,
			func(c *HTTPConfig) {
				re := regexp.MustCompile(`request [0-9a-f-]{36}`)
				c.Normalize = func(b []byte) []byte { return re.ReplaceAll(b, []byte("request {request}")) }
			},
			nil},
		{"a write route without an object that nothing calls", leakNone,
			func(c *HTTPConfig) {
				c.Inventory = append(c.Inventory, Route{"POST", "/patients"})
				c.Routes = append(c.Routes, RouteSpec{Method: "POST", Path: "/patients"})
			},
			[]httpHole{{Route{"POST", "/patients"}, CheckCoverage}}},
		{"a route of the inventory without a spec", leakNone,
			func(c *HTTPConfig) { c.Inventory = append(c.Inventory, Route{"DELETE", "/patients/{id}"}) },
			[]httpHole{{Route{"DELETE", "/patients/{id}"}, CheckCoverage}}},
		{"a spec for a route the inventory lacks", leakNone,
			func(c *HTTPConfig) { c.Inventory = c.Inventory[:len(c.Inventory)-1] },
			[]httpHole{{Route{"GET", "/admin/health"}, CheckCoverage}}},
		{"a route no actor may call", leakNone,
			func(c *HTTPConfig) { c.Routes[3].Allowed = func(Actor) bool { return false } },
			[]httpHole{{Route{"GET", "/appointments/{id}"}, CheckAccess}, {Route{"GET", "/appointments/{id}"}, CheckCoverage}}},
		{"a fixture that its owners never see", leakNone,
			func(c *HTTPConfig) {
				c.Fixtures = append(c.Fixtures, Fixture{Kind: "patients", ID: tenancy.NewID().String(), Tenant: clinicA})
			},
			// It is reported four ways: the owners' reads are 404, the
			// snapshots (of a foreign write, and of a body naming it)
			// find no row, and no owner saw it.
			[]httpHole{{Route{"*", "patients"}, CheckVacuous}, {getP, CheckAccess}, {Route{"PATCH", "/patients/{id}"}, CheckUnchanged},
				{Route{"POST", "/appointments"}, CheckBodyID}}},
		// Another tenant's id in a body (the OWASP cheat sheet's IDOR in
		// a request body): each handler passes the path checks, since
		// the route takes no object.
		{"a create that trusts the body's id to pick the tenant", leakBody, nil,
			[]httpHole{{Route{"POST", "/appointments"}, CheckBodyID}}},
		{"a create that writes the body's object without its tenant and then answers 404", leakBodyWrite, nil,
			[]httpHole{{Route{"POST", "/appointments"}, CheckBodyID}}},
		{"a tenant field that no answer carries", leakNone,
			func(c *HTTPConfig) { c.TenantField = "tenant_id" },
			[]httpHole{{Route{"*", "*"}, CheckTenantField}}},
		{"a handler reads by id without its tenant, tenant field unset", leakGet,
			func(c *HTTPConfig) { c.TenantField = "" },
			[]httpHole{{getP, CheckForeign}, {getP, CheckForeignID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.db.Conn(t, pgtest.Admin)
			h := f.api(t, tt.leak)
			cfg := f.config(t, h)
			if tt.leak == leakReport {
				cfg.Refusals = h.drainRefusals
			}
			if tt.modify != nil {
				tt.modify(&cfg)
			}
			r := probeHTTP(t, cfg)
			if r.fatal || len(r.errs) > 0 || len(r.other) > 0 {
				t.Fatalf("ProbeHTTP could not probe: fatal %v, errors %v, messages %q", r.fatal, r.errs, r.other)
			}
			want := slices.Clone(tt.want)
			slices.SortFunc(want, compareHoles)
			if diff := cmp.Diff(want, r.httpHoles()); diff != "" {
				t.Errorf("holes (-want +got):\n%s\nfailures: %v", diff, r.http)
			}
			for _, fl := range r.http {
				if fl.Check != CheckCoverage && fl.Check != CheckVacuous && fl.Route.Method != "*" && fl.Actor == "" {
					t.Errorf("failure without its actor: %v", fl)
				}
			}
			// Undo the leaky write, for the next subtest.
			if _, err := before.Exec(context.Background(), `update public.patients set name = split_part(email, '@', 1)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestProbeHTTPRefuses: a config that cannot be probed stops ProbeHTTP
// with ErrInvalidConfig.
func TestProbeHTTPRefuses(t *testing.T) {
	f := newHTTPFixture(t)
	h := f.api(t, leakNone)
	tests := []struct {
		name   string
		modify func(*HTTPConfig)
	}{
		{"no handler or base URL", func(c *HTTPConfig) { c.Handler = nil }},
		{"no inventory", func(c *HTTPConfig) { c.Inventory = nil }},
		{"no actors", func(c *HTTPConfig) { c.Actors = nil }},
		{"two actors of one name", func(c *HTTPConfig) { c.Actors = append(c.Actors, c.Actors[0]) }},
		{"a write to an object without a snapshot", func(c *HTTPConfig) { c.Snapshot = nil }},
		{"a fixture without a tenant", func(c *HTTPConfig) { c.Fixtures = append(c.Fixtures, Fixture{Kind: "patients", ID: "x"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(t, h)
			tt.modify(&cfg)
			r := probeHTTP(t, cfg)
			if !r.fatal || len(r.errs) != 1 || !errors.Is(r.errs[0], ErrInvalidConfig) {
				t.Errorf("fatal %v, errors %v; want one error wrapping ErrInvalidConfig", r.fatal, r.errs)
			}
		})
	}
}

// TestProbeHTTPSaysWhatDidNotRun: a check that is not configured, or has
// nothing to work on, says so in the log instead of passing in silence;
// when it runs, the log says how much it compared.
func TestProbeHTTPSaysWhatDidNotRun(t *testing.T) {
	f := newHTTPFixture(t)
	h := f.api(t, leakNone)
	tests := []struct {
		name   string
		modify func(*HTTPConfig)
		want   []string // regular expressions, each matching a log line
	}{
		{"both checks run", nil, []string{
			`^tenancytest: the tenant field "clinic_id" was checked in [1-9][0-9]* objects of [1-9][0-9]* successful JSON answers$`,
			`^tenancytest: the body-id check sent [1-9][0-9]* requests with another tenant's or a missing id in one field of [1-9][0-9]* write bodies$`,
		}},
		{"tenant field unset", func(c *HTTPConfig) { c.TenantField = "" }, []string{
			`^tenancytest: the tenant-field check did not run: HTTPConfig.TenantField is not set`,
		}},
		// Without POST /appointments, the only write body is PATCH's name.
		{"no known id in any body", func(c *HTTPConfig) {
			c.Routes = slices.DeleteFunc(c.Routes, func(s RouteSpec) bool { return s.Path == "/appointments" })
			c.Inventory = slices.DeleteFunc(c.Inventory, func(r Route) bool { return r.Path == "/appointments" })
		}, []string{
			`^tenancytest: the body-id check did not run: none of the 2 write bodies sent held a fixture's id or the actor's tenant$`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(t, h)
			if tt.modify != nil {
				tt.modify(&cfg)
			}
			r := probeHTTP(t, cfg)
			if r.fatal || len(r.http) > 0 || len(r.errs) > 0 {
				t.Fatalf("fatal %v, failures %v, errors %v", r.fatal, r.http, r.errs)
			}
			for _, w := range tt.want {
				re := regexp.MustCompile(w)
				if !slices.ContainsFunc(r.logs, re.MatchString) {
					t.Errorf("no log line matches %s; logs:\n%s", w, strings.Join(r.logs, "\n"))
				}
			}
		})
	}
}

// TestServeMuxRecordsAndServes: the recording mux serves as http.ServeMux
// does, refuses what it refuses, and lists exactly what was registered.
func TestServeMuxRecordsAndServes(t *testing.T) {
	mux := NewServeMux()
	mux.Handle("GET /a/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a "+r.PathValue("id")) }))
	mux.HandleFunc("DELETE\t/a/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/a/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "a 7" {
		t.Errorf("GET /a/7 = %d %q", res.StatusCode, body)
	}
	if got, want := fmt.Sprint(mux.Routes()), "[DELETE /a/{id} GET /a/{id}]"; got != want {
		t.Errorf("Routes() = %s, want %s", got, want)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a conflicting pattern did not panic")
			}
		}()
		mux.HandleFunc("GET /a/{id}", func(http.ResponseWriter, *http.Request) {})
	}()
	if n := len(mux.Routes()); n != 2 {
		t.Errorf("a refused pattern was recorded: %d routes", n)
	}
}

// A bigint tenant sent as a JSON number is compared digit for digit: as a
// float64 it would round 2^53+1 to 2^53.
func TestTenantFieldAsJSONNumber(t *testing.T) {
	v, err := decodeJSON([]byte(`{"org_id": 9007199254740993, "name": "x", "n": 1.5}`))
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(map[string]any)
	if s, ok := jsonKey(obj["org_id"]); !ok || s != "9007199254740993" {
		t.Errorf("jsonKey(org_id) = %q, %v; want every digit", s, ok)
	}
	if _, ok := jsonKey(map[string]any{}); ok {
		t.Error("an object is a key")
	}
}

func TestContainsID(t *testing.T) {
	for _, tt := range []struct {
		body, id string
		want     bool
	}{
		{`{"id":"4"}`, "4", true},
		{`{"id":4}`, "4", true},
		{`{"id":42}`, "4", false},
		{`{"due":"2024-04-01"}`, "4", false},
		{`see /tasks/4, please`, "4", true},
		{`{"id":"0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f"}`, "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f", true},
		{`x0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f`, "0195f1c2-7b3a-7c4d-8e5f-6a7b8c9d0e1f", false},
		{`42 and 4`, "4", true},
		{``, "4", false},
	} {
		if got := containsID([]byte(tt.body), tt.id); got != tt.want {
			t.Errorf("containsID(%q, %q) = %v, want %v", tt.body, tt.id, got, tt.want)
		}
	}
}
