package tenantsql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantsql"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	staffA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
)

func staffCtx(clinic, staff tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: staff})
}

type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// schema makes patients under the generated policies with 5 rows at A
// and 7 at B, proved present as Admin, and returns the database and its
// model.
func schema(t testing.TB) (*pgtest.DB, *rls.Model) {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `create table public.patients (
		clinic_id uuid not null, id uuid not null, name text not null, primary key (clinic_id, id))`)
	m, err := rls.NewModel(rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id", Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}},
	}, rls.Table{Name: "public.patients"})
	if err != nil {
		t.Fatal(err)
	}
	sql, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`insert into patients
		select '%s'::uuid, gen_random_uuid(), 'a' || i from generate_series(1, 5) i union all
		select '%s'::uuid, gen_random_uuid(), 'b' || i from generate_series(1, 7) i`, clinicA, clinicB))
	if a, b := counts(t, db); a != 5 || b != 7 {
		t.Fatalf("fixture: %d patients at A and %d at B, want 5 and 7", a, b)
	}
	return db, m
}

// counts counts, as Admin, the patients of A and of B.
func counts(t testing.TB, db *pgtest.DB) (a, b int) {
	t.Helper()
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select count(*) filter (where clinic_id = $1), count(*) filter (where clinic_id = $2) from patients`,
		clinicA, clinicB).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func open(t testing.TB, db *pgtest.DB, m *rls.Model, guard tenantdb.Guard) *sql.DB {
	t.Helper()
	sdb, err := tenantsql.Open(context.Background(), db.ConnString(pgtest.App), tenantsql.Config{Model: m, Guard: guard, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	return sdb
}

// names reads the names that a query of patients selects:
// names(t)(db.QueryContext(...)).
func names(t *testing.T) func(rows *sql.Rows, err error) []string {
	return func(rows *sql.Rows, err error) []string { return readNames(t, rows, err) }
}

func readNames(t *testing.T, rows *sql.Rows, err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIsolation: through a plain *sql.DB, a tenant reads and writes its
// own rows only, whether the guard or row-level security stops it.
func TestIsolation(t *testing.T) {
	db, m := schema(t)
	guarded, rlsOnly := open(t, db, m, nil), open(t, db, m, allowAll{})
	ctx := staffCtx(clinicA, staffA)

	if got := names(t)(guarded.QueryContext(ctx, `select name from patients where clinic_id = $1`, clinicA)); len(got) != 5 {
		t.Errorf("A's patients: %v, want its 5", got)
	}
	var refusal *sqlguard.RefusalError
	if _, err := guarded.QueryContext(ctx, `select name from patients where clinic_id = $1`, clinicB); !errors.As(err, &refusal) {
		t.Errorf("B's patients through the guard: %v, want a refusal", err)
	}
	if _, err := guarded.QueryContext(ctx, `select name from patients`); !errors.As(err, &refusal) {
		t.Errorf("an unscoped read through the guard: %v, want a refusal", err)
	}
	// Without the guard, row-level security alone: B's rows are not there.
	if got := names(t)(rlsOnly.QueryContext(ctx, `select name from patients where clinic_id = $1`, clinicB)); len(got) != 0 {
		t.Errorf("B's patients past the guard: %v, want none", got)
	}
	if got := names(t)(rlsOnly.QueryContext(ctx, `select name from patients`)); len(got) != 5 {
		t.Errorf("every patient past the guard: %v, want A's 5", got)
	}
	res, err := rlsOnly.ExecContext(ctx, `update patients set name = 'taken' where clinic_id = $1`, clinicB)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("updating B's patients past the guard changed %d rows", n)
	}
	if _, err := rlsOnly.ExecContext(ctx, `insert into patients values ($1, gen_random_uuid(), 'planted')`, clinicB); err == nil {
		t.Error("inserting a patient at B past the guard succeeded")
	}

	// A transaction with options, scoped once (past the guard, which
	// refuses current_setting).
	tx, err := rlsOnly.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var iso string
	if err := tx.QueryRowContext(ctx, `select count(*), current_setting('transaction_isolation') from patients where clinic_id = $1`, clinicA).Scan(&n, &iso); err != nil {
		t.Fatal(err)
	}
	if n != 5 || iso != "repeatable read" {
		t.Errorf("in a repeatable-read transaction: %d patients, isolation %q; want 5, repeatable read", n, iso)
	}
	if _, err := tx.ExecContext(ctx, `insert into patients values ($1, gen_random_uuid(), 'x')`, clinicA); err == nil {
		t.Error("an insert in a read-only transaction succeeded")
	}
	tx.Rollback()

	// No principal: nothing is sent.
	if _, err := guarded.QueryContext(context.Background(), `select name from patients where clinic_id = $1`, clinicA); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("a query without a principal: %v, want ErrNoTenant", err)
	}
	if a, b := counts(t, db); a != 5 || b != 7 {
		t.Errorf("after the attempts: %d patients at A and %d at B, want 5 and 7", a, b)
	}
}

// TestOpenRefusesUnsafeRoles: a role that row-level security does not
// bind gets no *sql.DB.
func TestOpenRefusesUnsafeRoles(t *testing.T) {
	db, m := schema(t)
	for _, role := range []pgtest.Role{pgtest.Owner, pgtest.Admin} {
		_, err := tenantsql.Open(context.Background(), db.ConnString(role), tenantsql.Config{Model: m})
		if !errors.Is(err, tenantdb.ErrUnsafeRole) {
			t.Errorf("Open as %v: %v, want ErrUnsafeRole", role, err)
		}
	}
	if _, err := tenantsql.Open(context.Background(), db.ConnString(pgtest.App), tenantsql.Config{}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("Open without a model: %v, want ErrInvalidConfig", err)
	}
}
