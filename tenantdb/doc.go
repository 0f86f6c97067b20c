// Package tenantdb gives application code a PostgreSQL handle on which
// unscoped work is impossible. It wraps a [pgxpool.Pool] connected as the
// application's role: every statement runs in a transaction whose tenant
// context is set from the [tenancy.Principal] in the context, and passes a
// [Guard] (package sqlguard) before it is sent.
//
// # Use
//
//	model, err := rls.NewModel(cfg, tables...)         // the same specs as the migration
//	db, err := tenantdb.Open(ctx, connString, tenantdb.Config{ // as the app role; db owns the pool
//		Model:   model,
//		Sources: []tenancy.Source{jwtctx.Source()}, // whose principals are accepted
//	})
//	...
//	// ctx carries the principal that jwtctx's middleware verified
//	rows, err := db.Query(ctx, "select id, title from tasks where tenant_id = $1", principal.Tenant)
//	err = db.Tx(ctx, func(tx *tenantdb.Tx) error { ... })
//	rows, err = db.PreAuth().Query(ctx, "auth.staff_accounts", email) // sign-in, before any tenant
//
// [Pool.Query], [Pool.QueryRow] and [Pool.Exec] run one statement each in
// its own transaction; [Pool.Tx] runs a function in one. Store code can
// accept a [Querier] and work with either. [New] takes a pool the caller
// built instead of [Open]; the caller must then keep it to itself.
//
// # The pgx surface
//
// Generated and library code gets the pgx methods it calls, each under the
// guard and the tenant context: [Pool.SendBatch] and [Tx.SendBatch] (every
// statement checked, nothing sent on a refusal), [Pool.CopyFrom] and
// [Tx.CopyFrom] (pgx's signature; guarded multi-row INSERTs, since
// PostgreSQL refuses COPY FROM under row-level security), [Pool.TxWith]
// (isolation level, read-only, deferrable), and [Tx.Pgx], a guarded
// pgx.Tx view of a tenant transaction for libraries that take a pgx.Tx,
// whose Begin is a savepoint. sqlc's pgx/v5 output, :copyfrom and :batch*
// queries included, runs on [Pool], [Tx] and [PgxTx] unchanged.
//
// # Who may act
//
// A principal reaches the database in three ways only: verified by an
// authenticator listed in [Config.Sources] (jwtctx's middleware, or the
// application's own [tenancy.Authenticator] for API keys or client
// certificates); minted by an audited entry point that takes a reason,
// [Pool.System] (tenant-less work on the system pool), [Pool.InTenant]
// (work in one named tenant) or [Pool.EveryTenant] (work in each tenant in
// turn, resumable), each recorded by [Config.OnSystem] in the same
// transaction as the work, or [Pool.ReadTenant] and [Pool.EraseTenant]
// (one snapshot of a tenant, and the short transactions that delete
// one), each recorded in a transaction of its own before the work; or not at all, through the [PreAuth] handle,
// which calls only the model's pre-auth functions. A principal built with
// tenancy.NewContext is refused ([ErrUnverifiedPrincipal]).
//
// # How the context is set
//
// The tenant context is set with one parameterised statement,
//
//	select set_config('tenancy.tenant_id', $1, true), set_config('tenancy.principal', $2, true)
//
// local to the transaction (is_local true), never with a session-level
// SET. It carries the tenant, the subject, the actor (the impersonating
// admin, if any), the principal kind, the roles, the request id and the
// impersonation grant; the helper functions that package rls generates read
// them. The statement is pipelined: a one-statement call sends it and the
// statement together (a pgx batch, one implicit transaction, one round
// trip); [Pool.Tx] sends BEGIN and it together. So the context costs no
// round trip, and it dies with the transaction: a pooled connection, or a
// pgbouncer server connection, carries nothing into the next use.
//
// # Read replicas
//
// [Config.Replicas] gives the Pool hot standbys of its database. Read-only
// transactions ([Pool.TxWith] with pgx.ReadOnly) and the one-statement
// reads of [Pool.ReadOnly] go to a replica that is up and at most
// [Replicas.MaxLag] behind (measured in WAL, in the background), with the
// same checks, guard and context statement as on the primary; all other
// work, and reads when no replica qualifies, go to the primary.
// [ReadYourWrites] makes a request's reads see its own writes.
//
// # pgbouncer and the exec mode
//
// Behind pgbouncer in transaction pooling mode use pgx's
// QueryExecModeExec, for example by adding default_query_exec_mode=exec to
// the connection string. pgx's default mode (cache_statement) prepares
// named statements on a server connection, and pgbouncer (before 1.21, and
// after it unless max_prepared_statements is set) may run the next
// transaction of that client on another server connection, where the
// statement does not exist. The exec mode uses the unnamed statement, sends
// parameters as text with types inferred from their Go types, and still
// runs each statement in one round trip. cache_describe also works; it
// caches result descriptions per client connection and breaks when the
// schema changes under it. Direct connections keep the default, which
// prepares each statement once and is the fastest.
//
// # Security
//
//   - No principal, or one without a tenant: every method returns an error
//     wrapping [tenancy.ErrNoTenant] before touching the network. A platform
//     admin has no tenant until impersonating.
//   - [New] refuses a role that row-level security would not bind, or
//     that reaches past it: a superuser, a role with BYPASSRLS, CREATEROLE
//     or REPLICATION, a predefined role such as pg_execute_server_program
//     or pg_read_all_data, the owner of a tenant table, or a member of any
//     of these ([ErrUnsafeRole]). It refuses to start when a tenant
//     relation of the model lacks ENABLE, FORCE or its tenant policy
//     ([ErrUnsafeSchema]), or when the model and the catalog disagree
//     ([ErrModelMismatch]). Both checks are the rules of rls.Check.
//   - [New] runs the same role and catalog checks on every replica of
//     [Config.Replicas], and refuses one that is not a hot standby of the
//     primary ([ErrNotStandby]). Work is routed by its declared access
//     mode only; one-statement reads of [Pool.ReadOnly] cannot write,
//     wherever they run.
//   - Every statement passes the guard first; a refused statement is not
//     sent. pgx options that would rewrite a statement after the guard saw
//     it (pgx.NamedArgs and other QueryRewriters, exec modes) are refused
//     ([ErrUnsupportedArg]).
//   - A principal from none of [Config.Sources] is refused before the
//     network ([ErrUnverifiedPrincipal]).
//   - A connection whose tenancy settings were set at session level is
//     refused and closed at its next use ([ErrSessionState]); the context
//     statement itself fails closed.
//   - Rows, batch results, the rows and results that batch callbacks get,
//     and errors do not lead to the underlying connection (Conn and Tx
//     are nil); a test walks every method's results to prove it. The one
//     exception is the SDK's own: package tenantriver reaches a Tx's raw
//     transaction, and the principal it was begun with, through an
//     internal package, for River's job insert, which row-level security
//     on River's job table fences; no application can import it.
//   - Work given a transaction cannot end it: [Tx] and [SystemTx] refuse
//     COMMIT, ROLLBACK, BEGIN, END, ABORT and two-phase commands unsent
//     ([ErrTxControl]); savepoints are allowed. [PgxTx] refuses Commit and
//     Rollback of the tenant transaction, and Prepare ([ErrNotSupported]).
//   - A bulk insert writes only to tenant tables of the model, only with
//     the tenant column among its columns ([ErrCopyFrom]), and each row's
//     tenant passes the guard; it is all or nothing.
//   - A transaction rolls back on error, panic (re-raised afterwards) or a
//     cancelled context, and a COMMIT that fails or answers ROLLBACK is an
//     error. A connection still inside a transaction is discarded by the
//     pool, never reused.
//   - [Pool.System] is the only tenant-less path: a separate pool and role,
//     a reason in visible text ([CheckReason]), and a hook that records
//     every use in the same transaction; [Pool.InTenant] is the same for
//     work in one named tenant, on the app role under the guard and RLS.
//
// The guard is a second line beside row-level security, not a
// replacement: it cannot see inside views or functions, and RLS covers
// those. See docs/tenantdb.md.
package tenantdb
