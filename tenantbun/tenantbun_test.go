package tenantbun_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantbun"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	staffA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	staffB  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
)

// Patient is a bun model of a tenant table.
type Patient struct {
	bun.BaseModel `bun:"table:patients,alias:p"`

	ClinicID tenancy.ID `bun:"clinic_id,pk,type:uuid"`
	ID       tenancy.ID `bun:"id,pk,type:uuid"`
	Name     string     `bun:"name,notnull"`
}

func staffCtx(clinic, staff tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinic, Subject: staff})
}

type allowAll struct{}

func (allowAll) Check(string, []any, tenancy.ID) error { return nil }

// schema makes patients under the generated policies with 5 rows at A
// and 7 at B, proved present as Admin.
func schema(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `create table public.patients (
		clinic_id uuid not null, id uuid not null, name text not null, primary key (clinic_id, id))`)
	sql, err := testModel(t, db).Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`insert into patients
		select '%s'::uuid, gen_random_uuid(), 'a' || i from generate_series(1, 5) i union all
		select '%s'::uuid, gen_random_uuid(), 'b' || i from generate_series(1, 7) i`, clinicA, clinicB))
	var a, b int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		`select count(*) filter (where clinic_id = $1), count(*) filter (where clinic_id = $2) from patients`,
		clinicA, clinicB).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != 5 || b != 7 {
		t.Fatalf("fixture: %d patients at A and %d at B, want 5 and 7", a, b)
	}
	return db
}

// testModel is the isolation model of schema's table for db's roles.
func testModel(t *testing.T, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id", Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}},
	}, rls.Table{Name: "public.patients"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func open(t *testing.T, db *pgtest.DB, guard tenantdb.Guard) *bun.DB {
	t.Helper()
	bdb, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.App), tenantbun.Config{Model: testModel(t, db), Guard: guard, MaxOpenConns: 1, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	return bdb
}

func checkOnly(t *testing.T, got []Patient, clinic tenancy.ID, n int) {
	t.Helper()
	for _, p := range got {
		if p.ClinicID != clinic {
			t.Fatalf("LEAK: tenant %v saw patient %q of %v", clinic, p.Name, p.ClinicID)
		}
	}
	if len(got) != n {
		t.Fatalf("tenant %v saw %d patients, want %d", clinic, len(got), n)
	}
}

// TestAlternatingTenants: one connection, two tenants taking turns through
// bun models, outside and inside RunInTx; the tenant context alone (the
// guard allows everything) keeps each to its own rows.
func TestAlternatingTenants(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, allowAll{})
	want := map[tenancy.ID]int{clinicA: 5, clinicB: 7}
	for i := range 200 {
		clinic, staff := clinicA, staffA
		if i%2 == 1 {
			clinic, staff = clinicB, staffB
		}
		ctx := staffCtx(clinic, staff)
		var got []Patient
		if i%4 < 2 {
			if err := bdb.NewSelect().Model(&got).Scan(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			err := bdb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewSelect().Model(&got).Scan(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		checkOnly(t, got, clinic, want[clinic])
	}
}

// TestWritesThroughModels: inserts commit, a failed RunInTx keeps nothing,
// and a write aimed at another tenant's rows changes nothing.
func TestWritesThroughModels(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, allowAll{})
	ctx := staffCtx(clinicA, staffA)

	if _, err := bdb.NewInsert().Model(&Patient{ClinicID: clinicA, ID: tenancy.NewID(), Name: "new"}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	errStop := errors.New("stop")
	err := bdb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&Patient{ClinicID: clinicA, ID: tenancy.NewID(), Name: "rolled back"}).Exec(ctx); err != nil {
			return err
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("RunInTx = %v", err)
	}
	// Writing B's tenant into A's context fails the WITH CHECK.
	if _, err := bdb.NewInsert().Model(&Patient{ClinicID: clinicB, ID: tenancy.NewID(), Name: "smuggled"}).Exec(ctx); err == nil {
		t.Error("inserting a row of B in A's context succeeded")
	}
	res, err := bdb.NewUpdate().Model((*Patient)(nil)).Set("name = 'hijacked'").Where("clinic_id = ?", &clinicB).Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("LEAK: A updated %d of B's patients", n)
	}

	var names []string
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(),
		"select array_agg(name order by name) from patients where name in ('new', 'rolled back', 'smuggled', 'hijacked')").Scan(&names); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "new" {
		t.Errorf("rows written: %v, want only [new]", names)
	}
}

func TestNoTenant(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, allowAll{})
	var got []Patient
	if err := bdb.NewSelect().Model(&got).Scan(context.Background()); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("select without a principal = %v, want ErrNoTenant", err)
	}
	err := bdb.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error { return nil })
	if !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("RunInTx without a principal = %v, want ErrNoTenant", err)
	}
}

type refuseAll struct{}

var errRefused = errors.New("refused by test guard")

func (refuseAll) Check(string, []any, tenancy.ID) error { return errRefused }

func TestGuardRefusal(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, refuseAll{})
	ctx := staffCtx(clinicA, staffA)
	if _, err := bdb.NewDelete().Model((*Patient)(nil)).Where("true").Exec(ctx); !errors.Is(err, errRefused) {
		t.Errorf("delete = %v, want the refusal", err)
	}
	var n int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select count(*) from patients").Scan(&n); err != nil || n != 12 {
		t.Errorf("after a refused delete: %d patients (%v), want 12", n, err)
	}
}

func TestTenantChangedInTx(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, allowAll{})
	err := bdb.RunInTx(staffCtx(clinicA, staffA), nil, func(ctx context.Context, tx bun.Tx) error {
		var got []Patient
		return tx.NewSelect().Model(&got).Scan(staffCtx(clinicB, staffB))
	})
	if !errors.Is(err, tenantbun.ErrTenantChanged) {
		t.Errorf("a statement of B inside A's transaction = %v, want ErrTenantChanged", err)
	}
}

// TestConnectorChecksRole: NewConnector's connections run the role check
// before their first use, so a superuser (whom row-level security does
// not bind, and who reads every clinic's rows) gets no connection, and
// neither does the table owner; the app role does, and reads only its
// tenant's rows.
func TestConnectorChecksRole(t *testing.T) {
	db := schema(t)
	m := testModel(t, db)
	open := func(r pgtest.Role) *sql.DB {
		cc, err := pgx.ParseConfig(db.ConnString(r))
		if err != nil {
			t.Fatal(err)
		}
		c, err := tenantbun.NewConnector(cc, tenantbun.Config{Model: m, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()}})
		if err != nil {
			t.Fatal(err)
		}
		sqldb := sql.OpenDB(c)
		t.Cleanup(func() { sqldb.Close() })
		return sqldb
	}
	count := func(sqldb *sql.DB) (int, error) {
		var n int
		err := sqldb.QueryRowContext(staffCtx(clinicA, staffA), "select count(*) from patients").Scan(&n)
		return n, err
	}
	// The superuser would see both clinics' 12 patients.
	var all int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), "select count(*) from patients").Scan(&all); err != nil || all != 12 {
		t.Fatalf("fixture: %d patients (%v), want 12", all, err)
	}
	for _, r := range []pgtest.Role{pgtest.Admin, pgtest.Owner} {
		if n, err := count(open(r)); !errors.Is(err, tenantdb.ErrUnsafeRole) {
			t.Errorf("a query through NewConnector as %v = %d rows, %v; want ErrUnsafeRole", r, n, err)
		}
	}
	if n, err := count(open(pgtest.App)); err != nil || n != 5 {
		t.Errorf("as the app role: %d rows, %v; want A's 5", n, err)
	}
	if _, err := tenantbun.NewConnector(&pgx.ConnConfig{}, tenantbun.Config{}); !errors.Is(err, tenantdb.ErrInvalidConfig) {
		t.Errorf("NewConnector without a model = %v, want ErrInvalidConfig", err)
	}
}

// TestUnverifiedPrincipal: a principal built by hand is refused.
func TestUnverifiedPrincipal(t *testing.T) {
	db := schema(t)
	bdb, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.App), tenantbun.Config{Model: testModel(t, db), Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var n int
	if err := bdb.QueryRowContext(staffCtx(clinicA, staffA), "select count(*) from patients").Scan(&n); err != nil || n != 5 {
		t.Fatalf("a verified principal: %d rows, %v; want 5", n, err)
	}
	hand := tenancy.NewContext(context.Background(), tenancy.Principal{Kind: tenancy.Kind("staff"), Tenant: clinicA, Subject: staffA})
	if err := bdb.QueryRowContext(hand, "select count(*) from patients").Scan(&n); !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("a hand-built principal = %v, want ErrUnverifiedPrincipal", err)
	}
	if _, err := bdb.BeginTx(hand, nil); !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("BeginTx with a hand-built principal = %v, want ErrUnverifiedPrincipal", err)
	}
}

// TestPrincipalOfTheModel: a verified principal whose kind the model does
// not declare, or whose keys are not of the model's type, never reaches the
// database, as with tenantdb.
func TestPrincipalOfTheModel(t *testing.T) {
	db := schema(t)
	bdb, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.App), tenantbun.Config{Model: testModel(t, db), Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var n int
	if err := bdb.QueryRowContext(staffCtx(clinicA, staffA), "select count(*) from patients").Scan(&n); err != nil || n != 5 {
		t.Fatalf("a declared principal: %d rows, %v; want 5", n, err)
	}
	for name, p := range map[string]tenancy.Principal{
		"undeclared kind":   {Kind: "auditor", Tenant: clinicA, Subject: staffA},
		"bigint subject":    {Kind: "staff", Tenant: clinicA, Subject: tenancy.IntID(5)},
		"subject-less kind": {Kind: "staff", Tenant: clinicA},
	} {
		ctx := tenancytest.Context(context.Background(), p)
		if err := bdb.QueryRowContext(ctx, "select count(*) from patients").Scan(&n); !errors.Is(err, tenancy.ErrInvalidPrincipal) {
			t.Errorf("%s: %v, want ErrInvalidPrincipal", name, err)
		}
	}
}

func TestOpenRefusesOwner(t *testing.T) {
	db := schema(t)
	_, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.Owner), tenantbun.Config{Model: testModel(t, db), Guard: allowAll{}})
	if !errors.Is(err, tenantdb.ErrUnsafeRole) {
		t.Errorf("Open as the table owner = %v, want ErrUnsafeRole", err)
	}
}

// TestOpenChecksSchema: Open refuses a tenant table whose row-level
// security is off, as tenantdb.New does.
func TestOpenChecksSchema(t *testing.T) {
	db := schema(t)
	db.Exec(t, pgtest.Owner, "alter table public.patients disable row level security")
	_, err := tenantbun.Open(context.Background(), db.ConnString(pgtest.App), tenantbun.Config{Model: testModel(t, db), Guard: allowAll{}})
	if !errors.Is(err, tenantdb.ErrUnsafeSchema) {
		t.Errorf("Open with RLS off = %v, want ErrUnsafeSchema", err)
	}
}

// TestSessionStateRefused: a connection that carries the tenancy settings
// at session level (here from the role's defaults, as every new connection
// of the role gets them) is refused and discarded, never answered from:
// tenant B is set at session level, A asks, and gets ErrSessionState, not
// B's rows and not an empty answer.
func TestSessionStateRefused(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, allowAll{})
	ctx := staffCtx(clinicA, staffA)
	var n int
	if err := bdb.NewSelect().Model((*Patient)(nil)).ColumnExpr("count(*)").Where("clinic_id = ?", clinicA).Scan(ctx, &n); err != nil || n != 5 {
		t.Fatalf("before: %d patients at A, %v; want 5", n, err)
	}
	db.Exec(t, pgtest.Admin, fmt.Sprintf("alter role %s set tenancy.tenant_id = '%s'", pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize(), clinicB))
	// Only new connections take the role's defaults.
	fresh := open(t, db, allowAll{})
	err := fresh.NewSelect().Model((*Patient)(nil)).ColumnExpr("count(*)").Scan(ctx, &n)
	if !errors.Is(err, tenantdb.ErrSessionState) {
		t.Errorf("a connection with a session-level tenant: %v (n = %d), want ErrSessionState", err, n)
	}
}

// flipper is a driver.Valuer that answers tenant A the first time and
// tenant B after: what the guard judged must be what is sent.
type flipper struct{ n *int }

func (f flipper) Value() (driver.Value, error) {
	*f.n++
	if *f.n == 1 {
		return clinicA.String(), nil
	}
	return clinicB.String(), nil
}

// TestValuerReadOnce: a driver.Valuer is read once, and its first answer,
// which the guard approved, is the one sent.
func TestValuerReadOnce(t *testing.T) {
	db := schema(t)
	bdb := open(t, db, nil) // the model's real guard
	var calls, n int
	if err := bdb.DB.QueryRowContext(staffCtx(clinicA, staffA), "select count(*) from patients where clinic_id = $1", flipper{&calls}).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || n != 5 {
		t.Errorf("Value called %d times, %d rows; want once, A's 5 rows", calls, n)
	}
}
