package tenantsql_test

import (
	"context"
	"database/sql"
	"net"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantsql"
)

// writes counts the round trips of a connection: the writes that follow a
// read (or open the connection).
type writes struct {
	n        atomic.Int64
	lastRead atomic.Bool
}

type countingConn struct {
	net.Conn
	w *writes
}

func (c *countingConn) Write(b []byte) (int, error) {
	if c.w.lastRead.Swap(false) {
		c.w.n.Add(1)
	}
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.w.lastRead.Store(true)
	}
	return n, err
}

// TestOneRoundTrip: outside a transaction, a query and a statement each
// take one round trip with their tenant context, as through tenantdb.
func TestOneRoundTrip(t *testing.T) {
	db, m := schema(t)
	cfg, err := pgx.ParseConfig(db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	w := &writes{}
	dialer := &net.Dialer{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, w: w}, nil
	}
	connector, err := tenantsql.NewConnector(cfg, tenantsql.Config{Model: m, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		t.Fatal(err)
	}
	sdb := sql.OpenDB(connector)
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	ctx := staffCtx(clinicA, staffA)
	const read = `select count(*) from patients where clinic_id = $1`
	const write = `update patients set name = name where clinic_id = $1`
	var n int
	for range 2 { // connect, check the role, and prepare the statements first
		if err := sdb.QueryRowContext(ctx, read, clinicA).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if _, err := sdb.ExecContext(ctx, write, clinicA); err != nil {
			t.Fatal(err)
		}
	}
	before := w.n.Load()
	if err := sdb.QueryRowContext(ctx, read, clinicA).Scan(&n); err != nil || n != 5 {
		t.Fatalf("A's patients: %d, %v; want 5", n, err)
	}
	if got := w.n.Load() - before; got != 1 {
		t.Errorf("a query outside a transaction took %d round trips, want 1", got)
	}
	before = w.n.Load()
	res, err := sdb.ExecContext(ctx, write, clinicA)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.n.Load() - before; got != 1 {
		t.Errorf("a statement outside a transaction took %d round trips, want 1", got)
	}
	if affected, _ := res.RowsAffected(); affected != 5 {
		t.Errorf("the update touched %d rows, want A's 5", affected)
	}
}
