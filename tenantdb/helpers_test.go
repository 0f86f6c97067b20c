package tenantdb_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	staffA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	staffB  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
)

func staffCtx(clinic, staff tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{
		Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: staff, Roles: []string{"dentist"},
	})
}

// allowAll lets every statement through, so a test sees what the tenant
// context and row-level security do on their own.
type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// schema makes a test database with two tenant tables under the generated
// policies, and rows for clinics A and B (proved present as Admin).
func schema(t testing.TB) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `
		create table public.clinics (id uuid primary key, name text not null);
		create table public.patients (
			clinic_id uuid not null, id uuid not null, name text not null,
			primary key (clinic_id, id));
		create table public.notes (
			clinic_id uuid not null, id uuid not null, patient_id uuid not null, body text not null,
			primary key (clinic_id, id),
			foreign key (clinic_id, patient_id) references public.patients (clinic_id, id));
		create table public.counters (
			clinic_id uuid not null, id uuid not null, n int not null,
			primary key (clinic_id, id),
			constraint n_unique unique (clinic_id, n) deferrable initially deferred);
		-- Pre-auth functions (the model's Config.PreAuth): they show the
		-- tenancy setting they run with.
		create function public.clinic_names() returns table (name text, tenant text)
			language sql stable security definer set search_path = pg_catalog, pg_temp
			as $$ select name, coalesce(current_setting('tenancy.tenant_id', true), '<unset>') from public.clinics order by name $$;
		create function public.clinic_by_name(p_name text, p_upper boolean) returns table (id uuid, name text)
			language sql stable security definer set search_path = pg_catalog, pg_temp
			as $$ select id, case when p_upper then upper(name) else name end from public.clinics where name = p_name $$;
		revoke all on function public.clinic_names(), public.clinic_by_name(text, boolean) from public;
		grant execute on function public.clinic_names(), public.clinic_by_name(text, boolean) to `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	sql, err := testModel(t, db).Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`
		insert into clinics values ('%[1]s', 'A'), ('%[2]s', 'B');
		insert into patients select '%[1]s', gen_random_uuid(), 'a' || i from generate_series(1, 5) i;
		insert into patients select '%[2]s', gen_random_uuid(), 'b' || i from generate_series(1, 7) i;`,
		clinicA, clinicB))
	var a, b int
	admin := db.Conn(t, pgtest.Admin)
	if err := admin.QueryRow(context.Background(),
		`select count(*) filter (where clinic_id = $1), count(*) filter (where clinic_id = $2) from patients`,
		clinicA.String(), clinicB.String()).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != 5 || b != 7 {
		t.Fatalf("fixture: %d patients at A and %d at B, want 5 and 7", a, b)
	}
	return db
}

// models holds the model of each test database, by its app role's name,
// for newPool.
var models sync.Map

// testKinds are the principal kinds of the tests' model.
var testKinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}

// testModel returns the isolation model of schema's tables for db's roles.
func testModel(t testing.TB, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		PreAuth:      []string{"public.clinic_names", "public.clinic_by_name"},
		TenantColumn: "clinic_id",
		Kinds:        testKinds,
	},
		rls.Table{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"},
		rls.Table{Name: "public.patients"},
		rls.Table{Name: "public.notes"},
		rls.Table{Name: "public.counters"},
	)
	if err != nil {
		t.Fatal(err)
	}
	models.Store(db.RoleName(pgtest.App), m)
	return m
}

// appPool opens a pgx pool as the app role with at most maxConns
// connections, counting round trips.
func appPool(t testing.TB, db *pgtest.DB, maxConns int32, extra string) (*pgxpool.Pool, *roundTrips) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.ConnString(pgtest.App) + extra)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	if !strings.Contains(extra, "default_query_exec_mode") {
		pgtest.SetLocalExecMode(cfg) // extra's mode, when it has one, wins
	}
	rt := &roundTrips{}
	dialer := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, rt: rt}, nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, rt
}

// contextMode is the context mode the suite runs in: pgtest.ContextMode,
// from TENANCY_CONTEXT_MODE. newPool and the tests that build a Pool
// themselves set it.
var contextMode = func() tenantdb.ContextMode {
	m, err := tenantdb.ParseContextMode(pgtest.ContextMode())
	if err != nil {
		panic(err)
	}
	return m
}()

// execModes are the pgx exec modes the suite's context mode runs in, pgx's
// default first: ContextSetLocal needs exec or simple_protocol.
func execModes() []string {
	if contextMode == tenantdb.ContextSetLocal {
		return []string{"exec", "simple_protocol"}
	}
	return []string{"cache_statement", "exec"}
}

// newPool builds a Pool over pool in the suite's context mode, with cfg's
// other choices (allowAll and tenancytest's source when unset).
func newPool(t testing.TB, pool *pgxpool.Pool, cfg tenantdb.Config) *tenantdb.Pool {
	t.Helper()
	cfg.ContextMode = contextMode
	if cfg.Guard == nil {
		cfg.Guard = allowAll{}
	}
	if cfg.Sources == nil {
		cfg.Sources = []tenancy.Source{tenancytest.Source()}
	}
	if cfg.Model == nil {
		m, ok := models.Load(pool.Config().ConnConfig.User)
		if !ok {
			t.Fatalf("no model for role %s: make the database with schema", pool.Config().ConnConfig.User)
		}
		cfg.Model = m.(*rls.Model)
	}
	p, err := tenantdb.New(context.Background(), pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// roundTrips counts client-to-server round trips: a write after a read
// (or the first write) starts a new one.
type roundTrips struct {
	mu        sync.Mutex
	n         int
	lastWrite bool
}

func (r *roundTrips) wrote() {
	r.mu.Lock()
	if !r.lastWrite {
		r.n++
		r.lastWrite = true
	}
	r.mu.Unlock()
}

func (r *roundTrips) read() {
	r.mu.Lock()
	r.lastWrite = false
	r.mu.Unlock()
}

func (r *roundTrips) reset() { r.mu.Lock(); r.n = 0; r.mu.Unlock() }
func (r *roundTrips) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

type countingConn struct {
	net.Conn
	rt *roundTrips
}

func (c *countingConn) Write(b []byte) (int, error) { c.rt.wrote(); return c.Conn.Write(b) }
func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.rt.read()
	}
	return n, err
}
