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

	// ErrNoReason is returned by [Pool.System] and [Pool.InTenant] (and
	// [CheckReason]) when the reason holds no visible text: empty, only
	// spaces, or only invisible characters such as U+200B or a soft hyphen.
	ErrNoReason = errors.New("tenantdb: the work needs a reason in visible text")

	// ErrNoRecorder is returned by [Pool.InTenant] when the pool has no
	// [Config.OnSystem] hook to record the work.
	ErrNoRecorder = errors.New("tenantdb: no OnSystem hook configured to record the work")

	// ErrUnverifiedPrincipal is returned, before any network use, when the
	// principal in the context came from none of [Config.Sources]: built
	// by hand with tenancy.NewContext, or verified by an authenticator the
	// pool was not given. It also wraps [tenancy.ErrUnverified].
	ErrUnverifiedPrincipal = errors.New("tenantdb: principal from no accepted source (tenancy.NewContext principals are refused; register the authenticator in Config.Sources, or use Pool.InTenant or Pool.System)")

	// ErrSessionState is returned when the connection the pool handed out
	// carries tenancy settings (tenancy.tenant_id, tenancy.principal) set
	// at session level, by a SET outside a transaction or a role's or the
	// connection string's defaults. The connection is closed, never used
	// again, and nothing of the statement is returned.
	ErrSessionState = errors.New("tenantdb: the connection carries tenancy settings set at session level; it was closed")

	// ErrNotStandby is returned by [New] for a replica pool
	// ([Config.Replicas]) that is not a hot standby of the primary's
	// database: not in recovery, a copy of another cluster, or connected
	// to another database.
	ErrNotStandby = errors.New("tenantdb: a replica is not a hot standby of the primary")

	// ErrTxControl is returned, unsent, for a statement that would end the
	// transaction it is given (COMMIT, ROLLBACK, BEGIN, END, ABORT,
	// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED) by the
	// methods of [Tx] and [SystemTx], and by Commit and Rollback of the
	// outermost [PgxTx]: the function that works in a transaction does
	// not decide its end. Savepoints are allowed.
	ErrTxControl = errors.New("tenantdb: statements that end the transaction are refused")

	// ErrNotPreAuth is returned, unsent, by [PreAuth] for a function that
	// is not one of the model's pre-auth functions (rls.Config.PreAuth).
	ErrNotPreAuth = errors.New("tenantdb: not a pre-auth function of the model")

	// ErrTxOptions is returned by [Pool.TxWith], before any network use,
	// for transaction options it does not accept: an isolation level,
	// access mode or deferrable mode other than pgx's named ones, or a
	// BeginQuery or CommitQuery (SQL text that would start or end the
	// transaction without the guard).
	ErrTxOptions = errors.New("tenantdb: unsupported transaction options")

	// ErrCopyFrom is returned by the CopyFrom methods ([Pool.CopyFrom],
	// [Tx.CopyFrom], [PgxTx.CopyFrom]), before the rows concerned are
	// sent, for a bulk insert they refuse: a table that is not a tenant
	// table of the model, a column list without its tenant column or
	// with a column twice, or a row with another number of values. A row
	// whose tenant is not the transaction's is refused by the guard.
	ErrCopyFrom = errors.New("tenantdb: bulk insert refused")

	// ErrNotSupported is returned by [PgxTx.Prepare]: pgx runs a prepared
	// statement when its name is given as the SQL of a later statement,
	// so the guard would check the name, not the statement.
	ErrNotSupported = errors.New("tenantdb: not supported in a tenant transaction")

	// ErrInvalidConfig is returned by [New] for a malformed [Config].
	ErrInvalidConfig = errors.New("tenantdb: invalid config")
)
