package tenantdb

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
)

// Guard checks a statement before it is sent. sqlguard.Guard implements it.
// Check must be safe for concurrent use and return a non-nil error to
// refuse the statement, which is then not sent.
type Guard interface {
	Check(sql string, args []any, tenant tenancy.ID) error
}

// Config holds the choices [New] needs beyond the pool itself. The zero
// Config is valid: the guard is built from the catalog, and System work is
// unavailable.
type Config struct {
	// Guard checks every tenant statement before it is sent. Nil means a
	// sqlguard.Guard over the tenant tables found in the catalog by [New]:
	// every table, view, materialized view or foreign table with the tenant
	// column, outside the system schemas.
	Guard Guard

	// TenantColumn is the tenant column, used to find tenant tables for the
	// role self-check and the default guard. Default "clinic_id".
	TenantColumn string

	// System is a pool connected as a separate role (the owner role for
	// migrations, the platform role for registry reads) for deliberate
	// tenant-less work through [Pool.System]. Nil disables System.
	System *pgxpool.Pool

	// OnSystem records each use of [Pool.System] inside its transaction,
	// before the work runs; the audit package implements it. Required when
	// System is set: tenant-less work is never unrecorded. An error aborts
	// the work.
	OnSystem func(ctx context.Context, tx pgx.Tx, use SystemUse) error

	// RollbackTimeout bounds the ROLLBACK sent after a failure, a panic or
	// a cancelled context. Default 5s; past it the connection is closed,
	// which rolls back too.
	RollbackTimeout time.Duration
}

// SystemUse describes one use of [Pool.System] for [Config.OnSystem].
type SystemUse struct {
	// Reason is the caller's stated reason, such as "migrate" or
	// "list clinics for the admin console".
	Reason string
	// Principal is the principal in the context, if any (a platform admin
	// reading the registry); HasPrincipal says whether there was one.
	Principal    tenancy.Principal
	HasPrincipal bool
	// Time is when the work started (UTC).
	Time time.Time
}

const (
	defaultTenantColumn    = "clinic_id"
	defaultRollbackTimeout = 5 * time.Second
)
