package tenantarchive_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	clinicA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	clinicB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	clinicC = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000c")
	staffA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	adminX  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000ff")
)

// schemaSQL is the application's migration: a registry of plans the
// patients reference, the registry of clinics (the tenants), and four
// tenant tables tied by composite foreign keys, one of them staff-only.
const schemaSQL = `
CREATE TABLE public.plans (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.clinics (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.patients (
	clinic_id uuid NOT NULL REFERENCES public.clinics (id),
	id uuid NOT NULL,
	name text NOT NULL,
	born date,
	plan_id text REFERENCES public.plans (id),
	note text,
	PRIMARY KEY (clinic_id, id));
CREATE TABLE public.accounts (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	patient_id uuid NOT NULL,
	balance bigint NOT NULL,
	PRIMARY KEY (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES public.patients (clinic_id, id));
CREATE TABLE public.transfers (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	from_account uuid NOT NULL,
	to_account uuid NOT NULL,
	amount bigint NOT NULL,
	PRIMARY KEY (clinic_id, id),
	FOREIGN KEY (clinic_id, from_account) REFERENCES public.accounts (clinic_id, id),
	FOREIGN KEY (clinic_id, to_account) REFERENCES public.accounts (clinic_id, id));
CREATE TABLE public.staff_notes (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	patient_id uuid NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (clinic_id, id),
	FOREIGN KEY (clinic_id, patient_id) REFERENCES public.patients (clinic_id, id));
`

var appTables = []rls.Table{
	{Name: "public.plans", Kind: rls.Registry},
	{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"},
	{Name: "public.patients"},
	{Name: "public.accounts"},
	{Name: "public.transfers"},
	{Name: "public.staff_notes", ReadRoles: []string{"owner"}},
}

var kinds = []tenancy.KindSpec{
	{Name: "staff", Access: tenancy.AccessTenant},
	{Name: "patient", Access: tenancy.AccessSubject},
	{Name: "platform_admin", Access: tenancy.AccessOperator},
}

func config(db *pgtest.DB) rls.Config {
	return rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App),
		PlatformRole: db.RoleName(pgtest.Platform), AuditRole: db.RoleName(pgtest.Audit),
		TenantColumn: "clinic_id", Kinds: kinds,
	}
}

// migrated returns a database migrated as production would: the tables
// and their isolation as the owner, the audit log as an administrator,
// the plans (reference data of the migrations) as the platform role; and
// its model.
func migrated(t testing.TB) (*pgtest.DB, *rls.Model) {
	t.Helper()
	db := pgtest.New(t)
	cfg := config(db)
	db.Exec(t, pgtest.Owner, schemaSQL)
	sql, err := rls.Generate(cfg, appTables...)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	schema, err := audit.Schema(cfg, audit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Admin, schema)
	db.Exec(t, pgtest.Platform, `INSERT INTO public.plans VALUES ('basic', 'Basic'), ('pro', 'Pro'), ('gold', 'Gold')`)
	return db, modelOf(t, db)
}

// modelOf returns the isolation model of the fixture's database db.
func modelOf(t testing.TB, db *pgtest.DB) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(config(db), append(slices.Clone(appTables), audit.Tables(audit.Config{})...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pool returns db's tenantdb pool as the app role, with the default
// guard, the platform role's system pool and the audit recorder.
func pool(t testing.TB, db *pgtest.DB, m *rls.Model) *tenantdb.Pool {
	t.Helper()
	p, err := tenantdb.New(context.Background(), db.Pool(t, pgtest.App), tenantdb.Config{
		Model: m, Sources: []tenancy.Source{tenancytest.Source()},
		System: db.Pool(t, pgtest.Platform), OnSystem: audit.OnSystem, ContextMode: contextMode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func staff(clinic, subject tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: "staff", Tenant: clinic, Subject: subject, Roles: []string{"owner"}, RequestID: "req-seed"})
}

// seed writes clinic's registry row (as the platform role) and, as the
// app role through tenantdb, patients patients with an account each, a
// transfer and a staff note per patient, and audit events; plan is the
// plan the patients are on.
func seed(t testing.TB, db *pgtest.DB, p *tenantdb.Pool, clinic tenancy.ID, patients int, plan string) {
	t.Helper()
	ctx := context.Background()
	db.Exec(t, pgtest.Platform, `INSERT INTO public.clinics VALUES ($1, $2)`, clinic, "clinic "+clinic.String()[30:])
	err := p.InTenant(ctx, clinic, "seed the clinic", func(ctx context.Context, tx *tenantdb.Tx) error {
		for i := range patients {
			pat, acc := tenancy.NewID(), tenancy.NewID()
			var born any
			if i%3 != 0 {
				born = fmt.Sprintf("19%02d-0%d-1%d", 50+i%40, 1+i%9, i%10)
			}
			// Text that CSV must quote: commas, quotes, a line break, an empty string.
			note := []string{"", "plain", "a, b", "say \"hi\"", "line one\nline two", "tab\there"}[i%6]
			if _, err := tx.Exec(ctx, `INSERT INTO public.patients (clinic_id, id, name, born, plan_id, note) VALUES ($1, $2, $3, $4, $5, $6)`,
				clinic, pat, fmt.Sprintf("patient %d of %s", i, clinic), born, plan, note); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO public.accounts (clinic_id, id, patient_id, balance) VALUES ($1, $2, $3, 1000)`, clinic, acc, pat); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO public.transfers (clinic_id, id, from_account, to_account, amount) VALUES ($1, $2, $3, $3, 0)`, clinic, tenancy.NewID(), acc); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO public.staff_notes (clinic_id, id, patient_id, body) VALUES ($1, $2, $3, 'staff only')`, clinic, tenancy.NewID(), pat); err != nil {
				return err
			}
		}
		_, err := audit.Record(ctx, tx, audit.Event{Action: "clinic.seed", Outcome: audit.Success, ResourceType: "clinic", ResourceID: clinic.String()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// An impersonation grant, written by the platform role as package
	// impersonation does.
	err = pgx.BeginFunc(ctx, db.Conn(t, pgtest.Platform), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('tenancy.principal', 'system|||||', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO audit.impersonation_grants (tenant_id, id, admin_id, reason, started_at, expires_at)
			VALUES ($1, $2, $3, 'support ticket', now(), now() + interval '30 minutes')`, clinic, tenancy.NewID(), adminX)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rowsOf returns, as the superuser (past row-level security, to compare
// and to prove what exists), every row of relation whose column equals
// key, as JSON text, sorted.
func rowsOf(t testing.TB, db *pgtest.DB, relation, column string, key tenancy.ID) []string {
	t.Helper()
	rows, err := db.Conn(t, pgtest.Admin).Query(context.Background(),
		fmt.Sprintf(`SELECT to_jsonb(r)::text FROM %s AS r WHERE %s::text = $1 ORDER BY 1`, relation, pgx.Identifier{column}.Sanitize()), key.String())
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tenantColumns are the tenant relations of the fixture's model and their
// tenant columns.
var tenantColumns = map[string]string{
	"public.patients": "clinic_id", "public.accounts": "clinic_id", "public.transfers": "clinic_id",
	"public.staff_notes": "clinic_id", "audit.events": "tenant_id", "audit.chain_heads": "tenant_id",
	"audit.impersonation_grants": "tenant_id",
}

// readCSV returns the records of an archive's file of relation, header
// first.
func readCSV(t testing.TB, dir string, man *tenantarchive.Manifest, relation string) [][]string {
	t.Helper()
	tbl, ok := man.Table(relation)
	if !ok {
		t.Fatalf("no file for %s", relation)
	}
	f, err := os.Open(filepath.Join(dir, tbl.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// importer returns a connection of a role that is no superuser and a
// member of db's app and platform roles, as an administrator who imports
// tenants would be, and the role's name.
func importer(t testing.TB, db *pgtest.DB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	name := db.Name + "_importer"
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'importer-pw' NOSUPERUSER NOBYPASSRLS;
		GRANT %s, %s TO %[1]s; GRANT CONNECT, TEMPORARY ON DATABASE %[4]s TO %[1]s`,
		q(name), q(db.RoleName(pgtest.App)), q(db.RoleName(pgtest.Platform)), q(db.Name)))
	cfg, err := pgx.ParseConfig(db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = name, "importer-pw"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close(ctx)
		db.Exec(t, pgtest.Admin, fmt.Sprintf(`REVOKE ALL ON DATABASE %s FROM %s; DROP ROLE %[2]s`, q(db.Name), q(name)))
	})
	return conn
}

// contextMode is the tenant context mode the suite runs in:
// pgtest.ContextMode, from TENANCY_CONTEXT_MODE.
var contextMode = func() tenantdb.ContextMode {
	m, err := tenantdb.ParseContextMode(pgtest.ContextMode())
	if err != nil {
		panic(err)
	}
	return m
}()
