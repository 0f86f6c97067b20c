package tenancyotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// BenchmarkPointReadMetrics is a primary-key read through tenantdb as the
// app role, without Config.Observe ("off") and with a Metrics of tenant
// series recording it ("on"), run alternately on one connection.
func BenchmarkPointReadMetrics(b *testing.B) {
	db := pgtest.New(b)
	cfg := rls.Config{OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}}}
	db.Exec(b, pgtest.Owner, `create table public.notes (tenant_id uuid not null, id uuid not null, body text not null, primary key (tenant_id, id))`)
	table := rls.Table{Name: "public.notes"}
	sql, err := rls.Generate(cfg, table)
	if err != nil {
		b.Fatal(err)
	}
	db.Exec(b, pgtest.Owner, sql)
	model, err := rls.NewModel(cfg, table)
	if err != nil {
		b.Fatal(err)
	}
	id := tenancy.NewID()
	db.Exec(b, pgtest.Admin, `insert into public.notes values ('`+orgA.String()+`', '`+id.String()+`', 'x')`)
	pcfg, err := pgxpool.ParseConfig(db.ConnString(pgtest.App))
	if err != nil {
		b.Fatal(err)
	}
	pcfg.MaxConns = 1
	raw, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))})
	if err != nil {
		b.Fatal(err)
	}
	pools := map[string]*tenantdb.Pool{}
	for name, observe := range map[string]func(tenantdb.Event){"off": nil, "on": m.Observe} {
		if pools[name], err = tenantdb.New(context.Background(), raw, tenantdb.Config{Model: model,
			Sources: []tenancy.Source{tenancytest.Source()}, Observe: observe}); err != nil {
			b.Fatal(err)
		}
	}
	ctx := memberOf(orgA)
	var body string
	read := func(p *tenantdb.Pool) error {
		return p.QueryRow(ctx, `select body from public.notes where tenant_id = $1 and id = $2`, orgA, id).Scan(&body)
	}
	for _, name := range []string{"off", "on"} {
		p := pools[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := read(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Both in every iteration, so that the load of a shared machine falls
	// on both alike (the ratio is steadier than the two above), in turns
	// first, so that neither gains from its place.
	b.Run("paired", func(b *testing.B) {
		var took [2]time.Duration // off, on
		n := 0
		for b.Loop() {
			for j := range 2 {
				k := (n + j) % 2
				start := time.Now()
				if err := read(pools[[]string{"off", "on"}[k]]); err != nil {
					b.Fatal(err)
				}
				took[k] += time.Since(start)
			}
			n++
		}
		off, on := took[0], took[1]
		b.ReportMetric(float64(off.Microseconds())/float64(n), "off-µs")
		b.ReportMetric(float64(on.Microseconds())/float64(n), "on-µs")
		b.ReportMetric(float64(on)/float64(off), "ratio")
	})
}

// BenchmarkObserve is Metrics.Observe alone, for a statement of a tenant
// among 100,000, of which 100 do 90% of the work, with tenant series.
func BenchmarkObserve(b *testing.B) {
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))})
	if err != nil {
		b.Fatal(err)
	}
	busy, rest := make([]tenancy.ID, 100), make([]tenancy.ID, 100000)
	for i := range busy {
		busy[i] = tenancy.IntID(int64(i + 1))
	}
	for i := range rest {
		rest[i] = tenancy.IntID(int64(i + 1000))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := busy[i%len(busy)]
		if i%10 == 9 {
			id = rest[(i*7919)%len(rest)]
		}
		m.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: id, Statements: 1, Duration: time.Millisecond})
		i++
	}
}
