package tenantdb_test

import (
	"context"
	"database/sql/driver"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// connGrabber is a pgx.RowScanner that keeps the connection of the rows it
// is handed: pgx passes a lone RowScanner destination its own rows, whose
// Conn is the pooled connection, on which tenant A's code could switch the
// context and read tenant B.
type connGrabber struct {
	conn *pgx.Conn
	name string
}

func (g *connGrabber) ScanRow(rows pgx.Rows) error {
	if c := rows.Conn(); c != nil {
		g.conn = c
	}
	return rows.Scan(&g.name)
}

// TestRowScannerGetsNoConnection: a RowScanner given to Scan sees rows that
// hide the connection, on every path that returns rows; bare pgx hands it
// the connection (so the test can fail).
func TestRowScannerGetsNoConnection(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 2, "")
	p := newPool(t, pool, tenantdb.Config{Guard: realGuard(t, db)})
	ctx := staffCtx(clinicA, staffA)
	const q = "select name from patients where clinic_id = $1 order by name limit 1"

	// The hole: pgx's own rows hand a RowScanner the connection.
	var bare connGrabber
	if err := pool.QueryRow(context.Background(), "select 'x'").Scan(&bare); err != nil {
		t.Fatal(err)
	}
	if bare.conn == nil {
		t.Fatal("bare pgx did not hand the RowScanner its connection; the test could not fail")
	}

	paths := map[string]func(g *connGrabber) error{
		"Pool.QueryRow": func(g *connGrabber) error { return p.QueryRow(ctx, q, clinicA).Scan(g) },
		"Pool.Query": func(g *connGrabber) error {
			rows, err := p.Query(ctx, q, clinicA)
			if err != nil {
				return err
			}
			_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) { return g.name, r.Scan(g) })
			return err
		},
		"Tx.QueryRow": func(g *connGrabber) error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error { return tx.QueryRow(ctx, q, clinicA).Scan(g) })
		},
		"Tx.SendBatch": func(g *connGrabber) error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error {
				b := &pgx.Batch{}
				b.Queue(q, clinicA)
				br := tx.SendBatch(ctx, b)
				if err := br.QueryRow().Scan(g); err != nil {
					br.Close()
					return err
				}
				return br.Close()
			})
		},
		"Tx.SendBatch callback": func(g *connGrabber) error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error {
				b := &pgx.Batch{}
				b.Queue(q, clinicA).QueryRow(func(row pgx.Row) error { return row.Scan(g) })
				return tx.SendBatch(ctx, b).Close()
			})
		},
	}
	for name, run := range paths {
		t.Run(name, func(t *testing.T) {
			var g connGrabber
			if err := run(&g); err != nil {
				t.Fatal(err)
			}
			if g.name == "" {
				t.Fatal("the scanner read no row")
			}
			if g.conn != nil {
				t.Errorf("%s handed a RowScanner the connection", name)
			}
		})
	}
}

// countingTenant is a driver.Valuer that counts how often it is read.
type countingTenant struct {
	id string
	n  *int
}

func (c countingTenant) Value() (driver.Value, error) { *c.n++; return c.id, nil }

// TestValuerReadOnce: a driver.Valuer argument is read once, so the guard
// judges the very value that is sent (a Valuer read twice, by the guard and
// then by pgx, could answer the tenant to one and another value to the
// other).
func TestValuerReadOnce(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{Guard: realGuard(t, db)})
	ctx := staffCtx(clinicA, staffA)
	n := 0
	var count int
	if err := p.QueryRow(ctx, "select count(*) from patients where clinic_id = $1", countingTenant{clinicA.String(), &n}).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 5 {
		t.Errorf("%d patients of A, want 5", count)
	}
	if n != 1 {
		t.Errorf("the tenant argument was read %d times, want once", n)
	}
}
