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

// Config holds the choices [New] and [Open] need beyond the pool itself.
// Model is required; System work is unavailable unless System is set, and
// work in a named tenant unless OnSystem is set.
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

	// Sources lists the authenticators whose principals the Pool accepts:
	// jwtctx.Source() for the SDK's token middleware, and the Source of
	// each [tenancy.Authenticator] the application verifies API keys or
	// client certificates with. Every other principal is refused before
	// the network ([ErrUnverifiedPrincipal]), in particular one built by
	// hand with tenancy.NewContext. Empty means none: only [Pool.System],
	// [Pool.InTenant] and [PreAuth] work. Tests register
	// tenancytest.Source().
	Sources []tenancy.Source

	// System is a pool connected as a separate role (the owner role for
	// migrations, the platform role for registry reads) for deliberate
	// tenant-less work through [Pool.System]. Nil disables System.
	System *pgxpool.Pool

	// OnSystem records each use of [Pool.System] and [Pool.InTenant]
	// inside its transaction, before the work runs; audit.OnSystem
	// implements it. Required when System is set: work without a verified
	// principal is never unrecorded. An error aborts the work. For System,
	// tx is the system pool's transaction; for InTenant, the app role's
	// transaction with use.Tenant's context set. The hook is trusted code
	// given at start-up: tx is the raw transaction, which the work itself
	// never sees.
	OnSystem func(ctx context.Context, tx pgx.Tx, use SystemUse) error

	// Share is what one tenant's work may hold of the pool at once (its
	// connections, how long work beyond that waits, a statement timeout),
	// so that one tenant's load cannot take the pool from the others. The
	// zero Share is no limit.
	Share Share

	// ShareFor, when set, gives the Share of each tenant (a larger one for
	// a tenant on a larger plan), in place of Share. It is called for every
	// piece of work and must be fast and safe for concurrent use.
	ShareFor func(tenant tenancy.ID) Share

	// Observe, when set, is told of each tenant's work as it ends: its
	// statements and the time it held a connection, the guard's refusals,
	// and waits for a share ([Event]); tenancyotel.Metrics.Observe records
	// them as per-tenant metrics. Nil means nothing is measured, at no cost
	// to any statement. It is called on the path of every statement, from
	// many goroutines at once, so it must be fast, safe for concurrent use,
	// and must not block or keep the Event's Err. It is trusted code given
	// at start-up.
	Observe func(Event)

	// Replicas routes read-only work to hot standbys of the database
	// ([Replicas]). The zero Replicas sends everything to pool.
	Replicas Replicas

	// ContextMode is how each transaction's tenant context is set: the
	// default [ContextSetConfig] (one set_config statement), or
	// [ContextSetLocal] (SET LOCAL statements in an explicit transaction,
	// which Citus propagates to its workers; it needs pgx's exec or
	// simple_protocol mode on the pool). The guard, the role and schema
	// checks and every entry point are the same in both.
	ContextMode ContextMode

	// RollbackTimeout bounds the ROLLBACK sent after a failure, a panic or
	// a cancelled context. Default 5s; past it the connection is closed,
	// which rolls back too.
	RollbackTimeout time.Duration

	// UncheckedPolicies makes [New] accept tenant relations whose
	// policies for the app role are not the generated tenant policy
	// (findings rls.CodeNoPolicy, rls.CodeNoTenantPolicy and rls.CodeKindPolicy of the
	// start-up check); the role check, ENABLE and FORCE, and the model's
	// match with the catalog are still required. It exists for benchmarks
	// that measure other policies through tenantdb (the reference app's
	// scale package); such a Pool isolates tenants only as well as those
	// policies do. Never set it in an application.
	UncheckedPolicies bool
}

// SystemUse describes one use of [Pool.System] or [Pool.InTenant] for
// [Config.OnSystem].
type SystemUse struct {
	// Entry is the entry point's name: [EntrySystem], [EntryInTenant],
	// [EntryEveryTenant], [EntryReadTenant] or [EntryEraseTenant].
	Entry string
	// Tenant is the tenant InTenant works in; zero for System, whose work
	// is tenant-less.
	Tenant tenancy.ID
	// Reason is the caller's stated reason, such as "migrate" or
	// "list tenants for the admin console". It holds visible text
	// ([CheckReason]).
	Reason string
	// Principal is the verified principal in the context, if any (a
	// platform admin reading the registry), who is recorded as the actor;
	// HasPrincipal says whether there was one.
	Principal    tenancy.Principal
	HasPrincipal bool
	// Time is when the work started (UTC).
	Time time.Time
	// Run is the name of the [Pool.EveryTenant] run this tenant's work
	// belongs to ([EveryTenantConfig.Run]); empty for the other entry
	// points. Recorders keep it, so a resumed run knows what committed.
	Run string
}

// The entry points' names: [SystemUse.Entry], and the name of the source
// ([tenancy.SourceFromContext]) of the principal that InTenant hands its
// function.
const (
	EntrySystem   = "tenantdb.System"
	EntryInTenant = "tenantdb.InTenant"
)

const defaultRollbackTimeout = 5 * time.Second
