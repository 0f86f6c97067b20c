package tenantsql

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Config holds the choices of [Open] and [NewConnector]. Model is
// required.
type Config struct {
	// Model is the isolation model of the database, as for
	// [tenantdb.Config.Model]. Required.
	Model *rls.Model

	// Guard checks every statement. Nil means tenantdb.DefaultGuard of
	// Model.
	Guard tenantdb.Guard

	// Sources lists the authenticators whose principals are accepted, as
	// [tenantdb.Config.Sources]; every other principal is refused with
	// tenantdb.ErrUnverifiedPrincipal before the network.
	Sources []tenancy.Source

	// MaxOpenConns limits database/sql's pool ([sql.DB.SetMaxOpenConns]).
	// Default 10.
	MaxOpenConns int
}

// Open connects as the application's role (connString), refuses the role
// if row-level security would not bind it (an error wrapping
// tenantdb.ErrUnsafeRole; every later connection is checked again by the
// connector) and a schema that does not isolate the model's tenant
// relations or disagrees with the model (tenantdb.ErrUnsafeSchema,
// tenantdb.ErrModelMismatch), exactly as tenantdb.New does, and returns a
// *sql.DB whose every statement runs in a tenant-scoped transaction and
// passes the guard: hand it to GORM (gorm.io/driver/postgres's
// postgres.New(postgres.Config{Conn: db})), sqlx, ent, or the code sqlc
// generates for database/sql. Close the returned DB when done.
func Open(ctx context.Context, connString string, cfg Config) (*sql.DB, error) {
	connConfig, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("tenantsql: %w", err)
	}
	if cfg.Model == nil {
		return nil, fmt.Errorf("%w: Config.Model is required", tenantdb.ErrInvalidConfig)
	}
	check, err := pgx.ConnectConfig(ctx, connConfig)
	if err != nil {
		return nil, fmt.Errorf("tenantsql: %w", err)
	}
	defer check.Close(ctx)
	if err := tenantdb.CheckRole(ctx, check, cfg.Model); err != nil {
		return nil, err
	}
	// The same start-up schema check as tenantdb.New: every tenant
	// relation of the model isolated, and the model matching the catalog.
	if err := tenantdb.CheckSchema(ctx, check, cfg.Model); err != nil {
		return nil, err
	}
	connector, err := NewConnector(connConfig, cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(cmp.Or(cfg.MaxOpenConns, 10))
	return db, nil
}
