package tenantsql

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// A statement outside a transaction is sent as tenantdb's Pool sends one:
// the tenant context and the statement in one pipeline with one Sync, so
// that PostgreSQL runs both in one implicit transaction, which ends (and
// takes the context with it) at the Sync: one round trip, where BEGIN,
// the statement and COMMIT would take three.

// batchOf queues the context statement of p and the statement.
func batchOf(ctx context.Context, p tenancy.Principal, query string, args []any) (*pgx.Batch, error) {
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(ctx, p)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 2)}
	b.Queue(ctxSQL, ctxArgs...)
	b.Queue(query, args...)
	return b, nil
}

// contextErr turns a failure of the context statement into the error to
// return: a connection that carries tenancy settings at session level is
// closed and reported bad, so that database/sql never hands it out again.
func (c *conn) contextErr(ctx context.Context, err error) error {
	if tenantdb.IsSessionState(err) {
		_ = c.pgx.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("tenantsql: %w: %w", driver.ErrBadConn, tenantdb.ErrSessionState)
	}
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return fmt.Errorf("tenantsql: tenant context: %w", err)
}

// execAlone runs one statement in its own implicit transaction with p's
// context.
func (c *conn) execAlone(ctx context.Context, p tenancy.Principal, query string, args []any) (driver.Result, error) {
	b, err := batchOf(ctx, p, query, args)
	if err != nil {
		return nil, err
	}
	br := c.pgx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, c.contextErr(ctx, err)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// queryAlone runs one query in its own implicit transaction with p's
// context; the transaction ends when the rows are closed. Its results come
// in pgx's formats, which [rows] turns into database/sql's values.
func (c *conn) queryAlone(ctx context.Context, p tenancy.Principal, query string, args []any) (driver.Rows, error) {
	b, err := batchOf(ctx, p, query, args)
	if err != nil {
		return nil, err
	}
	br := c.pgx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, c.contextErr(ctx, err)
	}
	pr, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	// Read the first row now: database/sql asks for the columns at once,
	// and a failing query (a refusal by row-level security) fails here.
	r := &rows{rows: pr, br: br, types: c.pgx.TypeMap()}
	r.more = pr.Next()
	if err := pr.Err(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// rows are the rows of a query sent by queryAlone. Closing them ends the
// query's transaction.
type rows struct {
	rows    pgx.Rows
	br      pgx.BatchResults
	types   *pgtype.Map
	more    bool // whether the row read ahead is there
	started bool // whether Next has returned the row read ahead
	columns []string
	decode  []func([]byte) (driver.Value, error)
	closed  bool
	err     error
}

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
)

func (r *rows) Columns() []string {
	if r.columns == nil {
		fields := r.rows.FieldDescriptions()
		r.columns = make([]string, len(fields))
		for i, f := range fields {
			r.columns[i] = f.Name
		}
	}
	return r.columns
}

// ColumnTypeDatabaseTypeName returns the column's type name in upper case
// ("UUID", "TEXT"), or "" for a type unknown to pgx.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.types.TypeForOID(r.rows.FieldDescriptions()[i].DataTypeOID); ok {
		return strings.ToUpper(t.Name)
	}
	return ""
}

func (r *rows) Next(dest []driver.Value) error {
	more := r.more
	if r.started {
		more = r.rows.Next()
	}
	r.started = true
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	if r.decode == nil {
		r.decoders()
	}
	for i, raw := range r.rows.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.decode[i](raw)
		if err != nil {
			return fmt.Errorf("tenantsql: column %s: %w", r.Columns()[i], err)
		}
		dest[i] = v
	}
	return nil
}

func (r *rows) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	r.rows.Close()
	r.err = r.rows.Err()
	if err := r.br.Close(); r.err == nil {
		r.err = err
	}
	return r.err
}

// decoders chooses, for each column, how its text becomes one of
// database/sql's values: int64, float64, bool, []byte, time.Time, or
// string for every other type (uuid, numeric, arrays, enums, intervals:
// their PostgreSQL text, which their Scanners read).
func (r *rows) decoders() {
	fields := r.rows.FieldDescriptions()
	r.decode = make([]func([]byte) (driver.Value, error), len(fields))
	for i, f := range fields {
		r.decode[i] = decoder(r.types, f.DataTypeOID, f.Format)
	}
}

// decoder returns the function that turns a column's raw value (of type
// oid, in format) into a database/sql value, as pgx's stdlib driver
// would give it.
func decoder(m *pgtype.Map, oid uint32, format int16) func([]byte) (driver.Value, error) {
	scan := func(target any, value func() (driver.Value, error)) func([]byte) (driver.Value, error) {
		return func(raw []byte) (driver.Value, error) {
			if err := m.Scan(oid, format, raw, target); err != nil {
				return nil, err
			}
			return value()
		}
	}
	switch oid {
	case pgtype.BoolOID:
		var v bool
		return scan(&v, func() (driver.Value, error) { return v, nil })
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		var v int64
		return scan(&v, func() (driver.Value, error) { return v, nil })
	case pgtype.OIDOID, pgtype.XIDOID, pgtype.CIDOID:
		var v pgtype.Uint32
		return scan(&v, func() (driver.Value, error) { return v.Value() })
	case pgtype.Float4OID, pgtype.Float8OID:
		var v float64
		return scan(&v, func() (driver.Value, error) { return v, nil })
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
		return func(raw []byte) (driver.Value, error) {
			var v []byte
			if err := m.Scan(oid, format, raw, &v); err != nil {
				return nil, err
			}
			return v, nil
		}
	case pgtype.TimestamptzOID:
		var v pgtype.Timestamptz
		return scan(&v, func() (driver.Value, error) { return v.Value() })
	case pgtype.TimestampOID:
		var v pgtype.Timestamp
		return scan(&v, func() (driver.Value, error) { return v.Value() })
	case pgtype.DateOID:
		var v pgtype.Date
		return scan(&v, func() (driver.Value, error) { return v.Value() })
	case pgtype.TimeOID:
		// As PostgreSQL writes it: 12:30:00, 12:30:00.5.
		var v pgtype.Time
		return scan(&v, func() (driver.Value, error) {
			if !v.Valid {
				return nil, nil
			}
			us := v.Microseconds
			text := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
			if frac := us % 1_000_000; frac != 0 {
				text += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
			}
			return text, nil
		})
	case pgtype.InetOID:
		// As PostgreSQL writes it: a host's address without /32 or /128.
		var v netip.Prefix
		return scan(&v, func() (driver.Value, error) {
			if v.Bits() == v.Addr().BitLen() {
				return v.Addr().String(), nil
			}
			return v.String(), nil
		})
	}
	// Every other type as text: read directly when pgx can (uuid, numeric,
	// text formats), else decoded and encoded again as text (arrays,
	// intervals, inet, geometric types).
	return func(raw []byte) (driver.Value, error) {
		var s string
		if err := m.Scan(oid, format, raw, &s); err == nil {
			return s, nil
		}
		var v any
		if err := m.Scan(oid, format, raw, &v); err != nil {
			return nil, err
		}
		text, err := m.Encode(oid, pgx.TextFormatCode, v, nil)
		if err != nil {
			return nil, err
		}
		return string(text), nil
	}
}
