package tenancyotel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// OtherTenants is the tenancy.tenant value of the series that hold the
// work of every tenant without a series of its own. No tenant's id has
// this text: "|" is in no uuid or bigint key and refused in text keys.
const OtherTenants = "|other"

// The defaults and bounds of [MetricsConfig].
const (
	DefaultTenants = 20          // MetricsConfig.Tenants' default
	MaxTenants     = 1000        // the most MetricsConfig.Tenants may be
	DefaultWindow  = time.Minute // MetricsConfig.Window's default
)

// MetricsConfig holds the choices of [NewMetrics]. The zero MetricsConfig
// uses the global meter provider and puts no tenant on any series: each
// metric is then the sum over every tenant.
type MetricsConfig struct {
	// MeterProvider makes the metrics. Nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider

	// TenantAttribute gives each of the busiest tenants series of their
	// own, whose tenancy.tenant attribute is the tenant's id (or
	// TenantValue's). Off by default: set it where the metrics backend may
	// hold tenant ids. The other tenants' work is in the series whose
	// tenancy.tenant is [OtherTenants].
	TenantAttribute bool

	// TenantValue, when set, gives the tenancy.tenant value of a tenant in
	// place of its id's text: a pseudonym, or a name the operators know
	// the tenant by. It is called once each time a tenant gains its
	// series, and must return a non-empty text other than [OtherTenants]
	// (else the id's text is used).
	TenantValue func(tenancy.ID) string

	// Tenants is how many of the busiest tenants have series of their
	// own, so that every metric has at most Tenants+1 series per set of
	// its other attributes, whatever the number of tenants. Zero means
	// [DefaultTenants]; at most [MaxTenants].
	Tenants int

	// Window is how often the busiest tenants are chosen again, at a
	// collection of the metrics: at most once per Window a tenant that
	// has been more than twice as busy as the least busy holder takes its
	// series. A tenant's busyness is its statements, halved at every
	// window: the last window counts most, yesterday's hardly at all. The
	// busiest tenants are found by a summary split in parts by a hash of
	// the tenant, each part keeping its own few counters: a tenant that
	// sent more than 1/k of its part's statements, where k is the part's
	// number of counters (at least 8), is sure to be tracked. Tenants whose
	// work hashes unevenly into one part may miss out where the same work
	// spread evenly would not; no tenant with a fixed share of all work is
	// sure to be ranked, whatever its share.
	// Free series are given at any collection. Zero means
	// [DefaultWindow]. Set it to the export interval or longer.
	Window time.Duration
}

// Metrics records each tenant's database work, as [tenantdb.Config.Observe]
// reports it, and the jobs that job packages run for it ([Metrics.JobRun]),
// as OpenTelemetry metrics with a bound on their series: the busiest
// tenants ([MetricsConfig.Tenants]) have their own, and the others share
// one (tenancy.tenant [OtherTenants]). Set its Observe method as the
// Pool's hook:
//
//	m, err := tenancyotel.NewMetrics(tenancyotel.MetricsConfig{TenantAttribute: true, Tenants: 50})
//	db, err := tenantdb.New(ctx, pool, tenantdb.Config{Model: model, Observe: m.Observe, ...})
//
// The metrics are asynchronous counters whose values the Metrics keeps
// itself, so that each collection reports exactly the current series: a
// tenant that loses its series stops being reported (its series ends; if it
// gains one again, it starts from zero), and the number of series stays
// bounded even where the exporter's temporality is cumulative.
//
//	tenancy.tenant.statements       statements the work sent (tenantdb.Event.Statements)
//	tenancy.tenant.conn.time        seconds the work held a connection (a one-statement
//	                                call's statement, a transaction from BEGIN to its end)
//	tenancy.tenant.refusals         statements the guard refused, by tenancy.guard.rule
//	tenancy.tenant.share.waits      waits for a turn beyond the tenant's share of the pool
//	tenancy.tenant.share.wait.time  seconds of those waits
//	tenancy.tenant.busy             waits that ended with tenantdb.ErrBusy
//	tenancy.tenant.jobs             jobs run ([Metrics.JobRun])
//	tenancy.tenant.jobs.failed      jobs that failed
//
// A Metrics is safe for concurrent use. Its recording methods allocate
// nothing and take one short lock of the busiest-tenants summary, split
// in parts.
//
// # Security
//
// The series carry the tenant only when [MetricsConfig.TenantAttribute]
// is set, and then only the tenant's id (or [MetricsConfig.TenantValue]):
// no SQL, no parameter, no subject, no error text (a refusal's rule only).
type Metrics struct {
	tenantAttr bool
	tenantVal  func(tenancy.ID) string
	n          int
	window     time.Duration
	now        func() time.Time // time.Now; tests set their own

	top     *top // nil without TenantAttribute
	ranking atomic.Pointer[ranking]
	other   *slot

	mu      sync.Mutex // rotations
	rotated time.Time  // the last rotation; zero before the first

	reg metric.Registration

	statements, refusals, waits, busy, jobs, jobsFailed metric.Int64ObservableCounter
	connTime, waitTime                                  metric.Float64ObservableCounter
}

// ranking is the tenants that hold series: read on every statement, never
// changed (a rotation publishes a new one).
type ranking struct {
	slots map[tenancy.ID]*slot
	order []*slot // in the order of their places
}

// slot is the counts of one series: a tenant's, or the other tenants'.
// A slot keeps its counts while its tenant holds its series.
type slot struct {
	tenant tenancy.ID // zero for the other tenants' slot
	attrs  attribute.Set

	statements, connNanos  atomic.Int64
	waits, waitNanos, busy atomic.Int64
	jobs, jobsFailed       atomic.Int64
	refusalsMu             sync.Mutex
	refusals               map[sqlguard.Rule]int64
	refusalRules           []sqlguard.Rule // in the order first seen
	refusalSets            []attribute.Set // their attributes, made once
}

// NewMetrics returns the Metrics of cfg, its instruments made and their
// callback registered with cfg's meter. It returns an error for a
// negative or too large cfg.Tenants, a negative cfg.Window, or when the
// meter cannot make an instrument.
func NewMetrics(cfg MetricsConfig) (*Metrics, error) {
	if cfg.Tenants < 0 || cfg.Tenants > MaxTenants {
		return nil, fmt.Errorf("tenancyotel: MetricsConfig.Tenants is %d, want 0 (the default, %d) to %d", cfg.Tenants, DefaultTenants, MaxTenants)
	}
	if cfg.Window < 0 {
		return nil, fmt.Errorf("tenancyotel: MetricsConfig.Window is negative")
	}
	m := &Metrics{
		tenantAttr: cfg.TenantAttribute,
		tenantVal:  cfg.TenantValue,
		n:          cfg.Tenants,
		window:     cfg.Window,
		now:        time.Now,
	}
	if m.n == 0 {
		m.n = DefaultTenants
	}
	if m.window == 0 {
		m.window = DefaultWindow
	}
	m.other = &slot{}
	if m.tenantAttr {
		m.top = newTop(max(8*m.n, 64))
		m.other.attrs = attribute.NewSet(KeyTenant.String(OtherTenants))
	}
	m.ranking.Store(&ranking{})

	meter := Config{MeterProvider: cfg.MeterProvider}.meter()
	var err error
	ints := []struct {
		dst        *metric.Int64ObservableCounter
		name, unit string
		desc       string
	}{
		{&m.statements, "tenancy.tenant.statements", "{statement}", "Statements of the tenant's work sent to the database."},
		{&m.refusals, "tenancy.tenant.refusals", "{statement}", "Statements of the tenant's work that the SQL guard refused, by rule."},
		{&m.waits, "tenancy.tenant.share.waits", "{wait}", "Waits of the tenant's work for a turn beyond its share of the pool."},
		{&m.busy, "tenancy.tenant.busy", "{wait}", "Waits for the tenant's share that ended with tenantdb.ErrBusy."},
		{&m.jobs, "tenancy.tenant.jobs", "{job}", "Jobs run in the tenant's context."},
		{&m.jobsFailed, "tenancy.tenant.jobs.failed", "{job}", "Jobs run in the tenant's context that failed."},
	}
	for _, i := range ints {
		if *i.dst, err = meter.Int64ObservableCounter(i.name, metric.WithUnit(i.unit), metric.WithDescription(i.desc)); err != nil {
			return nil, fmt.Errorf("tenancyotel: %w", err)
		}
	}
	if m.connTime, err = meter.Float64ObservableCounter("tenancy.tenant.conn.time", metric.WithUnit("s"),
		metric.WithDescription("Time the tenant's work held a database connection.")); err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	if m.waitTime, err = meter.Float64ObservableCounter("tenancy.tenant.share.wait.time", metric.WithUnit("s"),
		metric.WithDescription("Time the tenant's work waited for a turn beyond its share of the pool.")); err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	if m.reg, err = meter.RegisterCallback(m.collect, m.statements, m.refusals, m.waits, m.busy, m.jobs, m.jobsFailed, m.connTime, m.waitTime); err != nil {
		return nil, fmt.Errorf("tenancyotel: %w", err)
	}
	return m, nil
}

// Close unregisters the metrics' callback: they are no longer reported.
func (m *Metrics) Close() error { return m.reg.Unregister() }

// slotOf returns the slot that counts tenant's work.
func (m *Metrics) slotOf(tenant tenancy.ID) *slot {
	if s, ok := m.ranking.Load().slots[tenant]; ok {
		return s
	}
	return m.other
}

// Observe records one event of a tenant's database work: set it as
// [tenantdb.Config.Observe]. It is safe for concurrent use and allocates
// nothing (but for a refusal by a rule the tenant's series has not met
// before).
func (m *Metrics) Observe(e tenantdb.Event) {
	if e.Tenant.IsZero() {
		return
	}
	s := m.slotOf(e.Tenant)
	switch e.Kind {
	case tenantdb.EventStatement, tenantdb.EventTx:
		s.statements.Add(int64(e.Statements))
		s.connNanos.Add(int64(e.Duration))
		if m.top != nil {
			m.top.add(e.Tenant, uint64(max(e.Statements, 1)))
		}
	case tenantdb.EventRefused:
		rule := sqlguard.Rule("other")
		var refusal *sqlguard.RefusalError
		if errors.As(e.Err, &refusal) {
			rule = refusal.Rule
		}
		s.refuse(rule)
	case tenantdb.EventShareWait:
		s.waits.Add(1)
		s.waitNanos.Add(int64(e.Duration))
		if errors.Is(e.Err, tenantdb.ErrBusy) {
			s.busy.Add(1)
		}
	}
}

// JobRun records one run of a job in tenant's context, and whether it
// failed (returned an error, panicked or ran out of time): for job
// packages, which call it when a job's run ends, whatever their queue.
// The tenant is the one the job's stored principal names, never one the
// job's arguments give. Runs do not count toward the tenant's busyness
// (its statements do). It is safe for concurrent use, allocates nothing,
// and ignores the zero tenant.
func (m *Metrics) JobRun(tenant tenancy.ID, failed bool) {
	if tenant.IsZero() {
		return
	}
	s := m.slotOf(tenant)
	s.jobs.Add(1)
	if failed {
		s.jobsFailed.Add(1)
	}
}

// refuse counts one refusal by rule.
func (s *slot) refuse(rule sqlguard.Rule) {
	s.refusalsMu.Lock()
	if _, ok := s.refusals[rule]; !ok {
		if s.refusals == nil {
			s.refusals = make(map[sqlguard.Rule]int64)
		}
		kvs := []attribute.KeyValue{KeyRule.String(string(rule))}
		if v, ok := s.attrs.Value(KeyTenant); ok {
			kvs = append(kvs, KeyTenant.String(v.AsString()))
		}
		s.refusalRules = append(s.refusalRules, rule)
		s.refusalSets = append(s.refusalSets, attribute.NewSet(kvs...))
	}
	s.refusals[rule]++
	s.refusalsMu.Unlock()
}

// collect is the callback of the instruments: it ranks the tenants again
// when it is time, then reports every series.
func (m *Metrics) collect(_ context.Context, o metric.Observer) error {
	r := m.rank()
	for _, s := range append(slices.Clone(r.order), m.other) {
		m.report(o, s)
	}
	return nil
}

// report observes s's counts, skipping those still zero.
func (m *Metrics) report(o metric.Observer, s *slot) {
	at := metric.WithAttributeSet(s.attrs)
	for _, c := range []struct {
		inst metric.Int64ObservableCounter
		v    int64
	}{{m.statements, s.statements.Load()}, {m.waits, s.waits.Load()}, {m.busy, s.busy.Load()},
		{m.jobs, s.jobs.Load()}, {m.jobsFailed, s.jobsFailed.Load()}} {
		if c.v != 0 {
			o.ObserveInt64(c.inst, c.v, at)
		}
	}
	if v := s.connNanos.Load(); v != 0 {
		o.ObserveFloat64(m.connTime, time.Duration(v).Seconds(), at)
	}
	if v := s.waitNanos.Load(); v != 0 {
		o.ObserveFloat64(m.waitTime, time.Duration(v).Seconds(), at)
	}
	s.refusalsMu.Lock()
	for i, rule := range s.refusalRules {
		o.ObserveInt64(m.refusals, s.refusals[rule], metric.WithAttributeSet(s.refusalSets[i]))
	}
	s.refusalsMu.Unlock()
}

// rank returns the current ranking, first choosing the busiest tenants
// again when a window has passed since the last rotation (or filling free
// series at any time).
func (m *Metrics) rank() *ranking {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.ranking.Load()
	if m.top == nil {
		return cur
	}
	now := m.now()
	rotate := m.rotated.IsZero() || now.Sub(m.rotated) >= m.window
	if !rotate && len(cur.order) == m.n {
		return cur
	}
	if rotate {
		m.rotated = now
	}
	held := make([]tenancy.ID, len(cur.order))
	for i, s := range cur.order {
		held[i] = s.tenant
	}
	next := m.top.next(held, m.n, rotate)
	if slices.Equal(next, held) {
		return cur
	}
	r := &ranking{slots: make(map[tenancy.ID]*slot, len(next)), order: make([]*slot, len(next))}
	for i, id := range next {
		s, ok := cur.slots[id]
		if !ok {
			s = &slot{tenant: id, attrs: attribute.NewSet(KeyTenant.String(m.valueOf(id)))}
		}
		r.slots[id], r.order[i] = s, s
	}
	m.ranking.Store(r)
	return r
}

// valueOf is tenant's tenancy.tenant value.
func (m *Metrics) valueOf(tenant tenancy.ID) string {
	if m.tenantVal != nil {
		if v := m.tenantVal(tenant); v != "" && v != OtherTenants {
			return v
		}
	}
	return tenant.String()
}
