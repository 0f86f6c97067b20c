// Package tenantsql gives database/sql the guarantees of package
// tenantdb, for every library that takes a *sql.DB (GORM, sqlx, ent, bun,
// and the code sqlc generates for database/sql): every statement runs in
// a transaction scoped to the tenant of the [tenancy.Principal] in its
// context, and passes the guard before it is sent.
//
// The scoping lives in a database/sql connector that wraps pgx's stdlib
// driver ([NewConnector]). [Open] checks the role and the schema as
// tenantdb.New does and returns an ordinary *sql.DB over it:
//
//	db, err := tenantsql.Open(ctx, connString, tenantsql.Config{Model: model, Sources: []tenancy.Source{jwtctx.Source()}}) // the app role
//	ctx = r.Context() // jwtctx's middleware put the verified principal there
//	rows, err := db.QueryContext(ctx, "select id, title from tasks where org_id = $1", principal.Tenant)
//
// Pass the request's context to every call: database/sql methods without
// a context (Query, Exec, Begin) use context.Background, which has no
// principal, and fail with an error wrapping [tenancy.ErrNoTenant].
//
// # Cost
//
// Outside a transaction, each statement is its own transaction, sent as
// package tenantdb sends one: the tenant context and the statement in one
// pipeline, which PostgreSQL runs as one implicit transaction: one round
// trip, as bare database/sql takes. The connector then decodes the rows
// into the values pgx's stdlib driver gives. Inside BeginTx the context is
// set once, with BEGIN, and statements go through pgx's stdlib driver.
//
// # Security
//
// The same as package tenantdb: no principal with a tenant means no
// network use and an error wrapping [tenancy.ErrNoTenant]; a principal
// from none of [Config.Sources] is refused (tenantdb.ErrUnverifiedPrincipal);
// [Open], and the connector for every connection it makes, refuse a role
// that row-level security would not bind (a superuser, BYPASSRLS, a
// table owner: tenantdb.ErrUnsafeRole); a statement the guard refuses is
// not sent; the context is set per transaction, never per session; a
// transaction left open is discarded with its connection, never reused.
// Inside a transaction, a statement whose context carries another tenant
// is refused ([ErrTenantChanged]). Named arguments are refused
// ([ErrNamedArgs]): the guard reads positional $n parameters.
package tenantsql
