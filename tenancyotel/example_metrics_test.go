package tenancyotel_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// Per-tenant metrics with a bound on their series: the two busiest
// tenants get series of their own, the rest share the other tenants'.
// In an application, m.Observe is tenantdb.Config.Observe and the events
// come from the Pool; a jobs package calls m.JobRun.
func ExampleMetrics() {
	reader := sdkmetric.NewManualReader()
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{
		MeterProvider:   sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TenantAttribute: true, // the metrics backend may hold tenant ids
		Tenants:         2,
	})
	if err != nil {
		panic(err)
	}
	statements := func(org tenancy.ID, n int) {
		for range n {
			m.Observe(tenantdb.Event{Kind: tenantdb.EventStatement, Tenant: org, Statements: 1, Duration: time.Millisecond})
		}
	}
	collect := func() []string {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			panic(err)
		}
		var lines []string
		for _, mt := range rm.ScopeMetrics[0].Metrics {
			if d, ok := mt.Data.(metricdata.Sum[int64]); ok {
				for _, p := range d.DataPoints {
					org, _ := p.Attributes.Value(tenancyotel.KeyTenant)
					lines = append(lines, fmt.Sprintf("%s %s %d", mt.Name, org.AsString(), p.Value))
				}
			}
		}
		slices.Sort(lines)
		return lines
	}

	// The first window: every tenant's work is the others' until the
	// collection ranks them.
	statements(tenancy.IntID(1), 50)
	statements(tenancy.IntID(2), 30)
	statements(tenancy.IntID(3), 2)
	collect()
	// The next: tenants 1 and 2 hold series.
	statements(tenancy.IntID(1), 5)
	statements(tenancy.IntID(2), 3)
	statements(tenancy.IntID(3), 1)
	m.JobRun(tenancy.IntID(2), true)
	for _, line := range collect() {
		fmt.Println(line)
	}
	// Output:
	// tenancy.tenant.jobs 2 1
	// tenancy.tenant.jobs.failed 2 1
	// tenancy.tenant.statements 1 5
	// tenancy.tenant.statements 2 3
	// tenancy.tenant.statements |other 83
}
