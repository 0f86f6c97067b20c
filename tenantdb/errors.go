package tenantdb

import "errors"

var (
	// ErrUnsafeRole is returned by [New] when the pool's role could bypass
	// row-level security: it is (or may become) a superuser, has (or may
	// gain) BYPASSRLS, or owns (or has the privileges of an owner of) a
	// tenant table.
	ErrUnsafeRole = errors.New("tenantdb: the database role can bypass row-level security")

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
