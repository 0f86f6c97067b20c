package rls_test

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy/rls"
)

// Generate writes the migration for a clinic's patients table: forced
// row-level security, a RESTRICTIVE tenant policy evaluated once per
// statement, and patients limited to their own row.
func ExampleGenerate() {
	sql, err := rls.Generate(rls.Config{
		OwnerRole:    "clinic_owner",
		AppRole:      "clinic_app",
		PlatformRole: "clinic_platform",
	}, rls.Table{Name: "public.patients", SubjectColumn: "id"})
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
	// -- Tenant table public.patients, tenant column clinic_id.
	// ALTER TABLE public.patients OWNER TO clinic_owner;
	// REVOKE ALL ON TABLE public.patients FROM PUBLIC, clinic_app, clinic_platform;
	// GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.patients TO clinic_app;
	// ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY;
	// ALTER TABLE public.patients FORCE ROW LEVEL SECURITY;
	// DROP POLICY IF EXISTS tenancy_tenant ON public.patients;
	// DROP POLICY IF EXISTS tenancy_access ON public.patients;
	// DROP POLICY IF EXISTS tenancy_subject ON public.patients;
	// DROP POLICY IF EXISTS tenancy_read_roles ON public.patients;
	// DROP POLICY IF EXISTS tenancy_read_only_insert ON public.patients;
	// DROP POLICY IF EXISTS tenancy_read_only_update ON public.patients;
	// DROP POLICY IF EXISTS tenancy_read_only_delete ON public.patients;
	// CREATE POLICY tenancy_tenant ON public.patients AS RESTRICTIVE FOR ALL TO clinic_app
	//     USING (clinic_id = (SELECT tenancy.current_tenant_id()))
	//     WITH CHECK (clinic_id = (SELECT tenancy.current_tenant_id()));
	// CREATE POLICY tenancy_access ON public.patients AS PERMISSIVE FOR ALL TO clinic_app
	//     USING (clinic_id = (SELECT tenancy.current_tenant_id()))
	//     WITH CHECK (clinic_id = (SELECT tenancy.current_tenant_id()));
	// CREATE POLICY tenancy_subject ON public.patients AS RESTRICTIVE FOR ALL TO clinic_app
	//     USING ((SELECT tenancy.principal_kind()) <> 'patient' OR id = (SELECT tenancy.current_subject_id()))
	//     WITH CHECK ((SELECT tenancy.principal_kind()) <> 'patient' OR id = (SELECT tenancy.current_subject_id()));
}

// ParseSpec reads the JSON form that `tenancy rls generate --spec` takes.
func ExampleParseSpec() {
	spec, err := rls.ParseSpec(strings.NewReader(`{
		"app_role": "clinic_app",
		"tables": [
			{"name": "public.clinics", "kind": "registry"},
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
	// public.clinics registry [] []
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
