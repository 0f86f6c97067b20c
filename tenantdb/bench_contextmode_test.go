package tenantdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkPointReadContextMode compares the two context modes on pgx's
// exec mode (which the SET LOCAL mode needs), beside bare pgx on the table
// without RLS, interleaved in every iteration as BenchmarkPaired does: a
// point read and a three-statement Tx, each as the default mode
// (set_config) and as the SET LOCAL mode. It reports each variant's mean
// time and the ratios set-local over set-config and over bare.
func BenchmarkPointReadContextMode(b *testing.B) {
	db, id := benchSchema(b)
	pool, _ := appPool(b, db, 1, " default_query_exec_mode=exec")
	setConfig, err := tenantdb.New(context.Background(), pool, tenantdb.Config{
		Model: testModel(b, db), Guard: realGuard(b, db), Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		b.Fatal(err)
	}
	setLocal, err := tenantdb.New(context.Background(), pool, tenantdb.Config{
		Model: testModel(b, db), Guard: realGuard(b, db), Sources: []tenancy.Source{tenancytest.Source()},
		ContextMode: tenantdb.ContextSetLocal})
	if err != nil {
		b.Fatal(err)
	}
	ctx := staffCtx(clinicA, staffA)
	var name string
	read := func(p *tenantdb.Pool) func() error {
		return func() error {
			return p.QueryRow(ctx, "select name from patients where clinic_id = $1 and id = $2", clinicA, id).Scan(&name)
		}
	}
	tx := func(p *tenantdb.Pool) func() error {
		return func() error {
			return p.Tx(ctx, func(tx *tenantdb.Tx) error { return tx3(ctx, tx, "patients", clinicA, id, &name) })
		}
	}
	type variant struct {
		name string
		run  func() error
	}
	for _, c := range []struct {
		name     string
		variants []variant // bare, set-config, set-local
	}{
		{"PointRead", []variant{
			{"bare", func() error {
				return pool.QueryRow(ctx, "select name from patients_plain where clinic_id = $1 and id = $2", clinicA.String(), id).Scan(&name)
			}},
			{"set-config", read(setConfig)},
			{"set-local", read(setLocal)},
		}},
		{"Tx3", []variant{
			{"bare", func() error {
				return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx3(ctx, tx, "patients_plain", clinicA.String(), id, &name) })
			}},
			{"set-config", tx(setConfig)},
			{"set-local", tx(setLocal)},
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			total := make([]time.Duration, len(c.variants))
			n := 0
			for b.Loop() {
				for i, v := range c.variants {
					start := time.Now()
					if err := v.run(); err != nil {
						b.Fatal(err)
					}
					total[i] += time.Since(start)
				}
				n++
			}
			for i, v := range c.variants {
				b.ReportMetric(float64(total[i].Microseconds())/float64(n), v.name+"-µs")
			}
			b.ReportMetric(float64(total[2])/float64(total[1]), "set-local/set-config")
			b.ReportMetric(float64(total[2])/float64(total[0]), "set-local/bare")
			b.ReportMetric(float64(total[1])/float64(total[0]), "set-config/bare")
		})
	}
}
