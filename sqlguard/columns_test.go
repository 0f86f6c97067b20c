package sqlguard_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// TestCheckPerTableTenantColumn: with a model whose tenant tables have
// different tenant columns (an application's clinic_id beside the audit
// tables' tenant_id, and a table in two schemas with two columns), each
// table is scoped by its own column and by no other.
func TestCheckPerTableTenantColumn(t *testing.T) {
	m, err := rls.NewModel(rls.Config{TenantColumn: "clinic_id"},
		rls.Table{Name: "public.patients"},
		rls.Table{Name: "audit.events", TenantColumn: "tenant_id"},
		rls.Table{Name: "public.notes", TenantColumn: "org_id"},
		rls.Table{Name: "archive.notes", TenantColumn: "tenant_id"},
	)
	if err != nil {
		t.Fatal(err)
	}
	g, err := sqlguard.New(sqlguard.Config{Model: m})
	if err != nil {
		t.Fatalf("New with two tenant columns: %v", err)
	}
	runGuardTests(t, g, []guardTest{
		{name: "the app's column", sql: `select * from public.patients where clinic_id = $1`},
		{name: "the audit's column", sql: `select * from audit.events where tenant_id = $1`},
		{name: "qualified by the alias", sql: `select * from audit.events e where e.tenant_id = $1`},
		{name: "the app's column on an audit table", sql: `select * from audit.events where clinic_id = $1`, rule: unscoped, table: "audit.events", at: "audit.events"},
		{name: "the audit's column on an app table", sql: `select * from public.patients where tenant_id = $1`, rule: unscoped, table: "public.patients", at: "public.patients"},
		{name: "a join, each by its own", sql: `select * from public.patients p join audit.events e on e.tenant_id = p.clinic_id where p.clinic_id = $1`},
		{name: "a join scoped by the wrong column", sql: `select * from public.patients p join audit.events e on e.resource_id = p.id::text where p.clinic_id = $1 and e.clinic_id = $1`, rule: unscoped, table: "audit.events", at: "audit.events"},
		{name: "insert with its own column", sql: `insert into audit.events (tenant_id, seq) values ($1, 1)`},
		{name: "insert with another table's column", sql: `insert into audit.events (clinic_id, seq) values ($1, 1)`, rule: sqlguard.RuleInsertTenant, table: "audit.events", at: "audit.events"},
		// Setting the tenant column to the tenant, in a row scoped to the
		// tenant, changes nothing: a no-op assignment is accepted.
		{name: "update of its own column to the tenant", sql: `update audit.events set tenant_id = $1 where tenant_id = $1`},
		{name: "update of its own column to another value", sql: `update audit.events set tenant_id = id where tenant_id = $1`, rule: sqlguard.RuleAssignTenant, table: "audit.events", at: "tenant_id"},
		{name: "qualified, org_id", sql: `select * from public.notes where org_id = $1`},
		{name: "qualified, tenant_id", sql: `select * from archive.notes where tenant_id = $1`},
		// notes through the search_path is public.notes (org_id) or
		// archive.notes (tenant_id): no column can be trusted.
		{name: "unqualified, two schemas, two columns", sql: `select * from notes where org_id = $1`, rule: sqlguard.RuleAmbiguousRelation, table: "notes", at: "notes"},
		{name: "unqualified, the other column", sql: `select * from notes where tenant_id = $1`, rule: sqlguard.RuleAmbiguousRelation, table: "notes", at: "notes"},
	})
}
