package tenantdb_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkReplicaSpread runs a mixed load from parallel workers, four
// reads (ReadOnly().QueryRow) to one write (Exec), through a Pool without
// replicas (the baseline) and through one with a hot standby, and counts
// the one-statement work each pool served (Config.Observe's
// Event.Replica). primary_reads and replica_reads are the shares of the
// reads each pool served (the writes, every fifth operation, all go to the
// primary and are subtracted from its count). Run:
//
//	go test ./tenantdb -run '^$' -bench BenchmarkReplicaSpread -benchtime 5000x
func BenchmarkReplicaSpread(b *testing.B) {
	db := schema(b)
	standby := db.Standby(b)
	model := testModel(b, db)
	ctx := staffCtx(clinicB, staffB)
	for _, bc := range []struct {
		name     string
		replicas bool
	}{{"primary-only", false}, {"with-replica", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var served [2]atomic.Int64 // one-statement work by pool: 0 primary, 1 replica
			cfg := tenantdb.Config{
				Model: model, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
				Observe: func(e tenantdb.Event) {
					if e.Kind == tenantdb.EventStatement && e.Replica < 2 {
						served[e.Replica].Add(1)
					}
				},
			}
			if bc.replicas {
				cfg.Replicas = tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(b, pgtest.App)}, MaxLag: 5 * time.Second, CheckInterval: 100 * time.Millisecond}
			}
			p, err := tenantdb.New(context.Background(), db.Pool(b, pgtest.App), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if bc.replicas {
				// Right after New the standby may lack the primary's
				// newest WAL (flushed within wal_writer_delay with
				// synchronous_commit off): reads go to the primary until
				// a check sees it current. Measure from then on.
				for end := time.Now().Add(10 * time.Second); served[1].Load() == 0; {
					var n int
					if err := p.ReadOnly().QueryRow(ctx, "select 1").Scan(&n); err != nil || time.Now().After(end) {
						b.Fatalf("the replica served no read: %v", err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				served[0].Store(0)
				served[1].Store(0)
			}
			var ops, writes atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ops.Add(1)%5 == 0 {
						writes.Add(1)
						if _, err := p.Exec(ctx, "update patients set name = name where clinic_id = $1 and name = 'b1'", clinicB); err != nil {
							b.Error(err)
							return
						}
						continue
					}
					var n int
					if err := p.ReadOnly().QueryRow(ctx, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			reads := float64(ops.Load() - writes.Load())
			b.ReportMetric(float64(served[0].Load()-writes.Load())/reads, "primary_reads")
			b.ReportMetric(float64(served[1].Load())/reads, "replica_reads")
		})
	}
}
