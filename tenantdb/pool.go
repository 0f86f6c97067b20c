package tenantdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
)

// Pool runs tenant-scoped SQL over a pgxpool.Pool. Every statement runs in
// a transaction whose tenant context is set from the principal in ctx, and
// passes the guard before it is sent. A Pool is safe for concurrent use.
type Pool struct {
	pool            *pgxpool.Pool
	owned           bool // built by Open, closed by Close
	guard           Guard
	sources         []tenancy.Source
	system          *pgxpool.Pool
	onSystem        func(context.Context, pgx.Tx, SystemUse) error
	rollbackTimeout time.Duration
	model           *rls.Model
	principals      tenancy.Principals // the model's, read once
	share           Share
	shareFor        func(tenancy.ID) Share
	shares          shares
	observe         func(Event) // nil: nothing is measured
	replicas        *replicaSet // Config.Replicas; nil: none
	contextMode     ContextMode
}

// Querier is what store code needs: [Pool] (each call its own
// transaction), [Tx] and [PgxTx] implement it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ Querier = (*Pool)(nil)
	_ Querier = (*Tx)(nil)
)

// New checks the pool's role and the live catalog against cfg.Model, and
// returns a Pool. pool must be connected as the model's app role; New
// refuses it (an error wrapping [ErrUnsafeRole], see [CheckRole]) when
// that role, or any role it is a member of, could bypass or reach past
// row-level security, and refuses to start (errors wrapping
// [ErrModelMismatch] or [ErrUnsafeSchema], see [CheckSchema]) when the
// model and the catalog disagree or a tenant relation lacks ENABLE, FORCE
// or its tenant policy. New queries the catalog and needs no principal.
//
// The pool's exec mode matters behind pgbouncer in transaction pooling
// mode: see the package documentation.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Pool, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: nil pool", ErrInvalidConfig)
	}
	if cfg.Model == nil {
		return nil, fmt.Errorf("%w: Config.Model is required: build it with rls.NewModel from the same table specs as the migration", ErrInvalidConfig)
	}
	if slices.Contains(cfg.Sources, tenancy.Source{}) {
		return nil, fmt.Errorf("%w: Config.Sources holds the zero Source, which names no authenticator", ErrInvalidConfig)
	}
	if slices.Contains(cfg.Sources, inTenantSource.Source()) {
		// InTenant's principals are valid only through the Tx it hands
		// out; a Pool that accepted them would let its context outlive it.
		return nil, fmt.Errorf("%w: Config.Sources holds the source of InTenant's principals, which no Pool accepts", ErrInvalidConfig)
	}
	if cfg.System != nil && cfg.OnSystem == nil {
		return nil, fmt.Errorf("%w: a System pool needs an OnSystem hook, so that tenant-less work is recorded", ErrInvalidConfig)
	}
	if err := checkContextMode(cfg.ContextMode, pool.Config().ConnConfig.DefaultQueryExecMode); err != nil {
		return nil, err
	}
	if err := checkStartup(ctx, pool, cfg); err != nil {
		return nil, err
	}
	guard := cfg.Guard
	if guard == nil {
		var err error
		if guard, err = DefaultGuard(cfg.Model); err != nil {
			return nil, err
		}
	}
	p := &Pool{
		pool:            pool,
		model:           cfg.Model,
		principals:      cfg.Model.Principals(),
		guard:           guard,
		sources:         slices.Clone(cfg.Sources),
		system:          cfg.System,
		onSystem:        cfg.OnSystem,
		rollbackTimeout: cmp.Or(cfg.RollbackTimeout, defaultRollbackTimeout),
		share:           cfg.Share,
		shareFor:        cfg.ShareFor,
		observe:         cfg.Observe,
		contextMode:     cfg.ContextMode,
	}
	p.shares.observe = cfg.Observe
	rs, err := newReplicas(ctx, pool, cfg)
	if err != nil {
		return nil, err
	}
	p.replicas = rs
	return p, nil
}

// Model returns the isolation model the Pool was built with.
func (p *Pool) Model() *rls.Model { return p.model }

// Queryer is the one method the catalog checks need; *pgx.Conn,
// *pgxpool.Pool and pgx.Tx implement it.
type Queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// setContextSQL sets the tenant context for the current transaction only
// (is_local true), in one statement: the tenant and the packed principal
// that the helper functions of package rls read. Two settings, not one per
// field: each transaction-local setting costs the server a GUC stack entry.
//
// It also fails closed on a connection whose tenancy settings were set at
// session level (a SET outside a transaction, a role's or the connection
// string's defaults): its WHERE clause, evaluated before the settings are
// made, divides by zero when either setting already holds a value, so the
// statement fails with SQLSTATE 22012, the transaction aborts and nothing
// after it runs; tenantdb then closes the connection ([ErrSessionState]).
// A value left by an earlier transaction's local setting is gone (an empty
// string) once that transaction ends, so a clean connection always passes.
var setContextSQL = setContextList + sessionCheck

const setContextList = "select set_config('" + rls.SettingTenantID + "', $1, true), set_config('" + rls.SettingPrincipal + "', $2, true)"

// sessionCheck is setContextSQL's WHERE clause, which refuses a connection
// with session-level tenancy settings.
const sessionCheck = " where 1 / (case when coalesce(current_setting('" + rls.SettingTenantID + "', true), '') = ''" +
	" and coalesce(current_setting('" + rls.SettingPrincipal + "', true), '') = '' then 1 else 0 end) = 1"

// sqlStateSessionState is the SQLSTATE with which setContextSQL fails on a
// connection with session-level tenancy settings (division_by_zero).
const sqlStateSessionState = "22012"

// isSessionState reports whether err is the context statement's refusal
// of a connection with session-level tenancy settings. The context
// statement is the SDK's own: no other division by zero can come from it.
// IsSessionState reports whether err is the failure of the statement of
// [ContextSQL] on a connection whose tenancy settings were set at session
// level. An integration that runs that statement itself (another driver,
// a database/sql connector) must then close the connection, never reuse
// it, as [Pool] does, and report [ErrSessionState].
func IsSessionState(err error) bool { return isSessionState(err) }

func isSessionState(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlStateSessionState
}

// discard closes the pooled connection so that the pool destroys it on
// Release instead of handing it out again.
func discard(ctx context.Context, c *pgxpool.Conn, timeout time.Duration) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	_ = c.Conn().Close(cctx)
}

// contextErr is the error for a failed context statement on c, which it
// discards when the failure was session-level tenancy settings.
func (p *Pool) contextErr(ctx context.Context, c *pgxpool.Conn, err error) error {
	if isSessionState(err) {
		discard(ctx, c, p.rollbackTimeout)
		return ErrSessionState
	}
	return fmt.Errorf("tenantdb: setting the tenant context: %w", err)
}

// setContextTimeoutSQL also bounds every statement of the transaction by
// the time left before the context's deadline.
var setContextTimeoutSQL = setContextList + ", set_config('statement_timeout', $3, true)" + sessionCheck

// ContextSQL returns the statement that sets p's tenant context for the
// current transaction, and its arguments. The statement fails (SQLSTATE
// 22012) on a connection whose tenancy settings were set at session level,
// which must then be closed, never reused. When ctx has a deadline, the
// statement also sets statement_timeout, for this transaction only, to the
// time left (at least 1 ms), so a slow query stops at the server when the
// request gives up, and frees its connection. Run it first in every
// transaction of tenant work, as [Pool] does; it is exported for
// integrations with other drivers. It fails (wrapping
// [tenancy.ErrInvalidPrincipal]) for a role name that cannot be carried in
// the context.
func ContextSQL(ctx context.Context, p tenancy.Principal) (string, []any, error) {
	args, err := contextArgs(p)
	if err != nil {
		return "", nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return setContextSQL, args, nil
	}
	return withTimeout(args, time.Until(deadline))
}

// contextSQLWithin is [ContextSQL] for a statement timeout of d, whatever
// the context's deadline.
func contextSQLWithin(p tenancy.Principal, d time.Duration) (string, []any, error) {
	args, err := contextArgs(p)
	if err != nil {
		return "", nil, err
	}
	return withTimeout(args, d)
}

// withTimeout is the context statement that also sets statement_timeout to
// d (at least 1 ms), with its arguments.
func withTimeout(args []any, d time.Duration) (string, []any, error) {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return setContextTimeoutSQL, append(args, strconv.FormatInt(ms, 10)), nil
}

// contextArgs returns the arguments of setContextSQL for p.
func contextArgs(p tenancy.Principal) ([]any, error) {
	principal, err := rls.EncodePrincipal(p)
	if err != nil {
		return nil, err
	}
	return []any{p.Tenant.String(), principal}, nil
}

// prepare checks ctx's principal and the statement, in that order, before
// anything touches the network, and returns the batch to send: the context
// statement and the statement.
func (p *Pool) prepare(ctx context.Context, sql string, args []any) (stmtBatch, tenancy.ID, error) {
	pr, err := p.require(ctx)
	if err != nil {
		return stmtBatch{}, tenancy.ID{}, err
	}
	c, err := p.txContextOf(ctx, pr)
	if err != nil {
		return stmtBatch{}, tenancy.ID{}, err
	}
	if args, err = ReadArgs(args); err != nil {
		return stmtBatch{}, tenancy.ID{}, err
	}
	if err := p.check(sql, args, pr.Tenant); err != nil {
		return stmtBatch{}, tenancy.ID{}, err
	}
	return batchOf(c, sql, args), pr.Tenant, nil
}

// require returns the principal in ctx when it has a tenant, came from
// one of the pool's sources, and is one the model accepts (a declared
// kind, keys of the declared types).
func (p *Pool) require(ctx context.Context) (tenancy.Principal, error) {
	pr, _, err := tenancy.RequireFrom(ctx, p.sources)
	if errors.Is(err, tenancy.ErrUnverified) {
		return tenancy.Principal{}, fmt.Errorf("%w: %w", ErrUnverifiedPrincipal, err)
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	if err := p.principals.Check(pr); err != nil {
		return tenancy.Principal{}, fmt.Errorf("tenantdb: %w", err)
	}
	return pr, nil
}

func (p *Pool) check(sql string, args []any, tenant tenancy.ID) error {
	err := unsupportedArg(args)
	if err == nil {
		err = p.guard.Check(sql, args, tenant)
	}
	if err != nil && p.observe != nil && !tenant.IsZero() {
		p.observe(Event{Kind: EventRefused, Tenant: tenant, Err: err})
	}
	return err
}

// unsupportedArg refuses the pgx options that would change the SQL or how
// it is sent after the check ([ErrUnsupportedArg]).
func unsupportedArg(args []any) error {
	if len(args) > 0 {
		switch args[0].(type) {
		case pgx.QueryRewriter, pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			return ErrUnsupportedArg
		}
	}
	return nil
}

// Exec runs one statement in its own tenant-scoped transaction: the context
// and the statement go to the server in one round trip, and the transaction
// commits when the statement succeeds. It needs a principal with a tenant in
// ctx (else an error wrapping [tenancy.ErrNoTenant], before any network
// use) from one of [Config.Sources] (else [ErrUnverifiedPrincipal]), and
// returns the guard's error, unsent, for a refused statement.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	batch, tenant, err := p.prepare(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return p.exec(ctx, tenant, batch)
}

// exec sends batch (the context statement, then one statement) and returns
// the statement's tag.
func (p *Pool) exec(ctx context.Context, tenant tenancy.ID, batch stmtBatch) (pgconn.CommandTag, error) {
	conn, err := p.acquire(ctx, tenant, EventStatement, 1)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	br := conn.Conn().SendBatch(ctx, batch.b)
	if err := batch.c.read(br, batch.begun); err != nil {
		br.Close()
		return pgconn.CommandTag{}, p.contextErr(ctx, conn.pc, err)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs one query in its own tenant-scoped transaction, in one round
// trip with the context (see [Pool.Exec] for the requirements). The
// transaction ends, and the connection returns to the pool, when the rows
// are closed; always close them. Errors, including a refusal by the guard,
// are returned before any rows.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	batch, tenant, err := p.prepare(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	return p.query(ctx, tenant, batch)
}

// query sends batch (the context statement, then one query) and returns
// the query's rows, which release the connection when closed.
func (p *Pool) query(ctx context.Context, tenant tenancy.ID, batch stmtBatch) (pgx.Rows, error) {
	conn, err := p.acquire(ctx, tenant, EventStatement, 1)
	if err != nil {
		return nil, err
	}
	br := conn.Conn().SendBatch(ctx, batch.b)
	if err := batch.c.read(br, batch.begun); err != nil {
		br.Close()
		err = p.contextErr(ctx, conn.pc, err)
		conn.Release()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		conn.Release()
		return nil, err
	}
	return &batchRows{rows: rows, br: br, conn: conn}, nil
}

// QueryRow is [Pool.Query] for at most one row. Its errors are returned by
// the Row's Scan, which returns pgx.ErrNoRows when there is no row.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// batchRows closes the batch and releases the connection when the rows
// close, and hides the underlying connection.
type batchRows struct {
	rows     pgx.Rows // unexported: see hiddenConnRows
	br       pgx.BatchResults
	conn     lease // its pc is nil once the rows are closed
	closeErr error
}

func (r *batchRows) CommandTag() pgconn.CommandTag                { return r.rows.CommandTag() }
func (r *batchRows) FieldDescriptions() []pgconn.FieldDescription { return r.rows.FieldDescriptions() }
func (r *batchRows) Scan(dest ...any) error                       { return scanHidden(r, r.rows, dest) }
func (r *batchRows) Values() ([]any, error)                       { return r.rows.Values() }
func (r *batchRows) RawValues() [][]byte                          { return r.rows.RawValues() }
func (r *batchRows) TypeMap() *pgtype.Map                         { return r.rows.TypeMap() }

func (r *batchRows) Next() bool {
	if r.rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.conn.pc == nil {
		return
	}
	r.rows.Close()
	r.closeErr = r.br.Close()
	r.conn.Release()
	r.conn.pc = nil
}

func (r *batchRows) Err() error {
	if err := r.rows.Err(); err != nil {
		return err
	}
	return r.closeErr
}

// Conn returns nil: the connection belongs to the Pool, and statements sent
// on it directly would escape the guard and the tenant context.
func (r *batchRows) Conn() *pgx.Conn { return nil }

// row implements pgx.Row over rows (or an early error).
type row struct {
	rows pgx.Rows
	err  error
}

func (r *row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
