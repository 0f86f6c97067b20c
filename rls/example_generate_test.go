package rls_test

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// Generate writes the migration for a project tracker's tasks table, whose
// tenants are organizations keyed by bigint: forced row-level security, a
// RESTRICTIVE tenant policy evaluated once per statement, and guests (a
// subject-scoped kind) limited to the tasks assigned to them.
func ExampleGenerate() {
	sql, err := rls.Generate(rls.Config{
		OwnerRole:    "tracker_owner",
		AppRole:      "tracker_app",
		PlatformRole: "tracker_platform",
		TenantColumn: "org_id",
		TenantKey:    tenancy.KeyBigint,
		SubjectKey:   tenancy.KeyBigint,
		Kinds: []tenancy.KindSpec{
			{Name: "member", Access: tenancy.AccessTenant},
			{Name: "guest", Access: tenancy.AccessSubject},
		},
	}, rls.Table{Name: "public.tasks", SubjectColumn: "assignee_id"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print the part about the table itself. Before it come the helpers;
	// after it, a block that isolates the table's partitions and
	// inheritance children the same way.
	table := sql[strings.Index(sql, "-- Tenant table"):]
	fmt.Print(table[:strings.Index(table, "-- Its partitions")])
	// Output:
	// -- Tenant table public.tasks, tenant column org_id.
	// ALTER TABLE public.tasks OWNER TO tracker_owner;
	// REVOKE ALL ON TABLE public.tasks FROM PUBLIC, tracker_app, tracker_platform;
	// GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.tasks TO tracker_app;
	// ALTER TABLE public.tasks ENABLE ROW LEVEL SECURITY;
	// ALTER TABLE public.tasks FORCE ROW LEVEL SECURITY;
	// DROP POLICY IF EXISTS tenancy_tenant ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_access ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_subject ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_read_roles ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_read_only_insert ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_read_only_update ON public.tasks;
	// DROP POLICY IF EXISTS tenancy_read_only_delete ON public.tasks;
	// CREATE POLICY tenancy_tenant ON public.tasks AS RESTRICTIVE FOR ALL TO tracker_app
	//     USING (org_id = (SELECT tenancy.current_tenant_id()))
	//     WITH CHECK (org_id = (SELECT tenancy.current_tenant_id()));
	// CREATE POLICY tenancy_access ON public.tasks AS PERMISSIVE FOR ALL TO tracker_app
	//     USING (org_id = (SELECT tenancy.current_tenant_id()))
	//     WITH CHECK (org_id = (SELECT tenancy.current_tenant_id()));
	// CREATE POLICY tenancy_subject ON public.tasks AS RESTRICTIVE FOR ALL TO tracker_app
	//     USING ((SELECT tenancy.principal_kind()) = ANY (ARRAY['member', 'system']::text[]) OR assignee_id = (SELECT tenancy.current_subject_id()))
	//     WITH CHECK ((SELECT tenancy.principal_kind()) = ANY (ARRAY['member', 'system']::text[]) OR assignee_id = (SELECT tenancy.current_subject_id()));
}

// ParseSpec reads the JSON form that `tenancy rls generate --spec` takes.
func ExampleParseSpec() {
	spec, err := rls.ParseSpec(strings.NewReader(`{
		"app_role": "tracker_app",
		"tenant_column": "org_id",
		"tenant_key": "bigint",
		"tables": [
			{"name": "public.orgs", "kind": "registry"},
			{"name": "audit.events", "read_roles": ["owner"], "privileges": ["SELECT", "INSERT"]}
		]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range spec.Tables {
		fmt.Println(t.Name, t.Kind, t.ReadRoles, t.Privileges)
	}
	// Output:
	// public.orgs registry [] []
	// audit.events tenant [owner] [SELECT INSERT]
}

// A model classifies every relation: tenant (with its own tenant column),
// registry, private, and unknown for anything it does not name.
func ExampleModel() {
	m, err := rls.NewModel(rls.Config{TenantColumn: "org_id"},
		rls.Table{Name: "app.orgs", TenantColumn: "id"},
		rls.Table{Name: "app.tasks"},
		rls.Table{Name: "app.plans", Kind: rls.Registry},
		rls.Table{Name: "auth.secrets", Kind: rls.Private},
	)
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"orgs", "tasks", "plans", "secrets", "comments"} {
		schema := "app"
		if name == "secrets" {
			schema = "auth"
		}
		r := m.Relation(schema, name)
		fmt.Println(strings.TrimSpace(r.Qualified() + " " + r.Class.String() + " " + r.TenantColumn))
	}
	// Output:
	// app.orgs tenant id
	// app.tasks tenant org_id
	// app.plans registry
	// auth.secrets private
	// app.comments unknown
}
