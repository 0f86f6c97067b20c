package tenantdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// benchSchema adds patients_plain, a copy of patients without row-level
// security, as the baseline's table, and returns one patient id of A.
func benchSchema(b testing.TB) (*pgtest.DB, string) {
	db := schema(b)
	db.Exec(b, pgtest.Owner, "create table patients_plain (like patients including all)")
	db.Exec(b, pgtest.Owner, "grant select, insert, update, delete on patients_plain to "+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	db.Exec(b, pgtest.Admin, "insert into patients_plain select * from patients")
	var id string
	if err := db.Conn(b, pgtest.Admin).QueryRow(context.Background(), "select id::text from patients where clinic_id = $1 limit 1", clinicA).Scan(&id); err != nil {
		b.Fatal(err)
	}
	return db, id
}

// BenchmarkPointRead compares a primary-key read through tenantdb (tenant
// context pipelined with the query, under the generated RLS policies) with
// the same read through bare pgx on a table without RLS.
func BenchmarkPointRead(b *testing.B) {
	db, id := benchSchema(b)
	for _, mode := range []string{"cache_statement", "exec"} {
		pool, _ := appPool(b, db, 1, " default_query_exec_mode="+mode)
		p := newPool(b, pool, tenantdb.Config{})
		ctx := staffCtx(clinicA, staffA)
		var name string
		b.Run(mode+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// The id as text: the cheapest form for bare pgx (a tenancy.ID
				// takes pgx's driver.Valuer path), so the baseline is not slowed.
				if err := pool.QueryRow(ctx, "select name from patients_plain where clinic_id = $1 and id = $2", clinicA.String(), id).Scan(&name); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/tenantdb", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.QueryRow(ctx, "select name from patients where clinic_id = $1 and id = $2", clinicA, id).Scan(&name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTx3 compares a transaction of three statements (two reads and an
// update) through tenantdb with a bare pgx transaction of the same
// statements on the table without RLS.
func BenchmarkTx3(b *testing.B) {
	db, id := benchSchema(b)
	pool, _ := appPool(b, db, 1, "")
	p := newPool(b, pool, tenantdb.Config{})
	ctx := staffCtx(clinicA, staffA)
	var name string
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				return tx3(ctx, tx, "patients_plain", clinicA.String(), id, &name)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tenantdb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := p.Tx(ctx, func(tx *tenantdb.Tx) error {
				return tx3(ctx, tx, "patients", clinicA, id, &name)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func tx3(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string, clinic any, id string, name *string) error {
	if err := q.QueryRow(ctx, "select name from "+table+" where clinic_id = $1 and id = $2", clinic, id).Scan(name); err != nil {
		return err
	}
	if err := q.QueryRow(ctx, "select count(*)::text from "+table+" where clinic_id = $1", clinic).Scan(name); err != nil {
		return err
	}
	return q.QueryRow(ctx, "update "+table+" set name = name where clinic_id = $1 and id = $2 returning name", clinic, id).Scan(name)
}

// BenchmarkPaired interleaves the baseline and tenantdb in every iteration
// and reports each one's mean time, and their ratio, as metrics. On a
// shared, noisy machine, load that comes and goes then falls on both
// alike, so the ratio is steadier than that of two benchmarks run one after
// the other. The variants between the two take the cost apart.
func BenchmarkPaired(b *testing.B) {
	db, id := benchSchema(b)
	pool, _ := appPool(b, db, 1, "")
	p := newPool(b, pool, tenantdb.Config{Guard: realGuard(b, db)})
	ctx := staffCtx(clinicA, staffA)
	pr, err := tenancy.Require(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(ctx, pr)
	if err != nil {
		b.Fatal(err)
	}
	var name string
	batch := func(table string, withContext bool) error {
		var bt pgx.Batch
		if withContext {
			bt.Queue(ctxSQL, ctxArgs...)
		}
		bt.Queue("select name from "+table+" where clinic_id = $1 and id = $2", clinicA.String(), id)
		br := pool.SendBatch(ctx, &bt)
		if withContext {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.QueryRow().Scan(&name); err != nil {
			br.Close()
			return err
		}
		return br.Close()
	}
	type variant struct {
		name string
		run  func() error
	}
	reads := []variant{
		{"bare", func() error {
			return pool.QueryRow(ctx, "select name from patients_plain where clinic_id = $1 and id = $2", clinicA.String(), id).Scan(&name)
		}},
		{"batch+plain", func() error { return batch("patients_plain", false) }},
		{"context+plain", func() error { return batch("patients_plain", true) }},
		{"context+rls", func() error { return batch("patients", true) }},
		{"tenantdb", func() error {
			return p.QueryRow(ctx, "select name from patients where clinic_id = $1 and id = $2", clinicA, id).Scan(&name)
		}},
	}
	txs := []variant{
		{"bare", func() error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx3(ctx, tx, "patients_plain", clinicA.String(), id, &name) })
		}},
		{"context+plain", func() error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, ctxSQL, ctxArgs...); err != nil {
					return err
				}
				return tx3(ctx, tx, "patients_plain", clinicA.String(), id, &name)
			})
		}},
		{"context+rls", func() error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, ctxSQL, ctxArgs...); err != nil {
					return err
				}
				return tx3(ctx, tx, "patients", clinicA.String(), id, &name)
			})
		}},
		{"tenantdb", func() error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error { return tx3(ctx, tx, "patients", clinicA, id, &name) })
		}},
	}
	for _, c := range []struct {
		name     string
		variants []variant
	}{{"PointRead", reads}, {"Tx3", txs}} {
		b.Run(c.name, func(b *testing.B) {
			total := make([]time.Duration, len(c.variants))
			n := 0
			for b.Loop() {
				for i, v := range c.variants {
					start := time.Now()
					if err := v.run(); err != nil {
						b.Fatal(v.name, err)
					}
					total[i] += time.Since(start)
				}
				n++
			}
			for i, v := range c.variants {
				b.ReportMetric(float64(total[i].Microseconds())/float64(n), v.name+"-µs")
			}
			b.ReportMetric(float64(total[len(total)-1])/float64(total[0]), "ratio")
			// Against hand-written pgx with the same context statement and
			// the same policies (the variant before tenantdb's): the cost
			// of tenantdb itself, guard included.
			b.ReportMetric(float64(total[len(total)-1])/float64(total[len(total)-2]), "ratio-same-context")
		})
	}
}

// realGuard is the guard tenantdb.New builds by default, from the model of
// db: the paired benchmarks measure tenantdb with it, as applications run.
func realGuard(b testing.TB, db *pgtest.DB) tenantdb.Guard {
	b.Helper()
	g, err := tenantdb.DefaultGuard(testModel(b, db))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkPairedList is BenchmarkPaired for a page of 51 rows (the
// reference app's list size), to see whether any cost of tenantdb grows
// with the rows returned: the same five variants, interleaved.
func BenchmarkPairedList(b *testing.B) {
	db, _ := benchSchema(b)
	for _, t := range []string{"patients", "patients_plain"} {
		db.Exec(b, pgtest.Admin, fmt.Sprintf(`insert into %s select '%s', gen_random_uuid(), 'list ' || i from generate_series(1, 60) i`, t, clinicA))
	}
	db.Exec(b, pgtest.Admin, "analyze patients; analyze patients_plain")
	pool, _ := appPool(b, db, 1, "")
	p := newPool(b, pool, tenantdb.Config{Guard: realGuard(b, db)})
	ctx := staffCtx(clinicA, staffA)
	pr, err := tenancy.Require(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(ctx, pr)
	if err != nil {
		b.Fatal(err)
	}
	const list = "select id, name from %s where clinic_id = $1 order by name, id limit 51"
	var (
		id   [16]byte
		name string
	)
	drain := func(rows pgx.Rows) error {
		n := 0
		for rows.Next() {
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n != 51 {
			return fmt.Errorf("%d rows, want 51", n)
		}
		return nil
	}
	batch := func(table string, withContext bool) error {
		var bt pgx.Batch
		if withContext {
			bt.Queue(ctxSQL, ctxArgs...)
		}
		bt.Queue(fmt.Sprintf(list, table), clinicA.String())
		br := pool.SendBatch(ctx, &bt)
		if withContext {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		if err := drain(rows); err != nil {
			br.Close()
			return err
		}
		return br.Close()
	}
	variants := []struct {
		name string
		run  func() error
	}{
		{"bare", func() error {
			rows, err := pool.Query(ctx, fmt.Sprintf(list, "patients_plain"), clinicA.String())
			if err != nil {
				return err
			}
			return drain(rows)
		}},
		{"batch+plain", func() error { return batch("patients_plain", false) }},
		{"context+plain", func() error { return batch("patients_plain", true) }},
		{"context+rls", func() error { return batch("patients", true) }},
		{"tenantdb", func() error {
			rows, err := p.Query(ctx, fmt.Sprintf(list, "patients"), clinicA)
			if err != nil {
				return err
			}
			return drain(rows)
		}},
	}
	total := make([]time.Duration, len(variants))
	n := 0
	for b.Loop() {
		for i, v := range variants {
			start := time.Now()
			if err := v.run(); err != nil {
				b.Fatal(v.name, err)
			}
			total[i] += time.Since(start)
		}
		n++
	}
	for i, v := range variants {
		b.ReportMetric(float64(total[i].Microseconds())/float64(n), v.name+"-µs")
	}
	b.ReportMetric(float64(total[len(total)-1])/float64(total[0]), "ratio")
	b.ReportMetric(float64(total[len(total)-1])/float64(total[len(total)-2]), "ratio-same-context")
}
