package tenantdb_test

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkPairedCopyFrom compares tenantdb's bulk insert (multi-row
// INSERTs under the guard and RLS, since COPY FROM is refused there) with
// pgx's CopyFrom and with one plain multi-row INSERT of all the rows (and,
// for the design not taken, one INSERT ... SELECT FROM unnest of arrays),
// all on the table without RLS, interleaved in every iteration as
// BenchmarkPaired does. It reports each variant's rows per second and the
// ratios of tenantdb's rate to the baselines'. The variants run in a
// rotating order.
func BenchmarkPairedCopyFrom(b *testing.B) {
	db, _ := benchSchema(b)
	pool, _ := appPool(b, db, 1, "")
	p := newPool(b, pool, tenantdb.Config{Guard: realGuard(b, db)})
	open := newPool(b, pool, tenantdb.Config{}) // no guard: its cost apart
	ctx := staffCtx(clinicA, staffA)
	var seq uint64
	rows := func(n int, tenant any) [][]any {
		out := make([][]any, n)
		for i := range out {
			seq++
			var id [16]byte
			binary.BigEndian.PutUint64(id[8:], seq)
			id[6] = 0x70 // a version nibble, as a UUIDv7 would have
			out[i] = []any{tenant, pgtype.UUID{Bytes: id, Valid: true}, "bulk " + strconv.FormatUint(seq, 10)}
		}
		return out
	}
	insertSQL := func(n int) string {
		var s strings.Builder
		s.WriteString("insert into patients_plain (clinic_id, id, name) values ")
		for i := range n {
			if i > 0 {
				s.WriteString(", ")
			}
			fmt.Fprintf(&s, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
		}
		return s.String()
	}
	type variant struct {
		name   string
		tenant any
		run    func(rows [][]any) error
	}
	for _, n := range []int{1000, 10000} {
		insert := insertSQL(n)
		variants := []variant{
			{"pgx-copy", clinicA.String(), func(rows [][]any) error {
				return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"patients_plain"}, patientColumns, pgx.CopyFromRows(rows))
					return err
				})
			}},
			{"pgx-insert", clinicA.String(), func(rows [][]any) error {
				args := make([]any, 0, 3*len(rows))
				for _, r := range rows {
					args = append(args, r...)
				}
				_, err := pool.Exec(ctx, insert, args...)
				return err
			}},
			// The design not taken: one statement of arrays, which needs
			// each column's type named in the SQL (a catalog lookup).
			{"pgx-unnest", clinicA.String(), func(rows [][]any) error {
				tenants, ids, names := make([]string, len(rows)), make([]pgtype.UUID, len(rows)), make([]string, len(rows))
				for i, r := range rows {
					tenants[i], ids[i], names[i] = r[0].(string), r[1].(pgtype.UUID), r[2].(string)
				}
				_, err := pool.Exec(ctx, "insert into patients_plain (clinic_id, id, name) select * from unnest($1::uuid[], $2::uuid[], $3::text[])", tenants, ids, names)
				return err
			}},
			{"tenantdb-noguard", clinicA, func(rows [][]any) error {
				_, err := open.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(rows))
				return err
			}},
			{"tenantdb", clinicA, func(rows [][]any) error {
				_, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(rows))
				return err
			}},
		}
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			total := make([]time.Duration, len(variants))
			iterations := 0
			for b.Loop() {
				// Each iteration starts at another variant, so that none
				// always follows the same one (a table's growth, the WAL).
				for k := range variants {
					i := (k + iterations) % len(variants)
					v := variants[i]
					b.StopTimer()
					rs := rows(n, v.tenant)
					b.StartTimer()
					start := time.Now()
					if err := v.run(rs); err != nil {
						b.Fatal(v.name, err)
					}
					total[i] += time.Since(start)
				}
				iterations++
			}
			rate := func(i int) float64 { return float64(n*iterations) / total[i].Seconds() }
			for i, v := range variants {
				b.ReportMetric(rate(i), v.name+"-rows/s")
			}
			last := len(variants) - 1
			b.ReportMetric(rate(last)/rate(0), "ratio-to-copy")
			b.ReportMetric(rate(last)/rate(1), "ratio-to-insert")
		})
	}
}

// BenchmarkCopyFromChunk measures tenantdb's bulk insert of 10,000 rows
// with statements of 128, 512 (the default) and 2,048 rows.
func BenchmarkCopyFromChunk(b *testing.B) {
	db, _ := benchSchema(b)
	pool, _ := appPool(b, db, 1, "")
	p := newPool(b, pool, tenantdb.Config{Guard: realGuard(b, db)})
	ctx := staffCtx(clinicA, staffA)
	var seq uint64
	const n = 10000
	for _, chunk := range []int{128, 512, 2048} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			defer tenantdb.SetCopyChunkRows(tenantdb.SetCopyChunkRows(chunk))
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				rs := make([][]any, n)
				for i := range rs {
					seq++
					var id [16]byte
					binary.BigEndian.PutUint64(id[8:], seq)
					rs[i] = []any{clinicA, pgtype.UUID{Bytes: id, Valid: true}, "chunk"}
				}
				b.StartTimer()
				if _, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(rs)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
