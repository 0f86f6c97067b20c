// Package load keeps each clinic's database and job load, as the SDK's
// per-tenant metrics (tenancyotel.Metrics) count it, for the platform
// console: the busiest clinics one by one, the rest together. The same
// Metrics can feed an OpenTelemetry exporter: add its reader to the meter
// provider (Config.Readers).
package load

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenancyotel"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// Clinic is a clinic's load since the app started (or since it last
// gained its place among the busiest).
type Clinic struct {
	Statements  int64   `json:"statements"`   // statements sent to the database
	ConnSeconds float64 `json:"conn_seconds"` // time its work held a connection
	Refusals    int64   `json:"refusals"`     // statements the SQL guard refused
	ShareWaits  int64   `json:"share_waits"`  // waits for a turn beyond its share of the pool
	Busy        int64   `json:"busy"`         // requests refused busy past the wait
	Jobs        int64   `json:"jobs"`         // background jobs run
	JobsFailed  int64   `json:"jobs_failed"`  // of which failed
}

// Report is the load of the busiest clinics, each by id, and of all the
// others together.
type Report struct {
	Clinics map[tenancy.ID]Clinic
	Others  Clinic
}

// Of returns the load of clinic id, or nil when it is among the others.
func (r *Report) Of(id tenancy.ID) *Clinic {
	c, ok := r.Clinics[id]
	if !ok {
		return nil
	}
	return &c
}

// Config holds what [New] needs; the zero Config is valid.
type Config struct {
	// Clinics is how many of the busiest clinics have a place of their
	// own; zero means tenancyotel's default (20).
	Clinics int
	// Readers are more readers of the metrics (an OTLP or Prometheus
	// exporter's), beside the console's own.
	Readers []sdkmetric.Reader
}

// Load counts the clinics' load. It is safe for concurrent use.
type Load struct {
	metrics  *tenancyotel.Metrics
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

// New returns a Load of its own meter provider.
func New(cfg Config) (*Load, error) {
	reader := sdkmetric.NewManualReader()
	opts := []sdkmetric.Option{sdkmetric.WithReader(reader)}
	for _, r := range cfg.Readers {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{MeterProvider: mp, TenantAttribute: true, Tenants: cfg.Clinics})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return &Load{metrics: m, reader: reader, provider: mp}, nil
}

// Observe is the database pool's hook (tenantdb.Config.Observe).
func (l *Load) Observe(e tenantdb.Event) { l.metrics.Observe(e) }

// JobRun is the jobs' hook (tenantriver.Config.OnRun): a run that
// returned an error, was cancelled or panicked failed; a snooze did not.
func (l *Load) JobRun(r tenantriver.Run) { l.metrics.JobRun(r.Tenant, r.Failed()) }

// Close stops the metrics.
func (l *Load) Close(ctx context.Context) error {
	_ = l.metrics.Close()
	return l.provider.Shutdown(ctx)
}

// Report reads the current load.
func (l *Load) Report(ctx context.Context) (Report, error) {
	var rm metricdata.ResourceMetrics
	if err := l.reader.Collect(ctx, &rm); err != nil {
		return Report{}, fmt.Errorf("load: %w", err)
	}
	out := Report{Clinics: map[tenancy.ID]Clinic{}}
	add := func(name, tenant string, v float64) {
		c := &out.Others
		if tenant != tenancyotel.OtherTenants {
			id, err := tenancy.ParseID(tenant)
			if err != nil {
				return // not a clinic's series
			}
			cur := out.Clinics[id]
			c = &cur
			defer func() { out.Clinics[id] = cur }()
		}
		switch name {
		case "tenancy.tenant.statements":
			c.Statements += int64(v)
		case "tenancy.tenant.conn.time":
			c.ConnSeconds += v
		case "tenancy.tenant.refusals":
			c.Refusals += int64(v)
		case "tenancy.tenant.share.waits":
			c.ShareWaits += int64(v)
		case "tenancy.tenant.busy":
			c.Busy += int64(v)
		case "tenancy.tenant.jobs":
			c.Jobs += int64(v)
		case "tenancy.tenant.jobs.failed":
			c.JobsFailed += int64(v)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					v, _ := p.Attributes.Value(tenancyotel.KeyTenant)
					add(m.Name, v.AsString(), float64(p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					v, _ := p.Attributes.Value(tenancyotel.KeyTenant)
					add(m.Name, v.AsString(), p.Value)
				}
			}
		}
	}
	return out, nil
}
