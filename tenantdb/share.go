package tenantdb

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
)

// ErrBusy is returned when a tenant's work needs a connection while the
// tenant already holds its whole share of the pool ([Share.Conns]) and
// none came back within [Share.Wait]. Nothing was sent. Answer it as a
// 503 with Retry-After (package problem does).
var ErrBusy = errors.New("tenantdb: the tenant's share of the pool is in use; try again shortly")

// Share is what one tenant's work may hold of a [Pool] at once, so that one
// tenant's load cannot take every connection from the others. The zero
// Share is no limit.
type Share struct {
	// Conns is the most connections one tenant's work holds at once: its
	// transactions, and its statements outside one. Work beyond it waits
	// for one of the tenant's connections to come back, first come first
	// served, while the other tenants' work goes on. Zero means no limit.
	// Set it below the pool's MaxConns (a half, a quarter), so that the
	// others always find a connection.
	Conns int

	// Wait is how long work beyond the share waits for its turn before it
	// fails with [ErrBusy]. Zero means as long as its context allows.
	Wait time.Duration

	// StatementTimeout bounds each statement of the tenant's work
	// (PostgreSQL's statement_timeout, for its transaction only), or the
	// time left before the context's deadline when that is sooner. Zero
	// means none beyond the deadline.
	StatementTimeout time.Duration
}

// shares hands out the tenants' shares: a counting semaphore per tenant
// that holds connections, created on first use and dropped when the
// tenant holds none. One mutex guards them all: an acquire or a release
// is a map lookup and a few assignments under it.
type shares struct {
	mu      sync.Mutex
	held    map[tenancy.ID]*share
	free    []*share    // dropped shares, for reuse: no allocation per acquire
	observe func(Event) // Config.Observe: told of each wait; nil for none
}

// share is one tenant's: how many connections it holds, and the work
// waiting for one, oldest first.
type share struct {
	n       int
	waiting []chan struct{}
}

// acquire takes one of tenant's s.Conns connections, waiting as s.Wait
// and ctx allow; on success the caller gives it back with release(tenant)
// exactly once. With s.Conns zero it takes nothing, and release must not
// be called.
func (ss *shares) acquire(ctx context.Context, tenant tenancy.ID, s Share) error {
	if s.Conns <= 0 {
		return nil
	}
	ss.mu.Lock()
	if ss.held == nil {
		ss.held = make(map[tenancy.ID]*share)
	}
	sh := ss.held[tenant]
	if sh == nil {
		if n := len(ss.free); n > 0 {
			sh, ss.free = ss.free[n-1], ss.free[:n-1]
		} else {
			sh = &share{}
		}
		ss.held[tenant] = sh
	}
	if sh.n < s.Conns && len(sh.waiting) == 0 {
		sh.n++
		ss.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	sh.waiting = append(sh.waiting, turn)
	ss.mu.Unlock()
	if ss.observe == nil {
		return ss.wait(ctx, tenant, s, sh, turn)
	}
	start := time.Now()
	err := ss.wait(ctx, tenant, s, sh, turn)
	ss.observe(Event{Kind: EventShareWait, Tenant: tenant, Duration: time.Since(start), Err: err})
	return err
}

// wait waits for turn, the turn of work queued on tenant's share sh, as
// s.Wait and ctx allow.
func (ss *shares) wait(ctx context.Context, tenant tenancy.ID, s Share, sh *share, turn chan struct{}) error {
	var timeout <-chan time.Time
	if s.Wait > 0 {
		t := time.NewTimer(s.Wait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-turn:
		return nil
	case <-timeout:
		err = ErrBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	ss.mu.Lock()
	for i, w := range sh.waiting {
		if w == turn {
			sh.waiting = append(sh.waiting[:i], sh.waiting[i+1:]...)
			ss.mu.Unlock()
			return err
		}
	}
	ss.mu.Unlock()
	// The turn came as the wait ended: the connection is ours; give it on.
	<-turn
	ss.release(tenant)
	return err
}

// release gives back one of tenant's connections: to the oldest waiting
// work, or to the pool.
func (ss *shares) release(tenant tenancy.ID) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sh := ss.held[tenant]
	if sh == nil {
		return // cannot happen: a release without its acquire
	}
	if len(sh.waiting) > 0 {
		next := sh.waiting[0]
		sh.waiting = sh.waiting[1:]
		close(next) // the connection passes on; sh.n stays
		return
	}
	sh.n--
	if sh.n <= 0 {
		delete(ss.held, tenant)
		sh.n, sh.waiting = 0, sh.waiting[:0]
		if len(ss.free) < 64 {
			ss.free = append(ss.free, sh)
		}
	}
}

// holding returns how many connections tenant's work holds, and how many
// of its pieces of work wait for one (for tests and metrics).
func (ss *shares) holding(tenant tenancy.ID) (held, waiting int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if sh := ss.held[tenant]; sh != nil {
		return sh.n, len(sh.waiting)
	}
	return 0, 0
}

// shareOf returns tenant's Share: [Config.ShareFor]'s, else [Config.Share].
func (p *Pool) shareOf(tenant tenancy.ID) Share {
	if p.shareFor != nil {
		return p.shareFor(tenant)
	}
	return p.share
}

// lease is a pooled connection held for one tenant's work: releasing it
// also gives back the tenant's share, and reports the work to
// [Config.Observe].
//
// Its fields are laid out to take 48 bytes, so that the rows of a
// one-statement query, which hold a lease, stay in the allocation size
// class they had before Config.Observe: a nil hook costs no byte.
type lease struct {
	pc     *pgxpool.Conn
	p      *Pool
	tenant tenancy.ID

	// For Config.Observe, when set (kind is zero otherwise): when the work
	// took the connection (on the monotonic clock, since epoch), how many
	// statements it sent, and what kind of work it is.
	start      int64
	statements int32
	kind       EventKind

	shared  bool  // whether a share was taken
	replica uint8 // Event.Replica: 0 for the primary
}

// epoch is the origin of lease.start.
var epoch = time.Now()

// Conn is the connection.
func (l lease) Conn() *pgx.Conn { return l.pc.Conn() }

// Release returns the connection to the pool, then the tenant's share,
// and reports the work.
func (l lease) Release() {
	l.settle()
	l.pc.Release()
	if l.shared {
		l.p.shares.release(l.tenant)
	}
	if l.kind != 0 && l.p.observe != nil {
		l.p.observe(Event{Kind: l.kind, Tenant: l.tenant, Statements: int(l.statements), Duration: time.Since(epoch) - time.Duration(l.start), Replica: int(l.replica)})
	}
}

// acquire takes one of tenant's share of the pool ([Share.Conns]), then a
// connection, for work of kind (EventStatement or EventTx) that sends
// statements of the application's (for [Config.Observe]; a transaction
// sets the number when it ends). Work with no tenant (pre-auth calls)
// takes no share and reports nothing. Its errors: [ErrBusy] or the
// context's, with nothing taken, or the pool's. The lease is a value, so
// that the path every statement takes allocates nothing for it.
func (p *Pool) acquire(ctx context.Context, tenant tenancy.ID, kind EventKind, statements int) (lease, error) {
	return p.acquireOn(ctx, nil, tenant, kind, statements)
}

// acquireOn is acquire from replica r's pool, or the primary's for nil.
func (p *Pool) acquireOn(ctx context.Context, r *replica, tenant tenancy.ID, kind EventKind, statements int) (lease, error) {
	s := Share{}
	if !tenant.IsZero() {
		s = p.shareOf(tenant)
	}
	if err := p.shares.acquire(ctx, tenant, s); err != nil {
		return lease{}, err
	}
	shared := s.Conns > 0
	pool, index := p.pool, uint8(0)
	if r != nil {
		pool, index = r.pool, r.index
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		if shared {
			p.shares.release(tenant)
		}
		return lease{}, err
	}
	l := lease{pc: conn, p: p, tenant: tenant, shared: shared, replica: index}
	if p.observe != nil && !tenant.IsZero() {
		l.kind, l.statements, l.start = kind, int32(min(statements, math.MaxInt32)), int64(time.Since(epoch))
	}
	return l, nil
}

// contextSQL is [ContextSQL] with the tenant's [Share.StatementTimeout]:
// the statement timeout is the sooner of it and the context's deadline.
func (p *Pool) contextSQL(ctx context.Context, pr tenancy.Principal) (string, []any, error) {
	if t := p.shareOf(pr.Tenant).StatementTimeout; t > 0 {
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > t {
			return contextSQLWithin(pr, t)
		}
	}
	return ContextSQL(ctx, pr)
}
