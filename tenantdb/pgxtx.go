package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PgxTx is a guarded pgx.Tx view of a tenant transaction ([Tx]), for
// libraries that take a pgx.Tx (a job queue that enqueues in the caller's
// transaction, a migration tool). Every statement passes the same checks
// as the Tx's own methods; what ends the tenant transaction is refused:
//
//   - Exec, Query, QueryRow and SendBatch are [Tx]'s; CopyFrom is
//     [Tx.CopyFrom] (multi-row INSERTs, since COPY FROM is refused under
//     row-level security), for tenant tables only;
//   - Begin takes a savepoint and returns a PgxTx over it (pgx's
//     pseudo-nested transaction), whose Commit releases the savepoint and
//     whose Rollback rolls back to it;
//   - Commit and Rollback of the outermost view return [ErrTxControl]:
//     the tenant transaction commits when the function given to
//     [Pool.Tx] returns nil, and rolls back when it returns an error;
//   - Prepare returns [ErrNotSupported]: pgx runs a prepared statement
//     when its name is given as SQL, past the guard;
//   - LargeObjects returns the zero pgx.LargeObjects, whose methods panic:
//     large objects have no tenant, and the guard refuses the lo_
//     functions;
//   - Conn returns nil: the connection never leaves the Pool.
//
// A PgxTx is valid only while its Tx is (its methods then return
// [ErrTxDone]) and, like the Tx, is not safe for concurrent use.
type PgxTx struct {
	tx     *Tx
	on     pgx.Tx // tx.tx, or a pgx savepoint transaction on it
	nested bool
	queued int // of a nested view: how many statements were queued for COMMIT when it began
}

var (
	_ pgx.Tx  = (*PgxTx)(nil)
	_ Querier = (*PgxTx)(nil)
)

// Pgx returns a guarded pgx.Tx view of tx, for libraries that take a
// pgx.Tx: see [PgxTx].
func (tx *Tx) Pgx() *PgxTx { return &PgxTx{tx: tx, on: tx.tx} }

// Begin takes a savepoint in the tenant transaction and returns a PgxTx
// over it: its Commit releases the savepoint, its Rollback rolls back to
// it, with the statements queued for COMMIT ([Tx.QueueAtCommit]) since
// it was taken. It returns [ErrTxDone] once the tenant transaction's function has
// returned.
func (t *PgxTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if t.tx.done {
		return nil, ErrTxDone
	}
	sp, err := t.on.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &PgxTx{tx: t.tx, on: sp, nested: true, queued: len(t.tx.atCommit)}, nil
}

// Commit releases the savepoint of a PgxTx that [PgxTx.Begin] returned.
// Of the outermost view it returns [ErrTxControl], unsent.
func (t *PgxTx) Commit(ctx context.Context) error {
	if !t.nested {
		return fmt.Errorf("%w: Commit of the tenant transaction (it commits when its function returns nil)", ErrTxControl)
	}
	if t.tx.done {
		return ErrTxDone
	}
	return t.on.Commit(ctx)
}

// Rollback rolls back to the savepoint of a PgxTx that [PgxTx.Begin]
// returned. Of the outermost view it returns [ErrTxControl], unsent: the
// function that was given the tenant transaction returns an error to
// roll it back.
func (t *PgxTx) Rollback(ctx context.Context) error {
	if !t.nested {
		return fmt.Errorf("%w: Rollback of the tenant transaction (it rolls back when its function returns an error)", ErrTxControl)
	}
	if t.tx.done {
		return ErrTxDone
	}
	// What was queued for COMMIT inside the savepoint goes with it.
	if len(t.tx.atCommit) > t.queued {
		t.tx.atCommit = t.tx.atCommit[:t.queued]
	}
	return t.on.Rollback(ctx)
}

// CopyFrom is [Tx.CopyFrom] on this view (within its savepoint, if any).
func (t *PgxTx) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	return t.tx.copyFrom(ctx, t.on, tableName, columnNames, rowSrc)
}

// SendBatch is [Tx.SendBatch] on this view.
func (t *PgxTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return sendChecked(ctx, t.on, t.tx.check, b)
}

// LargeObjects returns the zero pgx.LargeObjects, whose methods panic: a
// tenant transaction has no large objects, which carry no tenant.
func (t *PgxTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

// Prepare returns [ErrNotSupported], unsent: pgx would run the prepared
// statement whenever its name is given as SQL, and the guard would check
// the name, not the statement.
func (t *PgxTx) Prepare(context.Context, string, string) (*pgconn.StatementDescription, error) {
	return nil, ErrNotSupported
}

// Exec is [Tx.Exec] on this view.
func (t *PgxTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return execChecked(ctx, t.on, t.tx.check, sql, args)
}

// Query is [Tx.Query] on this view.
func (t *PgxTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return queryChecked(ctx, t.on, t.tx.check, sql, args)
}

// QueryRow is [Tx.QueryRow] on this view.
func (t *PgxTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// Conn returns nil: the connection belongs to the Pool, and statements
// sent on it directly would escape the guard and the tenant context.
func (t *PgxTx) Conn() *pgx.Conn { return nil }
