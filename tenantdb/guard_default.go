package tenantdb

import "fmt"

// DefaultGuard returns the guard [New] uses when [Config.Guard] is nil: a
// sqlguard.Guard over tables (as "schema.table") and tenantColumn.
func DefaultGuard(tables []string, tenantColumn string) (Guard, error) {
	return nil, fmt.Errorf("%w: Config.Guard is required until package sqlguard lands", ErrInvalidConfig)
}
