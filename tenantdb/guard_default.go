package tenantdb

import "fmt"

// defaultGuard builds the guard used when Config.Guard is nil.
func defaultGuard(tables []string, tenantColumn string) (Guard, error) {
	return nil, fmt.Errorf("%w: Config.Guard is required until package sqlguard lands", ErrInvalidConfig)
}
