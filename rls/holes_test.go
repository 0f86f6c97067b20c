package rls_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
)

// hole is one planted hole: what makes it, what proves it is there (as the
// app role, where that is cheap to show), and what Check must report.
type hole struct {
	name   string
	sql    string // run as the superuser on the seeded database, after expand
	tables func([]rls.Table) []rls.Table
	cfg    func(rls.Config) rls.Config
	roles  []string // suffixes of the roles that sql creates, "{unique}_suffix"
	// prove shows, before Check runs, that the hole is there.
	prove func(t *testing.T, h *holeDB)
	want  []found
}

// holeDB is a seeded database with a planted hole.
type holeDB struct {
	*pgtest.DB
	expand func(string) string
}

// asApp runs fn as the app role in a transaction with clinic A's staff
// context, rolled back at the end.
func (h *holeDB) asApp(t *testing.T, fn func(tx pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := h.Conn(t, pgtest.App).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ctxSQL := `SELECT set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)`
	v, err := rls.EncodePrincipal(tenancyPrincipal(staffOfA))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, ctxSQL, clinicA.String(), v); err != nil {
		t.Fatal(err)
	}
	return fn(tx)
}

// mustApp is asApp that fails t on an error, naming what was tried.
func (h *holeDB) mustApp(t *testing.T, what string, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := h.asApp(t, fn); err != nil {
		t.Fatalf("the hole is not there: %s as the app role: %v", what, err)
	}
}

// adminValue reads one value as the superuser.
func (h *holeDB) adminValue(t *testing.T, sql string) string {
	t.Helper()
	var s string
	if err := h.Conn(t, pgtest.Admin).QueryRow(context.Background(), h.expand(sql)).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// exec runs sql (expanded) on tx.
func exec(h *holeDB, tx pgx.Tx, sql string) error {
	_, err := tx.Exec(context.Background(), h.expand(sql))
	return err
}

// seesB fails t unless the last of sql, run after the others as the app
// role in clinic A's context, returns clinic B's patient id (patient
// names are their ids).
func seesB(t *testing.T, h *holeDB, sql ...string) {
	t.Helper()
	var got []string
	h.mustApp(t, strings.Join(sql, "; "), func(tx pgx.Tx) error {
		for _, s := range sql[:len(sql)-1] {
			if err := exec(h, tx, s); err != nil {
				return err
			}
		}
		rows, err := tx.Query(context.Background(), h.expand(sql[len(sql)-1]))
		if err != nil {
			return err
		}
		got, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if !slices.Contains(got, patientB1.String()) {
		t.Fatalf("the hole is not there: %s as the app role in clinic A returned %v, not B's patient %s", strings.Join(sql, "; "), got, patientB1)
	}
}

func withTables(extra ...rls.Table) func([]rls.Table) []rls.Table {
	return func(ts []rls.Table) []rls.Table { return append(ts, extra...) }
}

// replacing returns fixtureTables with the table of the same name as r
// replaced by r.
func replacing(r rls.Table) func([]rls.Table) []rls.Table {
	return func(ts []rls.Table) []rls.Table {
		out := slices.Clone(ts)
		for i := range out {
			if out[i].Name == r.Name {
				out[i] = r
			}
		}
		return out
	}
}

func memberOf(role string) func(t *testing.T, h *holeDB) {
	return func(t *testing.T, h *holeDB) {
		t.Helper()
		var ok bool
		h.mustApp(t, "pg_has_role", func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT pg_has_role(current_user, $1, 'MEMBER')`, role).Scan(&ok)
		})
		if !ok {
			t.Fatalf("the hole is not there: the app role is not a member of %s", role)
		}
	}
}

// TestCheckPlantedHoles plants each hole that the checker's newer rules
// exist for in a clean, seeded database, shows that it is there (for most,
// that the app role in clinic A gets at clinic B's rows, or out of the
// database), and expects exactly its findings.
func TestCheckPlantedHoles(t *testing.T) {
	holes := []hole{
		{
			name: "app role has CREATEROLE",
			sql:  `ALTER ROLE {app} CREATEROLE`,
			prove: func(t *testing.T, h *holeDB) {
				// Before PostgreSQL 16, CREATEROLE grants any role but a
				// superuser: the owner's, which lifts FORCE, and B's rows show.
				var version int
				h.mustApp(t, "SHOW server_version_num", func(tx pgx.Tx) error {
					return tx.QueryRow(context.Background(), `SELECT current_setting('server_version_num')::int`).Scan(&version)
				})
				if version >= 160000 {
					h.mustApp(t, "CREATE ROLE", func(tx pgx.Tx) error { return exec(h, tx, `CREATE ROLE {unique}_made`) })
					return
				}
				var n int
				h.mustApp(t, "GRANT owner TO app, then read as the owner", func(tx pgx.Tx) error {
					if err := exec(h, tx, `GRANT {owner} TO {app}; SET ROLE {owner}; ALTER TABLE public.patients NO FORCE ROW LEVEL SECURITY`); err != nil {
						return err
					}
					return tx.QueryRow(context.Background(), `SELECT count(*) FROM public.patients WHERE clinic_id = $1`, clinicB.String()).Scan(&n)
				})
				if n == 0 {
					t.Fatal("the hole is not there: as the owner it granted itself, the app role saw none of B's patients")
				}
			},
			want: []found{{rls.CodeAppRoleCreateRole, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name:  "app role is a member of a role with CREATEROLE",
			sql:   `CREATE ROLE {unique}_roles CREATEROLE; GRANT {unique}_roles TO {app}`,
			roles: []string{"_roles"},
			prove: func(t *testing.T, h *holeDB) { memberOf(h.expand("{unique}_roles"))(t, h) },
			want:  []found{{rls.CodeAppRoleCreateRole, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name: "app role has REPLICATION",
			sql:  `ALTER ROLE {app} REPLICATION`,
			prove: func(t *testing.T, h *holeDB) {
				if h.adminValue(t, `SELECT rolreplication::text FROM pg_roles WHERE rolname = '{app}'`) != "true" {
					t.Fatal("the hole is not there: the app role has no REPLICATION")
				}
			},
			want: []found{{rls.CodeAppRoleReplication, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name: "member of pg_execute_server_program",
			sql:  `GRANT pg_execute_server_program TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "COPY TO PROGRAM", func(tx pgx.Tx) error { return exec(h, tx, `COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'`) })
			},
			want: []found{{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_execute_server_program"}},
		},
		{
			name: "member of pg_read_server_files",
			sql:  `GRANT pg_read_server_files TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "COPY FROM a server file", func(tx pgx.Tx) error {
					return exec(h, tx, `CREATE TEMPORARY TABLE version (v text) ON COMMIT DROP; COPY version FROM 'PG_VERSION'`)
				})
			},
			want: []found{{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_read_server_files"}},
		},
		{
			name: "member of pg_write_server_files",
			sql:  `GRANT pg_write_server_files TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "COPY TO a server file", func(tx pgx.Tx) error { return exec(h, tx, `COPY (SELECT 1) TO '/dev/null'`) })
			},
			want: []found{{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_write_server_files"}},
		},
		{
			name: "member of pg_read_all_data",
			sql: `CREATE TABLE public.secrets (s text); ALTER TABLE public.secrets OWNER TO {owner}; INSERT INTO public.secrets VALUES ('x');
				REVOKE ALL ON public.secrets FROM PUBLIC;
				GRANT pg_read_all_data TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "SELECT from a table without a grant", func(tx pgx.Tx) error { return exec(h, tx, `SELECT * FROM public.secrets`) })
			},
			want: []found{
				{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_read_all_data"},
				// What it reads that the model does not name, too.
				{rls.CodeUnknownRelation, rls.SeverityError, rls.ObjectTable, "public.secrets"},
			},
		},
		{
			name:  "member of pg_write_all_data",
			sql:   `GRANT pg_write_all_data TO {app}`,
			prove: memberOf("pg_write_all_data"),
			want:  []found{{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_write_all_data"}},
		},
		{
			name: "member of pg_read_all_stats",
			sql:  `GRANT pg_read_all_stats TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				// Another session's last statement, literal and all.
				other := h.Conn(t, pgtest.Owner)
				if _, err := other.Exec(context.Background(), `SELECT 'tenant-b-secret'`); err != nil {
					t.Fatal(err)
				}
				var n int
				h.mustApp(t, "read pg_stat_activity", func(tx pgx.Tx) error {
					return tx.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
						WHERE usename <> current_user AND query LIKE '%tenant-b-' || 'secret%'`).Scan(&n)
				})
				if n == 0 {
					t.Fatal("the hole is not there: the app role does not see the other session's statement")
				}
			},
			want: []found{{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_read_all_stats"}},
		},
		{
			name:  "member of pg_monitor",
			sql:   `GRANT pg_monitor TO {app}`,
			prove: memberOf("pg_read_all_stats"),
			want: []found{
				{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_monitor"},
				{rls.CodeAppRolePredefined, rls.SeverityError, rls.ObjectRole, "pg_read_all_stats"},
				{rls.CodeAppRolePredefined, rls.SeverityWarning, rls.ObjectRole, "pg_read_all_settings"},
				{rls.CodeAppRolePredefined, rls.SeverityWarning, rls.ObjectRole, "pg_stat_scan_tables"},
			},
		},
		{
			name: "member of pg_read_all_settings",
			sql:  `GRANT pg_read_all_settings TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "SHOW data_directory", func(tx pgx.Tx) error { return exec(h, tx, `SHOW data_directory`) })
			},
			want: []found{{rls.CodeAppRolePredefined, rls.SeverityWarning, rls.ObjectRole, "pg_read_all_settings"}},
		},
		{
			name:  "member of pg_signal_backend",
			sql:   `GRANT pg_signal_backend TO {app}`,
			prove: memberOf("pg_signal_backend"),
			want:  []found{{rls.CodeAppRolePredefined, rls.SeverityWarning, rls.ObjectRole, "pg_signal_backend"}},
		},
		{
			name:  "member of pg_checkpoint through another role",
			sql:   `CREATE ROLE {unique}_ops; GRANT pg_checkpoint TO {unique}_ops; GRANT {unique}_ops TO {app}`,
			roles: []string{"_ops"},
			prove: memberOf("pg_checkpoint"),
			want:  []found{{rls.CodeAppRolePredefined, rls.SeverityWarning, rls.ObjectRole, "pg_checkpoint"}},
		},
		{
			name: "rewrite rule owned by a superuser",
			sql: `CREATE TABLE public.probe (n text); CREATE TABLE public.probe_out (n text);
				GRANT INSERT ON public.probe TO {app}; GRANT SELECT ON public.probe_out TO {app};
				CREATE RULE leak AS ON INSERT TO public.probe DO ALSO INSERT INTO public.probe_out SELECT name FROM public.patients`,
			tables: withTables(rls.Table{Name: "public.probe", Kind: rls.Registry}, rls.Table{Name: "public.probe_out", Kind: rls.Registry}),
			prove: func(t *testing.T, h *holeDB) {
				seesB(t, h, `INSERT INTO public.probe VALUES ('x')`, `SELECT n FROM public.probe_out`)
			},
			want: []found{{rls.CodeRewriteRule, rls.SeverityError, rls.ObjectRule, "leak on public.probe"}},
		},
		{
			name: "rule that only does nothing",
			sql: `CREATE TABLE public.probe (c uuid, n text); GRANT INSERT ON public.probe TO {app};
				CREATE RULE quiet AS ON INSERT TO public.probe DO INSTEAD NOTHING`,
			tables: withTables(rls.Table{Name: "public.probe", Kind: rls.Registry}),
			want:   nil,
		},
		{
			name: "trigger with a SECURITY DEFINER function",
			sql: `CREATE FUNCTION public.names_leak() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
					AS $$ BEGIN RAISE EXCEPTION 'names: %', (SELECT string_agg(name, ',' ORDER BY name) FROM public.patients); END $$;
				REVOKE ALL ON FUNCTION public.names_leak() FROM PUBLIC;
				CREATE TRIGGER leak BEFORE INSERT ON public.appointments FOR EACH ROW EXECUTE FUNCTION public.names_leak()`,
			cfg: func(c rls.Config) rls.Config { c.AllowDefiner = []string{"public.names_leak"}; return c },
			prove: func(t *testing.T, h *holeDB) {
				err := h.asApp(t, func(tx pgx.Tx) error {
					_, err := tx.Exec(context.Background(), `INSERT INTO public.appointments (clinic_id, id, patient_id) VALUES ($1, gen_random_uuid(), $2)`,
						clinicA.String(), patientA1.String())
					return err
				})
				if err == nil || !strings.Contains(err.Error(), patientB1.String()) {
					t.Fatalf("the hole is not there: the trigger's error %v does not show B's patient", err)
				}
			},
			want: []found{{rls.CodeTriggerDefiner, rls.SeverityError, rls.ObjectTrigger, "leak on public.appointments"}},
		},
		{
			name: "trigger with a function in an untrusted language",
			// The C function is never called: its existence is the hole.
			sql: `CREATE FUNCTION public.native() RETURNS trigger LANGUAGE c AS 'plpgsql', 'plpgsql_call_handler';
				CREATE TRIGGER native BEFORE INSERT ON public.clinics FOR EACH ROW EXECUTE FUNCTION public.native()`,
			prove: func(t *testing.T, h *holeDB) {
				if h.adminValue(t, `SELECT l.lanname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang WHERE t.tgname = 'native'`) != "c" {
					t.Fatal("the hole is not there")
				}
			},
			want: []found{{rls.CodeTriggerUntrusted, rls.SeverityError, rls.ObjectTrigger, "native on public.clinics"}},
		},
		{
			name: "exclusion constraint without the tenant column",
			sql:  `ALTER TABLE public.patients ADD CONSTRAINT patients_name_excl EXCLUDE USING btree (name WITH =)`,
			prove: func(t *testing.T, h *holeDB) {
				// Clinic A learns that clinic B has a patient of that name.
				err := h.asApp(t, func(tx pgx.Tx) error {
					_, err := tx.Exec(context.Background(), `INSERT INTO public.patients (clinic_id, id, email, name) VALUES ($1, gen_random_uuid(), 'probe@example.com', $2)`,
						clinicA.String(), patientB1.String())
					return err
				})
				if got := sqlState(err); got != "23P01" {
					t.Fatalf("the hole is not there: inserting B's patient's name in A: SQLSTATE %q (%v), want 23P01", got, err)
				}
			},
			want: []found{{rls.CodeExclusionWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "patients_name_excl on public.patients"}},
		},
		{
			name: "exclusion constraint with the tenant column",
			sql:  `ALTER TABLE public.patients ADD CONSTRAINT patients_name_excl EXCLUDE USING btree (clinic_id WITH =, name WITH =)`,
			want: nil,
		},
		{
			name: "tenant data in a table the model does not name",
			sql: `CREATE TABLE public.attachments (organization_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, PRIMARY KEY (organization_id, id));
				ALTER TABLE public.attachments OWNER TO {owner};
				INSERT INTO public.attachments VALUES ('{clinicA}', gen_random_uuid(), 'a'), ('{clinicB}', gen_random_uuid(), '{patientB1}');
				GRANT SELECT ON public.attachments TO {app}`,
			prove: func(t *testing.T, h *holeDB) { seesB(t, h, `SELECT name FROM public.attachments`) },
			want:  []found{{rls.CodeUnknownRelation, rls.SeverityError, rls.ObjectTable, "public.attachments"}},
		},
		{
			name: "a tenant table with its own tenant column, without row-level security",
			sql: `CREATE TABLE public.attachments (organization_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, PRIMARY KEY (organization_id, id));
				ALTER TABLE public.attachments OWNER TO {owner};
				INSERT INTO public.attachments VALUES ('{clinicA}', gen_random_uuid(), 'a'), ('{clinicB}', gen_random_uuid(), '{patientB1}');
				GRANT SELECT ON public.attachments TO {app}`,
			tables: withTables(rls.Table{Name: "public.attachments", TenantColumn: "organization_id"}),
			prove:  func(t *testing.T, h *holeDB) { seesB(t, h, `SELECT name FROM public.attachments`) },
			want: []found{
				{rls.CodeNoPolicy, rls.SeverityError, rls.ObjectTable, "public.attachments"},
				{rls.CodeRLSDisabled, rls.SeverityError, rls.ObjectTable, "public.attachments"},
				{rls.CodeRLSNotForced, rls.SeverityError, rls.ObjectTable, "public.attachments"},
			},
		},
		{
			name:   "a table of tenants keyed by id, without row-level security",
			sql:    `UPDATE public.clinics SET name = '{patientB1}' WHERE id = '{clinicB}'`,
			tables: replacing(rls.Table{Name: "public.clinics", TenantColumn: "id"}),
			prove:  func(t *testing.T, h *holeDB) { seesB(t, h, `SELECT name FROM public.clinics`) },
			want: []found{
				{rls.CodeNoPolicy, rls.SeverityError, rls.ObjectTable, "public.clinics"},
				{rls.CodeRLSDisabled, rls.SeverityError, rls.ObjectTable, "public.clinics"},
				{rls.CodeRLSNotForced, rls.SeverityError, rls.ObjectTable, "public.clinics"},
			},
		},
		{
			name: "tenant rows in a table outside the model, keyed to a tenant table",
			// The app role holds no privilege on it, so no reach rule sees it;
			// its rows are clinic A's patients' all the same.
			sql: `CREATE TABLE public.xrays (id uuid PRIMARY KEY, clinic uuid NOT NULL, patient uuid NOT NULL,
					CONSTRAINT xrays_patient FOREIGN KEY (clinic, patient) REFERENCES public.patients (clinic_id, id));
				ALTER TABLE public.xrays OWNER TO {owner};
				INSERT INTO public.xrays VALUES (gen_random_uuid(), '{clinicA}', '` + patientA1.String() + `')`,
			prove: func(t *testing.T, h *holeDB) {
				if h.adminValue(t, `SELECT count(*)::text FROM public.xrays WHERE clinic = '{clinicA}'`) != "1" {
					t.Fatal("the hole is not there: no x-ray of clinic A")
				}
			},
			want: []found{{rls.CodeTenantReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "xrays_patient on public.xrays"}},
		},
		{
			name: "a registry keyed to a tenant table",
			sql: `CREATE TABLE public.plans (id uuid PRIMARY KEY, clinic uuid, patient uuid,
					CONSTRAINT plans_patient FOREIGN KEY (clinic, patient) REFERENCES public.patients (clinic_id, id));
				ALTER TABLE public.plans OWNER TO {owner}`,
			tables: withTables(rls.Table{Name: "public.plans", Kind: rls.Registry}),
			want:   []found{{rls.CodeTenantReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "plans_patient on public.plans"}},
		},
		{
			name: "tenant rows in a table outside the model, keyed to the registry of tenants",
			sql: `CREATE TABLE public.clinic_notes (clinic uuid NOT NULL CONSTRAINT clinic_notes_clinic REFERENCES public.clinics (id), note text NOT NULL);
				ALTER TABLE public.clinic_notes OWNER TO {owner};
				INSERT INTO public.clinic_notes VALUES ('{clinicB}', 'B''s note')`,
			tables: replacing(rls.Table{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"}),
			prove: func(t *testing.T, h *holeDB) {
				if h.adminValue(t, `SELECT count(*)::text FROM public.clinic_notes WHERE clinic = '{clinicB}'`) != "1" {
					t.Fatal("the hole is not there: no note of clinic B")
				}
			},
			want: []found{{rls.CodeTenantListReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "clinic_notes_clinic on public.clinic_notes"}},
		},
		{
			name:   "tenant tables keyed to the registry of tenants",
			tables: replacing(rls.Table{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"}),
			want:   nil,
		},
		{
			name: "the app role can read a private table",
			sql: `CREATE TABLE public.secrets (s text); ALTER TABLE public.secrets OWNER TO {owner}; INSERT INTO public.secrets VALUES ('x');
				GRANT SELECT ON public.secrets TO {app}`,
			tables: withTables(rls.Table{Name: "public.secrets", Kind: rls.Private}),
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "read the private table", func(tx pgx.Tx) error { return exec(h, tx, `SELECT * FROM public.secrets`) })
			},
			want: []found{{rls.CodePrivateReachable, rls.SeverityError, rls.ObjectTable, "public.secrets"}},
		},
		{
			name:   "a model relation the database lacks",
			tables: withTables(rls.Table{Name: "public.gone"}),
			want:   []found{{rls.CodeRelationMissing, rls.SeverityError, rls.ObjectTable, "public.gone"}},
		},
		{
			name:   "a tenant relation without its tenant column",
			tables: replacing(rls.Table{Name: "public.clinics"}),
			want: []found{
				{rls.CodeNoPolicy, rls.SeverityError, rls.ObjectTable, "public.clinics"},
				{rls.CodeRLSDisabled, rls.SeverityError, rls.ObjectTable, "public.clinics"},
				{rls.CodeRLSNotForced, rls.SeverityError, rls.ObjectTable, "public.clinics"},
				{rls.CodeTenantColumnMissing, rls.SeverityError, rls.ObjectTable, "public.clinics"},
			},
		},
		{
			name:   "a tenant relation without its subject column",
			tables: replacing(rls.Table{Name: "public.patients", SubjectColumn: "patient_no"}),
			want:   []found{{rls.CodeSubjectColumnMissing, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name:   "a tenant relation that is a view",
			sql:    `CREATE VIEW public.patient_names WITH (security_invoker = true) AS SELECT clinic_id, name FROM public.patients`,
			tables: withTables(rls.Table{Name: "public.patient_names"}),
			want:   []found{{rls.CodeTenantRelationKind, rls.SeverityError, rls.ObjectTable, "public.patient_names"}},
		},
		{
			name:   "a registry with a tenant column",
			sql:    `CREATE TABLE public.plans (clinic_id uuid, name text)`,
			tables: withTables(rls.Table{Name: "public.plans", Kind: rls.Registry}),
			want:   []found{{rls.CodeRegistryTenantColumn, rls.SeverityWarning, rls.ObjectTable, "public.plans"}},
		},
		{
			name: "PUBLIC reads a registry",
			sql:  `GRANT SELECT ON public.clinics TO PUBLIC`,
			want: []found{{rls.CodePublicGrant, rls.SeverityWarning, rls.ObjectTable, "public.clinics"}},
		},
		{
			name: "PUBLIC writes a registry",
			sql:  `GRANT INSERT ON public.clinics TO PUBLIC`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "INSERT into the registry", func(tx pgx.Tx) error {
					return exec(h, tx, `INSERT INTO public.clinics VALUES (gen_random_uuid(), 'mine')`)
				})
			},
			want: []found{{rls.CodePublicGrant, rls.SeverityError, rls.ObjectTable, "public.clinics"}},
		},
		{
			name: "PUBLIC reads a table the model does not name",
			sql:  `CREATE TABLE public.misc (x int); GRANT SELECT ON public.misc TO PUBLIC`,
			want: []found{
				{rls.CodePublicGrant, rls.SeverityError, rls.ObjectTable, "public.misc"},
				{rls.CodeUnknownRelation, rls.SeverityError, rls.ObjectTable, "public.misc"},
			},
		},
		{
			name: "PUBLIC may run an allowed SECURITY DEFINER function",
			sql: `CREATE FUNCTION public.sign_in(email text) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
				AS 'SELECT count(*) FROM public.patients'`,
			cfg: func(c rls.Config) rls.Config { c.PreAuth = []string{"public.sign_in"}; return c },
			prove: func(t *testing.T, h *holeDB) {
				// It runs as its owner, the superuser: every clinic's patients.
				var n int
				h.mustApp(t, "call the function", func(tx pgx.Tx) error {
					return tx.QueryRow(context.Background(), `SELECT public.sign_in('x')`).Scan(&n)
				})
				if n != 3 {
					t.Fatalf("the hole is not there: the definer counted %d patients, want all 3", n)
				}
			},
			want: []found{{rls.CodePublicDefiner, rls.SeverityError, rls.ObjectFunction, "public.sign_in(email text)"}},
		},
		{
			name: "EXECUTE on pg_read_file",
			sql:  `GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO {app}`,
			prove: func(t *testing.T, h *holeDB) {
				h.mustApp(t, "pg_read_file", func(tx pgx.Tx) error { return exec(h, tx, `SELECT pg_read_file('PG_VERSION')`) })
			},
			want: []found{{rls.CodeFunctionGrant, rls.SeverityError, rls.ObjectFunction, "pg_catalog.pg_read_file(text)"}},
		},
		{
			name: "EXECUTE on lo_export for PUBLIC",
			sql:  `GRANT EXECUTE ON FUNCTION pg_catalog.lo_export(oid, text) TO PUBLIC`,
			want: []found{{rls.CodeFunctionGrant, rls.SeverityError, rls.ObjectFunction, "pg_catalog.lo_export(oid, text)"}},
		},
		{
			name: "a large object the app role can read",
			sql:  `DO $$ BEGIN EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO {app}', lo_from_bytea(0, convert_to('{patientB1}', 'UTF8'))); END $$`,
			prove: func(t *testing.T, h *holeDB) {
				seesB(t, h, `SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata`)
			},
			want: []found{{rls.CodeLargeObject, rls.SeverityError, rls.ObjectDatabase, "{unique}"}},
		},
		{
			name: "lo_compat_privileges",
			sql:  `SELECT lo_from_bytea(0, convert_to('{patientB1}', 'UTF8')); ALTER DATABASE {unique} SET lo_compat_privileges = on`,
			prove: func(t *testing.T, h *holeDB) {
				seesB(t, h, `SELECT convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata`)
			},
			want: []found{{rls.CodeLargeObjectCompat, rls.SeverityError, rls.ObjectSetting, "lo_compat_privileges"}},
		},
	}
	for _, tt := range holes {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := seeded(t)
			unique := db.Name
			admin := db.Conn(t, pgtest.Admin)
			for _, suffix := range append(slices.Clone(tt.roles), "_made") {
				t.Cleanup(func() {
					var exists bool
					if err := admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, unique+suffix).Scan(&exists); err != nil {
						t.Error(err)
					} else if exists {
						dropRole(t, admin, unique+suffix)
					}
				})
			}
			h := &holeDB{DB: db, expand: strings.NewReplacer("{app}", db.RoleName(pgtest.App), "{unique}", unique,
				"{owner}", db.RoleName(pgtest.Owner), "{platform}", db.RoleName(pgtest.Platform),
				"{clinicA}", clinicA.String(), "{clinicB}", clinicB.String(), "{patientB1}", patientB1.String()).Replace}
			cfg := config(db)
			if got := check(t, db, model(t, cfg, fixtureTables...)); len(got) != 0 {
				t.Fatalf("before the hole, Check found %v, want nothing", got)
			}
			if tt.sql != "" {
				db.Exec(t, pgtest.Admin, h.expand(tt.sql))
			}
			if tt.prove != nil {
				tt.prove(t, h)
			}
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			tables := slices.Clone(fixtureTables)
			if tt.tables != nil {
				tables = tt.tables(tables)
			}
			var want []found
			for _, w := range tt.want {
				w.Object = h.expand(w.Object)
				want = append(want, w)
			}
			if diff := cmp.Diff(want, check(t, db, model(t, cfg, tables...))); diff != "" {
				t.Errorf("Check findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckRoleIsCheckRules: CheckRole and CheckCurrentRole report the
// role findings that Check reports, for the app role and for whatever
// role a connection runs as.
func TestCheckRoleIsCheckRules(t *testing.T) {
	db := migrated(t)
	m := model(t, config(db), fixtureTables...)
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`ALTER ROLE %s CREATEROLE; GRANT pg_execute_server_program TO %[1]s`, quote(db.RoleName(pgtest.App))))
	all := check(t, db, m)
	for name, run := range map[string]func() ([]rls.Finding, error){
		"CheckRole": func() ([]rls.Finding, error) { return rls.CheckRole(context.Background(), db.Conn(t, pgtest.Admin), m) },
		"CheckCurrentRole as app": func() ([]rls.Finding, error) {
			return rls.CheckCurrentRole(context.Background(), db.Conn(t, pgtest.App), m)
		},
		"CheckModel ignores them": func() ([]rls.Finding, error) { return rls.CheckModel(context.Background(), db.Conn(t, pgtest.App), m) },
		"CheckCurrentRole as owner": func() ([]rls.Finding, error) {
			return rls.CheckCurrentRole(context.Background(), db.Conn(t, pgtest.Owner), m)
		},
	} {
		t.Run(name, func(t *testing.T) {
			findings, err := run()
			if err != nil {
				t.Fatal(err)
			}
			var got []found
			for _, f := range findings {
				got = append(got, found{f.Code, f.Severity, f.ObjectKind, f.Object})
			}
			want := all
			switch name {
			case "CheckModel ignores them":
				want = nil
			case "CheckCurrentRole as owner":
				want = []found{
					{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "audit.events"},
					{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "public.appointments"},
					{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "public.patients"},
				}
			}
			if len(all) != 2 {
				t.Fatalf("Check found %v, want the two role findings", all)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := rls.CheckCurrentRole(context.Background(), nil, nil); !errors.Is(err, rls.ErrInvalidConfig) {
		t.Errorf("CheckCurrentRole without a model = %v", err)
	}
}

func tenancyPrincipal(p principal) tenancy.Principal {
	return tenancy.Principal{Kind: p.kind, Tenant: p.tenant, Subject: p.subject, Roles: p.roles}
}

// TestCheckExport: CheckExport reports the references to tenant rows from
// outside the model, as Check does, and nothing else.
func TestCheckExport(t *testing.T) {
	db := seeded(t)
	tables := []rls.Table{{Name: "public.clinics", Kind: rls.Registry, ListsTenants: "id"}}
	tables = append(tables, fixtureTables[1:]...)
	m := model(t, config(db), tables...)
	db.Exec(t, pgtest.Admin, `CREATE TABLE public.clinic_notes (clinic uuid NOT NULL CONSTRAINT clinic_notes_clinic REFERENCES public.clinics (id));
		CREATE TABLE public.xrays (clinic uuid NOT NULL, patient uuid NOT NULL,
			CONSTRAINT xrays_patient FOREIGN KEY (clinic, patient) REFERENCES public.patients (clinic_id, id));
		GRANT SELECT ON public.clinic_notes TO `+quote(db.RoleName(pgtest.App)))
	findings, err := rls.CheckExport(context.Background(), db.Conn(t, pgtest.App), m)
	if err != nil {
		t.Fatal(err)
	}
	var got []found
	for _, f := range findings {
		got = append(got, found{f.Code, f.Severity, f.ObjectKind, f.Object})
	}
	want := []found{
		{rls.CodeTenantListReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "clinic_notes_clinic on public.clinic_notes"},
		{rls.CodeTenantReferenceOutsideModel, rls.SeverityError, rls.ObjectConstraint, "xrays_patient on public.xrays"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckExport (-want +got):\n%s", diff)
	}
	// Check reports them too, beside the app role's reach of clinic_notes.
	if all := check(t, db, m); len(all) != 3 {
		t.Errorf("Check found %v, want the two references and unknown-relation", all)
	}
	if _, err := rls.CheckExport(context.Background(), nil, nil); !errors.Is(err, rls.ErrInvalidConfig) {
		t.Errorf("CheckExport without a model = %v", err)
	}
}
