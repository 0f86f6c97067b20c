package tenantdb

import "errors"

var (
	// ErrUnsafeRole is returned by [New] and [CheckRole] when the pool's
	// role could bypass row-level security or reach past it: it is (or
	// may become) a superuser, has (or may gain) BYPASSRLS, CREATEROLE or
	// REPLICATION, is a member of a predefined role that reaches outside
	// the database or across tenants, or owns (or has the privileges of
	// an owner of) a tenant table.
	ErrUnsafeRole = errors.New("tenantdb: the database role can bypass row-level security")

	// ErrUnsafeSchema is returned by [New] and [CheckSchema] when a tenant
	// relation of the model (or a partition or inheritance child of one)
	// lacks ENABLE or FORCE ROW LEVEL SECURITY, or a RESTRICTIVE tenant
	// policy that binds the app role.
	ErrUnsafeSchema = errors.New("tenantdb: a tenant relation is not isolated by row-level security")

	// ErrModelMismatch is returned by [New] and [CheckSchema] when the
	// isolation model and the live catalog disagree: a relation of the
	// model is missing, a tenant relation lacks its tenant or subject
	// column or cannot hold row-level security, or the pool connects as a
	// role other than the model's app role.
	ErrModelMismatch = errors.New("tenantdb: the isolation model does not match the database")

	// ErrTxDone is returned by the methods of a [Tx] used after its
	// function returned.
	ErrTxDone = errors.New("tenantdb: transaction already finished")

	// ErrCommitRollback is returned by [Pool.Tx] when COMMIT answered
	// ROLLBACK because the transaction had failed (for example a statement
	// error that fn ignored). Nothing was committed.
	ErrCommitRollback = errors.New("tenantdb: commit unexpectedly resulted in rollback")

	// ErrUnsupportedArg is returned when a statement's arguments start with
	// a pgx option (a QueryRewriter such as pgx.NamedArgs, an exec mode or
	// result formats): they would change the SQL or its execution after the
	// guard checked it.
	ErrUnsupportedArg = errors.New("tenantdb: pgx query options are not supported as arguments")

	// ErrNoSystem is returned by [Pool.System] when the pool was made without
	// a system pool.
	ErrNoSystem = errors.New("tenantdb: no system pool configured")

	// ErrNoReason is returned by [Pool.System] when the reason is empty.
	ErrNoReason = errors.New("tenantdb: system work needs a reason")

	// ErrInvalidConfig is returned by [New] for a malformed [Config].
	ErrInvalidConfig = errors.New("tenantdb: invalid config")
)
