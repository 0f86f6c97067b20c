package rls_test

import (
	"fmt"
	"strings"

	"github.com/mydentalpractice/tenancy/rls"
)

// GenerateCitus writes the Citus section for a model with a registry of
// tenants, a private table and two tenant tables: the registry becomes a
// reference table, the tenant tables are distributed on their own tenant
// columns and co-located with the first, and the private table is left
// local.
func ExampleGenerateCitus() {
	sql, err := rls.GenerateCitus(rls.Config{},
		rls.Table{Name: "public.orgs", Kind: rls.Registry, ListsTenants: "id"},
		rls.Table{Name: "public.projects"},
		rls.Table{Name: "public.tasks", TenantColumn: "org_id"},
		rls.Table{Name: "auth.secrets", Kind: rls.Private},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print the calls, without the header and the database setting.
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "SELECT create_") {
			fmt.Println(line)
		}
	}
	// Output:
	// SELECT create_reference_table('public.orgs')
	// SELECT create_distributed_table('public.projects', 'tenant_id')
	// SELECT create_distributed_table('public.tasks', 'org_id', colocate_with => 'public.projects')
}
