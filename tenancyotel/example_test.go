package tenancyotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// The guard's refusals, counted by rule: a dashboard's view of code that
// forgot to scope a statement.
func ExampleGuard() {
	model, err := rls.NewModel(rls.Config{AppRole: "app", TenantKey: tenancy.KeyBigint, Kinds: []tenancy.KindSpec{{Name: "member", Access: tenancy.AccessTenant}}},
		rls.Table{Name: "public.tasks"})
	if err != nil {
		panic(err)
	}
	reader := sdkmetric.NewManualReader()
	guard, err := tenantdb.DefaultGuard(model)
	if err != nil {
		panic(err)
	}
	guard, err = tenancyotel.Guard(guard, tenancyotel.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		panic(err)
	}
	org := tenancy.IntID(42)
	_ = guard.Check("select * from tasks where tenant_id = $1", []any{org}, org) // scoped: allowed
	_ = guard.Check("select * from tasks", nil, org)                             // refused: unscoped
	_ = guard.Check("delete from tasks", nil, org)                               // refused: unscoped

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			rule, _ := p.Attributes.Value(tenancyotel.KeyRule)
			fmt.Println(m.Name, rule.String(), p.Value)
		}
	}
	// Output:
	// tenancy.guard.checks  3
	// tenancy.guard.refusals unscoped 2
}
