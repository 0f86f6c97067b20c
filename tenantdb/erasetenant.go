package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// EntryEraseTenant is the entry point's name ([SystemUse.Entry]) of
// [Pool.EraseTenant], and the name of the source of the principal its
// function gets.
const EntryEraseTenant = "tenantdb.EraseTenant"

// eraseTenantSource is the authenticator of EraseTenant's principals,
// unexported like InTenant's and never in a pool's Sources.
var eraseTenantSource = tenancy.NewAuthenticator(EntryEraseTenant)

// EraseTenant runs fn with a [TenantEraser] of tenant, for work that
// deletes all of a tenant in many short transactions: the erasure of a
// tenant that leaves the platform (package tenantarchive's Erase).
//
// It is an audited entry point: reason must say why ([CheckReason]), and
// [Config.OnSystem] records the use (with [SystemUse.Entry]
// [EntryEraseTenant] and [SystemUse.Tenant] set; package audit writes it
// to the tenant's own chain) in a transaction of its own that commits
// before fn runs: if the record fails, nothing is erased. Each call
// records once, so an erasure resumed after a crash shows each of its runs
// in the tenant's chain.
//
// fn works through the eraser, whose transactions are short and
// independent (each commits on its own, so other tenants' work and the
// tenant's own chain are never held for long):
//   - [TenantEraser.Tx], on the app role, under the guard and row-level
//     security, as a principal of kind system whose tenant is tenant,
//     holding every read role of the model's tenant relations (a DELETE
//     reads the rows it deletes, so staff-only tables must be visible):
//     a bug in fn can never delete another tenant's rows;
//   - [TenantEraser.Read], the same as one REPEATABLE READ, READ ONLY
//     transaction, for a census of the tenant's rows in one snapshot;
//   - [TenantEraser.System], on the system pool ([Config.System], the
//     platform role's), declared as system work with the tenant context,
//     unguarded, for the catalog, the audit log and the registry of
//     tenants.
//
// fn's ctx carries the principal, whose source is named EntryEraseTenant;
// the Pool's own methods refuse it. EraseTenant returns [ErrNoSystem]
// without a system pool, [ErrNoRecorder] without a recorder, and fails as
// [Pool.InTenant] does otherwise (before any network use for a zero
// tenant, a reason without visible text or an unverified principal in
// ctx). It returns fn's error.
func (p *Pool) EraseTenant(ctx context.Context, tenant tenancy.ID, reason string, fn func(ctx context.Context, e *TenantEraser) error) error {
	if tenant.IsZero() {
		return fmt.Errorf("%w: EraseTenant needs a tenant", tenancy.ErrNoTenant)
	}
	if p.system == nil {
		return ErrNoSystem
	}
	if p.onSystem == nil {
		return ErrNoRecorder
	}
	use, err := p.use(ctx, EntryEraseTenant, tenant, reason)
	if err != nil {
		return err
	}
	pr := tenancy.Principal{Kind: tenancy.KindSystem, Tenant: tenant, RequestID: use.Principal.RequestID, Roles: readRoles(p.model)}
	if use.HasPrincipal {
		pr.Subject = use.Principal.Actor()
	}
	if err := p.principals.Check(pr); err != nil {
		return fmt.Errorf("tenantdb: %s: %w", EntryEraseTenant, err)
	}
	principal, err := rls.EncodePrincipal(pr)
	if err != nil {
		return err
	}
	wctx := eraseTenantSource.NewContext(ctx, pr)
	if err := p.tx(wctx, pr, pgx.TxOptions{}, func(tx pgx.Tx) error { return p.onSystem(wctx, tx, use) },
		func(context.Context, *Tx) error { return nil }); err != nil {
		return err
	}
	e := &TenantEraser{pool: p, pr: pr, principal: principal}
	defer func() { e.done = true }()
	return fn(wctx, e)
}

// TenantEraser works on one tenant for [Pool.EraseTenant], valid only
// inside its function; used after it returned, its methods return
// [ErrTxDone]. Each method runs its own transaction, so it is safe for
// concurrent use.
type TenantEraser struct {
	pool      *Pool
	pr        tenancy.Principal
	principal string // pr, encoded
	done      bool
}

// Tenant returns the tenant being erased.
func (e *TenantEraser) Tenant() tenancy.ID { return e.pr.Tenant }

// Tx runs fn in a transaction of its own on the app role, as [Pool.Tx]
// does (under the guard and row-level security, committed when fn returns
// nil), as the eraser's principal: kind system, the tenant's, holding
// the model's read roles. fn's ctx carries that principal, for recorders
// such as package audit's Record.
func (e *TenantEraser) Tx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if e.done {
		return ErrTxDone
	}
	return e.pool.tx(eraseTenantSource.NewContext(ctx, e.pr), e.pr, pgx.TxOptions{}, nil, fn)
}

// Read is [TenantEraser.Tx] in one REPEATABLE READ, READ ONLY
// transaction: what fn reads is one snapshot, and nothing it runs can
// write.
func (e *TenantEraser) Read(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if e.done {
		return ErrTxDone
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return e.pool.tx(eraseTenantSource.NewContext(ctx, e.pr), e.pr, opts, nil, fn)
}

// System runs fn in a transaction of its own on the system pool
// ([Config.System]), with the tenant context set and declared as system
// work by the eraser's principal, unguarded (as [Pool.System]'s, the
// system role's own privileges are the limit): for the catalog, the audit
// log and the tenant's row of the registry of tenants. It commits when fn
// returns nil and rolls back otherwise. fn's ctx carries the eraser's
// principal.
func (e *TenantEraser) System(ctx context.Context, fn func(ctx context.Context, tx *SystemTx) error) error {
	if e.done {
		return ErrTxDone
	}
	p := e.pool
	ptx, err := p.system.Begin(ctx)
	if err != nil {
		return fmt.Errorf("tenantdb: system begin: %w", err)
	}
	stx := &SystemTx{tx: ptx}
	defer func() {
		stx.done = true
		if r := recover(); r != nil {
			p.rollback(ctx, ptx)
			panic(r)
		}
	}()
	if err := p.setSystemContext(ctx, ptx, e.pr.Tenant.String(), e.principal); err != nil {
		p.rollback(ctx, ptx)
		return fmt.Errorf("tenantdb: system context: %w", err)
	}
	if err := fn(eraseTenantSource.NewContext(ctx, e.pr), stx); err != nil {
		p.rollback(ctx, ptx)
		return err
	}
	stx.done = true
	if err := ctx.Err(); err != nil {
		p.rollback(ctx, ptx)
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		p.rollback(ctx, ptx)
		return fmt.Errorf("tenantdb: system commit: %w", err)
	}
	return nil
}
