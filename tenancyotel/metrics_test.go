package tenancyotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

var orgB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")

// metricsPool is a tenant pool of the notes table, as the app role, whose
// Observe hook is a Metrics of mcfg read by the returned reader.
func metricsPool(t *testing.T, mcfg tenancyotel.MetricsConfig, shareFor func(tenancy.ID) tenantdb.Share) (*tenantdb.Pool, *tenancyotel.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	db := pgtest.New(t)
	cfg := rls.Config{OwnerRole: db.RoleName(pgtest.Owner), AppRole: db.RoleName(pgtest.App), PlatformRole: db.RoleName(pgtest.Platform),
		Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}}}
	db.Exec(t, pgtest.Owner, `create table public.notes (tenant_id uuid not null, id uuid not null, body text not null, primary key (tenant_id, id))`)
	table := rls.Table{Name: "public.notes"}
	sql, err := rls.Generate(cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, sql)
	model, err := rls.NewModel(cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mcfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	m, err := tenancyotel.NewMetrics(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	pcfg, err := pgxpool.ParseConfig(db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4
	raw, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	pool, err := tenantdb.New(context.Background(), raw, tenantdb.Config{Model: model, Sources: []tenancy.Source{tenancytest.Source()},
		Observe: m.Observe, ShareFor: shareFor})
	if err != nil {
		t.Fatal(err)
	}
	return pool, m, reader
}

func memberOf(org tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: "member", Tenant: org, Subject: tenancy.NewID()})
}

// series reads every data point of the reader's metrics of the tenant
// scope, keyed "metric tenant" or "metric tenant rule" (the tenant "-"
// when a point has none), with its value (seconds for times).
func series(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "tenancy.tenant.") {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[pointKey(m.Name, p.Attributes)] += float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out[pointKey(m.Name, p.Attributes)] += p.Value
				}
			default:
				t.Errorf("metric %s is a %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func pointKey(name string, attrs attribute.Set) string {
	key := name
	if v, ok := attrs.Value(tenancyotel.KeyTenant); ok {
		key += " " + v.AsString()
	} else {
		key += " -"
	}
	if v, ok := attrs.Value(tenancyotel.KeyRule); ok {
		key += " " + v.AsString()
	}
	return key
}

// TestMetricsPerTenant: against PostgreSQL as the app role, each tenant's
// statements, refusals by rule, waits for its share and busy refusals are
// counted in its own series, and its connection time is there.
func TestMetricsPerTenant(t *testing.T) {
	var wait atomic.Int64 // the share's Wait, which the test changes
	wait.Store(int64(30 * time.Millisecond))
	pool, _, reader := metricsPool(t, tenancyotel.MetricsConfig{TenantAttribute: true, Tenants: 5},
		func(tenancy.ID) tenantdb.Share { return tenantdb.Share{Conns: 1, Wait: time.Duration(wait.Load())} })
	ctxA, ctxB := memberOf(orgA), memberOf(orgB)
	// Work before a tenant holds a series is the other tenants'; the
	// collection after it gives A and B free series.
	for _, c := range []struct {
		ctx context.Context
		org tenancy.ID
	}{{ctxA, orgA}, {ctxB, orgB}} {
		var n int
		if err := pool.QueryRow(c.ctx, `select count(*) from public.notes where tenant_id = $1`, c.org).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if got := series(t, reader); got["tenancy.tenant.statements "+tenancyotel.OtherTenants] != 2 || len(got) != 2 {
		t.Fatalf("before A and B hold series: %v, want their 2 statements (and time) in the others'", got)
	}

	for range 3 {
		if _, err := pool.Exec(ctxA, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'x')`, orgA, tenancy.NewID()); err != nil {
			t.Fatal(err)
		}
	}
	batch := &pgx.Batch{}
	batch.Queue(`select count(*) from public.notes where tenant_id = $1`, orgA)
	batch.Queue(`select count(*) from public.notes where tenant_id = $1`, orgA)
	if err := pool.SendBatch(ctxA, batch).Close(); err != nil {
		t.Fatal(err)
	}
	err := pool.Tx(ctxB, func(tx *tenantdb.Tx) error {
		var n int
		if err := tx.QueryRow(ctxB, `select count(*) from public.notes where tenant_id = $1`, orgB).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(ctxB, `insert into public.notes (tenant_id, id, body) values ($1, $2, 'y')`, orgB, tenancy.NewID())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Refusals: two unscoped by A, one naming another tenant by B.
	for _, c := range []struct {
		ctx  context.Context
		sql  string
		args []any
	}{
		{ctxA, `delete from public.notes`, nil},
		{ctxA, `select * from public.notes`, nil},
		{ctxB, `delete from public.notes where tenant_id = $1`, []any{orgA}},
	} {
		if _, err := pool.Exec(c.ctx, c.sql, c.args...); err == nil {
			t.Fatalf("%s went through", c.sql)
		}
	}
	// B holds its share of one connection: its next two reads wait and
	// are busy; another waits for its turn and gets it.
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- pool.Tx(ctxB, func(*tenantdb.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	var n int
	for range 2 {
		if err := pool.QueryRow(ctxB, `select count(*) from public.notes where tenant_id = $1`, orgB).Scan(&n); !errors.Is(err, tenantdb.ErrBusy) {
			t.Fatalf("B beyond its share: %v, want ErrBusy", err)
		}
	}
	// A wait long enough for the Tx's end on a loaded machine; the Tx ends
	// once the read has had time to queue.
	wait.Store(int64(time.Minute))
	go func() { time.Sleep(50 * time.Millisecond); close(hold) }()
	if err := pool.QueryRow(ctxB, `select count(*) from public.notes where tenant_id = $1`, orgB).Scan(&n); err != nil || n != 1 {
		t.Fatalf("B after its turn: %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	got := series(t, reader)
	a, b := orgA.String(), orgB.String()
	for _, k := range []string{"tenancy.tenant.conn.time " + a, "tenancy.tenant.conn.time " + b, "tenancy.tenant.share.wait.time " + b,
		"tenancy.tenant.conn.time " + tenancyotel.OtherTenants} {
		if got[k] <= 0 || got[k] > 10 {
			t.Errorf("%s = %v s, want a time", k, got[k])
		}
		delete(got, k)
	}
	want := map[string]float64{
		// A's three inserts and batch of two; B's transaction of two, its
		// empty one, its read.
		"tenancy.tenant.statements " + a:                        5,
		"tenancy.tenant.statements " + b:                        3,
		"tenancy.tenant.refusals " + a + " unscoped":            2,
		"tenancy.tenant.refusals " + b + " param-tenant":        1,
		"tenancy.tenant.share.waits " + b:                       3,
		"tenancy.tenant.busy " + b:                              2,
		"tenancy.tenant.statements " + tenancyotel.OtherTenants: 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// TestMetricsNoTenantUnlessAllowed: without TenantAttribute no series
// names a tenant; each holds the sum over all of them.
func TestMetricsNoTenantUnlessAllowed(t *testing.T) {
	pool, m, reader := metricsPool(t, tenancyotel.MetricsConfig{}, nil)
	for _, org := range []tenancy.ID{orgA, orgB, orgA} {
		if _, err := pool.Exec(memberOf(org), `insert into public.notes (tenant_id, id, body) values ($1, $2, $3)`, org, tenancy.NewID(), secretN); err != nil {
			t.Fatal(err)
		}
	}
	m.JobRun(orgA, false)
	m.JobRun(orgB, true)
	got := series(t, reader)
	for k := range got {
		if strings.Contains(k, orgA.String()) || strings.Contains(k, orgB.String()) || strings.Contains(k, secretN) {
			t.Errorf("series %q names a tenant, which the config did not allow", k)
		}
	}
	if got["tenancy.tenant.statements -"] != 3 || got["tenancy.tenant.jobs -"] != 2 || got["tenancy.tenant.jobs.failed -"] != 1 {
		t.Errorf("series %v, want 3 statements, 2 jobs, 1 failed, for no tenant", got)
	}
}

// TestMetricsBound: with 10,000 tenants, of which a few are busy, every
// metric has at most Tenants+1 series at every collection, across
// rotations and whichever tenants hold the series (cumulative temporality,
// the ManualReader's default); the busy tenants hold theirs, and the
// others' work is in the "other" series, so the totals are kept.
func TestMetricsBound(t *testing.T) {
	const tenants = 10
	reader := sdkmetric.NewManualReader()
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true, Tenants: tenants, Window: time.Minute,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tenancyotel.SetClock(m, func() time.Time { return now })
	all := make([]tenancy.ID, 10000)
	for i := range all {
		all[i] = tenancy.MustParseID(fmt.Sprintf("0195f1c2-0000-7000-8000-%012x", i+1))
	}
	total, lastOther := 0, 0.0
	for round := range 6 {
		// Each round a different five are busy: 500 statements each (4% of
		// the round's), among one of every tenant, each also refused once
		// and running a job.
		busy := all[round*5 : round*5+5]
		for i, id := range all {
			m.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: id, Statements: 1, Duration: time.Millisecond})
			m.Observe(tenantdb.Event{Kind: tenantdb.EventRefused, Tenant: id, Err: errors.New("refused")})
			m.JobRun(id, false)
			total++
			if i%20 == 0 {
				for _, b := range busy {
					m.Observe(tenantdb.Event{Kind: tenantdb.EventTx, Tenant: b, Statements: 1, Duration: time.Millisecond})
					total++
				}
			}
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		sum, other := 0.0, 0.0
		holders := map[string]bool{}
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				n := 0
				switch d := mt.Data.(type) {
				case metricdata.Sum[int64]:
					n = len(d.DataPoints)
					for _, p := range d.DataPoints {
						v, _ := p.Attributes.Value(tenancyotel.KeyTenant)
						if mt.Name == "tenancy.tenant.statements" {
							sum += float64(p.Value)
							holders[v.AsString()] = true
							if v.AsString() == tenancyotel.OtherTenants {
								other = float64(p.Value)
							}
						}
					}
				case metricdata.Sum[float64]:
					n = len(d.DataPoints)
				}
				if n > tenants+1 {
					t.Errorf("round %d: %s has %d series, want at most %d", round, mt.Name, n, tenants+1)
				}
			}
		}
		// A tenant that loses its series stops being reported, so the sum
		// is at most the total; every tenant without a series (all but
		// the holders, at most Tenants of them) added one to the others'.
		if int(sum) > total {
			t.Errorf("round %d: statements over all series %v, more than the %d sent", round, sum, total)
		}
		if d := other - lastOther; d < 10000-tenants {
			t.Errorf("round %d: the others' series grew by %v, want at least %d", round, d, 10000-tenants)
		}
		lastOther = other
		if !holders[tenancyotel.OtherTenants] {
			t.Errorf("round %d: no series for the other tenants", round)
		}
		if round > 0 { // the busy of the round before hold series (ranked at this collection)
			for _, id := range all[(round-1)*5 : round*5] {
				if !holders[id.String()] {
					t.Errorf("round %d: busy tenant %s has no series of its own; holders %v", round, id, keys(holders))
				}
			}
		}
		now = now.Add(time.Minute)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestObserveAllocatesNothing: recording a statement, a wait and a job,
// for tenants with and without a series, allocates nothing.
func TestObserveAllocatesNothing(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true, Tenants: 5,
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	many := make([]tenancy.ID, 1000)
	for i := range many {
		many[i] = tenancy.IntID(int64(i + 1))
	}
	record := func(i int) {
		id := many[(i*7)%len(many)]
		if i%2 == 0 {
			id = many[i%5] // the busy five, which hold series after the collection
		}
		m.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: id, Statements: 1, Duration: time.Millisecond})
		m.Observe(tenantdb.Event{Kind: tenantdb.EventShareWait, Tenant: id, Duration: time.Millisecond, Err: tenantdb.ErrBusy})
		m.JobRun(id, i%3 == 0)
	}
	for i := range 2000 {
		record(i)
	}
	series(t, reader) // the busy five take series
	i := 0
	if n := tenancyotel.LeastMallocs(func() { record(i); i++ }); n != 0 {
		t.Errorf("at least %d allocations in every 100 rounds of recording, want none", n)
	}
}
