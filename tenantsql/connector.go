package tenantsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// NewConnector returns a database/sql connector over pgx's stdlib driver
// whose connections scope every statement to the context's tenant, accept
// only principals from cfg.Sources, and check every statement with
// cfg.Guard (tenantdb.DefaultGuard of cfg.Model when nil). Every new
// connection passes tenantdb.CheckRole before its first use: a role that
// row-level security would not bind (a superuser, BYPASSRLS, a table
// owner) fails the connection with an error wrapping
// tenantdb.ErrUnsafeRole, so database/sql hands out none of its
// connections. NewConnector fails with an error wrapping
// tenantdb.ErrInvalidConfig without a model. The connector is safe for
// concurrent use.
func NewConnector(config *pgx.ConnConfig, cfg Config) (driver.Connector, error) {
	if cfg.Model == nil {
		return nil, fmt.Errorf("%w: Config.Model is required", tenantdb.ErrInvalidConfig)
	}
	guard := cfg.Guard
	if guard == nil {
		var err error
		if guard, err = tenantdb.DefaultGuard(cfg.Model); err != nil {
			return nil, err
		}
	}
	return &connector{inner: stdlib.GetConnector(*config), cfg: cfg, guard: guard, principals: cfg.Model.Principals()}, nil
}

type connector struct {
	inner      driver.Connector
	cfg        Config
	guard      tenantdb.Guard
	principals tenancy.Principals // the model's, read once
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("tenantsql: pgx stdlib returned %T, not *stdlib.Conn", dc)
	}
	if err := tenantdb.CheckRole(ctx, sc.Conn(), c.cfg.Model); err != nil {
		sc.Close()
		return nil, err
	}
	return &conn{inner: sc, pgx: sc.Conn(), guard: c.guard, sources: c.cfg.Sources, principals: c.principals}, nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

// conn is one database/sql connection; database/sql uses it from one
// goroutine at a time.
type conn struct {
	inner      *stdlib.Conn
	pgx        *pgx.Conn
	guard      tenantdb.Guard
	sources    []tenancy.Source
	principals tenancy.Principals
	tx         *tx // the open transaction, if any
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

const rollbackTimeout = 5 * time.Second

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns a statement that is checked and scoped at each
// execution, like any other; nothing is prepared on the server.
func (c *conn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &stmt{conn: c, query: query}, nil
}

func (c *conn) Close() error { return c.inner.Close() }

func (c *conn) Ping(ctx context.Context) error { return c.inner.Ping(ctx) }

func (c *conn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error { return c.inner.CheckNamedValue(nv) }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction scoped to the tenant in ctx: BEGIN and the
// context in one round trip.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.tx != nil {
		return nil, ErrNestedTx
	}
	p, err := c.require(ctx)
	if err != nil {
		return nil, err
	}
	txOpts, err := pgxTxOptions(opts)
	if err != nil {
		return nil, err
	}
	ptx, err := c.begin(ctx, p, txOpts)
	if err != nil {
		return nil, err
	}
	c.tx = &tx{conn: c, ptx: ptx, tenant: p.Tenant}
	return c.tx, nil
}

func (c *conn) begin(ctx context.Context, p tenancy.Principal, opts pgx.TxOptions) (pgx.Tx, error) {
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(ctx, p)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	b.BeginTx(opts)
	b.Queue(ctxSQL, ctxArgs...)
	br := c.pgx.SendBatch(ctx, b)
	ptx := br.Tx()
	if err := br.Close(); err != nil {
		if tenantdb.IsSessionState(err) {
			// The connection carries tenancy settings at session level:
			// close it, and tell database/sql it is bad, so that it is
			// discarded, never handed out again.
			_ = c.pgx.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("tenantsql: begin: %w: %w", driver.ErrBadConn, tenantdb.ErrSessionState)
		}
		rollback(ctx, ptx)
		return nil, fmt.Errorf("tenantsql: begin: %w", err)
	}
	return ptx, nil
}

func rollback(ctx context.Context, ptx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_ = ptx.Rollback(rctx)
}

// require returns the principal in ctx when it has a tenant, came from
// one of the sources and is one the model accepts (a declared kind, keys
// of the declared types), as tenantdb's Pool does.
func (c *conn) require(ctx context.Context) (tenancy.Principal, error) {
	p, _, err := tenancy.RequireFrom(ctx, c.sources)
	if errors.Is(err, tenancy.ErrUnverified) {
		return tenancy.Principal{}, fmt.Errorf("%w: %w", tenantdb.ErrUnverifiedPrincipal, err)
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	if err := c.principals.Check(p); err != nil {
		return tenancy.Principal{}, fmt.Errorf("tenantsql: %w", err)
	}
	return p, nil
}

// check requires a principal with a tenant and the guard's approval.
// It returns the principal and the arguments' values, in order, as read
// and judged (which are also written back into args).
func (c *conn) check(ctx context.Context, query string, args []driver.NamedValue) (tenancy.Principal, []any, error) {
	p, err := c.require(ctx)
	if err != nil {
		return tenancy.Principal{}, nil, err
	}
	if c.tx != nil && c.tx.tenant != p.Tenant {
		return tenancy.Principal{}, nil, ErrTenantChanged
	}
	values := make([]any, len(args))
	for _, a := range args {
		if a.Name != "" || a.Ordinal < 1 || a.Ordinal > len(args) {
			return tenancy.Principal{}, nil, ErrNamedArgs
		}
		values[a.Ordinal-1] = a.Value
	}
	// Each driver.Valuer is read once, and what it gave is both judged
	// and sent: pgx would call it again, and a Value that answered
	// differently the second time would send a value the guard never saw.
	read, err := tenantdb.ReadArgs(values)
	if err != nil {
		return tenancy.Principal{}, nil, err
	}
	if err := c.guard.Check(query, read, p.Tenant); err != nil {
		return tenancy.Principal{}, nil, err
	}
	for i := range args {
		args[i].Value = read[args[i].Ordinal-1]
	}
	return p, read, nil
}

// ExecContext runs a statement: in the open transaction, or in one of its
// own, sent with the tenant context in one round trip ([conn.execAlone]).
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	p, read, err := c.check(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if c.tx != nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return c.execAlone(ctx, p, query, read)
}

// QueryContext runs a query: in the open transaction, or in one of its own
// that ends when the rows are closed, sent with the tenant context in one
// round trip ([conn.queryAlone]).
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	p, read, err := c.check(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if c.tx != nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	return c.queryAlone(ctx, p, query, read)
}

// tx is a database/sql transaction scoped to one tenant.
type tx struct {
	conn   *conn
	ptx    pgx.Tx
	tenant tenancy.ID
}

func (t *tx) Commit() error {
	t.conn.tx = nil
	err := t.ptx.Commit(context.Background())
	if err != nil {
		rollback(context.Background(), t.ptx)
	}
	return err
}

func (t *tx) Rollback() error {
	t.conn.tx = nil
	// database/sql gives Rollback no context: bound it, as tenantdb does;
	// past the bound pgx closes the connection, which rolls back too.
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	return t.ptx.Rollback(ctx)
}

// stmt is a prepared statement in name only: each execution goes through
// the connection's checks.
type stmt struct {
	conn  *conn
	query string
}

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.ExecContext(ctx, s.query, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// pgxTxOptions maps database/sql options as pgx's stdlib driver does.
func pgxTxOptions(opts driver.TxOptions) (pgx.TxOptions, error) {
	var o pgx.TxOptions
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		o.IsoLevel = pgx.ReadUncommitted
	case sql.LevelReadCommitted:
		o.IsoLevel = pgx.ReadCommitted
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		o.IsoLevel = pgx.RepeatableRead
	case sql.LevelSerializable:
		o.IsoLevel = pgx.Serializable
	default:
		return o, fmt.Errorf("tenantsql: unsupported isolation level %v", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	return o, nil
}
