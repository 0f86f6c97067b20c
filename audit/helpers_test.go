package audit_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/jwtctx"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	clinicA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB  = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	ownerA   = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	dentistA = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a2")
	patientA = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a3")
	ownerB   = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
	admin    = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ff")
)

func as(p tenancy.Principal) context.Context {
	return tenancytest.Context(context.Background(), p)
}

func staff(clinic, subject tenancy.ID, roles ...string) context.Context {
	return as(tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: subject, Roles: roles, RequestID: "req-1"})
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
	return setupWith(t, "", allowAll{})
}

// testKinds are the principal kinds of the tests' application.
var testKinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}

// setupWith is setup for an application whose tenant column is column
// ("" means the default, tenant_id), with guard (nil means tenantdb's
// default guard of the model).
func setupWith(t testing.TB, column string, guard tenantdb.Guard) *fixture {
	t.Helper()
	return setupFull(t, column, guard, audit.Config{})
}

// setupFull is setupWith for the audit configuration acfg.
func setupFull(t testing.TB, column string, guard tenantdb.Guard, acfg audit.Config) *fixture {
	t.Helper()
	db := pgtest.New(t)
	cfg := rls.Config{
		TenantColumn: column,
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		AuditRole:    db.RoleName(pgtest.Audit),
		Kinds:        testKinds,
	}
	col := pgx.Identifier{cmp.Or(column, rls.DefaultTenantColumn)}.Sanitize()
	db.Exec(t, pgtest.Owner, `create table public.notes (`+col+` uuid not null, id uuid not null, body text not null,
		primary key (`+col+`, id))`)
	notes, err := rls.Generate(cfg, rls.Table{Name: "public.notes"})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, notes)
	install(t, db, cfg, acfg)
	model, err := rls.NewModel(cfg, append(audit.Tables(acfg), rls.Table{Name: "public.notes"})...)
	if err != nil {
		t.Fatal(err)
	}
	app, err := tenantdb.New(context.Background(), db.Pool(t, pgtest.App), tenantdb.Config{Model: model, Guard: guard, Sources: []tenancy.Source{tenancytest.Source(), jwtctx.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, model: model, app: app, platform: db.Pool(t, pgtest.Platform)}
}

// record appends n events to ctx's clinic, each in its own transaction.
func (f *fixture) record(t testing.TB, ctx context.Context, n int, action string) []audit.Event {
	t.Helper()
	var out []audit.Event
	for i := range n {
		err := f.app.Tx(ctx, func(tx *tenantdb.Tx) error {
			e, err := audit.Record(ctx, tx, audit.Event{Action: action, ResourceType: "patient",
				ResourceID: fmt.Sprint("p", i), Outcome: audit.Success})
			out = append(out, e)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// adminCount counts, as the superuser, the events of clinic (zero: the
// platform chain) with action (empty: any).
func (f *fixture) adminCount(t testing.TB, clinic tenancy.ID, action string) int {
	t.Helper()
	conn := f.db.Conn(t, pgtest.Admin)
	var n int
	var c any
	if !clinic.IsZero() {
		c = clinic
	}
	err := conn.QueryRow(context.Background(), `select count(*) from audit.events
		where tenant_id is not distinct from $1::uuid and ($2 = '' or action = $2)`, c, action).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tamper runs sql as the superuser with triggers disabled.
func (f *fixture) tamper(t testing.TB, sql string, args ...any) {
	t.Helper()
	conn := f.db.Conn(t, pgtest.Admin)
	err := pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), "set local session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("tampering: %v\n%s", err, sql)
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// roles returns the rls configuration of db's roles.
func roles(db *pgtest.DB) rls.Config {
	return rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform), AuditRole: db.RoleName(pgtest.Audit),
	}
}

// install installs the audit schema of cfg and acfg on db as an
// administrator would: the helpers (the application's rls migration) as
// the owner role, then audit.Schema as the superuser.
func install(t testing.TB, db *pgtest.DB, cfg rls.Config, acfg audit.Config) {
	t.Helper()
	helpers, err := rls.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, helpers)
	schema, err := audit.Schema(cfg, acfg)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Admin, schema)
}

// grant stores, as the superuser, an impersonation grant of clinic for
// admin, starting now, and returns its id: events may name only grants
// that exist (the events_grant key).
func (f *fixture) grant(t testing.TB, clinic, admin tenancy.ID) tenancy.ID {
	t.Helper()
	id := tenancy.NewID()
	f.db.Exec(t, pgtest.Admin, `insert into audit.impersonation_grants (tenant_id, id, admin_id, reason, started_at, expires_at)
		values ($1, $2, $3, 'support ticket', now(), now() + interval '30 minutes')`, clinic, id, admin)
	return id
}
