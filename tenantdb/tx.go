package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

// Tx is a tenant-scoped transaction, valid only inside the function given
// to [Pool.Tx]. Every statement passes the guard before it is sent. A Tx is
// not safe for concurrent use.
type Tx struct {
	pool     *Pool
	tx       pgx.Tx
	tenant   tenancy.ID
	who      tenancy.Principal // the principal the transaction was begun with
	done     bool
	atCommit []queued // statements sent with COMMIT (QueueAtCommit)

	statements int // passed the checks, for Config.Observe
}

// queued is a statement that [Tx.QueueAtCommit] checked and queued.
type queued struct {
	sql  string
	args []any
}

// Tx runs fn in a transaction scoped to the tenant of the principal in ctx.
// BEGIN and the tenant context go to the server in one round trip. When fn
// returns nil the transaction commits; when fn returns an error, panics, or
// ctx is cancelled, it rolls back (and a panic is re-raised after the
// rollback). A COMMIT that fails, or that answers ROLLBACK because a
// statement failed inside, is an error ([ErrCommitRollback]).
//
// Without a principal with a tenant in ctx, Tx returns an error wrapping
// [tenancy.ErrNoTenant] before touching the network; with one from none of
// [Config.Sources], [ErrUnverifiedPrincipal].
func (p *Pool) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	pr, err := p.require(ctx)
	if err != nil {
		return err
	}
	return p.tx(ctx, pr, pgx.TxOptions{}, nil, func(_ context.Context, tx *Tx) error { return fn(tx) })
}

// TxWith is [Pool.Tx] with transaction options: an isolation level, an
// access mode (pgx.ReadOnly) and a deferrable mode, as pgx names them.
// BEGIN with these options and the tenant context still go to the server
// in one round trip. The zero options are the server's defaults, as in
// [Pool.Tx].
//
// TxWith refuses, before any network use, options it cannot vouch for
// ([ErrTxOptions]): a BeginQuery or CommitQuery (SQL that would start or
// end the transaction past the guard), or an isolation level, access mode
// or deferrable mode that is not one of pgx's constants (pgx writes them
// into the BEGIN text as they are). In a read-only transaction, statements
// queued with [Tx.QueueAtCommit] that write fail at commit, and the
// transaction rolls back. Its other errors are those of [Pool.Tx].
func (p *Pool) TxWith(ctx context.Context, opts pgx.TxOptions, fn func(tx *Tx) error) error {
	if err := checkTxOptions(opts); err != nil {
		return err
	}
	pr, err := p.require(ctx)
	if err != nil {
		return err
	}
	if opts.AccessMode == pgx.ReadOnly && p.replicas != nil {
		return p.readTx(ctx, pr, opts, fn)
	}
	return p.tx(ctx, pr, opts, nil, func(_ context.Context, tx *Tx) error { return fn(tx) })
}

// checkTxOptions accepts opts when pgx writes its BEGIN from pgx's named
// options only.
func checkTxOptions(opts pgx.TxOptions) error {
	if opts.BeginQuery != "" || opts.CommitQuery != "" {
		return fmt.Errorf("%w: BeginQuery and CommitQuery are SQL outside the guard", ErrTxOptions)
	}
	switch opts.IsoLevel {
	case "", pgx.Serializable, pgx.RepeatableRead, pgx.ReadCommitted, pgx.ReadUncommitted:
	default:
		return fmt.Errorf("%w: isolation level %q", ErrTxOptions, opts.IsoLevel)
	}
	switch opts.AccessMode {
	case "", pgx.ReadWrite, pgx.ReadOnly:
	default:
		return fmt.Errorf("%w: access mode %q", ErrTxOptions, opts.AccessMode)
	}
	switch opts.DeferrableMode {
	case "", pgx.Deferrable, pgx.NotDeferrable:
	default:
		return fmt.Errorf("%w: deferrable mode %q", ErrTxOptions, opts.DeferrableMode)
	}
	return nil
}

// tx runs fn in a transaction with pr's tenant context, begun with opts
// (which checkTxOptions accepted). record, if set, runs first in the
// transaction, on the raw transaction.
func (p *Pool) tx(ctx context.Context, pr tenancy.Principal, opts pgx.TxOptions, record func(pgx.Tx) error, fn func(context.Context, *Tx) error) error {
	return p.txOn(ctx, nil, pr, opts, record, fn)
}

// txOn is tx on replica r, or on the primary for nil.
func (p *Pool) txOn(ctx context.Context, r *replica, pr tenancy.Principal, opts pgx.TxOptions, record func(pgx.Tx) error, fn func(context.Context, *Tx) error) error {
	c, err := p.txContextOf(ctx, pr)
	if err != nil {
		return err
	}
	pc, err := p.acquireOn(ctx, r, pr.Tenant, EventTx, 0)
	if err != nil {
		return err
	}
	tx := &Tx{pool: p, tenant: pr.Tenant, who: pr}
	// Released last: the pool discards a connection that is still in a
	// transaction, so no tenant context can outlive this call.
	defer func() {
		pc.statements = int32(min(tx.statements, math.MaxInt32))
		pc.Release()
	}()

	b := &pgx.Batch{}
	b.BeginTx(opts)
	c.queue(b)
	br := pc.Conn().SendBatch(ctx, b)
	tx.tx = br.Tx()
	if err := br.Close(); err != nil {
		p.rollback(ctx, tx.tx)
		if isSessionState(err) {
			discard(ctx, pc.pc, p.rollbackTimeout)
			return ErrSessionState
		}
		return fmt.Errorf("tenantdb: begin: %w", err)
	}

	defer func() {
		tx.done = true
		if r := recover(); r != nil {
			p.rollback(ctx, tx.tx)
			panic(r)
		}
	}()
	if record != nil {
		if err := record(tx.tx); err != nil {
			p.rollback(ctx, tx.tx)
			return fmt.Errorf("tenantdb: recording the work: %w", err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		p.rollback(ctx, tx.tx)
		return err
	}
	tx.done = true
	if err := ctx.Err(); err != nil {
		p.rollback(ctx, tx.tx)
		return err
	}
	return p.commit(ctx, tx)
}

// sqlStateInFailedTx is in_failed_sql_transaction: a statement sent after
// one that failed, in the same transaction.
const sqlStateInFailedTx = "25P02"

// commit commits tx, sending the statements queued with QueueAtCommit
// first, in the same round trip.
func (p *Pool) commit(ctx context.Context, tx *Tx) error {
	if len(tx.atCommit) == 0 {
		if err := tx.tx.Commit(ctx); err != nil {
			if errors.Is(err, pgx.ErrTxCommitRollback) {
				return fmt.Errorf("%w: %w", ErrCommitRollback, err)
			}
			p.rollback(ctx, tx.tx)
			return fmt.Errorf("tenantdb: commit: %w", err)
		}
		return nil
	}
	b := &pgx.Batch{}
	for _, q := range tx.atCommit {
		b.Queue(q.sql, q.args...)
	}
	b.Queue("commit")
	br := tx.tx.SendBatch(ctx, b)
	for range tx.atCommit {
		if _, err := br.Exec(); err != nil {
			// The server skipped COMMIT (or answers it with ROLLBACK):
			// nothing of the work commits.
			br.Close()
			p.rollback(ctx, tx.tx)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == sqlStateInFailedTx {
				// A statement of fn failed before: the transaction was
				// already aborted, as for a plain COMMIT that answers
				// ROLLBACK.
				return fmt.Errorf("%w: %w", ErrCommitRollback, err)
			}
			return fmt.Errorf("tenantdb: a statement queued for commit: %w", err)
		}
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.rollback(ctx, tx.tx)
		return fmt.Errorf("tenantdb: commit: %w", err)
	}
	if tag.String() == "ROLLBACK" {
		return fmt.Errorf("%w: %w", ErrCommitRollback, pgx.ErrTxCommitRollback)
	}
	// COMMIT went through the batch, not tx.tx.Commit: pgx's Tx still
	// counts itself open, but the connection is idle and nothing uses the
	// Tx again; the pool takes the connection back as it is.
	return nil
}

// rollback ends a failed transaction. It runs even when ctx is cancelled;
// if it cannot finish in time pgx closes the connection, which makes the
// server roll back, and the pool discards it.
func (p *Pool) rollback(ctx context.Context, tx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.rollbackTimeout)
	defer cancel()
	_ = tx.Rollback(rctx)
}

// Exec runs a statement in the transaction. A statement the guard refuses
// is not sent; the error is returned and the transaction stays usable.
func (tx *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return execChecked(ctx, tx.tx, tx.check, sql, args)
}

// Query runs a query in the transaction; close the rows before the next
// statement. Refusals are returned as errors, unsent.
func (tx *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return queryChecked(ctx, tx.tx, tx.check, sql, args)
}

// QueryRow runs a query for at most one row; errors come from Scan.
func (tx *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := tx.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// SendBatch sends several statements in one round trip. Every queued
// statement is checked first; if any is refused, nothing is sent and every
// result returns the refusal. The results, and the rows and results that
// the queued statements' callbacks (QueuedQuery.Query, QueryRow, Exec)
// are given, hide the connection: their Conn is nil, and Tx is nil. b
// must be sent once only: SendBatch changes its queued statements.
func (tx *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	before := tx.statements
	res := sendChecked(ctx, tx.tx, tx.check, b)
	if _, refused := res.(errBatchResults); refused {
		tx.statements = before // nothing of the batch was sent
	}
	return res
}

// QueueAtCommit checks a statement now and queues it to run when the
// transaction commits, just before COMMIT and in the same round trip: for
// writes whose results the work does not need, such as an audit event
// ([audit.RecordAtCommit]), at no round trip of their own. Queued
// statements run in the order queued, after every statement that fn
// sent, and only if fn returns nil. A statement the guard refuses is not
// queued: the error is returned and the transaction stays usable. If a
// queued statement fails, the transaction rolls back and [Pool.Tx]
// returns its error: nothing of the work commits. QueueAtCommit returns
// [ErrTxDone] once fn has returned.
//
// [audit.RecordAtCommit]: https://pkg.go.dev/github.com/mydentalpractice/tenancy/audit#RecordAtCommit
func (tx *Tx) QueueAtCommit(sql string, args ...any) error {
	args, err := ReadArgs(args)
	if err != nil {
		return err
	}
	// What the guard judges is what COMMIT sends: a copy that the
	// caller's later changes (a reused slice, a pointer's target) cannot
	// reach.
	if args, err = freezeArgs(args); err != nil {
		return err
	}
	if err := tx.check(sql, args); err != nil {
		return err
	}
	tx.atCommit = append(tx.atCommit, queued{sql, args})
	return nil
}

// execChecked, queryChecked and sendChecked are the statements of a
// transaction handed to other code ([Tx], [SystemTx]): each statement
// passes check, unsent when refused, and what comes back hides the
// connection.
func execChecked(ctx context.Context, tx pgx.Tx, check func(string, []any) error, sql string, args []any) (pgconn.CommandTag, error) {
	args, err := ReadArgs(args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if err := check(sql, args); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.Exec(ctx, sql, args...)
}

func queryChecked(ctx context.Context, tx pgx.Tx, check func(string, []any) error, sql string, args []any) (pgx.Rows, error) {
	args, err := ReadArgs(args)
	if err != nil {
		return nil, err
	}
	if err := check(sql, args); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return hiddenConnRows{rows}, nil
}

func sendChecked(ctx context.Context, tx pgx.Tx, check func(string, []any) error, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		args, err := ReadArgs(q.Arguments)
		if err != nil {
			return errBatchResults{err}
		}
		if err := check(q.SQL, args); err != nil {
			return errBatchResults{err}
		}
		q.Arguments = args
	}
	return sendHidden(ctx, tx, b)
}

func (tx *Tx) check(sql string, args []any) error {
	if tx.done {
		return ErrTxDone
	}
	if err := checkControl(sql); err != nil {
		return err
	}
	if len(tx.atCommit) > 0 {
		// Statements queued for COMMIT cannot be taken back by SQL text
		// the Tx does not follow: refuse a rollback to a savepoint, which
		// would undo work around them and still send them.
		back, err := sqlguard.RollsBackToSavepoint(sql)
		if err != nil {
			return fmt.Errorf("tenantdb: refused unsent: %w", err)
		}
		if back {
			return fmt.Errorf("%w: ROLLBACK TO SAVEPOINT after statements were queued for COMMIT (roll back a PgxTx.Begin savepoint instead, which drops what was queued inside it)", ErrTxControl)
		}
	}
	if err := tx.pool.check(sql, args, tx.tenant); err != nil {
		return err
	}
	tx.statements++
	return nil
}

// checkControl refuses a statement that would end the transaction.
func checkControl(sql string) error {
	control, err := sqlguard.ControlsTransaction(sql)
	if err != nil {
		// Unparsable text is refused, not sent: what it would do is unknown.
		return fmt.Errorf("tenantdb: refused unsent: %w", err)
	}
	if control {
		return ErrTxControl
	}
	return nil
}

// sendHidden sends b on tx, whose arguments readArgs has read, and returns
// results that hide the connection, to the queued callbacks too.
func sendHidden(ctx context.Context, tx pgx.Tx, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		if fn := q.Fn; fn != nil {
			q.Fn = func(br pgx.BatchResults) error { return fn(hiddenBatch{br}) }
		}
	}
	return hiddenBatch{tx.SendBatch(ctx, b)}
}

// hiddenConnRows hides the connection behind rows: statements sent on it
// would escape the guard. The rows are an unexported field, not an
// embedded one, so that nothing (reflection included) reaches pgx's rows,
// whose Conn is the connection.
type hiddenConnRows struct{ rows pgx.Rows }

func (r hiddenConnRows) Close()                        { r.rows.Close() }
func (r hiddenConnRows) Err() error                    { return r.rows.Err() }
func (r hiddenConnRows) CommandTag() pgconn.CommandTag { return r.rows.CommandTag() }
func (r hiddenConnRows) FieldDescriptions() []pgconn.FieldDescription {
	return r.rows.FieldDescriptions()
}
func (r hiddenConnRows) Next() bool             { return r.rows.Next() }
func (r hiddenConnRows) Scan(dest ...any) error { return scanHidden(r, r.rows, dest) }
func (r hiddenConnRows) Values() ([]any, error) { return r.rows.Values() }
func (r hiddenConnRows) RawValues() [][]byte    { return r.rows.RawValues() }
func (hiddenConnRows) Conn() *pgx.Conn          { return nil }
func (r hiddenConnRows) TypeMap() *pgtype.Map   { return r.rows.TypeMap() }

// scanHidden scans inner's current row into dest as pgx's Rows.Scan does,
// except for a lone pgx.RowScanner destination: pgx would hand it inner
// itself, whose Conn is the connection, so it is handed self, the rows
// that hide it.
func scanHidden(self, inner pgx.Rows, dest []any) error {
	if len(dest) == 1 {
		if rs, ok := dest[0].(pgx.RowScanner); ok {
			return rs.ScanRow(self)
		}
	}
	return inner.Scan(dest...)
}

// hiddenBatch is batch results whose rows hide the connection and that
// hand out no transaction.
type hiddenBatch struct{ br pgx.BatchResults }

func (h hiddenBatch) Exec() (pgconn.CommandTag, error) { return h.br.Exec() }

func (h hiddenBatch) Query() (pgx.Rows, error) {
	rows, err := h.br.Query()
	if rows != nil {
		rows = hiddenConnRows{rows}
	}
	return rows, err
}

func (h hiddenBatch) QueryRow() pgx.Row {
	rows, err := h.br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		return &row{err: err}
	}
	return &row{rows: hiddenConnRows{rows}}
}

func (h hiddenBatch) Close() error { return h.br.Close() }

// Tx returns nil: the transaction belongs to the function that began it.
func (hiddenBatch) Tx() pgx.Tx { return nil }

// errBatchResults answers every call with err.
type errBatchResults struct{ err error }

func (e errBatchResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatchResults) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatchResults) QueryRow() pgx.Row                { return &row{err: e.err} }
func (e errBatchResults) Close() error                     { return e.err }
func (e errBatchResults) Tx() pgx.Tx                       { return nil }
