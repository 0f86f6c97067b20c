package tenantdb_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// floodConns is the pool size of the flood test and benchmark, and
// floodShare the flooding tenant's share of it.
const (
	floodConns   = 6
	floodShare   = 2
	floodWorkers = 24
)

// warm opens every connection of pool, so that an acquire waits only when
// all of them are in use (pgxpool counts building a connection as a wait).
func warm(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	var conns []*pgxpool.Conn
	for range pool.Config().MaxConns {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
}

// flood makes floodWorkers goroutines run slow statements (50 ms) as
// tenant A until stop is closed; wait waits for them.
func flood(p *tenantdb.Pool, stop <-chan struct{}) (wait func()) {
	ctxA := staffCtx(clinicA, staffA)
	var wg sync.WaitGroup
	for range floodWorkers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = p.Exec(ctxA, "select pg_sleep(0.05)")
			}
		})
	}
	return wg.Wait
}

// TestShareFlood: one tenant flooding the pool with slow statements from
// 24 goroutines takes no more than its share (2 of 6 connections), so the
// other tenant's reads never wait for a connection (pgxpool's count of
// acquires that found the pool empty does not move). Without a share the
// same flood makes them wait: that is the hole the share closes.
func TestShareFlood(t *testing.T) {
	db := schema(t)
	for _, tt := range []struct {
		name      string
		share     tenantdb.Share
		wantWaits bool
	}{
		{"without a share", tenantdb.Share{}, true},
		{"with a share", tenantdb.Share{Conns: floodShare}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pool, _ := appPool(t, db, floodConns, "")
			p := newPool(t, pool, tenantdb.Config{Guard: allowAll{}, Share: tt.share})
			warm(t, pool)
			stop := make(chan struct{})
			wait := flood(p, stop)
			time.Sleep(200 * time.Millisecond) // the flood fills what it may
			ctxB := staffCtx(clinicB, staffB)
			before := pool.Stat().EmptyAcquireCount()
			var n int
			reads := 40
			if tt.wantWaits {
				reads = 8 // each waits behind the flood
			}
			for range reads {
				if err := p.QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n); err != nil || n != 7 {
					t.Fatalf("B's read during the flood: %d, %v", n, err)
				}
			}
			waits := pool.Stat().EmptyAcquireCount() - before
			close(stop)
			wait()
			if got := waits > 0; got != tt.wantWaits {
				t.Errorf("acquires that found the pool empty during the flood: %d (want some: %v)", waits, tt.wantWaits)
			}
		})
	}
}

// BenchmarkShareFlood measures the other tenant's point-read latency on a
// quiet pool, with tenant A flooding it without a share, and with A
// limited to its share, in one run. It reports each phase's p50 and p99 and
// the ratios of the flooded p99s to the quiet one (target with a share:
// ≤ 1.5x). Each phase takes b.N reads.
func BenchmarkShareFlood(b *testing.B) {
	db := schema(b)
	var shared atomic.Bool
	pool, _ := appPool(b, db, floodConns, "")
	p := newPool(b, pool, tenantdb.Config{Guard: allowAll{}, ShareFor: func(tenancy.ID) tenantdb.Share {
		if shared.Load() {
			return tenantdb.Share{Conns: floodShare}
		}
		return tenantdb.Share{}
	}})
	warm(b, pool)
	ctxB := staffCtx(clinicB, staffB)
	phase := func(flooded, share bool) (p50, p99 time.Duration) {
		shared.Store(share)
		var wait func()
		stop := make(chan struct{})
		if flooded {
			wait = flood(p, stop)
			time.Sleep(100 * time.Millisecond)
		}
		lat := make([]time.Duration, 0, b.N)
		var name string
		for range b.N {
			start := time.Now()
			if err := p.QueryRow(ctxB, "select name from patients where clinic_id = $1 limit 1", clinicB).Scan(&name); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		close(stop)
		if wait != nil {
			wait()
		}
		slices.Sort(lat)
		return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	b.ResetTimer()
	q50, q99 := phase(false, false)
	f50, f99 := phase(true, false)
	s50, s99 := phase(true, true)
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(q50), "quiet-p50-ms")
	b.ReportMetric(ms(q99), "quiet-p99-ms")
	b.ReportMetric(ms(f50), "flood-p50-ms")
	b.ReportMetric(ms(f99), "flood-p99-ms")
	b.ReportMetric(ms(s50), "share-p50-ms")
	b.ReportMetric(ms(s99), "share-p99-ms")
	b.ReportMetric(float64(f99)/float64(q99), "flood/quiet-p99")
	b.ReportMetric(float64(s99)/float64(q99), "share/quiet-p99")
}
