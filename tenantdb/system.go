package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// inTenantSource is the authenticator of InTenant's principals. It is
// unexported, so no other code can mint them, and never in a pool's
// Sources: the context that InTenant hands its function works only through
// the Tx it comes with.
var inTenantSource = tenancy.NewAuthenticator(EntryInTenant)

// System runs fn in a transaction on the system pool ([Config.System]),
// for deliberate tenant-less work: migrations, reads of the tenant registry,
// jobs. It is the only way around the tenant scoping, so each use is
// recorded: [Config.OnSystem] runs first, in the same transaction, and its
// error aborts the work. The transaction commits when fn returns nil and
// rolls back otherwise (or on panic, which is re-raised).
//
// reason must say why, in words an auditor can read ([CheckReason]). The
// principal in ctx, if any (a platform admin), is passed to the hook and
// recorded as the actor; no principal is needed, but one must come from
// [Config.Sources] or from [Pool.InTenant], since the record names
// it ([ErrUnverifiedPrincipal] otherwise). Statements in fn are not checked
// by the guard: the system role's own privileges are the limit. fn cannot
// end the transaction: [SystemTx] has no Commit or Rollback and refuses
// statements that would end it ([ErrTxControl]), so the record commits
// exactly when the work does. System returns [ErrNoSystem] when no system
// pool was configured and [ErrNoReason] for a reason without visible text.
func (p *Pool) System(ctx context.Context, reason string, fn func(tx *SystemTx) error) error {
	if p.system == nil {
		return ErrNoSystem
	}
	use, err := p.use(ctx, EntrySystem, tenancy.ID{}, reason)
	if err != nil {
		return err
	}
	// System work is declared as kind system, with whoever asked for it as
	// subject and actor.
	declared := tenancy.Principal{Kind: tenancy.KindSystem, RequestID: use.Principal.RequestID}
	if use.HasPrincipal {
		declared.Subject = use.Principal.Actor()
	}
	principal, err := rls.EncodePrincipal(declared)
	if err != nil {
		return err
	}
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
	fail := func(err error) error {
		p.rollback(ctx, ptx)
		return err
	}
	if err := p.setSystemContext(ctx, ptx, "", principal); err != nil {
		return fail(fmt.Errorf("tenantdb: system context: %w", err))
	}
	if err := p.onSystem(ctx, ptx, use); err != nil {
		return fail(fmt.Errorf("tenantdb: recording system work: %w", err))
	}
	if err := fn(stx); err != nil {
		return fail(err)
	}
	stx.done = true
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := ptx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("%w: %w", ErrCommitRollback, err)
		}
		return fail(fmt.Errorf("tenantdb: system commit: %w", err))
	}
	return nil
}

// InTenant runs fn in a transaction scoped to tenant, for work in one
// named tenant that no verified principal asked for: setting up a new
// tenant, enrolling a customer by invite code, a job. The transaction is a
// [Tx] on the app role, like [Pool.Tx]'s, under the guard and row-level
// security; [Config.OnSystem] records the use first, in the same
// transaction (with [SystemUse.Tenant] set), and its error aborts the
// work.
//
// fn's ctx carries a principal of kind system with tenant as its tenant,
// the caller's actor (if ctx has a verified principal) as its subject, and
// [EntryInTenant] as its source ([tenancy.SourceFromContext]): audit
// records read it. That context works only through the Tx: the Pool's
// own methods refuse its principal ([ErrUnverifiedPrincipal]), so it
// cannot outlive the call.
//
// InTenant returns an error wrapping [tenancy.ErrNoTenant] for the zero
// tenant, [ErrNoReason] for a reason without visible text ([CheckReason]),
// [ErrNoRecorder] without an OnSystem hook, and [ErrUnverifiedPrincipal]
// when ctx holds a principal from none of [Config.Sources]; all before any
// network use. It commits and rolls back as [Pool.Tx] does. Another
// tenant's work is refused by the guard and by row-level security as
// usual: tenant is the only tenant fn reaches.
//
// Work across tenants goes through [Pool.EveryTenant].
func (p *Pool) InTenant(ctx context.Context, tenant tenancy.ID, reason string, fn func(ctx context.Context, tx *Tx) error) error {
	return p.inTenant(ctx, EntryInTenant, inTenantSource, tenant, reason, "", fn)
}

// inTenant is InTenant for entry, whose principals come from src, with
// run recorded in the SystemUse.
func (p *Pool) inTenant(ctx context.Context, entry string, src *tenancy.Authenticator, tenant tenancy.ID, reason, run string, fn func(ctx context.Context, tx *Tx) error) error {
	if tenant.IsZero() {
		return fmt.Errorf("%w: InTenant needs a tenant", tenancy.ErrNoTenant)
	}
	if p.onSystem == nil {
		return ErrNoRecorder
	}
	use, err := p.use(ctx, entry, tenant, reason)
	if err != nil {
		return err
	}
	use.Run = run
	pr := tenancy.Principal{Kind: tenancy.KindSystem, Tenant: tenant, RequestID: use.Principal.RequestID}
	if use.HasPrincipal {
		pr.Subject = use.Principal.Actor()
	}
	if err := p.principals.Check(pr); err != nil {
		return fmt.Errorf("tenantdb: %s: %w", entry, err)
	}
	wctx := src.NewContext(ctx, pr)
	return p.tx(wctx, pr, pgx.TxOptions{}, func(tx pgx.Tx) error { return p.onSystem(wctx, tx, use) }, fn)
}

// use checks reason and the principal in ctx, and returns the SystemUse
// that OnSystem records.
func (p *Pool) use(ctx context.Context, entry string, tenant tenancy.ID, reason string) (SystemUse, error) {
	if err := CheckReason(reason); err != nil {
		return SystemUse{}, err
	}
	use := SystemUse{Entry: entry, Tenant: tenant, Reason: reason, Time: time.Now().UTC()}
	use.Principal, use.HasPrincipal = tenancy.FromContext(ctx)
	if use.HasPrincipal {
		src, _ := tenancy.SourceFromContext(ctx)
		if !p.accepts(src) && src != inTenantSource.Source() {
			return SystemUse{}, fmt.Errorf("%w: the %s principal that would be recorded as the actor came from source %s", ErrUnverifiedPrincipal, use.Principal.Kind, src)
		}
	}
	return use, nil
}

func (p *Pool) accepts(src tenancy.Source) bool {
	for _, s := range p.sources {
		if s == src {
			return !src.IsZero()
		}
	}
	return false
}

// SystemTx is the transaction of [Pool.System], valid only inside its
// function. It runs statements as the system pool's role, unguarded, but
// cannot end the transaction: it has no Commit, Rollback or Conn, and its
// methods refuse, unsent, statements that would end it ([ErrTxControl]);
// savepoints are allowed. Rows and batch results hide the connection. A
// SystemTx is not safe for concurrent use; used after its function
// returned, its methods return [ErrTxDone].
type SystemTx struct {
	tx   pgx.Tx
	done bool
}

func (tx *SystemTx) check(sql string, args []any) error {
	if tx.done {
		return ErrTxDone
	}
	if err := unsupportedArg(args); err != nil {
		return err
	}
	return checkControl(sql)
}

// Exec runs a statement in the transaction.
func (tx *SystemTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return execChecked(ctx, tx.tx, tx.check, sql, args)
}

// Query runs a query in the transaction; close the rows before the next
// statement.
func (tx *SystemTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return queryChecked(ctx, tx.tx, tx.check, sql, args)
}

// QueryRow runs a query for at most one row; errors come from Scan.
func (tx *SystemTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := tx.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// SendBatch sends several statements in one round trip, as [Tx.SendBatch]
// does: if any is refused, nothing is sent and every result returns the
// refusal.
func (tx *SystemTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return sendChecked(ctx, tx.tx, tx.check, b)
}

// CopyFrom copies rows into table with the COPY protocol, as
// pgx.Tx.CopyFrom does, and returns the number of rows copied.
func (tx *SystemTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if tx.done {
		return 0, ErrTxDone
	}
	return tx.tx.CopyFrom(ctx, table, columns, src)
}
