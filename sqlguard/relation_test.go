package sqlguard_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

const (
	unknownRelation   = sqlguard.RuleUnknownRelation
	privateRelation   = sqlguard.RulePrivateRelation
	catalogRelation   = sqlguard.RuleCatalogRelation
	ambiguousRelation = sqlguard.RuleAmbiguousRelation
)

// TestCheckTenantColumns: each tenant relation is scoped by its own tenant
// column, and only by it.
func TestCheckTenantColumns(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "column of its own", sql: "select * from attachments where organization_id = $1"},
		{name: "default column does not scope it", sql: "select * from attachments where clinic_id = $1",
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "tenants keyed by id", sql: "select name from orgs where id = $1"},
		{name: "tenants keyed by id, unscoped", sql: "select name from orgs where name = $3",
			rule: unscoped, table: "orgs", at: "orgs"},
		{name: "quoted mixed-case column", sql: `select * from tasks where "tenantId" = $1`},
		{name: "unquoted mixed case folds to another column", sql: `select * from tasks where tenantId = $1`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "join across column names", sql: `select t.title, a.name from tasks t join attachments a on a.organization_id = t."tenantId" where t."tenantId" = $1`},
		{name: "join by the wrong column", sql: `select t.title, a.name from tasks t join attachments a on a.id = t."tenantId" where t."tenantId" = $1`,
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "unqualified columns, one tenant table each", sql: `select * from tasks t join attachments a on a.id = t.id where "tenantId" = $1 and organization_id = $1`},
		{name: "another table's tenant column does not scope", sql: `select * from tasks t, attachments a where t.organization_id = $1 and a.organization_id = $1`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "tenant key joined to a tenant column", sql: `select o.name, t.title from orgs o join tasks t on t."tenantId" = o.id where o.id = $1`},
		{name: "insert sets its own column", sql: `insert into tasks ("tenantId", id, title) values ($1, $3, $3)`},
		{name: "insert sets the default column only", sql: `insert into tasks (clinic_id, id, title) values ($1, $3, $3)`,
			rule: sqlguard.RuleInsertTenant, table: "tasks", at: "tasks"},
		{name: "insert of another tenant", sql: `insert into attachments (organization_id, id) values ($2, $3)`,
			rule: sqlguard.RuleParamTenant, table: "attachments", at: "$2", param: 2},
		{name: "update assigns its own column", sql: `update attachments set organization_id = id where organization_id = $1`,
			rule: sqlguard.RuleAssignTenant, table: "attachments", at: "organization_id ="},
		{name: "on conflict by its own column", sql: `insert into task_tags (tenant_id, id, tag) values ($1, $3, $3) on conflict (tenant_id, id) do update set tag = excluded.tag`},
		{name: "on conflict by the default column", sql: `insert into task_tags (tenant_id, id, tag) values ($1, $3, $3) on conflict (clinic_id, id) do update set tag = excluded.tag`,
			rule: sqlguard.RuleOnConflict, table: "task_tags", at: "on conflict"},
	})
}

// TestCheckRelationClasses: every relation is classified through the
// model; unknown, private and catalog relations are refused wherever they
// appear.
func TestCheckRelationClasses(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		{name: "registry", sql: "select * from plans"},
		{name: "registry qualified", sql: "select * from public.plans p join clinics c on c.id = p.id"},
		{name: "unknown", sql: "select * from audit_log", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown qualified", sql: "select * from public.audit_log", rule: unknownRelation, table: "public.audit_log", at: "public"},
		{name: "unknown in a join", sql: "select * from patients p join audit_log l on l.id = p.id where p.clinic_id = $1",
			rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown in a sub-query", sql: "select (select count(*) from audit_log)", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown in a cte", sql: "with x as (select * from audit_log) select 1", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown insert target", sql: "insert into audit_log (id) values ($3)", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown update target", sql: "update audit_log set id = $3", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown delete target", sql: "delete from audit_log", rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "unknown in using", sql: "delete from patients p using audit_log l where p.clinic_id = $1 and l.id = p.id",
			rule: unknownRelation, table: "audit_log", at: "audit_log"},
		{name: "private", sql: "select * from secrets", rule: privateRelation, table: "secrets", at: "secrets"},
		{name: "private qualified", sql: "select * from public.secrets", rule: privateRelation, table: "public.secrets", at: "public"},
		{name: "private in exists", sql: "select 1 where exists (select 1 from secrets)", rule: privateRelation, table: "secrets", at: "secrets"},
		{name: "pg_class", sql: "select relname from pg_class", rule: catalogRelation, table: "pg_class", at: "pg_class"},
		{name: "pg_catalog.pg_class", sql: "select relname from pg_catalog.pg_class", rule: catalogRelation, table: "pg_catalog.pg_class", at: "pg_catalog"},
		{name: "pg_stat_activity", sql: "select query from pg_stat_activity", rule: catalogRelation, table: "pg_stat_activity", at: "pg_stat_activity"},
		{name: "pg_stats", sql: "select most_common_vals from pg_stats where tablename = 'patients'", rule: catalogRelation, table: "pg_stats", at: "pg_stats"},
		{name: "pg_stat_statements", sql: "select query from pg_stat_statements", rule: catalogRelation, table: "pg_stat_statements", at: "pg_stat_statements"},
		{name: "pg_stat_statements in public", sql: "select query from public.pg_stat_statements", rule: unknownRelation, table: "public.pg_stat_statements", at: "public"},
		{name: "pg_stat_database", sql: "select * from pg_stat_database", rule: catalogRelation, table: "pg_stat_database", at: "pg_stat_database"},
		{name: "pg_locks", sql: "select * from pg_locks", rule: catalogRelation, table: "pg_locks", at: "pg_locks"},
		{name: "pg_stat_user_tables", sql: "select n_live_tup from pg_stat_user_tables", rule: catalogRelation, table: "pg_stat_user_tables", at: "pg_stat_user_tables"},
		{name: "pg_settings", sql: "select setting from pg_settings", rule: catalogRelation, table: "pg_settings", at: "pg_settings"},
		{name: "information_schema", sql: "select * from information_schema.tables", rule: catalogRelation, table: "information_schema.tables", at: "information_schema"},
		{name: "pg_temp", sql: "select * from pg_temp.patients", rule: catalogRelation, table: "pg_temp.patients", at: "pg_temp"},
		{name: "pg_toast", sql: "select * from pg_toast.pg_toast_1234", rule: catalogRelation, table: "pg_toast.pg_toast_1234", at: "pg_toast"},
		{name: "catalog in a sub-query", sql: "select * from patients where clinic_id = $1 and name in (select usename from pg_user)",
			rule: catalogRelation, table: "pg_user", at: "pg_user"},
		{name: "catalog in a lateral", sql: "select * from patients p, lateral (select * from pg_stat_activity) a where p.clinic_id = $1",
			rule: catalogRelation, table: "pg_stat_activity", at: "pg_stat_activity"},
		{name: "a cte shadows a catalog name", sql: "with pg_class as (select 1 as x) select * from pg_class"},
	})
}

// TestCheckRelationCandidates: an unqualified name is judged by every
// relation of that name that the model knows.
func TestCheckRelationCandidates(t *testing.T) {
	m := testModel(t, rls.Config{},
		rls.Table{Name: "a.items", TenantColumn: "org_id"},
		rls.Table{Name: "b.items", TenantColumn: "tenant_id"},
		rls.Table{Name: "a.things"},
		rls.Table{Name: "b.things", Kind: rls.Registry},
		rls.Table{Name: "a.keys", Kind: rls.Registry},
		rls.Table{Name: "b.keys", Kind: rls.Private},
		rls.Table{Name: "a.users"},
		rls.Table{Name: "b.users", Kind: rls.Private},
		rls.Table{Name: "pg_catalog.pg_type", Kind: rls.Registry},
	)
	runGuardTests(t, newGuard(t, sqlguard.Config{Model: m}), []guardTest{
		{name: "tenant tables with two columns", sql: "select * from items where org_id = $1",
			rule: ambiguousRelation, table: "items", at: "items"},
		{name: "qualified, first", sql: "select * from a.items where org_id = $1"},
		{name: "qualified, second", sql: "select * from b.items where tenant_id = $1"},
		{name: "qualified by the other's column", sql: "select * from b.items where org_id = $1",
			rule: unscoped, table: "b.items", at: "b.items"},
		{name: "tenant and registry is tenant", sql: "select * from things", rule: unscoped, table: "things", at: "things"},
		{name: "tenant and registry, scoped", sql: "select * from things where clinic_id = $1"},
		{name: "registry qualified", sql: "select * from b.things"},
		{name: "registry and private is private", sql: "select * from keys", rule: privateRelation, table: "keys", at: "keys"},
		{name: "registry qualified beside a private one", sql: "select * from a.keys"},
		{name: "tenant and private is tenant", sql: "select * from users", rule: unscoped, table: "users", at: "users"},
		{name: "a catalog relation the model lists", sql: "select typname from pg_catalog.pg_type"},
		{name: "unqualified, it is pg_catalog's", sql: "select typname from pg_type"},
		{name: "another catalog relation unqualified", sql: "select * from pg_proc", rule: catalogRelation, table: "pg_proc", at: "pg_proc"},
		{name: "the same name in another schema is unknown", sql: "select * from public.pg_type", rule: unknownRelation, table: "public.pg_type", at: "public"},
	})
}

// TestRelationCreatedAfterStart: a table a migration adds after the guard
// was made is refused until the model names it, although it exists and
// holds another tenant's rows; with a model that names it, the usual
// rules apply.
func TestRelationCreatedAfterStart(t *testing.T) {
	db := pgtest.New(t)
	g := newGuard(t, sqlguard.Config{})
	db.Exec(t, pgtest.Owner, `
		create table public.invoices_v2 (org_id uuid not null, id uuid not null, total int, primary key (org_id, id));
		insert into public.invoices_v2 values ('`+litB+`', gen_random_uuid(), 100)`)
	const unscopedSQL = "select total from invoices_v2"
	var n int
	if err := db.Conn(t, pgtest.Owner).QueryRow(context.Background(), "select count(*) from ("+unscopedSQL+") s").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the new table's rows of tenant B: %d, %v; want 1", n, err)
	}
	for _, sql := range []string{unscopedSQL, "select total from invoices_v2 where org_id = $1", "select * from public.invoices_v2 where org_id = $1"} {
		var re *sqlguard.RefusalError
		if err := g.Check(sql, []any{tenantA}, tenantA); !errors.As(err, &re) || re.Rule != unknownRelation {
			t.Errorf("Check(%q) before the model names the table = %v, want %s", sql, err, unknownRelation)
		}
	}
	g2 := newGuard(t, sqlguard.Config{Model: testModel(t, rls.Config{}, rls.Table{Name: "public.invoices_v2", TenantColumn: "org_id"})})
	if err := g2.Check("select total from invoices_v2 where org_id = $1", []any{tenantA}, tenantA); err != nil {
		t.Errorf("scoped, with the table in the model: %v", err)
	}
	var re *sqlguard.RefusalError
	if err := g2.Check(unscopedSQL, nil, tenantA); !errors.As(err, &re) || re.Rule != unscoped {
		t.Errorf("unscoped, with the table in the model: %v, want %s", err, unscoped)
	}
}
