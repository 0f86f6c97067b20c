package tenantdb

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errEmptyBatch is what the results of an empty batch answer to Exec,
// Query and QueryRow, as pgx's do; their Close returns nil.
var errEmptyBatch = errors.New("tenantdb: no more results in batch")

// SendBatch sends the statements of b in one round trip, in one
// transaction of their own scoped to the tenant of the principal in ctx:
// the tenant context goes first in the same round trip, and the
// statements commit together when the last succeeds; when one fails, none
// of them commits. Every statement is checked first (the guard, pgx
// options, statements that would end the transaction: [ErrTxControl]); if
// any is refused nothing is sent, no connection is taken, and every result
// returns the refusal. The requirements on ctx are those of [Pool.Exec].
//
// Close the results: the connection returns to the pool when they are
// closed. The results, and what the queued statements' callbacks receive,
// hide the connection (Conn nil, Tx nil). b must be sent once only:
// SendBatch changes its queued statements. SendBatch is safe for
// concurrent use (of distinct batches).
func (p *Pool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	pr, err := p.require(ctx)
	if err != nil {
		return errBatchResults{err}
	}
	c, err := p.txContextOf(ctx, pr)
	if err != nil {
		return errBatchResults{err}
	}
	for _, q := range b.QueuedQueries {
		args, err := ReadArgs(q.Arguments)
		if err != nil {
			return errBatchResults{err}
		}
		if err := checkControl(q.SQL); err != nil {
			return errBatchResults{err}
		}
		if err := p.check(q.SQL, args, pr.Tenant); err != nil {
			return errBatchResults{err}
		}
		q.Arguments = args
	}
	if len(b.QueuedQueries) == 0 {
		return emptyBatch{}
	}
	conn, err := p.acquire(ctx, pr.Tenant, EventStatement, len(b.QueuedQueries))
	if err != nil {
		return errBatchResults{err}
	}
	// One batch is one implicit transaction (one Sync): the context is
	// local to it, and a failure anywhere rolls all of it back. In the SET
	// LOCAL mode BEGIN and COMMIT make the transaction explicit.
	full := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.QueuedQueries)+len(c.local)+3)}
	begun := c.local != nil
	if begun {
		full.Queue("begin")
	}
	c.queue(full)
	for _, q := range b.QueuedQueries {
		if fn := q.Fn; fn != nil {
			q.Fn = func(br pgx.BatchResults) error { return fn(hiddenBatch{br}) }
		}
		full.QueuedQueries = append(full.QueuedQueries, q)
	}
	if begun {
		full.Queue("commit")
	}
	br := conn.Conn().SendBatch(ctx, full)
	if err := c.read(br, begun); err != nil {
		br.Close()
		err = p.contextErr(ctx, conn.pc, err)
		conn.Release()
		return errBatchResults{err}
	}
	return &pooledBatch{br: hiddenBatch{br}, conn: conn}
}

// pooledBatch is the results of [Pool.SendBatch]: they release the
// connection when closed.
type pooledBatch struct {
	br       hiddenBatch
	conn     lease
	released bool
	closeErr error
}

func (b *pooledBatch) Exec() (pgconn.CommandTag, error) { return b.br.Exec() }
func (b *pooledBatch) Query() (pgx.Rows, error)         { return b.br.Query() }
func (b *pooledBatch) QueryRow() pgx.Row                { return b.br.QueryRow() }

// Close reads the remaining results, running their callbacks, and returns
// the connection to the pool; it returns the first error, again when
// called again.
func (b *pooledBatch) Close() error {
	if b.released {
		return b.closeErr
	}
	b.closeErr = b.br.Close()
	b.conn.Release()
	b.released = true
	return b.closeErr
}

// Tx returns nil: the batch's transaction is its own.
func (*pooledBatch) Tx() pgx.Tx { return nil }

// emptyBatch is the results of an empty batch, which sends nothing.
type emptyBatch struct{}

func (emptyBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, errEmptyBatch }
func (emptyBatch) Query() (pgx.Rows, error)         { return nil, errEmptyBatch }
func (emptyBatch) QueryRow() pgx.Row                { return &row{err: errEmptyBatch} }
func (emptyBatch) Close() error                     { return nil }
func (emptyBatch) Tx() pgx.Tx                       { return nil }
