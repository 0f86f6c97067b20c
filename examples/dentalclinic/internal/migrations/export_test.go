package migrations

import (
	"context"
	"fmt"

	"github.com/mydentalpractice/tenancy/rls"
)

// ModelBefore19 is the isolation model of a database that migration 18
// left: no reminders' outbox, no River.
func ModelBefore19(roles Roles) (*rls.Model, error) {
	return model(roles, tablesAt(18), 18)
}

// UpTo runs the pending migrations up to and including version, as Up
// does: a test's way to a database as an earlier version left it.
func UpTo(ctx context.Context, conns Conns, roles Roles, version int64) error {
	p, closeDBs, err := open(conns, roles)
	if err != nil {
		return err
	}
	defer closeDBs()
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}
