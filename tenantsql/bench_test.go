package tenantsql_test

import (
	"context"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkPointRead compares a primary-key read through a tenantsql
// *sql.DB (outside a transaction: BEGIN and the context, the query,
// COMMIT) with the same read through a tenantdb pool (one round trip),
// both as the app role under the generated policies, through the model's
// guard. Compare the two with benchstat.
func BenchmarkPointRead(b *testing.B) {
	db, m := schema(b)
	var id string
	if err := db.Conn(b, pgtest.Admin).QueryRow(context.Background(), `select id::text from patients where clinic_id = $1 limit 1`, clinicA).Scan(&id); err != nil {
		b.Fatal(err)
	}
	ctx := staffCtx(clinicA, staffA)
	const query = `select name from patients where clinic_id = $1 and id = $2`
	pool, err := tenantdb.New(context.Background(), db.Pool(b, pgtest.App), tenantdb.Config{Model: m, Sources: []tenancy.Source{tenancytest.Source()}})
	if err != nil {
		b.Fatal(err)
	}
	sdb := open(b, db, m, nil)
	sdb.SetMaxOpenConns(1)
	var name string
	b.Run("tenantdb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pool.QueryRow(ctx, query, clinicA, id).Scan(&name); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tenantsql", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := sdb.QueryRowContext(ctx, query, clinicA, id).Scan(&name); err != nil {
				b.Fatal(err)
			}
		}
	})
}
