package tenancyotel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	orgA    = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	secretN = "Jane Roe" // a value that must reach no span
)

// fixture is a tenant pool instrumented with in-memory exporters.
type fixture struct {
	pool   *tenantdb.Pool
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func setup(t *testing.T, tenantAttr bool) *fixture {
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
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tel := tenancyotel.Config{
		TracerProvider:  sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		MeterProvider:   sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TenantAttribute: tenantAttr,
	}
	pcfg, err := pgxpool.ParseConfig(db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	pgtest.SetLocalExecMode(pcfg)
	if pcfg.ConnConfig.Tracer, err = tenancyotel.NewTracer(tel); err != nil {
		t.Fatal(err)
	}
	raw, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	guard, err := tenantdb.DefaultGuard(model)
	if err != nil {
		t.Fatal(err)
	}
	if guard, err = tenancyotel.Guard(guard, tel); err != nil {
		t.Fatal(err)
	}
	// In the suite's context mode (TENANCY_CONTEXT_MODE): in the SET LOCAL
	// mode the context is several statements, its time one sample.
	mode, err := tenantdb.ParseContextMode(pgtest.ContextMode())
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tenantdb.New(context.Background(), raw, tenantdb.Config{Model: model, Guard: guard, Sources: []tenancy.Source{tenancytest.Source()}, ContextMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, spans: spans, reader: reader}
}

func member() context.Context {
	return tenancytest.Context(context.Background(), tenancy.Principal{Kind: "member", Tenant: orgA, Subject: tenancy.NewID(), RequestID: "req-1"})
}

// work runs an insert, a read, a transaction and a refused statement.
func (f *fixture) work(t *testing.T) {
	t.Helper()
	ctx := member()
	if _, err := f.pool.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, $3)`, orgA, tenancy.NewID(), secretN); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `select count(*) from public.notes where tenant_id = $1`, orgA).Scan(&n); err != nil || n != 1 {
		t.Fatalf("count: %d, %v", n, err)
	}
	err := f.pool.Tx(ctx, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctx, `update public.notes set body = $2 where tenant_id = $1`, orgA, secretN+" 2")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var refusal *sqlguard.RefusalError
	if _, err := f.pool.Exec(ctx, `delete from public.notes`); !errors.As(err, &refusal) {
		t.Fatalf("an unscoped delete: %v, want a refusal", err)
	}
	if _, err := f.pool.Exec(ctx, `insert into public.notes (tenant_id, id, body) values ($1, $2, null)`, orgA, tenancy.NewID()); err == nil {
		t.Fatal("a null body was inserted")
	}
}

func TestSpansAndMetrics(t *testing.T) {
	f := setup(t, false)
	startup := len(f.spans.Ended()) // tenantdb.New's checks of the catalog, with no principal
	f.work(t)

	ended := f.spans.Ended()[startup:]
	if len(ended) == 0 {
		t.Fatal("no spans")
	}
	ops := map[string]int{}
	failed := 0
	for _, s := range ended {
		attrs := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value.String()
			for _, leak := range []string{secretN, orgA.String(), "notes", "req-1"} {
				if strings.Contains(kv.Value.String(), leak) {
					t.Errorf("span %s: attribute %s = %q carries %q", s.Name(), kv.Key, kv.Value.String(), leak)
				}
			}
		}
		if strings.Contains(s.Status().Description, secretN) {
			t.Errorf("span %s: status %q", s.Name(), s.Status().Description)
		}
		if attrs[tenancyotel.KeyDBSystem] != "postgresql" || attrs[tenancyotel.KeyKind] != "member" {
			t.Errorf("span %s: attributes %v, want db.system.name postgresql and the principal's kind", s.Name(), attrs)
		}
		if _, ok := attrs[tenancyotel.KeyTenant]; ok {
			t.Errorf("span %s names the tenant, which the config did not allow", s.Name())
		}
		ops[s.Name()+" "+attrs[tenancyotel.KeyOperation]]++
		if attrs[tenancyotel.KeyStatusCode] == "23502" {
			failed++
		}
	}
	for _, want := range []string{"tenancy.batch INSERT", "tenancy.batch SELECT", "tenancy.batch ", "tenancy.query UPDATE"} {
		if ops[want] == 0 {
			t.Errorf("no span %q among %v", want, ops)
		}
	}
	if failed != 1 {
		t.Errorf("%d spans with SQLSTATE 23502, want 1 (the null insert)", failed)
	}

	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					rule, _ := p.Attributes.Value(tenancyotel.KeyRule)
					got[m.Name+" "+rule.String()] = fmt.Sprint(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name] = fmt.Sprint(p.Count)
				}
			}
		}
	}
	// Checked: the insert, the read, the update, the refused delete, the
	// null insert (the transaction's BEGIN and context are the SDK's). The
	// context was set four times: the refused delete was never sent.
	want := map[string]string{"tenancy.guard.checks ": "5", "tenancy.guard.refusals unscoped": "1", "tenancy.context.duration": "4"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metric %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestTenantAttributeWhenAllowed(t *testing.T) {
	f := setup(t, true)
	f.work(t)
	named := 0
	for _, s := range f.spans.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == tenancyotel.KeyTenant && kv.Value.String() == orgA.String() {
				named++
			}
		}
	}
	if named == 0 {
		t.Error("no span names the tenant, though the config allows it")
	}
}
