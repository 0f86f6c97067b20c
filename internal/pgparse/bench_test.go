package pgparse_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/internal/pgparse"
)

// BenchmarkParse measures one uncached parse of the guard's point read and
// of a join with a sub-query, in the build's parser (compare a run with
// CGO_ENABLED=0 against one with cgo).
func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct{ name, sql string }{
		{"point", "select id, name from patients where clinic_id = $1 and id = $2"},
		{"join-subquery", "select p.name, (select count(*) from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id) from patients p join clinics c on c.id = p.clinic_id where p.clinic_id = $1 and p.name like $2 order by p.name limit 20"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if _, err := pgparse.Parse(bm.sql); err != nil { // the WebAssembly start-up is not measured
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pgparse.Parse(bm.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
