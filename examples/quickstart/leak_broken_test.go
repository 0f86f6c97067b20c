package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/problem"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// These tests break one layer at a time and show that its test catches the
// break: the API (a handler that takes the org from a header), the SQL
// guard (unscoped SQL, refused unsent), and the database (with no guard,
// row-level security alone still hides Globex; a table without it is
// reported). Each first proves, as the superuser, that the data it must
// not see exists.

// recorder is a testing.TB that records what a probe reports instead of
// failing the test. Its Fatalf ends the goroutine, as testing's does.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	http    []tenancytest.HTTPFailure
	sql     []tenancytest.SQLFailure
	reports []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(args) == 1 {
		switch f := args[0].(type) {
		case tenancytest.HTTPFailure:
			r.http = append(r.http, f)
			return
		case tenancytest.SQLFailure:
			r.sql = append(r.sql, f)
			return
		}
	}
	r.reports = append(r.reports, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.reports = append(r.reports, "fatal: "+fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

// record runs probe with a recorder, in a goroutine that Fatalf may end.
func record(t *testing.T, probe func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		probe(r)
	}()
	<-done
	return r
}

// (a) The API. The broken handler serves GET /projects/{id} as a
// hand-rolled app would: it verifies the token, then lets the client pick
// the org with X-Org-Id, and sets row-level security's context to that
// org itself on a plain pgx pool of the app role (no tenantdb, no guard).
// The database then faithfully shows the org the client asked for, and
// only the API layer could have stopped it: ProbeHTTP reports the route.
func TestBrokenAPIIsCaught(t *testing.T) {
	a := startApp(t)
	if len(a.ids(t, "projects", globex)) == 0 {
		t.Fatal("Globex has no project, so nothing could leak")
	}
	raw := a.db.Pool(t, pgtest.App)
	mw, err := jwtctx.NewMiddleware(a.auth, jwtctx.MiddlewareConfig{Accept: jwtctx.SessionToken})
	if err != nil {
		t.Fatal(err)
	}
	broken := tenancytest.NewServeMux()
	broken.Handle("GET /projects/{id}", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tenancy.Require(r.Context())
		if org, err := tenancy.KeyBigint.Parse(r.Header.Get("X-Org-Id")); err == nil {
			p.Tenant = org // the bug: the client names the org
		}
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		var got project
		err := pgx.BeginFunc(r.Context(), raw, func(tx pgx.Tx) error {
			sql, args, err := tenantdb.ContextSQL(r.Context(), p)
			if err == nil {
				_, err = tx.Exec(r.Context(), sql, args...)
			}
			if err == nil {
				err = tx.QueryRow(r.Context(), `select id, org_id, name from projects where org_id = $1 and id = $2`, p.Tenant, id).
					Scan(&got.ID, &got.OrgID, &got.Name)
			}
			return err
		})
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, got)
	})))
	route := broken.Routes()

	// The control: the real handler, with the same actors and headers.
	tenancytest.ProbeHTTP(t, a.httpConfig(t, a.mux, route))

	rec := record(t, func(tb testing.TB) { tenancytest.ProbeHTTP(tb, a.httpConfig(t, broken, route)) })
	var got []string
	for _, f := range rec.http {
		if s := f.Route.String() + " " + string(f.Check); !slices.Contains(got, s) {
			got = append(got, s)
		}
	}
	slices.Sort(got)
	// The actors that send X-Org-Id get 404 for their own projects too
	// (access), since the handler looks for them in the org they named.
	want := []string{"GET /projects/{id} access", "GET /projects/{id} foreign-as-missing", "GET /projects/{id} foreign-id", "GET /projects/{id} tenant-field"}
	if !slices.Equal(got, want) || len(rec.reports) > 0 {
		t.Errorf("ProbeHTTP on the broken handler reported %q and %q, want %q", got, rec.reports, want)
	}
}

// (b) The SQL guard. Unscoped statements, and one scoped to another org,
// are refused with sqlguard.ErrRefused before they reach the database: the
// unscoped DELETE would have deleted Acme's own tasks (row-level security
// allows that), and they are all still there.
func TestGuardRefusesUnscopedSQL(t *testing.T) {
	a := startApp(t)
	if a.count(t, "tasks", globex) == 0 || a.count(t, "tasks", acme) == 0 {
		t.Fatal("each org needs tasks for the test to mean something")
	}
	before := a.count(t, "tasks", acme)
	ctx := tenancytest.Context(t.Context(), a.user(t, acme, member).Principal)
	for _, c := range []struct {
		name, sql string
		args      []any
	}{
		{"no org predicate", `select id, title from tasks`, nil},
		{"predicate under OR", `select id, title from tasks where org_id = $1 or true`, []any{acme}},
		{"another org", `select id, title from tasks where org_id = $1`, []any{globex}},
		{"unscoped join", `select t.id from tasks t join projects p on p.id = t.project_id where t.org_id = $1`, []any{acme}},
		{"unscoped delete", `delete from tasks`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.pool.Exec(ctx, c.sql, c.args...)
			var refusal *sqlguard.RefusalError
			if !errors.Is(err, sqlguard.ErrRefused) || !errors.As(err, &refusal) {
				t.Fatalf("got %v, want a refusal by the guard", err)
			}
			t.Logf("refused: %v", refusal)
		})
	}
	if got := a.count(t, "tasks", acme); got != before {
		t.Errorf("Acme has %d tasks after the refused DELETE, want %d: it reached the database", got, before)
	}
}

// allowAll is a guard that lets everything through.
type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// (c) The database, with the guard disabled: unscoped reads see only the
// context's org (and a guest only its own tasks), an unscoped UPDATE
// changes only Acme's rows, and an INSERT claiming Globex is refused.
func TestRLSAloneHidesOtherOrgs(t *testing.T) {
	a := startApp(t)
	unguarded, err := tenantdb.New(t.Context(), a.db.Pool(t, pgtest.App), tenantdb.Config{
		Model: a.model, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
	})
	if err != nil {
		t.Fatal(err)
	}
	memberCtx := tenancytest.Context(t.Context(), a.user(t, acme, member).Principal)
	gus := a.user(t, acme, guest).Principal
	guestCtx := tenancytest.Context(t.Context(), gus)
	for _, table := range []string{"users", "projects", "tasks"} {
		if a.count(t, table, globex) == 0 {
			t.Fatalf("Globex has no %s, so nothing could leak", table)
		}
		for who, ctx := range map[string]context.Context{"member": memberCtx, "guest": guestCtx} {
			rows, err := unguarded.Query(ctx, `select org_id, `+map[bool]string{true: "assignee_id", false: "null::bigint"}[table == "tasks"]+` from `+table)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var org tenancy.ID
				var assignee *tenancy.ID
				if err := rows.Scan(&org, &assignee); err != nil {
					t.Fatal(err)
				}
				n++
				if org != acme {
					t.Errorf("%s of Acme, unscoped, reads a row of %s of org %s", who, table, org)
				}
				if who == "guest" && table == "tasks" && (assignee == nil || *assignee != gus.Subject) {
					t.Errorf("the guest, unscoped, reads a task assigned to %v", assignee)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%s of Acme reads no %s at all, so seeing none of Globex's means nothing", who, table)
			}
		}
	}
	globexTasks := a.ids(t, "tasks", globex)
	tag, err := unguarded.Exec(memberCtx, `update tasks set title = 'renamed'`)
	if err != nil || tag.RowsAffected() != int64(a.count(t, "tasks", acme)) {
		t.Errorf("unscoped UPDATE: %v, %v rows; want Acme's %d", err, tag, a.count(t, "tasks", acme))
	}
	var renamed int
	if err := a.admin.QueryRow(t.Context(), `select count(*) from tasks where org_id = $1 and title = 'renamed'`, globex).Scan(&renamed); err != nil || renamed != 0 {
		t.Errorf("the unscoped UPDATE renamed %d of Globex's %d tasks (%v)", renamed, len(globexTasks), err)
	}
	var pgErr *pgconn.PgError
	_, err = unguarded.Exec(memberCtx, `insert into projects (org_id, name) values ($1, 'planted')`, globex)
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("an INSERT claiming Globex: %v, want a row-level security violation (42501)", err)
	}
}

// (c, continued) A table whose row-level security is disabled, and one
// where it is no longer forced, are reported by rls.Check, the first by
// ProbeSQL too, and the pool refuses to start on them.
func TestBrokenSchemaIsReported(t *testing.T) {
	a := startApp(t)
	ctx := t.Context()
	if a.count(t, "tasks", globex) == 0 {
		t.Fatal("Globex has no tasks, so nothing could leak")
	}
	a.db.Exec(t, pgtest.Owner, `alter table tasks disable row level security`)
	a.db.Exec(t, pgtest.Owner, `alter table projects no force row level security`)

	findings, err := rls.Check(ctx, a.admin, a.model)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		if f.Severity == rls.SeverityError {
			got = append(got, string(f.Code)+" "+f.Object)
		}
	}
	for _, want := range []string{"rls-disabled public.tasks", "rls-not-forced public.projects"} {
		if !slices.Contains(got, want) {
			t.Errorf("rls.Check reported %q, want %q among them", got, want)
		}
	}

	rec := record(t, func(tb testing.TB) {
		tenancytest.ProbeSQL(tb, tenancytest.SQLConfig{
			App: a.db.Pool(t, pgtest.App), Privileged: a.admin, Model: a.model, TenantA: acme, TenantB: globex,
		})
	})
	var tables []string
	for _, f := range rec.sql {
		if !slices.Contains(tables, f.Table) {
			tables = append(tables, f.Table)
		}
	}
	if !slices.Equal(tables, []string{"public.tasks"}) || len(rec.reports) > 0 {
		t.Errorf("ProbeSQL reported holes in %q, want in public.tasks only (projects still binds the app role):\n%s", tables, strings.Join(rec.reports, "\n"))
	}

	_, err = tenantdb.New(ctx, a.db.Pool(t, pgtest.App), tenantdb.Config{Model: a.model})
	if !errors.Is(err, tenantdb.ErrUnsafeSchema) {
		t.Errorf("tenantdb.New on the broken schema: %v, want ErrUnsafeSchema", err)
	}
}
