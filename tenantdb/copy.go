package tenantdb

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/rls"
)

// PostgreSQL refuses COPY FROM into a table with row-level security for
// every role it applies to ("COPY FROM not supported with row-level
// security"), and the app role is bound by FORCE ROW LEVEL SECURITY on
// every tenant table. So the CopyFrom methods insert with multi-row
// INSERT ... VALUES statements instead, which the guard checks and
// row-level security judges like any other INSERT:
//
//   - each row's values, its tenant value included, are the statement's
//     parameters, so the guard compares every row's tenant with the
//     transaction's (one implementation of that rule), and the server
//     reads each value as its column's type, as for a hand-written INSERT:
//     no catalog lookup, no type names, enums and domains included;
//   - a statement holds copyChunkRows rows (fewer when the columns are
//     many: at most 65,535 parameters); a full chunk is sent as soon as
//     it is read, and the rest goes as statements of a power of two rows,
//     all in one round trip, so that a table and column list has at most
//     a dozen statement texts (pgx prepares and caches each, the guard
//     parses each once);
//   - a savepoint, pipelined with the first statement and released with
//     the last, makes the call all or nothing: on any error (a refusal of
//     a later chunk, a constraint, the source's) the transaction is rolled
//     back to it, so no row of the call stays and the transaction remains
//     usable.

// copyChunkRows is the most rows one INSERT of a bulk insert holds; a
// power of two (see copyPieces).
var copyChunkRows = 512

// maxParams is the most parameters one statement may have (the protocol
// counts them in an int16).
const maxParams = 65535

// copySavepoint is the savepoint that makes a bulk insert all or nothing.
const copySavepoint = "tenantdb_copyfrom"

// bulkInsert is one table and column list of a bulk insert, checked
// against the model.
type bulkInsert struct {
	prefix   string // insert into "schema"."table" ("a", "b") values
	columns  int
	maxRows  int // a power of two
	sqlCache map[int]string
}

// bulkInsert checks that table is a tenant table of the model and that
// columns name its tenant column, each column once, and returns the
// statements' builder. It touches no network.
func (p *Pool) bulkInsert(table pgx.Identifier, columns []string) (*bulkInsert, error) {
	var rels []rls.Relation
	switch len(table) {
	case 1:
		rels = p.model.Named(table[0])
	case 2:
		if r := p.model.Relation(table[0], table[1]); r.Class != rls.ClassUnknown {
			rels = []rls.Relation{r}
		}
	default:
		return nil, fmt.Errorf("%w: table name %q: want a name or schema and name", ErrCopyFrom, table.Sanitize())
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("%w: %s is not a table of the model", ErrCopyFrom, table.Sanitize())
	}
	tenantColumn := ""
	for _, r := range rels {
		if r.Class != rls.ClassTenant {
			return nil, fmt.Errorf("%w: %s is a %s relation of the model, not a tenant table", ErrCopyFrom, r.Qualified(), r.Class)
		}
		if tenantColumn != "" && r.TenantColumn != tenantColumn {
			return nil, fmt.Errorf("%w: %s names tenant tables of several schemas with different tenant columns: qualify it", ErrCopyFrom, table.Sanitize())
		}
		tenantColumn = r.TenantColumn
	}
	if len(columns) == 0 {
		return nil, fmt.Errorf("%w: no columns", ErrCopyFrom)
	}
	seen := make(map[string]bool, len(columns))
	for _, c := range columns {
		if seen[c] {
			return nil, fmt.Errorf("%w: column %q named twice", ErrCopyFrom, c)
		}
		seen[c] = true
	}
	if !seen[tenantColumn] {
		return nil, fmt.Errorf("%w: the columns of %s do not include its tenant column %q", ErrCopyFrom, table.Sanitize(), tenantColumn)
	}
	var b strings.Builder
	b.WriteString("insert into ")
	b.WriteString(table.Sanitize())
	b.WriteString(" (")
	for i, c := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{c}.Sanitize())
	}
	b.WriteString(") values ")
	maxRows := copyChunkRows
	for maxRows > 1 && maxRows*len(columns) > maxParams {
		maxRows /= 2
	}
	return &bulkInsert{prefix: b.String(), columns: len(columns), maxRows: maxRows, sqlCache: map[int]string{}}, nil
}

// sql returns the INSERT of rows rows.
func (ins *bulkInsert) sql(rows int) string {
	if s, ok := ins.sqlCache[rows]; ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(ins.prefix) + rows*ins.columns*8)
	b.WriteString(ins.prefix)
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range ins.columns {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	s := b.String()
	ins.sqlCache[rows] = s
	return s
}

// copyPieces splits rows (fewer than a chunk) into powers of two, largest
// first.
func copyPieces(rows int) []int {
	var out []int
	for rows > 0 {
		piece := 1 << (bits.Len(uint(rows)) - 1)
		out = append(out, piece)
		rows -= piece
	}
	return out
}

// copyRows inserts the rows of src into the table of ins on tx, each
// statement passing check, as the CopyFrom methods describe.
func copyRows(ctx context.Context, p *Pool, tx pgx.Tx, check func(string, []any) error, ins *bulkInsert, src pgx.CopyFromSource) (int64, error) {
	c := copier{ctx: ctx, p: p, tx: tx, check: check, ins: ins}
	buf := make([]any, 0, ins.maxRows*ins.columns)
	for src.Next() {
		vals, err := src.Values()
		if err != nil {
			return c.fail(err)
		}
		if len(vals) != ins.columns {
			return c.fail(fmt.Errorf("%w: row %d has %d values for %d columns", ErrCopyFrom, c.rows+int64(len(buf)/ins.columns)+1, len(vals), ins.columns))
		}
		buf = append(buf, vals...)
		if len(buf) == ins.maxRows*ins.columns {
			if err := c.send([]int{ins.maxRows}, buf, false); err != nil {
				return c.fail(err)
			}
			buf = buf[:0]
		}
	}
	if err := src.Err(); err != nil {
		return c.fail(err)
	}
	if len(buf) == 0 && !c.sent {
		return 0, nil
	}
	if err := c.send(copyPieces(len(buf)/ins.columns), buf, true); err != nil {
		return c.fail(err)
	}
	return c.rows, nil
}

// copier is the state of one bulk insert.
type copier struct {
	ctx   context.Context
	p     *Pool
	tx    pgx.Tx
	check func(string, []any) error
	ins   *bulkInsert
	sent  bool // the savepoint was sent
	rows  int64
}

// send checks and sends the statements of pieces (rows each) over args in
// one round trip, opening the savepoint first if it is not open, and
// releasing it after them when last.
func (c *copier) send(pieces []int, args []any, last bool) error {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(pieces)+2)}
	if !c.sent {
		b.Queue("savepoint " + copySavepoint)
	}
	for _, rows := range pieces {
		n := rows * c.ins.columns
		sql := c.ins.sql(rows)
		stmtArgs, err := ReadArgs(args[:n:n])
		if err != nil {
			return err
		}
		if err := c.check(sql, stmtArgs); err != nil {
			return err
		}
		b.Queue(sql, stmtArgs...)
		args = args[n:]
	}
	if last {
		b.Queue("release savepoint " + copySavepoint)
	}
	opened := !c.sent
	c.sent = true
	br := c.tx.SendBatch(c.ctx, b)
	defer br.Close()
	if opened {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	var rows int64
	for range pieces {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		rows += tag.RowsAffected()
	}
	if last {
		if _, err := br.Exec(); err != nil {
			return err
		}
		c.sent = false // released
	}
	if err := br.Close(); err != nil {
		return err
	}
	c.rows += rows
	return nil
}

// fail rolls the transaction back to the savepoint, if one was sent, and
// returns err. The rollback runs even when ctx is cancelled, bounded by
// the pool's rollback timeout; if it fails the transaction is left failed,
// and the error says so.
func (c *copier) fail(err error) (int64, error) {
	if !c.sent {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.p.rollbackTimeout)
	defer cancel()
	// One simple-protocol query, one round trip: in an aborted
	// transaction the server would refuse to parse RELEASE on its own.
	if _, rerr := c.tx.Exec(rctx, "rollback to savepoint "+copySavepoint+"; release savepoint "+copySavepoint, pgx.QueryExecModeSimpleProtocol); rerr != nil {
		return 0, fmt.Errorf("%w (and rolling back the bulk insert: %w)", err, rerr)
	}
	return 0, err
}

// CopyFrom inserts the rows of rowSrc into tableName, a tenant table of
// the model, within the transaction, and returns the number of rows
// inserted. It has pgx's CopyFrom signature, so that code written for pgx
// (sqlc's :copyfrom) runs unchanged, but it does not use COPY: PostgreSQL
// refuses COPY FROM into a table under row-level security, which every
// tenant table is. It sends multi-row INSERT statements instead, each
// checked by the guard before it is sent and judged by row-level
// security, of up to 512 rows each, pipelined so that N rows take about
// N/512 round trips; docs/benchmarks.md has its rate beside COPY.
//
// Before sending anything it refuses ([ErrCopyFrom]) a table that is not a
// tenant table of the model, and a column list that lacks the table's
// tenant column or names a column twice; a row with another number of
// values is refused before its statement is sent. columnNames must name
// the tenant column and every row must carry the transaction's tenant in
// it (the guard refuses a statement with any row of another tenant, and
// row-level security would refuse the row).
//
// The insert is all or nothing: on any error (a refusal, a constraint,
// rowSrc's own), the transaction is rolled back to a savepoint taken with
// the first statement, so no row of this call stays and the transaction
// remains usable. Rows are read from rowSrc as they are sent, one chunk
// at a time, not all at once.
func (tx *Tx) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	return tx.copyFrom(ctx, tx.tx, tableName, columnNames, rowSrc)
}

func (tx *Tx) copyFrom(ctx context.Context, on pgx.Tx, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	if tx.done {
		return 0, ErrTxDone
	}
	ins, err := tx.pool.bulkInsert(tableName, columnNames)
	if err != nil {
		return 0, err
	}
	return copyRows(ctx, tx.pool, on, tx.check, ins, rowSrc)
}

// CopyFrom is [Tx.CopyFrom] in a transaction of its own, scoped to the
// tenant of the principal in ctx (see [Pool.Exec] for the requirements):
// the rows commit together or not at all. The table and columns are
// checked before any network use. It takes one round trip for BEGIN and
// the context, about one per 512 rows, and one for COMMIT.
func (p *Pool) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	if _, err := p.bulkInsert(tableName, columnNames); err != nil {
		return 0, err
	}
	var n int64
	err := p.Tx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.CopyFrom(ctx, tableName, columnNames, rowSrc)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
