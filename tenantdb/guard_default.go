package tenantdb

import (
	"fmt"

	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// DefaultGuard returns the guard [New] uses when [Config.Guard] is nil: a
// sqlguard.Guard in enforce mode over m. A model without tenant relations
// has nothing to guard, which is almost certainly a mistake (the wrong
// model), so it fails with an error wrapping [ErrInvalidConfig].
func DefaultGuard(m *rls.Model) (Guard, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: no model", ErrInvalidConfig)
	}
	if len(m.TenantRelations()) == 0 {
		return nil, fmt.Errorf("%w: the model has no tenant relations", ErrInvalidConfig)
	}
	g, err := sqlguard.New(sqlguard.Config{Model: m})
	if err != nil {
		return nil, fmt.Errorf("tenantdb: %w", err)
	}
	return g, nil
}
