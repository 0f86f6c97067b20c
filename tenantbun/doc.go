// Package tenantbun gives uptrace/bun the guarantees of package tenantdb:
// every query runs in a transaction scoped to the tenant of the
// [tenancy.Principal] in its context, and passes the guard before it is
// sent.
//
// bun's query hooks cannot stop a query, so the scoping lives one level
// down, in the database/sql connector of package tenantsql. [Open]
// returns an ordinary *bun.DB over it:
//
//	db, err := tenantbun.Open(ctx, connString, tenantbun.Config{Model: model, Sources: []tenancy.Source{jwtctx.Source()}}) // the app role
//	ctx = r.Context() // jwtctx's middleware put the verified principal there
//	err = db.NewSelect().Model(&tasks).Where("tenant_id = ?", principal.Tenant).Scan(ctx)
//	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { ... })
//
// Pass the request's context to every bun call: bun methods without a
// context use context.Background, which has no principal, and fail.
//
// # Cost
//
// Outside RunInTx, each query is its own transaction, sent with the
// tenant context in one round trip (package tenantsql). Inside RunInTx
// the context is set once, with BEGIN.
//
// # Security
//
// The same as package tenantdb: no principal with a tenant means no
// network use and an error wrapping [tenancy.ErrNoTenant]; [Open] refuses a
// role that row-level security would not bind; a statement the guard
// refuses is not sent; the context is set per transaction, never per
// session; a transaction left open is discarded with its connection, never
// reused. Inside a transaction, a statement whose context carries another
// tenant is refused ([ErrTenantChanged]).
//
// bun writes argument values into the SQL text (it does not use $n
// parameters), so the guard sees the tenant as a quoted literal. The
// default guard (package sqlguard) accepts a literal equal to the
// context's tenant where it accepts a parameter, and checks it again on
// every query: scope each query with Where("tenant_id = ?", tenant) (or
// WherePK on a key that leads with the tenant column) and set the tenant
// column of inserted models. A query without it, or with another tenant's
// value, is refused before it is sent with a *sqlguard.RefusalError.
package tenantbun
