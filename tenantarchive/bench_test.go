package tenantarchive_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantarchive"
)

// pgDump is the pg_dump the benchmarks compare with, of the server's own
// version.
const pgDump = "/usr/lib/postgresql/15/bin/pg_dump"

// seedBulk gives clinic rows/4 patients, each with an account, a transfer
// and a staff note (rows rows in all), written by the superuser with
// generate_series, and indexes the foreign keys as an application would.
func seedBulk(b *testing.B, db *pgtest.DB, clinic tenancy.ID, rows int) {
	b.Helper()
	n := rows / 4
	for _, q := range []string{
		`INSERT INTO public.patients (clinic_id, id, name, born, plan_id, note)
			SELECT $1, uuid_generate_v7_bench(g), 'patient ' || g, date '1950-01-01' + (g % 20000), 'basic', CASE WHEN g % 3 = 0 THEN 'a, "b"' END
			FROM generate_series(1, $2::int) AS g`,
		`INSERT INTO public.accounts (clinic_id, id, patient_id, balance)
			SELECT $1, uuid_generate_v7_bench(g + $2::int), uuid_generate_v7_bench(g), 1000 FROM generate_series(1, $2::int) AS g`,
		`INSERT INTO public.transfers (clinic_id, id, from_account, to_account, amount)
			SELECT $1, uuid_generate_v7_bench(g + 2 * $2::int), uuid_generate_v7_bench(g + $2::int), uuid_generate_v7_bench(g + $2::int), g % 100
			FROM generate_series(1, $2::int) AS g`,
		`INSERT INTO public.staff_notes (clinic_id, id, patient_id, body)
			SELECT $1, uuid_generate_v7_bench(g + 3 * $2::int), uuid_generate_v7_bench(g), 'note ' || g FROM generate_series(1, $2::int) AS g`,
	} {
		db.Exec(b, pgtest.Admin, q, clinic, n)
	}
	db.Exec(b, pgtest.Admin, `ANALYZE`)
}

// benchDB is a migrated database with foreign-key indexes, clinic B
// small, and the helper that makes distinct uuids from numbers.
func benchDB(b *testing.B) *pgtest.DB {
	b.Helper()
	db, m := migrated(b)
	db.Exec(b, pgtest.Admin, `
		CREATE FUNCTION public.uuid_generate_v7_bench(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
			AS $$ SELECT ('0195f1c2-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
		CREATE INDEX ON public.accounts (clinic_id, patient_id);
		CREATE INDEX ON public.staff_notes (clinic_id, patient_id);
		CREATE INDEX ON public.transfers (clinic_id, from_account);
		CREATE INDEX ON public.transfers (clinic_id, to_account)`)
	p := pool(b, db, m)
	seed(b, db, p, clinicB, 50, "pro")
	return db
}

// peakHeap samples the heap while fn runs and returns its peak above the
// heap before fn, in bytes.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// BenchmarkLifecycle seeds clinic A with -rows rows (default 1,000,000;
// BENCH_ROWS overrides) over four tables, then, in one run, measures:
// Export (rows/s and its peak heap), pg_dump --data-only of the same four
// tables and psql \copy of clinic A's rows of them (the baselines), and
// Erase in batches of 1000, with the p99 of clinic B's point reads during
// the erasure against their p99 without it (5 s just before and 5 s just
// after, pooled). Run it with
// -benchtime=1x: each iteration is the whole tenant.
func BenchmarkLifecycle(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("BENCH_ROWS"); s != "" {
		var err error
		if rows, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		db := benchDB(b)
		m := modelOf(b, db)
		p := pool(b, db, m)
		db.Exec(b, pgtest.Platform, `INSERT INTO public.clinics VALUES ($1, 'A')`, clinicA)
		seedBulk(b, db, clinicA, rows)
		ctx := context.Background()
		tables := []string{"public.patients", "public.accounts", "public.transfers", "public.staff_notes"}

		// Export.
		dir := filepath.Join(b.TempDir(), "a")
		var man *tenantarchive.Manifest
		var exportTime time.Duration
		heap := peakHeap(func() {
			start := time.Now()
			var err error
			man, err = tenantarchive.Export(ctx, p, clinicA, dir, tenantarchive.ExportConfig{Reason: "benchmark"})
			exportTime = time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
		})
		var exported int64
		for _, t := range man.Tables {
			if slices.Contains(tables, t.Name) {
				exported += t.Rows
			}
		}
		if exported != int64(rows/4*4) {
			b.Fatalf("exported %d rows of the four tables, want %d", exported, rows/4*4)
		}

		// pg_dump --data-only of the same tables (every clinic's rows: B's
		// 200 beside A's).
		args := []string{"--data-only", "--no-owner", "-f", filepath.Join(b.TempDir(), "dump.sql"), "-d", db.ConnString(pgtest.Admin)}
		for _, t := range tables {
			args = append(args, "-t", t)
		}
		start := time.Now()
		if out, err := exec.Command(pgDump, args...).CombinedOutput(); err != nil {
			b.Fatalf("pg_dump: %v\n%s", err, out)
		}
		dumpTime := time.Since(start)
		dumped := int64(rows/4*4) + 4*50

		// psql \copy of clinic A's rows of the same tables, as CSV.
		var script strings.Builder
		for i, t := range tables {
			fmt.Fprintf(&script, "\\copy (SELECT * FROM %s WHERE clinic_id = '%s') TO '%s' WITH (FORMAT csv, HEADER)\n",
				t, clinicA, filepath.Join(b.TempDir(), strconv.Itoa(i)+".csv"))
		}
		start = time.Now()
		psql := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.ConnString(pgtest.Admin))
		psql.Stdin = strings.NewReader(script.String())
		if out, err := psql.CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		copyTime := time.Since(start)

		// Erase, with clinic B's reads measured before and during it.
		read := func(stop <-chan struct{}) []time.Duration {
			var lat []time.Duration
			bctx := staff(clinicB, staffA)
			for {
				select {
				case <-stop:
					return lat
				default:
				}
				t0 := time.Now()
				var n int64
				if err := p.QueryRow(bctx, `SELECT count(*) FROM public.patients WHERE clinic_id = $1 AND name = 'patient 7 of `+clinicB.String()+`'`, clinicB).Scan(&n); err != nil {
					b.Error(err)
					return lat
				}
				lat = append(lat, time.Since(t0))
				time.Sleep(2 * time.Millisecond)
			}
		}
		stop := make(chan struct{})
		var before []time.Duration
		var wg sync.WaitGroup
		wg.Go(func() { before = read(stop) })
		time.Sleep(5 * time.Second)
		close(stop)
		wg.Wait()
		stop = make(chan struct{})
		var during []time.Duration
		wg.Go(func() { during = read(stop) })
		start = time.Now()
		rec, err := tenantarchive.Erase(ctx, p, clinicA, tenantarchive.EraseConfig{Reason: "benchmark", Retention: tenantarchive.RetainAuditChain})
		eraseTime := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		// And after it, so that the baseline brackets the erasure in time
		// on this shared machine.
		stop = make(chan struct{})
		var after []time.Duration
		wg.Go(func() { after = read(stop) })
		time.Sleep(5 * time.Second)
		close(stop)
		wg.Wait()
		var deleted int64
		for _, r := range rec.Relations {
			deleted += r.Deleted
		}

		b.ReportMetric(float64(exported)/exportTime.Seconds(), "export-rows/s")
		b.ReportMetric(float64(dumped)/dumpTime.Seconds(), "pgdump-rows/s")
		b.ReportMetric(float64(exported)/copyTime.Seconds(), "psqlcopy-rows/s")
		b.ReportMetric((float64(exported)/exportTime.Seconds())/(float64(dumped)/dumpTime.Seconds()), "export/pgdump")
		b.ReportMetric((float64(exported)/exportTime.Seconds())/(float64(exported)/copyTime.Seconds()), "export/psqlcopy")
		b.ReportMetric(float64(heap)/(1<<20), "export-peak-heap-MiB")
		b.ReportMetric(eraseTime.Seconds(), "erase-s")
		b.ReportMetric(float64(deleted)/eraseTime.Seconds(), "erase-rows/s")
		pb, pd := p99(append(before, after...)), p99(during)
		b.ReportMetric(float64(pb.Microseconds())/1000, "B-p99-without-ms")
		b.ReportMetric(float64(pd.Microseconds())/1000, "B-p99-during-ms")
		b.ReportMetric(float64(pd)/float64(pb), "B-p99-during/without")
		b.Logf("rows %d: export %v, pg_dump %v, psql \\copy %v, erase %v (%d deleted); B's reads: %d before, %d during, %d after (p99 %v, %v, %v)",
			rows, exportTime, dumpTime, copyTime, eraseTime, deleted, len(before), len(during), len(after), p99(before), pd, p99(after))
	}
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}
