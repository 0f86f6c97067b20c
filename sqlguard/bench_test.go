package sqlguard_test

import (
	"fmt"
	"testing"

	"github.com/mydentalpractice/tenancy/sqlguard"
)

var benchSQL = []struct{ name, sql string }{
	{"point", "select id, name from patients where clinic_id = $1 and id = $2"},
	// The same point query scoped by a literal, as uptrace/bun writes it.
	{"point-literal", `SELECT "p"."id", "p"."name" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `') AND (p.id = 'x')`},
	{"join", "select p.name, a.note from patients p join appointments a on a.clinic_id = p.clinic_id and a.patient_id = p.id where p.clinic_id = $1 and p.id = $2"},
	{"subquery", "select p.name, (select count(*) from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id) from patients p where p.clinic_id = $1 and p.name like $2 order by p.name limit 20"},
}

// BenchmarkCheck measures a cached check (the per-statement cost), beside
// the uncached parse and analysis of the same text as the baseline.
func BenchmarkCheck(b *testing.B) {
	args := []any{tenantA, "x"}
	for _, s := range benchSQL {
		b.Run(s.name+"/cached", func(b *testing.B) {
			g := newGuard(b, sqlguard.Config{})
			if err := g.Check(s.sql, args, tenantA); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := g.Check(s.sql, args, tenantA); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/uncached", func(b *testing.B) {
			g := newGuard(b, sqlguard.Config{CacheSize: 1})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// A new text each time: a trailing comment defeats the cache.
				i++
				if err := g.Check(s.sql+fmt.Sprintf(" -- %d", i), args, tenantA); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("point/cached-parallel", func(b *testing.B) {
		g := newGuard(b, sqlguard.Config{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := g.Check(benchSQL[0].sql, args, tenantA); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
