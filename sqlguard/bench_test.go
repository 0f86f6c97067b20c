package sqlguard_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
)

var benchSQL = []struct {
	name string
	sql  string
	args []any // default: tenant A, "x"
}{
	{name: "point", sql: "select id, name from patients where clinic_id = $1 and id = $2"},
	// The same point query scoped by a literal, as uptrace/bun writes it.
	{name: "point-literal", sql: `SELECT "p"."id", "p"."name" FROM "patients" AS "p" WHERE (p.clinic_id = '` + litA + `') AND (p.id = 'x')`},
	// The same with the tenant as github.com/google/uuid's UUID, read by
	// reflection.
	{name: "point-google-uuid", sql: "select id, name from patients where clinic_id = $1 and id = $2", args: []any{uuid.UUID(raw(tenantA)), "x"}},
	// A tenant column of its own, quoted mixed case, and a row value.
	{name: "row-value", sql: `select id, title from tasks where (id, title, "tenantId") = ($2, $2, $1::uuid)`},
	{name: "any-array", sql: "select id from attachments where organization_id = any($1) and name = $2", args: []any{[]uuid.UUID{uuid.UUID(raw(tenantA))}, "x"}},
	{name: "join", sql: "select p.name, a.note from patients p join appointments a on a.clinic_id = p.clinic_id and a.patient_id = p.id where p.clinic_id = $1 and p.id = $2"},
	{name: "subquery", sql: "select p.name, (select count(*) from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id) from patients p where p.clinic_id = $1 and p.name like $2 order by p.name limit 20"},
	{name: "cte-through", sql: `with d as (select "tenantId", id from tasks where "tenantId" = $1 and title = $2) delete from tasks where ("tenantId", id) in (select "tenantId", id from d)`},
}

// BenchmarkCheck measures a cached check (the per-statement cost), beside
// the uncached parse and analysis of the same text as the baseline.
func BenchmarkCheck(b *testing.B) {
	for _, s := range benchSQL {
		args := s.args
		if args == nil {
			args = []any{tenantA, "x"}
		}
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
		args := []any{tenantA, "x"}
		// Warm the cache first, as the serial benchmarks do: otherwise both
		// goroutines may miss it at once, and without cgo the second parse
		// under way compiles a second WebAssembly instance inside the timing.
		if err := g.Check(benchSQL[0].sql, args, tenantA); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
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

// BenchmarkCheckKeyTypes measures a cached check of a point read for each
// tenant key type, with the tenant bound as the Go values an application
// passes most.
func BenchmarkCheckKeyTypes(b *testing.B) {
	acme, _ := tenancy.TextID("acme")
	const sql = "select id, title from tasks where org_id = $1 and id = $2"
	for _, c := range []struct {
		name   string
		typ    tenancy.KeyType
		tenant tenancy.ID
		arg    any
	}{
		{"uuid/ID", tenancy.KeyUUID, tenantA, tenantA},
		{"bigint/ID", tenancy.KeyBigint, tenancy.IntID(42), tenancy.IntID(42)},
		{"bigint/int64", tenancy.KeyBigint, tenancy.IntID(42), int64(42)},
		{"text/ID", tenancy.KeyText, acme, acme},
		{"text/string", tenancy.KeyText, acme, "acme"},
	} {
		b.Run(c.name, func(b *testing.B) {
			g := keyGuard(b, c.typ)
			args := []any{c.arg, int64(1)}
			if err := g.Check(sql, args, c.tenant); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := g.Check(sql, args, c.tenant); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
