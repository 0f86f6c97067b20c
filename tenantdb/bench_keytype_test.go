package tenantdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkPairedKeyTypes is BenchmarkPaired's point read for each tenant
// key type: tenantdb (guard included) against hand-written pgx sending the
// same context statement and query, under the same policies, interleaved
// in every iteration on one connection. Its ratio-same-context metric is
// the cost of tenantdb itself for that key type.
func BenchmarkPairedKeyTypes(b *testing.B) {
	for _, kc := range keyCases(b) {
		b.Run(kc.typ.String(), func(b *testing.B) { benchKeyType(b, kc) })
	}
}

func benchKeyType(b *testing.B, kc keyCase) {
	ctx := context.Background()
	db := pgtest.New(b)
	db.Exec(b, pgtest.Owner, fmt.Sprintf(`
		create table public.tasks (org_id %s not null, id bigint not null, title text not null, primary key (org_id, id))`, kc.sqlType))
	model, err := rls.NewModel(rls.Config{
		OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		TenantColumn: "org_id", TenantKey: kc.typ, SubjectKey: kc.typ,
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}},
	}, rls.Table{Name: "public.tasks"})
	if err != nil {
		b.Fatal(err)
	}
	migration, err := model.Generate()
	if err != nil {
		b.Fatal(err)
	}
	db.Exec(b, pgtest.Owner, migration)
	db.Exec(b, pgtest.Admin, `insert into public.tasks select $1, i, 'task ' || i from generate_series(1, 1000) i`, kc.a)
	db.Exec(b, pgtest.Admin, `insert into public.tasks select $1, i, 'task ' || i from generate_series(1, 1000) i`, kc.b)
	db.Exec(b, pgtest.Admin, `analyze public.tasks`)

	pool, _ := appPool(b, db, 1, "")
	p, err := tenantdb.New(ctx, pool, tenantdb.Config{Model: model, Sources: []tenancy.Source{tenancytest.Source()}, ContextMode: contextMode})
	if err != nil {
		b.Fatal(err)
	}
	mctx := tenancytest.Context(ctx, tenancy.Principal{Kind: "member", Tenant: kc.a, Subject: kc.guestA})
	pr, err := tenancy.Require(mctx)
	if err != nil {
		b.Fatal(err)
	}
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(mctx, pr)
	if err != nil {
		b.Fatal(err)
	}
	const query = "select title from public.tasks where org_id = $1 and id = $2"
	var title string
	variants := []struct {
		name string
		run  func() error
	}{
		{"context+rls", func() error {
			var bt pgx.Batch
			bt.Queue(ctxSQL, ctxArgs...)
			bt.Queue(query, kc.a.String(), int64(500))
			br := pool.SendBatch(ctx, &bt)
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
			if err := br.QueryRow().Scan(&title); err != nil {
				br.Close()
				return err
			}
			return br.Close()
		}},
		{"tenantdb", func() error { return p.QueryRow(mctx, query, kc.a, int64(500)).Scan(&title) }},
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
	if title != "task 500" {
		b.Fatalf("read %q, want task 500", title)
	}
	for i, v := range variants {
		b.ReportMetric(float64(total[i].Microseconds())/float64(n), v.name+"-µs")
	}
	b.ReportMetric(float64(total[1])/float64(total[0]), "ratio-same-context")
}
