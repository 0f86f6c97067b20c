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

// found is the part of a Finding the tests compare: messages and fixes
// are prose.
type found struct {
	Code     rls.Code
	Severity rls.Severity
	Kind     rls.ObjectKind
	Object   string
}

// model returns the model of cfg and tables, failing t on an error.
func model(t *testing.T, cfg rls.Config, tables ...rls.Table) *rls.Model {
	t.Helper()
	m, err := rls.NewModel(cfg, tables...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func check(t *testing.T, db *pgtest.DB, m *rls.Model) []found {
	t.Helper()
	// The checker needs no privileges: run it as the app role.
	findings, err := rls.Check(context.Background(), db.Conn(t, pgtest.App), m)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	var got []found
	for _, f := range findings {
		if f.Message == "" || f.Fix == "" {
			t.Errorf("finding %v lacks a message or a fix", f)
		}
		got = append(got, found{f.Code, f.Severity, f.ObjectKind, f.Object})
	}
	return got
}

func TestCheckGeneratedSchemaIsClean(t *testing.T) {
	db := seeded(t)
	if got := check(t, db, model(t, config(db), fixtureTables...)); len(got) != 0 {
		t.Errorf("Check of the generated schema found %v, want nothing", got)
	}
}

// Re-running the migration is harmless: it succeeds, the database stays
// clean, and the data stays isolated.
func TestMigrationRerun(t *testing.T) {
	db := seeded(t)
	sql, err := rls.Generate(config(db), fixtureTables...)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Owner, sql)
	if got := check(t, db, model(t, config(db), fixtureTables...)); len(got) != 0 {
		t.Errorf("Check after re-runs found %v, want nothing", got)
	}
	if n := adminCount(t, db, `SELECT count(*) FROM pg_policy WHERE polrelid = 'public.appointments'::regclass`); n != 6 {
		t.Errorf("appointments has %d policies after re-runs, want 6", n)
	}
	// Dropping an option from the spec drops its policies on the next run.
	tables := append([]rls.Table(nil), fixtureTables...)
	tables[2].ReadOnly = nil
	sql, err = rls.Generate(config(db), tables...)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	if n := adminCount(t, db, `SELECT count(*) FROM pg_policy WHERE polrelid = 'public.appointments'::regclass`); n != 3 {
		t.Errorf("appointments has %d policies after removing ReadOnly, want 3", n)
	}
}

func TestMigrationRefusesBypassingAppRole(t *testing.T) {
	for _, attr := range []string{"BYPASSRLS", "SUPERUSER"} {
		t.Run(attr, func(t *testing.T) {
			db := pgtest.New(t)
			db.Exec(t, pgtest.Owner, schemaSQL)
			db.Exec(t, pgtest.Admin, fmt.Sprintf(`ALTER ROLE %q %s`, db.RoleName(pgtest.App), attr))
			sql, err := rls.Generate(config(db), fixtureTables...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Conn(t, pgtest.Owner).Exec(context.Background(), sql)
			if got := sqlState(err); got != "42501" {
				t.Fatalf("migration with a %s app role: SQLSTATE %q (err %v), want 42501", attr, got, err)
			}
		})
	}
}

// Names that need quoting, including quotes, a backslash and the dollar
// tag, survive into a working migration.
func TestMigrationQuotedNames(t *testing.T) {
	db := pgtest.New(t)
	odd := func(s string) string { return db.Name + ` "` + s + `" \ $tenancy$` }
	cfg := rls.Config{
		Schema:       "Tenancy Helpers",
		TenantColumn: `Clinic "ID"`,
		OwnerRole:    db.RoleName(pgtest.Owner),
		AppRole:      odd("app"),
		PlatformRole: odd("platform"),
	}
	admin := db.Conn(t, pgtest.Admin)
	for _, r := range []string{cfg.AppRole, cfg.PlatformRole} {
		db.Exec(t, pgtest.Admin, fmt.Sprintf(`CREATE ROLE %s`, quote(r)))
		t.Cleanup(func() {
			dropRole(t, admin, r)
		})
	}
	db.Exec(t, pgtest.Owner, `CREATE SCHEMA "Odd"; CREATE TABLE "Odd"."order" ("Clinic ""ID""" uuid NOT NULL, id uuid NOT NULL, "patient id" uuid, PRIMARY KEY ("Clinic ""ID""", id))`)
	m := model(t, cfg, rls.Table{Name: "Odd.order", SubjectColumn: "patient id", ReadRoles: []string{"o'wner"}})
	sql, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Owner, sql)
	findings, err := rls.Check(context.Background(), admin, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 0 {
		t.Errorf("Check found %v, want nothing", findings)
	}
}

// dropRole drops a role that a test made, with its grants in the test's
// database, before pgtest drops the database. Roles are global to the
// server, so one left behind would outlive the test.
func dropRole(t *testing.T, admin *pgx.Conn, name string) {
	t.Helper()
	for _, sql := range []string{`REASSIGN OWNED BY ` + quote(name) + ` TO CURRENT_USER`, `DROP OWNED BY ` + quote(name), `DROP ROLE ` + quote(name)} {
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Errorf("cleaning up: %s: %v", sql, err)
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// TestCheckFindings breaks the generated schema in exactly one way per case
// and expects exactly the one finding about it.
func TestCheckFindings(t *testing.T) {
	tests := []struct {
		name   string
		sql    string // run as the superuser on the migrated database, after expand
		cfg    func(rls.Config) rls.Config
		tables []rls.Table // added to the model's fixtureTables
		roles  []string    // suffixes of the roles that sql creates, "{unique}_suffix", to drop at the end
		want   []found
	}{
		{
			name: "RLS disabled",
			sql:  `ALTER TABLE public.patients DISABLE ROW LEVEL SECURITY`,
			want: []found{{rls.CodeRLSDisabled, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "RLS not forced",
			sql:  `ALTER TABLE public.patients NO FORCE ROW LEVEL SECURITY`,
			want: []found{{rls.CodeRLSNotForced, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "no policy",
			sql:  `DROP POLICY tenancy_tenant ON public.patients; DROP POLICY tenancy_access ON public.patients; DROP POLICY tenancy_subject ON public.patients`,
			want: []found{{rls.CodeNoPolicy, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "no restrictive tenant policy",
			sql:  `DROP POLICY tenancy_tenant ON public.patients`,
			want: []found{{rls.CodeNoTenantPolicy, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "write policy without WITH CHECK",
			sql:  `CREATE POLICY edit ON public.patients AS RESTRICTIVE FOR UPDATE TO {app} USING (name <> '')`,
			want: []found{{rls.CodePolicyNoWithCheck, rls.SeverityError, rls.ObjectPolicy, "edit on public.patients"}},
		},
		{
			name: "always-true policy",
			sql:  `CREATE POLICY open ON public.patients FOR SELECT TO {app} USING (true)`,
			want: []found{{rls.CodePolicyAlwaysTrue, rls.SeverityError, rls.ObjectPolicy, "open on public.patients"}},
		},
		{
			name: "policy that is always true by its constants",
			sql:  `CREATE POLICY open ON public.patients FOR SELECT TO {app} USING (1 = 1 OR clinic_id = (SELECT tenancy.current_tenant_id()))`,
			want: []found{{rls.CodePolicyAlwaysTrue, rls.SeverityError, rls.ObjectPolicy, "open on public.patients"}},
		},
		{
			name: "IS NULL OR escape",
			sql: `CREATE POLICY lenient ON public.patients FOR SELECT TO {app}
				USING ((SELECT current_setting('tenancy.tenant_id', true)) IS NULL OR clinic_id = (SELECT tenancy.current_tenant_id()))`,
			want: []found{{rls.CodePolicyNullEscape, rls.SeverityError, rls.ObjectPolicy, "lenient on public.patients"}},
		},
		{
			name: "helper called per row",
			sql:  `CREATE POLICY slow ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (clinic_id = tenancy.current_tenant_id())`,
			want: []found{{rls.CodePolicyUnwrapped, rls.SeverityWarning, rls.ObjectPolicy, "slow on public.patients"}},
		},
		{
			name: "current_setting called per row",
			sql:  `CREATE POLICY slow ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (clinic_id = current_setting('tenancy.tenant_id')::uuid)`,
			want: []found{{rls.CodePolicyUnwrapped, rls.SeverityWarning, rls.ObjectPolicy, "slow on public.patients"}},
		},
		{
			name: "permissive policy for PUBLIC",
			sql:  `CREATE POLICY reporting ON public.patients FOR SELECT USING (name <> '')`,
			want: []found{{rls.CodePolicyUnboundRole, rls.SeverityError, rls.ObjectPolicy, "reporting on public.patients"}},
		},
		{
			name: "permissive policy for another role",
			sql:  `CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (action <> '')`,
			want: []found{{rls.CodePolicyUnboundRole, rls.SeverityError, rls.ObjectPolicy, "platform_reads on audit.events"}},
		},
		{
			name: "allowed cross-tenant policy",
			sql:  `CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (action <> '')`,
			cfg: func(c rls.Config) rls.Config {
				c.AllowCrossTenant = []string{"audit.events.platform_reads"}
				return c
			},
			want: nil,
		},
		{
			name: "allowed cross-tenant policy with a quoted name",
			sql:  `CREATE POLICY "Platform ""Reads""" ON audit.events FOR SELECT TO {platform} USING (action <> '')`,
			cfg: func(c rls.Config) rls.Config {
				c.AllowCrossTenant = []string{`audit.events.Platform "Reads"`}
				return c
			},
			want: nil,
		},
		{
			name: "unlisted policy beside an allowed one",
			sql: `CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (action <> '');
				CREATE POLICY platform_writes ON audit.events FOR INSERT TO {platform} WITH CHECK (action <> '')`,
			cfg: func(c rls.Config) rls.Config {
				c.AllowCrossTenant = []string{"audit.events.platform_reads"}
				return c
			},
			want: []found{{rls.CodePolicyUnboundRole, rls.SeverityError, rls.ObjectPolicy, "platform_writes on audit.events"}},
		},
		{
			name: "allowed name on another table",
			sql:  `CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (action <> '')`,
			cfg: func(c rls.Config) rls.Config {
				c.AllowCrossTenant = []string{"public.patients.platform_reads", "audit.events.platform_read", "AUDIT.events.platform_reads"}
				return c
			},
			want: []found{{rls.CodePolicyUnboundRole, rls.SeverityError, rls.ObjectPolicy, "platform_reads on audit.events"}},
		},
		{
			name: "allowed cross-tenant policy that is always true",
			sql:  `CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (true)`,
			cfg: func(c rls.Config) rls.Config {
				c.AllowCrossTenant = []string{"audit.events.platform_reads"}
				return c
			},
			want: []found{{rls.CodePolicyAlwaysTrue, rls.SeverityError, rls.ObjectPolicy, "platform_reads on audit.events"}},
		},
		{
			name: "permissive policy for another role that is bound",
			sql: `CREATE POLICY platform_tenant ON audit.events AS RESTRICTIVE TO {platform}
					USING (clinic_id = (SELECT tenancy.current_tenant_id())) WITH CHECK (clinic_id = (SELECT tenancy.current_tenant_id()));
				CREATE POLICY platform_reads ON audit.events FOR SELECT TO {platform} USING (action <> '')`,
			want: nil,
		},
		{
			// The database was migrated for uuid keys; the model says
			// bigint: its policies would compare keys of another type.
			name: "model declares another key type",
			cfg: func(c rls.Config) rls.Config {
				c.TenantKey = tenancy.KeyBigint
				return c
			},
			want: []found{
				{rls.CodeKeyColumn, rls.SeverityError, rls.ObjectColumn, "audit.events.clinic_id"},
				{rls.CodeKeyColumn, rls.SeverityError, rls.ObjectColumn, "public.appointments.clinic_id"},
				{rls.CodeKeyColumn, rls.SeverityError, rls.ObjectColumn, "public.patients.clinic_id"},
				{rls.CodeHelperKeyType, rls.SeverityError, rls.ObjectFunction, "tenancy.current_tenant_id()"},
			},
		},
		{
			// The database was migrated when platform_admin saw every row;
			// the model now makes it subject-scoped.
			name: "a kind's access changed since the migration",
			cfg: func(c rls.Config) rls.Config {
				c.Kinds = slices.Clone(c.Kinds)
				for i := range c.Kinds {
					if c.Kinds[i].Name == "platform_admin" {
						c.Kinds[i].Access = tenancy.AccessSubject
					}
				}
				return c
			},
			want: []found{
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_subject on public.appointments"},
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_subject on public.patients"},
			},
		},
		{
			// A kind declared since the migration, read-only where
			// patients are: the write policies do not list it, which
			// refuses its writes, but the model says it may not write
			// anyway; and it is not listed among the kinds that see every
			// row, which the model would list.
			name: "a kind declared since the migration",
			cfg: func(c rls.Config) rls.Config {
				c.Kinds = append(slices.Clone(c.Kinds), tenancy.KindSpec{Name: "auditor", Access: tenancy.AccessTenant})
				return c
			},
			want: []found{
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_read_only_delete on public.appointments"},
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_read_only_insert on public.appointments"},
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_read_only_update on public.appointments"},
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_subject on public.appointments"},
				{rls.CodeKindPolicy, rls.SeverityError, rls.ObjectPolicy, "tenancy_subject on public.patients"},
			},
		},
		{
			// Only key columns matter (see TestCheckKeyColumnCollation).
			name: "a nondeterministic collation on a column that holds no key",
			sql: `CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
				ALTER TABLE public.appointments ALTER COLUMN note TYPE text COLLATE public.ci`,
			want: nil,
		},

		{
			name: "IMMUTABLE helper",
			sql:  `ALTER FUNCTION tenancy.current_actor_id() IMMUTABLE`,
			want: []found{{rls.CodeHelperVolatility, rls.SeverityError, rls.ObjectFunction, "tenancy.current_actor_id()"}},
		},
		{
			name: "VOLATILE helper",
			sql:  `ALTER FUNCTION tenancy.current_request_id() VOLATILE`,
			want: []found{{rls.CodeHelperVolatility, rls.SeverityWarning, rls.ObjectFunction, "tenancy.current_request_id()"}},
		},
		{
			name: "app role missing",
			cfg:  func(c rls.Config) rls.Config { c.AppRole = "no such role"; return c },
			want: []found{{rls.CodeAppRoleMissing, rls.SeverityError, rls.ObjectRole, `"no such role"`}},
		},
		{
			name: "app role is superuser",
			sql:  `ALTER ROLE {app} SUPERUSER`,
			want: []found{{rls.CodeAppRoleSuperuser, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name: "app role has BYPASSRLS",
			sql:  `ALTER ROLE {app} BYPASSRLS`,
			want: []found{{rls.CodeAppRoleBypassRLS, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name:  "app role can become a BYPASSRLS role",
			sql:   `CREATE ROLE {unique}_bypass BYPASSRLS; GRANT {unique}_bypass TO {app}`,
			roles: []string{"_bypass"},
			want:  []found{{rls.CodeAppRoleBypassRLS, rls.SeverityError, rls.ObjectRole, "{app}"}},
		},
		{
			name: "app role owns a tenant table",
			sql:  `ALTER TABLE public.patients OWNER TO {app}`,
			want: []found{{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "app role is a member of the owner",
			sql:  `GRANT {owner} TO {app}`,
			want: []found{
				{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "audit.events"},
				{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "public.appointments"},
				{rls.CodeAppRoleOwner, rls.SeverityError, rls.ObjectTable, "public.patients"},
				// The helper schema and its functions, which it could replace.
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectSchema, "tenancy"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_actor_id()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_grant_id()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_request_id()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_roles()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_subject_id()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.current_tenant_id()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.no_principal()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.no_tenant()"},
				{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.principal_kind()"},
			},
		},
		{
			name: "app role owns a function",
			sql:  `CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER FUNCTION public.f() OWNER TO {app}`,
			want: []found{{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "public.f()"}},
		},
		{
			name: "app role owns the helper schema",
			sql:  `ALTER SCHEMA tenancy OWNER TO {app}`,
			want: []found{{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectSchema, "tenancy"}},
		},
		{
			name: "app role is a member of the owner of a policy's function",
			sql: `CREATE ROLE {unique}_fnowner; GRANT {unique}_fnowner TO {app};
				ALTER FUNCTION tenancy.principal_kind() OWNER TO {unique}_fnowner`,
			roles: []string{"_fnowner"},
			want:  []found{{rls.CodeAppRoleOwnsObject, rls.SeverityError, rls.ObjectFunction, "tenancy.principal_kind()"}},
		},
		{
			name: "app role may create in a schema",
			sql:  `GRANT CREATE ON SCHEMA audit TO {app}`,
			want: []found{{rls.CodeAppRoleCreate, rls.SeverityError, rls.ObjectSchema, "audit"}},
		},
		{
			name: "PUBLIC may create in the helper schema",
			sql:  `GRANT CREATE ON SCHEMA tenancy TO PUBLIC`,
			want: []found{{rls.CodeAppRoleCreate, rls.SeverityError, rls.ObjectSchema, "tenancy"}},
		},
		{
			name: "app role may create schemas",
			sql:  `GRANT CREATE ON DATABASE {unique} TO {app}`,
			want: []found{{rls.CodeAppRoleCreate, rls.SeverityError, rls.ObjectDatabase, "{unique}"}},
		},
		{
			name: "app role may create temporary tables",
			sql:  `GRANT TEMPORARY ON DATABASE {unique} TO {app}`,
			want: nil,
		},
		{
			name: "default privileges for PUBLIC",
			sql:  `ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC`,
			want: []found{{rls.CodeDefaultPrivileges, rls.SeverityError, rls.ObjectDefaultPrivileges, "{owner} in schema public"}},
		},
		{
			name: "default TRUNCATE for the app role",
			sql:  `ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT SELECT, TRUNCATE ON TABLES TO {app}`,
			want: []found{{rls.CodeDefaultPrivileges, rls.SeverityError, rls.ObjectDefaultPrivileges, "{owner}"}},
		},
		{
			name: "default DML for the app role",
			sql:  `ALTER DEFAULT PRIVILEGES FOR ROLE {owner} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}`,
			want: nil,
		},
		{
			name: "column privilege for PUBLIC",
			sql:  `GRANT SELECT (name) ON public.patients TO PUBLIC`,
			want: []found{{rls.CodePublicAccess, rls.SeverityError, rls.ObjectTable, "public.patients"}},
		},
		{
			name: "policy calls a SECURITY DEFINER function",
			sql: `CREATE FUNCTION public.tenant_of() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
					AS 'SELECT tenancy.current_tenant_id()';
				REVOKE ALL ON FUNCTION public.tenant_of() FROM PUBLIC; GRANT EXECUTE ON FUNCTION public.tenant_of() TO {app};
				CREATE POLICY definer ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (clinic_id = (SELECT public.tenant_of()))`,
			cfg:  func(c rls.Config) rls.Config { c.AllowDefiner = []string{"public.tenant_of"}; return c },
			want: []found{{rls.CodePolicyDefiner, rls.SeverityError, rls.ObjectFunction, "public.tenant_of()"}},
		},
		{
			name: "policy calls an IMMUTABLE function that reads the context",
			sql: `CREATE FUNCTION public.tenant_now() RETURNS uuid LANGUAGE sql IMMUTABLE
					AS 'SELECT current_setting(''tenancy.tenant_id'')::uuid';
				CREATE POLICY folded ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (clinic_id = (SELECT public.tenant_now()))`,
			want: []found{{rls.CodeHelperVolatility, rls.SeverityError, rls.ObjectFunction, "public.tenant_now()"}},
		},
		{
			name: "policy calls an IMMUTABLE function that does not read the context",
			sql: `CREATE FUNCTION public.norm(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower($1)';
				CREATE POLICY named ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (public.norm(name) <> '')`,
			want: nil,
		},
		{
			name: "policy calls a VOLATILE function",
			sql: `CREATE FUNCTION public.coin() RETURNS boolean LANGUAGE sql AS 'SELECT true';
				CREATE POLICY coin ON public.patients AS RESTRICTIVE FOR SELECT TO {app} USING (public.coin())`,
			want: []found{{rls.CodeHelperVolatility, rls.SeverityWarning, rls.ObjectFunction, "public.coin()"}},
		},
		{
			name: "app role has TRUNCATE",
			sql:  `GRANT TRUNCATE ON public.appointments TO {app}`,
			want: []found{{rls.CodeAppRolePrivilege, rls.SeverityError, rls.ObjectTable, "public.appointments"}},
		},
		{
			name: "app role has REFERENCES on a column",
			sql:  `GRANT REFERENCES (id) ON public.appointments TO {app}`,
			want: []found{{rls.CodeAppRolePrivilege, rls.SeverityError, rls.ObjectTable, "public.appointments"}},
		},
		{
			name:  "BYPASSRLS role holds privileges",
			sql:   `CREATE ROLE {unique}_reporting BYPASSRLS; GRANT SELECT ON public.patients TO {unique}_reporting`,
			roles: []string{"_reporting"},
			want:  []found{{rls.CodeBypassRoleAccess, rls.SeverityError, rls.ObjectRole, "{unique}_reporting"}},
		},
		{
			name:  "superuser member of a grantee",
			sql:   `CREATE ROLE {unique}_readers; CREATE ROLE {unique}_root SUPERUSER; GRANT SELECT ON audit.events TO {unique}_readers; GRANT {unique}_readers TO {unique}_root`,
			roles: []string{"_root", "_readers"},
			want:  []found{{rls.CodeBypassRoleAccess, rls.SeverityError, rls.ObjectRole, "{unique}_root"}},
		},
		{
			name: "PUBLIC holds privileges",
			sql:  `GRANT SELECT ON public.appointments TO PUBLIC`,
			want: []found{{rls.CodePublicAccess, rls.SeverityError, rls.ObjectTable, "public.appointments"}},
		},
		{
			name: "unique constraint without the tenant column",
			sql:  `ALTER TABLE public.patients ADD CONSTRAINT patients_name_key UNIQUE (name)`,
			want: []found{{rls.CodeUniqueWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "patients_name_key on public.patients"}},
		},
		{
			name: "unique index without the tenant column",
			sql:  `CREATE UNIQUE INDEX patients_lower_email ON public.patients (lower(email)) INCLUDE (clinic_id)`,
			want: []found{{rls.CodeUniqueWithoutTenant, rls.SeverityError, rls.ObjectIndex, "public.patients_lower_email"}},
		},
		{
			name: "foreign key not matching tenant to tenant",
			sql: `ALTER TABLE public.appointments ADD CONSTRAINT appointments_swapped_fkey
				FOREIGN KEY (patient_id, clinic_id) REFERENCES public.patients (clinic_id, id) NOT VALID`,
			want: []found{{rls.CodeForeignKeyWithoutTenant, rls.SeverityError, rls.ObjectConstraint, "appointments_swapped_fkey on public.appointments"}},
		},
		{
			name: "no index leads with the tenant column",
			sql:  `ALTER TABLE audit.events DROP CONSTRAINT events_pkey; CREATE INDEX events_id ON audit.events (id, clinic_id)`,
			want: []found{{rls.CodeNoTenantIndex, rls.SeverityWarning, rls.ObjectTable, "audit.events"}},
		},
		{
			name: "sequence default the app role can use",
			sql:  `ALTER TABLE public.appointments ADD COLUMN number bigserial; GRANT USAGE ON SEQUENCE public.appointments_number_seq TO {app}`,
			want: []found{{rls.CodeSequenceDefault, rls.SeverityWarning, rls.ObjectColumn, "public.appointments.number"}},
		},
		{
			name: "sequence default the app role can read",
			sql:  `ALTER TABLE public.appointments ADD COLUMN number bigserial; GRANT SELECT ON SEQUENCE public.appointments_number_seq TO {app}`,
			want: []found{{rls.CodeSequenceDefault, rls.SeverityWarning, rls.ObjectColumn, "public.appointments.number"}},
		},
		{
			name: "sequence default the app role cannot touch",
			sql:  `ALTER TABLE public.appointments ADD COLUMN number bigserial`,
			want: nil,
		},
		{
			name: "identity column",
			sql:  `ALTER TABLE public.appointments ADD COLUMN number bigint GENERATED ALWAYS AS IDENTITY`,
			want: []found{{rls.CodeSequenceDefault, rls.SeverityWarning, rls.ObjectColumn, "public.appointments.number"}},
		},
		{
			name: "SECURITY DEFINER not allowed",
			sql: `CREATE FUNCTION public.count_patients() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
				AS 'SELECT count(*) FROM public.patients'`,
			want: []found{
				{rls.CodePublicDefiner, rls.SeverityError, rls.ObjectFunction, "public.count_patients()"},
				{rls.CodeSecurityDefiner, rls.SeverityError, rls.ObjectFunction, "public.count_patients()"},
			},
		},
		{
			name: "allowed SECURITY DEFINER without search_path",
			sql: `CREATE FUNCTION public.sign_in(email text) RETURNS uuid LANGUAGE sql SECURITY DEFINER AS 'SELECT NULL::uuid';
				REVOKE ALL ON FUNCTION public.sign_in(text) FROM PUBLIC; GRANT EXECUTE ON FUNCTION public.sign_in(text) TO {app}`,
			cfg:  func(c rls.Config) rls.Config { c.AllowDefiner = []string{"public.sign_in"}; return c },
			want: []found{{rls.CodeDefinerSearchPath, rls.SeverityError, rls.ObjectFunction, "public.sign_in(email text)"}},
		},
		{
			name: "allowed SECURITY DEFINER with search_path",
			sql: `CREATE FUNCTION public.sign_in(email text) RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
				AS 'SELECT NULL::uuid';
				REVOKE ALL ON FUNCTION public.sign_in(text) FROM PUBLIC; GRANT EXECUTE ON FUNCTION public.sign_in(text) TO {app}`,
			cfg:  func(c rls.Config) rls.Config { c.AllowDefiner = []string{"public.sign_in"}; return c },
			want: nil,
		},
		{
			name: "view without security_invoker",
			sql:  `CREATE VIEW public.patient_names AS SELECT clinic_id, name FROM public.patients`,
			want: []found{{rls.CodeViewNotSecurityInvoker, rls.SeverityError, rls.ObjectView, "public.patient_names"}},
		},
		{
			name: "view with security_invoker",
			sql:  `CREATE VIEW public.patient_names WITH (security_invoker = true) AS SELECT clinic_id, name FROM public.patients`,
			want: nil,
		},
		{
			name: "view over an invoker view",
			sql: `CREATE VIEW public.patient_names WITH (security_invoker = true) AS SELECT clinic_id, name FROM public.patients;
				CREATE VIEW public.names AS SELECT name FROM public.patient_names`,
			want: []found{{rls.CodeViewNotSecurityInvoker, rls.SeverityError, rls.ObjectView, "public.names"}},
		},
		{
			name: "materialized view",
			sql:  `CREATE MATERIALIZED VIEW public.patient_counts AS SELECT clinic_id, count(*) FROM public.patients GROUP BY clinic_id`,
			want: []found{{rls.CodeMaterializedView, rls.SeverityError, rls.ObjectView, "public.patient_counts"}},
		},
		{
			name: "foreign table",
			sql: `CREATE FOREIGN DATA WRAPPER {unique}_fdw; CREATE SERVER {unique}_srv FOREIGN DATA WRAPPER {unique}_fdw;
				CREATE FOREIGN TABLE public.remote_patients (clinic_id uuid, id uuid) SERVER {unique}_srv`,
			tables: []rls.Table{{Name: "public.remote_patients"}},
			want:   []found{{rls.CodeForeignTable, rls.SeverityError, rls.ObjectTable, "public.remote_patients"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t)
			app, owner, platform, unique := db.RoleName(pgtest.App), db.RoleName(pgtest.Owner), db.RoleName(pgtest.Platform), db.Name
			admin := db.Conn(t, pgtest.Admin)
			for _, suffix := range tt.roles {
				t.Cleanup(func() {
					// Before pgtest drops the database: its grants go with the role.
					dropRole(t, admin, unique+suffix)
				})
			}
			cfg := config(db)
			if got := check(t, db, model(t, cfg, fixtureTables...)); len(got) != 0 {
				t.Fatalf("before breaking it, Check found %v, want nothing", got)
			}
			expand := strings.NewReplacer("{app}", app, "{unique}", unique, "{owner}", owner, "{platform}", platform).Replace
			if tt.sql != "" {
				db.Exec(t, pgtest.Admin, expand(tt.sql))
			}
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			var want []found
			for _, w := range tt.want {
				w.Object = expand(w.Object)
				want = append(want, w)
			}
			m := model(t, cfg, append(slices.Clone(fixtureTables), tt.tables...)...)
			if diff := cmp.Diff(want, check(t, db, m)); diff != "" {
				t.Errorf("Check findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckHelperMissing(t *testing.T) {
	db := pgtest.New(t)
	want := []found{{rls.CodeHelperMissing, rls.SeverityError, rls.ObjectFunction, "tenancy.current_tenant_id()"}}
	// A model without tables: nothing is missing but the helper.
	if diff := cmp.Diff(want, check(t, db, model(t, config(db)))); diff != "" {
		t.Errorf("Check of an empty database (-want +got):\n%s", diff)
	}
}

func TestCheckInvalidConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  rls.Config
	}{
		{"NUL in app role", rls.Config{AppRole: "a\x00b"}},
		{"cross-tenant policy without schema", rls.Config{AllowCrossTenant: []string{"events.audit_platform"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := rls.NewModel(tt.cfg); !errors.Is(err, rls.ErrInvalidConfig) {
				t.Errorf("NewModel error = %v, want %v", err, rls.ErrInvalidConfig)
			}
		})
	}
	// A nil Querier: the missing model is refused before any query.
	for name, check := range map[string]func(context.Context, rls.Querier, *rls.Model) ([]rls.Finding, error){
		"Check": rls.Check, "CheckModel": rls.CheckModel, "CheckRole": rls.CheckRole, "CheckCurrentRole": rls.CheckCurrentRole,
	} {
		if _, err := check(context.Background(), nil, nil); !errors.Is(err, rls.ErrInvalidConfig) {
			t.Errorf("%s without a model: error = %v, want %v", name, err, rls.ErrInvalidConfig)
		}
	}
}

// partitionSQL adds a tenant table partitioned by its tenant column, with
// a partition per clinic, a sub-partitioned default, and a legacy
// inheritance child of a second table.
const partitionSQL = `
CREATE TABLE public.invoices (
	clinic_id uuid NOT NULL,
	id uuid NOT NULL,
	total numeric NOT NULL,
	PRIMARY KEY (clinic_id, id)
) PARTITION BY LIST (clinic_id);
CREATE TABLE public.invoices_a PARTITION OF public.invoices FOR VALUES IN ('0195f1c2-0000-7000-8000-00000000000a');
CREATE TABLE public.invoices_rest PARTITION OF public.invoices DEFAULT PARTITION BY HASH (clinic_id);
CREATE TABLE public.invoices_rest_0 PARTITION OF public.invoices_rest FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE TABLE public.notes (clinic_id uuid NOT NULL, id uuid NOT NULL, body text NOT NULL, PRIMARY KEY (clinic_id, id));
CREATE TABLE public.notes_archive (PRIMARY KEY (clinic_id, id)) INHERITS (public.notes);
`

var partitionTables = append(slices.Clone(fixtureTables), rls.Table{Name: "public.invoices"}, rls.Table{Name: "public.notes"})

// Partitions and inheritance children queried directly obey only their
// own policies. The migration gives them the parent's, and no grants;
// Check reports a child added after the migration.
func TestPartitionsAndChildren(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, schemaSQL+partitionSQL)
	cfg := model(t, config(db), partitionTables...)
	sql, err := cfg.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Owner, sql) // re-runnable
	if got := check(t, db, cfg); len(got) != 0 {
		t.Fatalf("Check of the generated schema found %v, want nothing", got)
	}
	db.Exec(t, pgtest.Platform, `INSERT INTO public.clinics (id, name) VALUES ($1, 'A'), ($2, 'B')`, clinicA.String(), clinicB.String())
	app := db.Conn(t, pgtest.App)
	for _, p := range []principal{staffOfA, staffOfB} {
		err := inTx(t, app, p, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO public.invoices VALUES ($1, gen_random_uuid(), 1)`, p.tenant.String())
			return err
		})
		if err != nil {
			t.Fatalf("inserting as %v: %v", p.tenant, err)
		}
	}
	db.Exec(t, pgtest.Admin, `INSERT INTO public.notes_archive VALUES ($1, gen_random_uuid(), 'old'), ($2, gen_random_uuid(), 'old')`,
		clinicA.String(), clinicB.String())
	if n := adminCount(t, db, `SELECT count(*) FROM public.invoices_rest_0 WHERE clinic_id = $1`, clinicB.String()); n != 1 {
		t.Fatalf("B has %d invoices in the default partition, want 1", n)
	}
	err = inTx(t, app, staffOfA, func(tx pgx.Tx) error {
		if got := queryStrings(t, tx, `SELECT DISTINCT clinic_id::text FROM public.invoices`); !slices.Equal(got, ids(clinicA)) {
			t.Errorf("invoices of clinics %v through the parent, want only A", got)
		}
		if got := queryStrings(t, tx, `SELECT DISTINCT clinic_id::text FROM public.notes`); !slices.Equal(got, ids(clinicA)) {
			t.Errorf("notes of clinics %v through the parent, want only A", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The children are out of the app role's reach when named directly.
	for _, child := range []string{"public.invoices_a", "public.invoices_rest", "public.invoices_rest_0", "public.notes_archive"} {
		err := inTx(t, app, staffOfA, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `SELECT * FROM `+child)
			return err
		})
		if got := sqlState(err); got != "42501" {
			t.Errorf("reading %s directly: SQLSTATE %q (err %v), want 42501", child, got, err)
		}
	}
	// A partition and a child made later, and granted to the app role as
	// default privileges would, bypass the parent's policies: B's rows
	// are readable by A. Check names each of them.
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`
		DROP TABLE public.invoices_rest_0;
		CREATE TABLE public.invoices_b PARTITION OF public.invoices_rest FOR VALUES WITH (MODULUS 1, REMAINDER 0);
		INSERT INTO public.invoices_b VALUES ('%[1]s', gen_random_uuid(), 2);
		CREATE TABLE public.notes_new () INHERITS (public.notes);
		CREATE INDEX ON public.notes_new (clinic_id);
		ALTER TABLE public.invoices_b OWNER TO %[2]s;
		ALTER TABLE public.notes_new OWNER TO %[2]s;
		GRANT SELECT ON public.invoices_b TO %[3]s`, clinicB, quote(db.RoleName(pgtest.Owner)), quote(db.RoleName(pgtest.App))))
	err = inTx(t, app, staffOfA, func(tx pgx.Tx) error {
		if got := queryStrings(t, tx, `SELECT clinic_id::text FROM public.invoices_b`); !slices.Equal(got, ids(clinicB)) {
			t.Errorf("the new partition shows %v, want B's row: the test proves nothing", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []found
	for _, name := range []string{"public.invoices_b", "public.notes_new"} {
		want = append(want,
			found{rls.CodeNoPolicy, rls.SeverityError, rls.ObjectTable, name},
			found{rls.CodeRLSDisabled, rls.SeverityError, rls.ObjectTable, name},
			found{rls.CodeRLSNotForced, rls.SeverityError, rls.ObjectTable, name})
	}
	if diff := cmp.Diff(want, check(t, db, cfg)); diff != "" {
		t.Errorf("Check findings with new children (-want +got):\n%s", diff)
	}
	// Re-running the migration covers them.
	db.Exec(t, pgtest.Owner, sql)
	if got := check(t, db, cfg); len(got) != 0 {
		t.Errorf("Check after re-running the migration found %v, want nothing", got)
	}
	err = inTx(t, app, staffOfA, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `SELECT * FROM public.invoices_b`)
		return err
	})
	if got := sqlState(err); got != "42501" {
		t.Errorf("reading the new partition after the re-run: SQLSTATE %q (err %v), want 42501", got, err)
	}
}

// quoteIdent (through Generate) and the server's quote_ident agree on odd
// names, so Check, which compares names printed by the server with names
// quoted by this package, sees the generated policies.
func TestQuoteIdentMatchesServer(t *testing.T) {
	db := pgtest.New(t)
	admin := db.Conn(t, pgtest.Admin)
	rows, err := admin.Query(context.Background(), `SELECT word FROM pg_get_keywords() ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, "clinic_id", "Clinic", "a b", `a"b`, `"`, "1st", "_x", "x1", "é", "naïve", "ß", "a-b", "a;b",
		"a'b", `a\b`, "$tenancy$", "a$b", "DROP TABLE x; --", "select", "SELECT", "user", "z"+strings.Repeat("x", 62))
	for _, name := range names {
		var want string
		if err := admin.QueryRow(context.Background(), `SELECT quote_ident($1)`, name).Scan(&want); err != nil {
			t.Fatal(err)
		}
		sql, err := rls.Generate(rls.Config{TenantColumn: name}, rls.Table{Name: "public.t"})
		if err != nil {
			t.Fatalf("Generate with tenant column %q: %v", name, err)
		}
		if got := "USING (" + want + " = (SELECT"; !strings.Contains(sql, got) {
			t.Errorf("tenant column %q: the policy does not read %q:\n%s", name, got, sql[strings.Index(sql, "CREATE POLICY"):][:200])
		}
	}
}

// TestCheckKeyColumnCollation: under a case-insensitive collation 'acme' =
// 'ACME', so the tenant policy of a text-keyed table admits another
// tenant's rows while the guard compares bytes. Check and the start-up
// check report the column.
func TestCheckKeyColumnCollation(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, pgtest.Owner, `CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
		CREATE TABLE public.projects (org_id text COLLATE public.ci NOT NULL, id bigint NOT NULL, PRIMARY KEY (org_id, id));
		-- A domain's equality is its own (citext's is case-insensitive).
		CREATE DOMAIN public.org_key AS text;
		CREATE TABLE public.tasks (org_id public.org_key NOT NULL, id bigint NOT NULL, PRIMARY KEY (org_id, id))`)
	cfg := config(db)
	cfg.TenantColumn, cfg.TenantKey = "org_id", tenancy.KeyText
	m := model(t, cfg, rls.Table{Name: "public.projects"}, rls.Table{Name: "public.tasks"})
	sql, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	db.Exec(t, pgtest.Admin, `INSERT INTO public.projects VALUES ('acme', 1), ('ACME', 2)`)
	// The hole is there: a member of acme sees ACME's row.
	var n int
	err = pgx.BeginFunc(context.Background(), db.Conn(t, pgtest.App), func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SELECT set_config('tenancy.tenant_id', 'acme', true), set_config('tenancy.principal', 'staff||||', true)`); err != nil {
			return err
		}
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM public.projects`).Scan(&n)
	})
	if err != nil || n != 2 {
		t.Fatalf("the hole is not there: acme sees %d rows (%v), want 2", n, err)
	}
	for name, check := range map[string]func(context.Context, rls.Querier, *rls.Model) ([]rls.Finding, error){"Check": rls.Check, "CheckModel": rls.CheckModel} {
		findings, err := check(context.Background(), db.Conn(t, pgtest.App), m)
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"public.projects.org_id", "public.tasks.org_id"} {
			if !slices.ContainsFunc(findings, func(f rls.Finding) bool { return f.Code == rls.CodeKeyColumn && f.Object == col }) {
				t.Errorf("%s did not report %s: %v", name, col, findings)
			}
		}
	}
}

// TestCheckModelKindPolicy: the start-up check (CheckModel, which
// tenantdb.New runs) sees policies generated for other kinds, too.
func TestCheckModelKindPolicy(t *testing.T) {
	db := migrated(t)
	cfg := config(db)
	if got, err := rls.CheckModel(context.Background(), db.Conn(t, pgtest.App), model(t, cfg, fixtureTables...)); err != nil || len(got) != 0 {
		t.Fatalf("before changing the kinds: %v, %v", got, err)
	}
	cfg.Kinds = []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}, {Name: "patient", Access: tenancy.AccessSubject}, {Name: "platform_admin", Access: tenancy.AccessSubject}}
	got, err := rls.CheckModel(context.Background(), db.Conn(t, pgtest.App), model(t, cfg, fixtureTables...))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got, func(f rls.Finding) bool { return f.Code == rls.CodeKindPolicy }) {
		t.Errorf("CheckModel after a kind became subject-scoped: %v, want kind-policy", got)
	}
}
