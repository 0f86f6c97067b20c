package tenantdb

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// Guard checks a statement before it is sent. sqlguard.Guard implements it.
// Check must be safe for concurrent use and return a non-nil error to
// refuse the statement, which is then not sent.
type Guard interface {
	Check(sql string, args []any, tenant tenancy.ID) error
}

// Config holds the choices [New] needs beyond the pool itself. Model is
// required; System work is unavailable unless System is set.
type Config struct {
	// Model is the isolation model of the database: which relations are
	// tenant relations (each with its own tenant column), registries or
	// private. Required. New checks the live catalog against it, and the
	// default guard reads it; nothing finds tenant tables by a column name
	// on its own.
	Model *rls.Model

	// Guard checks every tenant statement before it is sent. Nil means
	// [DefaultGuard] of Model.
	Guard Guard

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

	// UncheckedPolicies makes [New] accept tenant relations whose
	// policies for the app role are not the generated tenant policy
	// (findings rls.CodeNoPolicy and rls.CodeNoTenantPolicy of the
	// start-up check); the role check, ENABLE and FORCE, and the model's
	// match with the catalog are still required. It exists for benchmarks
	// that measure other policies through tenantdb (the dental app's
	// scale package); such a Pool isolates tenants only as well as those
	// policies do. Never set it in an application.
	UncheckedPolicies bool
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

const defaultRollbackTimeout = 5 * time.Second
