// Package tenancyotel is the SDK's opt-in OpenTelemetry instrumentation:
// a pgx tracer that gives every statement of a tenant pool a span and
// measures the tenant context's statement, a guard that counts the
// guard's checks and refusals by rule, and per-tenant metrics of the
// busiest tenants ([Metrics]).
//
//	tel := tenancyotel.Config{} // the global providers; no tenant on spans
//	cfg, _ := pgxpool.ParseConfig(appRoleURL)
//	cfg.ConnConfig.Tracer, _ = tenancyotel.NewTracer(tel)
//	guard, _ := tenantdb.DefaultGuard(model)
//	guard, _ = tenancyotel.Guard(guard, tel)
//	m, _ := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true}) // tenant ids allowed
//	db, _ := tenantdb.New(ctx, pool, tenantdb.Config{Model: model, Guard: guard, Observe: m.Observe, Sources: ...})
//
// # What is recorded
//
// Spans ("tenancy.query", "tenancy.batch") carry db.system.name
// (postgresql), db.operation.name (the statement's first keyword, such as
// SELECT), the principal's kind (tenancy.principal.kind), and, only when
// [Config.TenantAttribute] is set, its tenant (tenancy.tenant). Metrics:
// tenancy.context.duration (a histogram, in seconds, of the tenant
// context's statement, [tenantdb.ContextSQL]), tenancy.guard.checks and
// tenancy.guard.refusals (counters; refusals by tenancy.guard.rule), and
// [Metrics]' tenancy.tenant.* counters: statements, connection time,
// refusals by rule, waits for a share and busy refusals, jobs run and
// failed, for each of the busiest tenants and for the others together.
//
// # Per-tenant series, bounded
//
// A tenant id as an attribute would make one series per tenant: 100,000
// tenants, 100,000 series. [Metrics] gives series of their own to the
// busiest [MetricsConfig.Tenants] only, chosen by a fixed-memory summary
// of the statements (space-saving, split in parts, halved every
// [MetricsConfig.Window]) and changed at most once per window, and only
// for a tenant twice as busy as the one it replaces; every other tenant's
// work is counted in the series of tenancy.tenant [OtherTenants]. The
// counters are asynchronous and kept by Metrics, so a collection reports
// only the current series, whatever the exporter's temporality.
//
// # Security
//
// Nothing personal and no data: no SQL text (tools such as bun write
// values into it), no parameter, no subject, no token, no error message (a
// span's status says only that the statement failed, with its SQLSTATE as
// db.response.status_code). The tenant is a span attribute only where the
// application says its tracing backend may hold it ([Config.TenantAttribute]),
// and a metric attribute only where it says its metrics backend may
// ([MetricsConfig.TenantAttribute]; a pseudonym through
// [MetricsConfig.TenantValue]).
package tenancyotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/mydentalpractice/tenancy/tenancyotel"

// The attribute keys of the spans and metrics.
const (
	KeyDBSystem   = attribute.Key("db.system.name")
	KeyOperation  = attribute.Key("db.operation.name")
	KeyStatusCode = attribute.Key("db.response.status_code")
	KeyBatchSize  = attribute.Key("db.operation.batch.size")
	KeyKind       = attribute.Key("tenancy.principal.kind")
	KeyTenant     = attribute.Key("tenancy.tenant")
	KeyRule       = attribute.Key("tenancy.guard.rule")
)

// Config holds the instrumentation's choices. The zero Config uses the
// global providers and puts no tenant on spans.
type Config struct {
	// TracerProvider makes the spans. Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics. Nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TenantAttribute puts the principal's tenant on every span, as
	// tenancy.tenant. Off by default: set it where the tracing backend may
	// hold tenant ids. The tracer's and the guard's metrics never carry
	// the tenant (its cardinality is the number of tenants); [Metrics]
	// carries it for the busiest tenants, by its own setting.
	TenantAttribute bool
}

func (c Config) tracer() trace.Tracer {
	tp := c.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopeName)
}

func (c Config) meter() metric.Meter {
	mp := c.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName)
}

// Tracer is a pgx tracer ([pgx.QueryTracer] and [pgx.BatchTracer]) for a
// tenant pool's connections: set it as the pgx.ConnConfig's Tracer. It is
// safe for concurrent use.
type Tracer struct {
	cfg             Config
	tracer          trace.Tracer
	contextDuration metric.Float64Histogram
}

var (
	_ pgx.QueryTracer = (*Tracer)(nil)
	_ pgx.BatchTracer = (*Tracer)(nil)
)

// NewTracer returns the tracer of cfg, or an error when its meter cannot
// make the histogram.
func NewTracer(cfg Config) (*Tracer, error) {
	h, err := cfg.meter().Float64Histogram("tenancy.context.duration", metric.WithUnit("s"),
		metric.WithDescription("Time of the statement that sets a transaction's tenant context, to its result."))
	if err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	return &Tracer{cfg: cfg, tracer: cfg.tracer(), contextDuration: h}, nil
}

// attrs are a span's attributes for the principal in ctx.
func (t *Tracer) attrs(ctx context.Context, extra ...attribute.KeyValue) []attribute.KeyValue {
	out := append([]attribute.KeyValue{KeyDBSystem.String("postgresql")}, extra...)
	if p, ok := tenancy.FromContext(ctx); ok {
		out = append(out, KeyKind.String(p.Kind.String()))
		if t.cfg.TenantAttribute && p.HasTenant() {
			out = append(out, KeyTenant.String(p.Tenant.String()))
		}
	}
	return out
}

// TraceQueryStart starts the span of one statement.
func (t *Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx, _ = t.tracer.Start(ctx, "tenancy.query", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(t.attrs(ctx, KeyOperation.String(operation(data.SQL)))...))
	return ctx
}

// TraceQueryEnd ends the statement's span.
func (t *Tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	fail(span, data.Err)
	span.End()
}

// batchState is what a batch's span needs between its queries.
type batchState struct {
	last time.Time // when the batch started, or its last result came
	// The context's time so far: tenantdb's SET LOCAL mode sets it with
	// several statements in a row, recorded as one.
	context   time.Duration
	inContext bool
}

type batchKey struct{}

// TraceBatchStart starts the span of a batch (tenantdb sends each
// statement with its tenant context as one).
func (t *Tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	size := 0
	if data.Batch != nil {
		size = data.Batch.Len()
	}
	op := ""
	if data.Batch != nil {
		for _, q := range data.Batch.QueuedQueries {
			if !tenantdb.IsContextSQL(q.SQL) && !isControl(q.SQL) {
				op = operation(q.SQL) // the application's statement, not the SDK's
				break
			}
		}
	}
	ctx, _ = t.tracer.Start(ctx, "tenancy.batch", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(t.attrs(ctx, KeyOperation.String(op), KeyBatchSize.Int(size))...))
	return context.WithValue(ctx, batchKey{}, &batchState{last: time.Now()})
}

// TraceBatchQuery records the result of one statement of a batch: the
// tenant context's statement's time (from the batch's start, or the
// previous statement's result, to its own), and a failure.
func (t *Tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	st, _ := ctx.Value(batchKey{}).(*batchState)
	now := time.Now()
	if st != nil {
		if tenantdb.IsContextSQL(data.SQL) {
			st.context += now.Sub(st.last)
			st.inContext = true
		} else {
			t.endContext(ctx, st)
		}
		st.last = now
	}
	if data.Err != nil {
		fail(trace.SpanFromContext(ctx), data.Err)
	}
}

// endContext records the time of the context's statements that came
// last, if any.
func (t *Tracer) endContext(ctx context.Context, st *batchState) {
	if st.inContext {
		t.contextDuration.Record(ctx, st.context.Seconds())
		st.context, st.inContext = 0, false
	}
}

// TraceBatchEnd ends the batch's span.
func (t *Tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if st, _ := ctx.Value(batchKey{}).(*batchState); st != nil {
		t.endContext(ctx, st)
	}
	span := trace.SpanFromContext(ctx)
	fail(span, data.Err)
	span.End()
}

// fail marks span failed by err, naming only its SQLSTATE.
func fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		span.SetAttributes(KeyStatusCode.String(pgErr.Code))
	}
	span.SetStatus(codes.Error, "statement failed")
}

// operation returns the first keyword of sql in upper case ("SELECT",
// "WITH"), after white space and comments, or "" when it starts with
// anything else.
func operation(sql string) string {
	for {
		sql = strings.TrimLeftFunc(sql, unicode.IsSpace)
		switch {
		case strings.HasPrefix(sql, "--"):
			i := strings.IndexByte(sql, '\n')
			if i < 0 {
				return ""
			}
			sql = sql[i+1:]
			continue
		case strings.HasPrefix(sql, "/*"):
			i := strings.Index(sql, "*/")
			if i < 0 {
				return ""
			}
			sql = sql[i+2:]
			continue
		}
		break
	}
	end := strings.IndexFunc(sql, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(sql)
	}
	if end == 0 || end > 16 {
		return ""
	}
	return strings.ToUpper(sql[:end])
}

// isControl reports whether sql begins, commits or rolls back.
func isControl(sql string) bool {
	switch operation(sql) {
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK":
		return true
	}
	return false
}

// checker counts the checks and refusals of a guard.
type checker struct {
	inner    tenantdb.Guard
	checks   metric.Int64Counter
	refusals metric.Int64Counter
}

// Guard wraps inner so that its checks are counted (tenancy.guard.checks)
// and its refusals counted by rule (tenancy.guard.refusals, with
// tenancy.guard.rule; "other" for an error that is no
// *sqlguard.RefusalError). inner decides: the wrapper changes no answer.
// It returns an error when cfg's meter cannot make the counters. The
// guard is safe for concurrent use when inner is.
func Guard(inner tenantdb.Guard, cfg Config) (tenantdb.Guard, error) {
	if inner == nil {
		return nil, errors.New("tenancyotel: Guard needs the guard to wrap")
	}
	m := cfg.meter()
	checks, err := m.Int64Counter("tenancy.guard.checks", metric.WithDescription("Statements the SQL guard checked."))
	if err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	refusals, err := m.Int64Counter("tenancy.guard.refusals", metric.WithDescription("Statements the SQL guard refused, by rule."))
	if err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	return &checker{inner: inner, checks: checks, refusals: refusals}, nil
}

// Check runs the inner guard's check and counts it.
func (c *checker) Check(sql string, args []any, tenant tenancy.ID) error {
	err := c.inner.Check(sql, args, tenant)
	ctx := context.Background() // the guard is not given the request's context
	c.checks.Add(ctx, 1)
	if err != nil {
		rule := "other"
		var refusal *sqlguard.RefusalError
		if errors.As(err, &refusal) {
			rule = string(refusal.Rule)
		}
		c.refusals.Add(ctx, 1, metric.WithAttributes(KeyRule.String(rule)))
	}
	return err
}
