package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mydentalpractice/tenancy"
)

// DefaultMaxTenants is [Config.MaxTenants]' default: room for 100,000
// tenants active at once, in about 9 MB.
const DefaultMaxTenants = 1 << 17

// shards is how many independently locked parts hold the buckets.
const shards = 32

// sweepEvery is how often, at most, a part drops its full buckets when a
// new tenant arrives.
const sweepEvery = time.Second

// Limit is a tenant's token bucket: Burst requests at once, refilled at
// Rate requests per second.
type Limit struct {
	// Rate is how many requests per second the tenant may send, sustained.
	// It must be above zero.
	Rate float64
	// Burst is how many requests the tenant may send at once, after
	// being idle. It must be at least 1.
	Burst int
}

func (l Limit) valid() bool {
	return l.Rate > 0 && !math.IsInf(l.Rate, 0) && !math.IsNaN(l.Rate) && l.Burst >= 1
}

// Config holds the choices of [New]. Limit is required.
type Config struct {
	// Limit is every tenant's limit, but for those LimitFor gives their
	// own. Required: Rate above zero, Burst at least 1.
	Limit Limit

	// LimitFor, when set, gives the limit of each tenant (a larger one for
	// a tenant on a larger plan), in place of Limit; a Limit it returns
	// that is not valid (a Rate not above zero, a Burst below 1) means
	// Limit. It is called for every request and must be fast and safe for
	// concurrent use.
	LimitFor func(tenant tenancy.ID) Limit

	// MaxTenants bounds how many tenants' buckets are kept at once (the
	// buckets are in 32 parts of MaxTenants/32 each, at least one). Zero
	// means [DefaultMaxTenants]. Buckets idle long enough to be full again
	// are dropped first, which changes nothing; when a part is full of
	// active ones, its bucket seen longest ago is dropped, and its tenant
	// starts again with a full bucket.
	MaxTenants int

	// Sources, when set, are the authenticators whose principals the
	// limiter counts (jwtctx.Source(), ...). Empty means any
	// authenticator's. A principal that no authenticator put in the
	// context (tenancy.NewContext, as tenantdb refuses it too), or one of
	// a source not listed, names a tenant nobody verified: its request
	// passes without drawing on that tenant's bucket, so that no caller
	// can spend another tenant's limit by naming it.
	Sources []tenancy.Source

	// Deny, when set, answers every refused request in place of the
	// default application/problem+json document, as jwtctx's
	// MiddlewareConfig.Deny does: jwtctx.ProblemFromContext gives the
	// refusal (429, with Retry-After in Problem.Header). Nil means the
	// default.
	Deny http.Handler
}

// maxWait bounds the wait an [Error] reports, for very small rates.
const maxWait = 365 * 24 * time.Hour

// Limiter holds the tenants' buckets. It is safe for concurrent use.
type Limiter struct {
	limit    Limit
	limitFor func(tenancy.ID) Limit
	perShard int
	deny     http.Handler
	sources  []tenancy.Source
	now      func() time.Time // time.Now; tests set their own
	base     time.Time        // times are kept as nanoseconds since base
	seed     maphash.Seed
	parts    [shards]part
}

// part is one shard of the buckets.
type part struct {
	mu        sync.Mutex
	buckets   map[tenancy.ID]*bucket
	nextSweep int64 // nanoseconds since base
	_         [40]byte
}

// bucket is one tenant's: its tokens when last computed, and the limit
// they were computed for.
type bucket struct {
	tokens float64
	last   int64 // nanoseconds since base
	limit  Limit
}

// New returns the Limiter of cfg, or an error for a missing or invalid
// limit, or a negative MaxTenants.
func New(cfg Config) (*Limiter, error) {
	if !cfg.Limit.valid() {
		return nil, fmt.Errorf("ratelimit: Config.Limit needs a Rate above zero and a Burst of at least 1 (got %v per second, burst %d)", cfg.Limit.Rate, cfg.Limit.Burst)
	}
	if cfg.MaxTenants < 0 {
		return nil, errors.New("ratelimit: Config.MaxTenants is negative")
	}
	maxTenants := cfg.MaxTenants
	if maxTenants == 0 {
		maxTenants = DefaultMaxTenants
	}
	l := &Limiter{
		limit:    cfg.Limit,
		limitFor: cfg.LimitFor,
		perShard: max(maxTenants/shards, 1),
		deny:     cfg.Deny,
		sources:  slices.Clone(cfg.Sources),
		now:      time.Now,
		seed:     maphash.MakeSeed(),
	}
	l.base = l.now()
	for i := range l.parts {
		l.parts[i].buckets = make(map[tenancy.ID]*bucket)
	}
	return l, nil
}

// limitOf returns tenant's Limit.
func (l *Limiter) limitOf(tenant tenancy.ID) Limit {
	if l.limitFor != nil {
		if lim := l.limitFor(tenant); lim.valid() {
			return lim
		}
	}
	return l.limit
}

// Allow takes one request from tenant's bucket: it returns nil when the
// request may go, and an [*Error] with the time until the next one would
// when the bucket is empty. The zero tenant is refused the same way (a
// caller without a tenant has no bucket to draw on); the middleware never
// asks for it. It is safe for concurrent use.
func (l *Limiter) Allow(tenant tenancy.ID) error {
	if tenant.IsZero() {
		return &Error{RetryAfter: time.Second}
	}
	lim := l.limitOf(tenant)
	now := l.now().Sub(l.base).Nanoseconds()
	p := &l.parts[maphash.String(l.seed, tenant.String())%shards]
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buckets[tenant]
	if b == nil {
		b = p.add(tenant, now, lim, l.perShard)
	}
	b.refill(now, lim)
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	// In float first: a tiny Rate's wait would overflow a Duration.
	wait := min((1-b.tokens)/lim.Rate*float64(time.Second), float64(maxWait))
	return &Error{RetryAfter: max(time.Duration(wait), time.Nanosecond)}
}

// refill adds the tokens of the time since b.last at lim, up to lim.Burst.
func (b *bucket) refill(now int64, lim Limit) {
	if elapsed := now - b.last; elapsed > 0 {
		b.tokens += float64(elapsed) / float64(time.Second) * lim.Rate
	}
	b.tokens = min(b.tokens, float64(lim.Burst))
	b.last, b.limit = max(now, b.last), lim
}

// full reports whether b would be full at now: dropping it changes
// nothing, since a tenant without a bucket gets a full one.
func (b *bucket) full(now int64) bool {
	return b.tokens+float64(now-b.last)/float64(time.Second)*b.limit.Rate >= float64(b.limit.Burst)
}

// add makes tenant's bucket, full, in p (whose lock the caller holds),
// first dropping p's full buckets when it is time, and the bucket seen
// longest ago when p holds most already.
func (p *part) add(tenant tenancy.ID, now int64, lim Limit, most int) *bucket {
	if now >= p.nextSweep || len(p.buckets) >= most {
		for id, b := range p.buckets {
			if b.full(now) {
				delete(p.buckets, id)
			}
		}
		p.nextSweep = now + sweepEvery.Nanoseconds()
	}
	for len(p.buckets) >= most {
		var oldest tenancy.ID
		var oldestAt int64 = math.MaxInt64
		for id, b := range p.buckets {
			if b.last < oldestAt {
				oldest, oldestAt = id, b.last
			}
		}
		delete(p.buckets, oldest)
	}
	b := &bucket{tokens: float64(lim.Burst), last: now, limit: lim}
	p.buckets[tenant] = b
	return b
}

// tenants returns how many buckets l holds (for tests).
func (l *Limiter) tenants() int {
	n := 0
	for i := range l.parts {
		p := &l.parts[i]
		p.mu.Lock()
		n += len(p.buckets)
		p.mu.Unlock()
	}
	return n
}

// verified reports whether ctx's principal came from an authenticator the
// limiter counts ([Config.Sources]).
func (l *Limiter) verified(ctx context.Context) bool {
	src, ok := tenancy.SourceFromContext(ctx)
	if !ok || src.IsZero() {
		return false
	}
	return len(l.sources) == 0 || slices.Contains(l.sources, src)
}

// Handler returns next wrapped so that each request whose context carries
// a verified principal ([Config.Sources]) with a tenant takes one from its
// tenant's bucket first: over
// the limit it is answered 429 with Retry-After ([Error.Problem], or
// [Config.Deny]) and next is not called. Requests without a tenant pass
// to next unchanged. Put it after the middleware that verifies the
// principal (jwtctx's).
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tenancy.FromContext(r.Context())
		if !ok || !p.HasTenant() || !l.verified(r.Context()) {
			next.ServeHTTP(w, r)
			return
		}
		var limited *Error
		if err := l.Allow(p.Tenant); errors.As(err, &limited) {
			limited.Problem().Serve(w, r, l.deny)
			return
		}
		next.ServeHTTP(w, r)
	})
}
