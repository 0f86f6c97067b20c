package tenantbun

import (
	"context"
	"database/sql/driver"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/mydentalpractice/tenancy/tenantsql"
)

// Config holds the choices of [Open]: those of package tenantsql, on
// which this package is built. Model is required.
type Config = tenantsql.Config

// The errors of the connector, which package tenantsql defines.
var (
	// ErrTenantChanged is tenantsql.ErrTenantChanged.
	ErrTenantChanged = tenantsql.ErrTenantChanged
	// ErrNamedArgs is tenantsql.ErrNamedArgs.
	ErrNamedArgs = tenantsql.ErrNamedArgs
	// ErrNestedTx is tenantsql.ErrNestedTx.
	ErrNestedTx = tenantsql.ErrNestedTx
)

// Open is [tenantsql.Open] with bun on top: it checks the role and the
// schema as tenantdb.New does (tenantdb.ErrUnsafeRole,
// tenantdb.ErrUnsafeSchema, tenantdb.ErrModelMismatch) and returns a
// *bun.DB whose every query runs in a tenant-scoped transaction and
// passes the guard. Close the returned DB when done.
func Open(ctx context.Context, connString string, cfg Config) (*bun.DB, error) {
	db, err := tenantsql.Open(ctx, connString, cfg)
	if err != nil {
		return nil, err
	}
	return bun.NewDB(db, pgdialect.New()), nil
}

// NewConnector is [tenantsql.NewConnector]: the database/sql connector
// under [Open], for a *sql.DB of one's own.
func NewConnector(config *pgx.ConnConfig, cfg Config) (driver.Connector, error) {
	return tenantsql.NewConnector(config, cfg)
}
