package rls_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemaSQL makes the fixture's tables the way the package's conventions
// ask: the tenant column leads every key and index, and foreign keys
// between tenant tables match it.
const schemaSQL = `
CREATE SCHEMA audit;
CREATE TABLE public.clinics (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.patients (
	clinic_id uuid NOT NULL REFERENCES public.clinics (id),
	id uuid NOT NULL,
	email text NOT NULL,
	name text NOT NULL,
	PRIMARY KEY (clinic_id, id),
	UNIQUE (clinic_id, email)
);
CREATE TABLE public.appointments (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	patient_id uuid NOT NULL,
	note text NOT NULL DEFAULT '',
	PRIMARY KEY (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES public.patients (clinic_id, id)
);
CREATE INDEX appointments_patient ON public.appointments (clinic_id, patient_id);
CREATE TABLE audit.events (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	action text NOT NULL,
	PRIMARY KEY (clinic_id, id)
);
`

var fixtureTables = []rls.Table{
	{Name: "public.clinics", Kind: rls.Registry},
	{Name: "public.patients", SubjectColumn: "id"},
	{Name: "public.appointments", SubjectColumn: "patient_id", ReadOnly: []tenancy.Kind{tenancy.Kind("patient")}},
	{Name: "audit.events", ReadRoles: []string{"owner"}, Privileges: []string{"SELECT", "INSERT"}},
}

// The fixture's data: clinics A and B, two patients in A, one in B.
var (
	clinicA   = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB   = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	patientA1 = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	patientA2 = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a2")
	patientB1 = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
	staffA    = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000005a")
	staffB    = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000005b")
)

// config returns the Config that names db's roles.
func config(db *pgtest.DB) rls.Config {
	return rls.Config{
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "clinic_id",
		Kinds:        fixtureKinds,
	}
}

// fixtureKinds are the fixture's principal kinds.
var fixtureKinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}

// migrated returns a fresh database with the fixture's tables and the
// migration of Generate applied as the owner, without data.
func migrated(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, schemaSQL)
	sql, err := rls.Generate(config(db), fixtureTables...)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	return db
}

// principal is the tenant context of one transaction.
type principal struct {
	tenant  tenancy.ID
	kind    tenancy.Kind
	subject tenancy.ID
	roles   []string
}

var (
	staffOfA   = principal{tenant: clinicA, kind: tenancy.Kind("staff"), subject: staffA}
	staffOfB   = principal{tenant: clinicB, kind: tenancy.Kind("staff"), subject: staffB}
	ownerOfA   = principal{tenant: clinicA, kind: tenancy.Kind("staff"), subject: staffA, roles: []string{"dentist", "owner"}}
	patientOfA = principal{tenant: clinicA, kind: tenancy.Kind("patient"), subject: patientA1}
)

// inTx runs fn in a transaction on conn with p's context set the way the
// tenantdb package sets it: set_config(..., true), so it ends with the
// transaction. It commits when fn succeeds.
func inTx(t *testing.T, conn *pgx.Conn, p principal, fn func(tx pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	v, err := rls.EncodePrincipal(tenancy.Principal{Kind: p.kind, Tenant: p.tenant, Subject: p.subject, Roles: p.roles})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `SELECT set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`,
		p.tenant.String(), v)
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// seeded returns a migrated database holding the fixture's rows, written
// as the app role in each clinic's own context.
func seeded(t *testing.T) *pgtest.DB {
	t.Helper()
	db := migrated(t)
	db.Exec(t, pgtest.Platform, `INSERT INTO public.clinics (id, name) VALUES ($1, 'A'), ($2, 'B')`, clinicA.String(), clinicB.String())
	app := db.Conn(t, pgtest.App)
	for _, s := range []struct {
		p        principal
		patients []tenancy.ID
	}{
		{staffOfA, []tenancy.ID{patientA1, patientA2}},
		{staffOfB, []tenancy.ID{patientB1}},
	} {
		err := inTx(t, app, s.p, func(tx pgx.Tx) error {
			for _, id := range s.patients {
				for _, q := range []string{
					`INSERT INTO public.patients (clinic_id, id, email, name) VALUES ($1, $2::text::uuid, $2::text || '@example.com', $2::text)`,
					`INSERT INTO public.appointments (clinic_id, id, patient_id, note) VALUES ($1, gen_random_uuid(), $2::text::uuid, 'visit of ' || $2::text)`,
					`INSERT INTO audit.events (clinic_id, id, action) VALUES ($1, gen_random_uuid(), 'created ' || $2::text)`,
				} {
					if _, err := tx.Exec(context.Background(), q, s.p.tenant.String(), id.String()); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seeding %v: %v", s.p.tenant, err)
		}
	}
	return db
}

// adminCount counts rows as the superuser, past row-level security, to
// prove that rows a test must not see exist.
func adminCount(t *testing.T, db *pgtest.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Conn(t, pgtest.Admin).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// sqlState returns the SQLSTATE of err, or "" if it has none.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
