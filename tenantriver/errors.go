package tenantriver

import "errors"

var (
	// ErrInvalidConfig is returned by [New] for a malformed [Config], and
	// by [Schema] for a model it cannot write River's tenant column for.
	ErrInvalidConfig = errors.New("tenantriver: invalid config")

	// ErrNoPrincipal is the error a job is cancelled with when it carries
	// no sealed principal at [MetadataKey]: it was inserted some other way
	// than [Jobs.Insert] (a plain River insert, River's periodic jobs).
	ErrNoPrincipal = errors.New("tenantriver: the job carries no principal sealed by the SDK")

	// ErrForged is the error a job is cancelled with when its sealed
	// principal does not verify: the MAC does not match the job's id,
	// kind, args and principal under any of [Config]'s keys (metadata
	// written by hand, copied from another job, or args changed after the
	// insert), or the principal is not one the model accepts.
	ErrForged = errors.New("tenantriver: the job's sealed principal does not verify")

	// ErrNotTenantTx is returned by [Jobs.Insert] for a transaction that is
	// not a [tenantdb.Tx] in progress.
	//
	// [tenantdb.Tx]: https://pkg.go.dev/github.com/mydentalpractice/tenancy/tenantdb#Tx
	ErrNotTenantTx = errors.New("tenantriver: not a tenant transaction in progress")

	// ErrModel is returned by [Jobs.Insert] when the transaction's isolation
	// model does not classify River's job table as a tenant relation with
	// [TenantColumn] (build the model with [Tables]).
	ErrModel = errors.New("tenantriver: the isolation model does not hold River's tables (add tenantriver.Tables to it)")

	// ErrNotInstalled is returned by [Jobs.Insert] when the River client
	// does not run the Jobs' middleware ([Jobs.Middleware] in
	// river.Config.Middleware), so nothing sealed the job; the database
	// refused the insert.
	ErrNotInstalled = errors.New("tenantriver: the River client does not run the middleware of these Jobs")

	// ErrRefused is returned by [Jobs.Insert], before any network use, for
	// a job it does not enqueue: a unique job (River's unique index spans
	// every tenant, so a conflict would tell one tenant of another's job),
	// metadata that already holds [MetadataKey], or a principal that is an
	// impersonation (grants end; a job would outlive its grant).
	ErrRefused = errors.New("tenantriver: job refused")
)

// ErrPanicked is wrapped by [Run.Err] when the job's worker panicked;
// River recovers the panic and retries the job as it does any panic.
var ErrPanicked = errors.New("tenantriver: the worker panicked")
