package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
)

// Querier runs a query: *tenantdb.Tx, *tenantdb.Pool, pgx.Tx,
// *pgxpool.Pool and *pgx.Conn implement it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// List returns up to limit events of tenant's chain with a seq above
// after, in seq order: the page of a tenant's audit log that its readers
// see. Row-level security decides what it sees: through the app role only
// a staff principal holding one of the reader roles ([Config.ReaderRoles])
// reads the tenant's events (others get none, without an error); through
// the platform role, everything. limit is capped at 1000; limit <= 0
// means 100. It needs the tenant to be
// non-zero, returns the database's errors wrapped, and is safe for
// concurrent use as far as db is.
func List(ctx context.Context, db Querier, tenant tenancy.ID, after int64, limit int) ([]Event, error) {
	if tenant.IsZero() {
		return nil, fmt.Errorf("audit: listing events: %w", tenancy.ErrNoTenant)
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := db.Query(ctx, `SELECT `+eventColumns+` FROM audit.events
		WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: listing events: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("audit: listing events: %w", err)
	}
	return events, nil
}
