package impersonation_test

import (
	"cmp"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/impersonation"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	tenantA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	tenantB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	ownerA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	memberA = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a2")
	ownerB  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
	admin   = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ff")
)

func as(p tenancy.Principal) context.Context {
	return tenancytest.Context(context.Background(), p)
}

func staff(tenant, subject tenancy.ID, roles ...string) context.Context {
	return as(tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: tenant, Subject: subject, Roles: roles, RequestID: "req-1"})
}

func adminCtx() context.Context {
	return as(tenancy.Principal{Kind: tenancy.Kind("platform_admin"), Subject: admin, RequestID: "req-admin"})
}

// allowAll lets every statement through: package sqlguard is not part of
// these tests, row-level security is.
type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// fixture is a test database with the audit schema and a tenant table
// public.notes, and pools as the app and platform roles.
type fixture struct {
	db       *pgtest.DB
	model    *rls.Model
	app      *tenantdb.Pool
	platform *pgxpool.Pool
}

func setup(t testing.TB) *fixture {
	t.Helper()
	return setupWith(t, "tenant_id", allowAll{})
}

// setupWith is setup for an application whose tenant column is column
// ("" means rls's default), with guard (nil means tenantdb's default
// guard of the model).
func setupWith(t testing.TB, column string, guard tenantdb.Guard) *fixture {
	t.Helper()
	db := pgtest.New(t)
	cfg := rls.Config{
		TenantColumn: column,
		Kinds:        testKinds,
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		AuditRole:    db.RoleName(pgtest.Audit),
	}
	col := pgx.Identifier{cmp.Or(column, rls.DefaultTenantColumn)}.Sanitize()
	db.Exec(t, pgtest.Owner, `create table public.notes (`+col+` uuid not null, id uuid not null, body text not null,
		primary key (`+col+`, id))`)
	notes, err := rls.Generate(cfg, rls.Table{Name: "public.notes"})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, notes)
	schema, err := audit.Schema(cfg, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Admin, schema) // the audit owner's schema: installed by an administrator
	model, err := rls.NewModel(cfg, append(audit.Tables(audit.Config{}), rls.Table{Name: "public.notes"})...)
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenantdb.New(context.Background(), db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Guard: guard, Sources: []tenancy.Source{tenancytest.Source(), jwtctx.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, model: model, app: app, platform: db.Pool(t, pgtest.Platform)}
}

// adminCount counts, as the superuser, the events of tenant with action
// (empty: any).
func (f *fixture) adminCount(t testing.TB, tenant tenancy.ID, action string) int {
	t.Helper()
	var n int
	err := f.db.Conn(t, pgtest.Admin).QueryRow(context.Background(), `select count(*) from audit.events
		where tenant_id = $1 and ($2 = '' or action = $2)`, tenant, action).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// events lists tenant's chain through the platform role.
func (f *fixture) events(t testing.TB, tenant tenancy.ID) []audit.Event {
	t.Helper()
	var events []audit.Event
	err := pgx.BeginFunc(context.Background(), f.platform, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `select set_config('tenancy.principal', 'system|||||', true)`); err != nil {
			return err
		}
		var err error
		events, err = audit.List(context.Background(), tx, tenant, 0, 1000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// world is an Authority whose revocation hook is a GrantRevoker, and the
// Grants that issue its tokens, on one settable clock.
type world struct {
	clock   *clock
	auth    *jwtctx.Authority
	revoker *impersonation.GrantRevoker
	imp     *impersonation.Grants
}

func newWorld(t *testing.T, f *fixture) *world {
	t.Helper()
	w := &world{clock: newClock()}
	var err error
	if w.revoker, err = impersonation.NewGrantRevoker(f.platform, nil, w.clock.Now); err != nil {
		t.Fatal(err)
	}
	key, err := jwtctx.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	w.auth, err = jwtctx.New(jwtctx.Config{Issuer: "test", Audience: "test", SigningKey: key, Revoker: w.revoker, Principals: tenancy.Principals{Kinds: testKinds},
		Now: w.clock.Now, MaxImpersonationLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.imp, err = impersonation.New(impersonation.Config{Platform: f.platform, Issuer: w.auth, Revoker: w.revoker, Principals: tenancy.Principals{Kinds: testKinds},
		Roles: []string{"support"}, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// clock is a settable clock for grants and tokens.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKinds are the principal kinds of the tests' application.
var testKinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}
