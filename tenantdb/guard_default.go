package tenantdb

import (
	"fmt"

	"github.com/mydentalpractice/tenancy/sqlguard"
)

// DefaultGuard returns the guard [New] uses when [Config.Guard] is nil: a
// sqlguard.Guard in enforce mode over tables (as "schema.table") and
// tenantColumn. With no tenant tables there is nothing to guard, which is
// almost certainly a mistake (migrations not run, or the wrong database),
// so it fails.
func DefaultGuard(tables []string, tenantColumn string) (Guard, error) {
	if len(tables) == 0 {
		return nil, fmt.Errorf("%w: no table has the tenant column %q; run the migrations first, or connect to the right database",
			ErrInvalidConfig, tenantColumn)
	}
	g, err := sqlguard.New(sqlguard.Config{TenantTables: tables, TenantColumn: tenantColumn})
	if err != nil {
		return nil, fmt.Errorf("tenantdb: %w", err)
	}
	return g, nil
}
