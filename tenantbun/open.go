package tenantbun

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Config holds the choices of [Open]. The zero Config is valid.
type Config struct {
	// Guard checks every statement. Nil means tenantdb.DefaultGuard over
	// the tenant tables found in the catalog.
	Guard tenantdb.Guard

	// TenantColumn is the tenant column. Default "clinic_id".
	TenantColumn string

	// MaxOpenConns limits database/sql's pool. Default 10.
	MaxOpenConns int
}

// Open connects as the application's role (connString), refuses the role
// if row-level security would not bind it (an error wrapping
// tenantdb.ErrUnsafeRole), and returns a *bun.DB whose every query runs in
// a tenant-scoped transaction and passes the guard. Close the returned DB
// when done.
func Open(ctx context.Context, connString string, cfg Config) (*bun.DB, error) {
	connConfig, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("tenantbun: %w", err)
	}
	col := cmp.Or(cfg.TenantColumn, "clinic_id")
	check, err := pgx.ConnectConfig(ctx, connConfig)
	if err != nil {
		return nil, fmt.Errorf("tenantbun: %w", err)
	}
	defer check.Close(ctx)
	if err := tenantdb.CheckRole(ctx, check, col); err != nil {
		return nil, err
	}
	guard := cfg.Guard
	if guard == nil {
		tables, err := tenantdb.FindTenantTables(ctx, check, col)
		if err != nil {
			return nil, err
		}
		if guard, err = tenantdb.DefaultGuard(tables, col); err != nil {
			return nil, err
		}
	}
	sqldb := sql.OpenDB(NewConnector(connConfig, guard))
	sqldb.SetMaxOpenConns(cmp.Or(cfg.MaxOpenConns, 10))
	return bun.NewDB(sqldb, pgdialect.New()), nil
}
