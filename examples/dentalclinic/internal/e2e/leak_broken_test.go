package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/apptest"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/kinds"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/migrations"
	"github.com/mydentalpractice/tenancy/examples/dentalclinic/internal/seed"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// These tests prove that the harness can fail: each breaks one layer of
// the app (a handler that forgets to scope, a table without row-level
// security, the SQL guard in report mode) and checks that the probe
// reports that layer, and only it.

// harnessRecorder is a testing.TB that records what the probes report
// instead of failing the test. Its Fatalf ends the goroutine, as
// testing's does.
type harnessRecorder struct {
	testing.TB
	mu    sync.Mutex
	http  []tenancytest.HTTPFailure
	other []string
	fatal bool
}

func (r *harnessRecorder) Helper()             {}
func (r *harnessRecorder) Logf(string, ...any) {}
func (r *harnessRecorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(a) == 1 {
		if hf, ok := a[0].(tenancytest.HTTPFailure); ok {
			r.http = append(r.http, hf)
			return
		}
	}
	r.other = append(r.other, fmt.Sprintf(f, a...))
}
func (r *harnessRecorder) Fatalf(f string, a ...any) {
	r.mu.Lock()
	r.other = append(r.other, fmt.Sprintf(f, a...))
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}

// record runs probe with a recorder, in a goroutine that Fatalf may end.
func record(t *testing.T, probe func(testing.TB)) *harnessRecorder {
	r := &harnessRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		probe(r)
	}()
	<-done
	return r
}

// checks returns the distinct route and check pairs reported.
func (r *harnessRecorder) checks() []string {
	var out []string
	for _, f := range r.http {
		s := f.Route.String() + " " + string(f.Check)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

var brokenPatientPath = regexp.MustCompile(`^/api/v1/patients/([^/]+)$`)

// brokenApp serves GET /api/v1/patients/{id} with a handler of the test's
// own, signed in through the real app (its /api/v1/me), and passes every
// other request to the real app. read is the handler's one query.
type brokenApp struct {
	a     *apptest.App
	proxy *httputil.ReverseProxy
	read  func(ctx context.Context, p tenancy.Principal, id tenancy.ID) (map[string]any, error)
}

func newBrokenApp(t *testing.T, a *apptest.App, read func(ctx context.Context, p tenancy.Principal, id tenancy.ID) (map[string]any, error)) *brokenApp {
	u, err := url.Parse(a.Base)
	if err != nil {
		t.Fatal(err)
	}
	return &brokenApp{a: a, proxy: httputil.NewSingleHostReverseProxy(u), read: read}
}

func (b *brokenApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := brokenPatientPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodGet {
		b.proxy.ServeHTTP(w, r)
		return
	}
	problem := func(status int, code string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code})
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, b.a.Base+"/api/v1/me", nil)
	if err != nil {
		problem(500, "internal")
		return
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		problem(500, "internal")
		return
	}
	defer resp.Body.Close()
	var me struct {
		Principal tenancy.Principal `json:"principal"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&me) != nil {
		problem(401, "unauthenticated")
		return
	}
	if me.Principal.Kind != kinds.Staff {
		problem(403, "forbidden")
		return
	}
	id, err := tenancy.ParseID(m[1])
	if err != nil {
		problem(404, "not_found")
		return
	}
	row, err := b.read(tenancytest.Context(r.Context(), me.Principal), me.Principal, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		problem(404, "not_found")
	case err != nil:
		problem(500, "internal")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(row)
	}
}

// brokenConfig probes GET /api/v1/patients/{id} of b as the front desk of
// Riverside and of Hillcrest, with a patient of each clinic.
func brokenConfig(t *testing.T, a *apptest.App, h http.Handler) tenancytest.HTTPConfig {
	t.Helper()
	var actors []tenancytest.Actor
	var fixtures []tenancytest.Fixture
	for _, c := range []struct {
		name string
		id   tenancy.ID
	}{{"riverside", riverside.ID}, {"hillcrest", hillcrest.ID}} {
		clinic := riverside
		if c.id == hillcrest.ID {
			clinic = hillcrest
		}
		token := a.NewStaff(t, clinic, "front_desk").Token
		var me struct {
			Principal tenancy.Principal `json:"principal"`
		}
		a.Do(t, "GET", "/api/v1/me", token, nil).JSON(t, &me)
		actors = append(actors, tenancytest.Actor{Name: c.name + "/front_desk", Principal: me.Principal, Token: token})
		alex := alexAt(t, a, c.id)
		fixtures = append(fixtures, tenancytest.Fixture{Kind: "patients", ID: alex.String(), Tenant: c.id, Subject: alex})
	}
	return tenancytest.HTTPConfig{
		Handler:    h,
		Principals: tenancy.Principals{Kinds: kinds.Specs()},
		Inventory:  []tenancytest.Route{{Method: "GET", Path: "/api/v1/patients/{id}"}},
		Routes: []tenancytest.RouteSpec{{Method: "GET", Path: "/api/v1/patients/{id}", Object: "patients",
			Allowed: func(a tenancytest.Actor) bool { return a.Principal.Kind == kinds.Staff }}},
		Actors:      actors,
		Fixtures:    fixtures,
		TenantField: "clinic_id",
	}
}

// readPatient is the handler's query; q is what runs it.
func readPatient(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, sql string, args ...any) (map[string]any, error) {
	var clinic, id, given, family string
	if err := q.QueryRow(ctx, sql, args...).Scan(&clinic, &id, &given, &family); err != nil {
		return nil, err
	}
	return map[string]any{"clinic_id": clinic, "id": id, "given_name": given, "family_name": family}, nil
}

const brokenCols = `clinic_id::text, id::text, given_name, family_name`

// TestHarnessCatchesUnscopedHandler: a handler that reads through a pool
// that row-level security does not bind (the owner, BYPASSRLS in these
// tests) and forgets the clinic in its WHERE serves another clinic's
// patient. ProbeHTTP reports it three ways on that route; the same
// handler written with tenantdb passes.
func TestHarnessCatchesUnscopedHandler(t *testing.T) {
	a := startApp(t)
	owner := a.DB.Pool(t, pgtest.Owner)
	db, err := tenantdb.New(t.Context(), a.DB.Pool(t, pgtest.App), tenantdb.Config{Model: a.Model(t), Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	scoped := newBrokenApp(t, a, func(ctx context.Context, p tenancy.Principal, id tenancy.ID) (map[string]any, error) {
		return readPatient(ctx, db, `select `+brokenCols+` from patients where clinic_id = $1 and id = $2`, p.Tenant, id)
	})
	if r := record(t, func(tb testing.TB) { tenancytest.ProbeHTTP(tb, brokenConfig(t, a, scoped)) }); r.fatal || len(r.http) > 0 || len(r.other) > 0 {
		t.Fatalf("the scoped handler: %v %v", r.http, r.other)
	}

	unscoped := newBrokenApp(t, a, func(ctx context.Context, _ tenancy.Principal, id tenancy.ID) (map[string]any, error) {
		return readPatient(ctx, owner, `select `+brokenCols+` from patients where id = $1`, id)
	})
	r := record(t, func(tb testing.TB) { tenancytest.ProbeHTTP(tb, brokenConfig(t, a, unscoped)) })
	want := []string{
		"GET /api/v1/patients/{id} foreign-as-missing",
		"GET /api/v1/patients/{id} foreign-id",
		"GET /api/v1/patients/{id} tenant-field",
	}
	if r.fatal || len(r.other) > 0 || !slices.Equal(r.checks(), want) {
		t.Errorf("reported %v (other %v), want %v", r.checks(), r.other, want)
	}
	for _, f := range r.http {
		if f.Actor == "" {
			t.Errorf("a failure does not name its actor: %v", f)
		}
	}
}

// TestHarnessCatchesGuardInReportMode: with the SQL guard in report mode,
// a handler whose query forgets the clinic runs; row-level security still
// hides the other clinic's patient, so nothing leaks, but ProbeHTTP,
// given the guard's reports, names the route and the actor that ran it.
func TestHarnessCatchesGuardInReportMode(t *testing.T) {
	a := startApp(t)
	app := a.DB.Pool(t, pgtest.App)
	model := a.Model(t)
	var mu sync.Mutex
	var reports []error
	guard, err := sqlguard.New(sqlguard.Config{Model: model, Mode: sqlguard.Report, OnReport: func(e *sqlguard.RefusalError) {
		mu.Lock()
		reports = append(reports, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.New(t.Context(), app, tenantdb.Config{Model: model, Guard: guard, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	h := newBrokenApp(t, a, func(ctx context.Context, _ tenancy.Principal, id tenancy.ID) (map[string]any, error) {
		return readPatient(ctx, db, `select `+brokenCols+` from patients where id = $1`, id)
	})
	cfg := brokenConfig(t, a, h)
	cfg.Refusals = func() []error {
		mu.Lock()
		defer mu.Unlock()
		out := reports
		reports = nil
		return out
	}
	r := record(t, func(tb testing.TB) { tenancytest.ProbeHTTP(tb, cfg) })
	if want := []string{"GET /api/v1/patients/{id} guard"}; r.fatal || len(r.other) > 0 || !slices.Equal(r.checks(), want) {
		t.Errorf("reported %v (other %v), want %v: the guard's reports, and no leak", r.checks(), r.other, want)
	}
}

// TestHarnessCatchesTableWithoutRLS: on a database of its own with the
// app's schema and demo data, row-level security is disabled on one
// table; ProbeSQL reports that table, and the table beside it, still
// isolated, stays clean.
func TestHarnessCatchesTableWithoutRLS(t *testing.T) {
	startApp(t) // fails or skips as the app's other tests do without PostgreSQL
	ctx := t.Context()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Admin, `alter role `+pgx.Identifier{db.RoleName(pgtest.Owner)}.Sanitize()+` bypassrls`)
	roles := migrations.Roles{Owner: db.RoleName(pgtest.Owner), App: db.RoleName(pgtest.App), Platform: db.RoleName(pgtest.Platform), Audit: db.RoleName(pgtest.Audit)}
	if _, err := migrations.Up(ctx, migrations.Conns{Owner: db.ConnString(pgtest.Owner), AuditAdmin: db.ConnString(pgtest.Admin)}, roles); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, db.Conn(t, pgtest.Owner), func(tx pgx.Tx) error { return seed.Write(ctx, tx, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, `alter table public.operatories disable row level security`)
	// The model ProbeSQL reads: the app's, narrowed to the two tables.
	full := apptest.Model(t, db)
	var specs []rls.Table
	for _, r := range full.TenantRelations() {
		if r.Qualified() == "public.operatories" || r.Qualified() == "public.staff" {
			specs = append(specs, r.Table)
		}
	}
	model, err := rls.NewModel(full.Config(), specs...)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgxpool.New(ctx, db.ConnString(pgtest.Owner))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	r := &sqlRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tenancytest.ProbeSQL(r, tenancytest.SQLConfig{App: db.Pool(t, pgtest.App), Privileged: owner, Model: model, TenantA: riverside.ID, TenantB: hillcrest.ID})
	}()
	<-done
	if r.fatal {
		t.Fatalf("ProbeSQL stopped: %v", r.msgs)
	}
	var onOperatories, onStaff int
	for _, m := range r.msgs {
		switch {
		case regexp.MustCompile(`^tenancytest: public\.operatories: (select|update|delete|insert|no-context)`).MatchString(m):
			onOperatories++
		case regexp.MustCompile(`public\.staff`).MatchString(m):
			onStaff++
		}
	}
	if onOperatories == 0 || onStaff > 0 {
		t.Errorf("ProbeSQL reported %d holes on operatories (RLS disabled) and %d on staff (isolated), want some and none:\n%v", onOperatories, onStaff, r.msgs)
	}
}

// sqlRecorder records ProbeSQL's messages as text (its failures are
// unexported values, printed with %v).
type sqlRecorder struct {
	testing.TB
	mu    sync.Mutex
	msgs  []string
	fatal bool
}

func (r *sqlRecorder) Helper()             {}
func (r *sqlRecorder) Logf(string, ...any) {}
func (r *sqlRecorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *sqlRecorder) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}
