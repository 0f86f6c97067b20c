package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
)

// Replicas routes read-only work to hot standbys of the Pool's database
// ([Config.Replicas]). Read-only transactions ([Pool.TxWith] with
// pgx.ReadOnly, [ReadOnly.Tx]) and the one-statement reads of
// [Pool.ReadOnly] go to a replica that is up and no further behind the
// primary than MaxLag, in turn; every other piece of work, and read-only
// work when no replica qualifies, goes to the primary. Routing follows the
// declared access mode only, never the SQL text.
//
// On a replica the work is what it is on the primary: the same principal
// and Sources checks, the same guard, the same context statement, and
// row-level security of the same catalog, checked at start-up as the
// primary's is. See docs/scaling.md, "Read replicas".
type Replicas struct {
	// Pools are connection pools to hot standbys of the primary's
	// database (streaming replication), each connected as the model's
	// app role. [New] checks each as it checks the primary (the role, the
	// catalog against the model) and that it is in recovery, of the same
	// cluster (pg_control_system's system identifier) and database as the
	// primary; a replica that fails, or cannot be reached, fails New
	// ([ErrNotStandby], [ErrUnsafeRole], [ErrModelMismatch],
	// [ErrUnsafeSchema], or its connection error). At most 64. The pools
	// are the caller's: [Pool.Close] does not close them.
	Pools []*pgxpool.Pool

	// MaxLag is how far behind the primary a replica may be and still
	// serve reads: a read on a replica sees every write that committed on
	// the primary at least MaxLag before the read began. Required when
	// Pools is set.
	MaxLag time.Duration

	// CheckInterval is how often the Pool reads the primary's WAL
	// position and each replica's replay position, on a goroutine of its
	// own; no statement waits for it. Default MaxLag / 4; it must be
	// below MaxLag. A replica is seen at most MaxLag behind only while
	// its checks keep succeeding, so the smaller the interval, the less
	// often a replica that is in fact current is skipped.
	CheckInterval time.Duration
}

// maxReplicas bounds Replicas.Pools: a lease names its pool in a byte.
const maxReplicas = 64

// readOnlySQL makes the transaction of a one-statement read read-only, on
// the primary and on a replica alike: pipelined before the context
// statement, so the statement that follows cannot write (SQLSTATE 25006),
// and cannot make it read-write again, since that is refused once a query
// has run (25001).
const readOnlySQL = "select set_config('transaction_read_only', 'on', true)"

// replicaSet is the Pool's replicas and what its checks last saw of them.
type replicaSet struct {
	primary  *pgxpool.Pool
	replicas []*replica
	maxLag   time.Duration
	interval time.Duration
	next     atomic.Uint32 // round robin

	// What every replica must match, read from the primary at start-up.
	system   string // pg_control_system's system identifier
	database string
	block    uint64 // wal_block_size
	segment  uint64 // wal_segment_size

	// samples are the primary's WAL positions, oldest first; only the
	// checks touch them.
	samples []walSample

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// walSample is the primary's WAL insert position (as the end of a
// record), read at a time on the monotonic clock since epoch.
type walSample struct {
	at  time.Duration
	lsn uint64
}

// replica is one of [Replicas.Pools].
type replica struct {
	pool  *pgxpool.Pool
	index uint8 // Event.Replica: 1 for Pools[0]

	// current is, in nanoseconds since epoch, the time of the newest
	// sample of the primary's position that the replica had replayed at
	// its last check: it holds every write that committed before then.
	// Zero means never seen.
	current atomic.Int64
	down    atomic.Bool
}

// newReplicas checks cfg.Replicas and each replica, reads their positions
// once, and starts the checks; nil without replicas.
func newReplicas(ctx context.Context, primary *pgxpool.Pool, cfg Config) (*replicaSet, error) {
	rc := cfg.Replicas
	if len(rc.Pools) == 0 {
		return nil, nil
	}
	switch {
	case len(rc.Pools) > maxReplicas:
		return nil, fmt.Errorf("%w: %d replicas, at most %d", ErrInvalidConfig, len(rc.Pools), maxReplicas)
	case rc.MaxLag <= 0:
		return nil, fmt.Errorf("%w: Replicas.MaxLag is required: how far behind the primary a replica may serve reads", ErrInvalidConfig)
	case rc.CheckInterval < 0 || rc.CheckInterval >= rc.MaxLag:
		return nil, fmt.Errorf("%w: Replicas.CheckInterval must be positive and below MaxLag", ErrInvalidConfig)
	}
	rs := &replicaSet{primary: primary, maxLag: rc.MaxLag, interval: rc.CheckInterval}
	if rs.interval == 0 {
		rs.interval = rc.MaxLag / 4
	}
	var inRecovery bool
	if err := primary.QueryRow(ctx, "select pg_catalog.pg_is_in_recovery(), (select system_identifier::text from pg_catalog.pg_control_system()),"+
		" pg_catalog.current_database()::text, pg_catalog.current_setting('wal_block_size')::int8,"+
		" pg_catalog.pg_size_bytes(pg_catalog.current_setting('wal_segment_size'))").
		Scan(&inRecovery, &rs.system, &rs.database, &rs.block, &rs.segment); err != nil {
		return nil, fmt.Errorf("tenantdb: reading the primary for its replicas: %w", err)
	}
	if inRecovery {
		return nil, fmt.Errorf("%w: the Pool's own pool is a standby too; give New the primary", ErrNotStandby)
	}
	for i, pool := range rc.Pools {
		if pool == nil || pool == primary || slices.Index(rc.Pools, pool) != i {
			return nil, fmt.Errorf("%w: Replicas.Pools[%d] is nil, the primary's pool, or given twice", ErrInvalidConfig, i)
		}
		if err := checkContextMode(cfg.ContextMode, pool.Config().ConnConfig.DefaultQueryExecMode); err != nil {
			return nil, fmt.Errorf("tenantdb: replica %d: %w", i, err)
		}
		if err := checkStartup(ctx, pool, cfg); err != nil {
			return nil, fmt.Errorf("tenantdb: replica %d: %w", i, err)
		}
		r := &replica{pool: pool, index: uint8(i + 1)}
		if err := rs.identify(ctx, r); err != nil {
			return nil, fmt.Errorf("tenantdb: replica %d: %w", i, err)
		}
		rs.replicas = append(rs.replicas, r)
	}
	rs.check(ctx)
	rs.stop, rs.done = make(chan struct{}), make(chan struct{})
	go rs.run()
	return rs, nil
}

// identify checks that r is a hot standby of the primary's cluster and
// database.
func (rs *replicaSet) identify(ctx context.Context, r *replica) error {
	inRecovery, system, database, err := r.status(ctx)
	if err != nil {
		return err
	}
	switch {
	case !inRecovery:
		return fmt.Errorf("%w: it is not in recovery", ErrNotStandby)
	case system != rs.system:
		return fmt.Errorf("%w: it is a copy of another cluster (system identifier %s, the primary's %s)", ErrNotStandby, system, rs.system)
	case database != rs.database:
		return fmt.Errorf("%w: it connects to database %q, the primary to %q", ErrNotStandby, database, rs.database)
	}
	return nil
}

func (r *replica) status(ctx context.Context) (inRecovery bool, system, database string, err error) {
	err = r.pool.QueryRow(ctx, "select pg_catalog.pg_is_in_recovery(), (select system_identifier::text from pg_catalog.pg_control_system()), pg_catalog.current_database()::text").
		Scan(&inRecovery, &system, &database)
	return inRecovery, system, database, err
}

// run checks the replicas every interval until close. While a replica is
// out of service (down, or behind by more than MaxLag), the next check
// comes after catchUpInterval instead, so that it serves again soon after
// it catches up: right after New, a standby a few WAL records behind would
// otherwise wait a whole interval for its first reads.
func (rs *replicaSet) run() {
	defer close(rs.done)
	t := time.NewTimer(rs.nextCheck())
	defer t.Stop()
	for {
		select {
		case <-rs.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(rs.interval, time.Second))
			rs.check(ctx)
			cancel()
			t.Reset(rs.nextCheck())
		}
	}
}

// serves reports whether r may serve reads that must be current as of
// oldest (since epoch): it is up and has been seen to replay a sample of
// the primary taken then or later. A replica never seen current (zero)
// serves nothing, however early in the process's life: oldest is
// negative during its first MaxLag.
func (r *replica) serves(oldest int64) bool {
	c := r.current.Load()
	return !r.down.Load() && c > 0 && c >= oldest
}

// catchUpInterval is the time between checks while a replica is out of
// service (at most the configured interval).
const catchUpInterval = 100 * time.Millisecond

// nextCheck is the time until the next check: the interval, or
// catchUpInterval while a replica is out of service.
func (rs *replicaSet) nextCheck() time.Duration {
	oldest := int64(time.Since(epoch) - rs.maxLag)
	for _, r := range rs.replicas {
		if !r.serves(oldest) {
			return min(rs.interval, catchUpInterval)
		}
	}
	return rs.interval
}

// close stops the checks and waits for them; it is safe to call more than
// once, and on nil.
func (rs *replicaSet) close() {
	if rs == nil {
		return
	}
	rs.stopOnce.Do(func() { close(rs.stop) })
	<-rs.done
}

// check samples the primary's WAL position, then reads each replica's
// replay position, and records for each the time of the newest sample it
// has replayed. A replica that cannot be read, or is no longer a standby
// of the primary (promoted, rebuilt from another cluster), is down until a
// check reads it again. When the primary cannot be read nothing is
// recorded, and the replicas age past MaxLag.
//
// The lag is measured in WAL, not by pg_last_xact_replay_timestamp(): the
// time of the last transaction replayed grows while the primary is idle,
// and would call a standby that has everything stale.
func (rs *replicaSet) check(ctx context.Context) {
	at := time.Since(epoch)
	var lsn uint64
	if err := rs.primary.QueryRow(ctx, "select (pg_catalog.pg_current_wal_insert_lsn() - '0/0')::int8").Scan(&lsn); err != nil {
		return
	}
	rs.samples = append(rs.samples, walSample{at: at, lsn: recordEnd(lsn, rs.block, rs.segment)})
	// Older samples than MaxLag would only mark a replica too far behind.
	if i := slices.IndexFunc(rs.samples, func(s walSample) bool { return at-s.at <= rs.maxLag }); i > 0 {
		rs.samples = slices.Delete(rs.samples, 0, i)
	}
	var wg sync.WaitGroup
	for _, r := range rs.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs.checkOne(ctx, r)
		}()
	}
	wg.Wait()
}

func (rs *replicaSet) checkOne(ctx context.Context, r *replica) {
	var replay int64
	var inRecovery bool
	var system string
	err := r.pool.QueryRow(ctx, "select pg_catalog.pg_is_in_recovery(), (select system_identifier::text from pg_catalog.pg_control_system()),"+
		" coalesce((pg_catalog.pg_last_wal_replay_lsn() - '0/0')::int8, -1)").Scan(&inRecovery, &system, &replay)
	if err != nil || !inRecovery || system != rs.system || replay < 0 {
		r.down.Store(true)
		return
	}
	for i := len(rs.samples) - 1; i >= 0; i-- {
		if rs.samples[i].lsn <= uint64(replay) {
			if at := int64(rs.samples[i].at); at > r.current.Load() {
				r.current.Store(at)
			}
			break
		}
	}
	r.down.Store(false)
}

// The sizes of a WAL page's header: the first page of a segment has the
// long one. Both are MAXALIGNed on the 64-bit platforms PostgreSQL runs on.
const (
	walShortHeader = 24
	walLongHeader  = 40
)

// recordEnd returns the WAL position lsn as the end of a record.
// pg_current_wal_insert_lsn() gives where the next record will start: when
// the last record ended on a page boundary, that is past the next page's
// header, where no record ends, and pg_last_wal_replay_lsn() on a standby
// that has replayed everything would stay below it until the primary
// writes again.
func recordEnd(lsn, block, segment uint64) uint64 {
	switch {
	case segment > 0 && lsn%segment == walLongHeader:
		return lsn - walLongHeader
	case block > 0 && lsn%block == walShortHeader:
		return lsn - walShortHeader
	}
	return lsn
}

// pick returns a replica for read-only work in ctx, or nil for the
// primary: one that is up, seen at most MaxLag behind, and, when ctx asks
// for its writes ([ReadYourWrites]), seen to hold every write before that
// call. Replicas take turns.
func (rs *replicaSet) pick(ctx context.Context) *replica {
	if rs == nil {
		return nil
	}
	oldest := int64(time.Since(epoch) - rs.maxLag)
	if w, ok := ctx.Value(writesKey{}).(time.Duration); ok && int64(w) >= oldest {
		oldest = int64(w) + 1
	}
	n := uint32(len(rs.replicas))
	start := rs.next.Add(1)
	for i := range n {
		r := rs.replicas[(start+i)%n]
		if r.serves(oldest) {
			return r
		}
	}
	return nil
}

// writesKey is the context key of [ReadYourWrites].
type writesKey struct{}

// ReadYourWrites returns a copy of ctx in which the read-only work of a
// [Pool] sees every write that committed before the call: it goes to a
// replica only once that replica has been seen to replay a WAL position
// of the primary read after the call, and to the primary until then. Call
// it after a write commits, and read with the context it returns, for the
// rest of a request that must show what it wrote. It costs no statement:
// the Pool's regular checks ([Replicas.CheckInterval]) tell when a
// replica has caught up, so reads go to the primary for up to about one
// interval after the write. It needs nothing in ctx and is safe for
// concurrent use. The guarantee holds within one process (the time is
// read on its monotonic clock); it is not a token to hand to another.
func ReadYourWrites(ctx context.Context) context.Context {
	return context.WithValue(ctx, writesKey{}, time.Since(epoch))
}

// replicaDown reports whether err, from work on a replica before any of
// its results reached the caller, says the replica cannot serve it (no
// connection, a connection lost, a server shutting down or starting up),
// so that the work may go to the primary instead. A refusal, an SQL error
// or the context's end is the work's own and is returned.
func replicaDown(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrBusy) || errors.Is(err, ErrSessionState) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57: operator intervention (admin or
		// crash shutdown, cannot connect now).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57")
	}
	return true
}

// readTx runs a read-only transaction ([Pool.TxWith]) on a replica when
// one qualifies, else on the primary. A SERIALIZABLE one runs on the
// primary: PostgreSQL refuses serializable transactions on a standby.
// When the replica fails before fn runs, the replica is marked down and
// the transaction runs on the primary; once fn has run, its error is
// returned.
func (p *Pool) readTx(ctx context.Context, pr tenancy.Principal, opts pgx.TxOptions, fn func(tx *Tx) error) error {
	work := func(_ context.Context, tx *Tx) error { return fn(tx) }
	var r *replica
	if opts.IsoLevel != pgx.Serializable {
		r = p.replicas.pick(ctx)
	}
	if r == nil {
		return p.tx(ctx, pr, opts, nil, work)
	}
	started := false
	err := p.txOn(ctx, r, pr, opts, nil, func(ctx context.Context, tx *Tx) error {
		started = true
		return work(ctx, tx)
	})
	if err != nil && !started && replicaDown(ctx, err) {
		r.down.Store(true)
		return p.tx(ctx, pr, opts, nil, work)
	}
	return err
}

// ReadOnly is the one-statement reads of a [Pool] ([Pool.ReadOnly]). It
// is safe for concurrent use.
type ReadOnly struct{ p *Pool }

var _ Querier = (*ReadOnly)(nil)

// ReadOnly returns p's one-statement reads: each runs as [Pool.Query],
// [Pool.QueryRow] and [Pool.Exec] do (the same checks of the principal
// and the statement, the same context statement in the same round trip),
// in a read-only transaction, on a replica ([Config.Replicas]) when one
// qualifies, else on the primary. A write through it fails with SQLSTATE
// 25006 wherever it runs. Give it to store code that takes a [Querier]
// for its reads.
func (p *Pool) ReadOnly() *ReadOnly { return &ReadOnly{p} }

// Query is [Pool.Query] in a read-only transaction, on a replica when one
// qualifies. When the replica fails before the first row (no connection,
// a connection lost), it is marked down and the query runs on the
// primary; an error while reading the rows is the rows' Err.
func (ro *ReadOnly) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p := ro.p
	batch, tenant, err := p.prepare(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	batch = readOnlyBatch(batch)
	r := p.replicas.pick(ctx)
	rows, err := p.readQuery(ctx, r, tenant, batch)
	if r != nil && replicaDown(ctx, err) {
		r.down.Store(true)
		return p.readQuery(ctx, nil, tenant, cloneBatch(batch))
	}
	return rows, err
}

// QueryRow is [ReadOnly.Query] for at most one row, as [Pool.QueryRow].
func (ro *ReadOnly) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := ro.Query(ctx, sql, args...)
	return &row{rows: rows, err: err}
}

// Exec is [Pool.Exec] in a read-only transaction, on a replica when one
// qualifies (see [ReadOnly.Query]): for statements that read and return
// no rows. A write fails with SQLSTATE 25006.
func (ro *ReadOnly) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p := ro.p
	batch, tenant, err := p.prepare(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	batch = readOnlyBatch(batch)
	r := p.replicas.pick(ctx)
	tag, err := p.readExec(ctx, r, tenant, batch)
	if r != nil && replicaDown(ctx, err) {
		r.down.Store(true)
		return p.readExec(ctx, nil, tenant, cloneBatch(batch))
	}
	return tag, err
}

// Tx is [Pool.TxWith] with pgx.ReadOnly: a read-only transaction, on a
// replica when one qualifies.
func (ro *ReadOnly) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	return ro.p.TxWith(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// readOnlyBatch puts readOnlySQL just before the statement of batch,
// after the context (and, in the SET LOCAL mode, after BEGIN), so that
// it holds for the statement's transaction in either mode.
func readOnlyBatch(b stmtBatch) stmtBatch {
	qs := b.b.QueuedQueries
	at := len(qs) - 1 // the statement
	if b.begun {
		at-- // COMMIT follows the statement
	}
	out := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(qs)+1)}
	out.QueuedQueries = append(out.QueuedQueries, qs[:at]...)
	out.Queue(readOnlySQL)
	out.QueuedQueries = append(out.QueuedQueries, qs[at:]...)
	return stmtBatch{b: out, c: b.c, begun: b.begun}
}

// cloneBatch copies the statements of b, for sending them again on
// another connection.
func cloneBatch(b stmtBatch) stmtBatch {
	out := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.b.QueuedQueries))}
	for _, q := range b.b.QueuedQueries {
		out.Queue(q.SQL, q.Arguments...)
	}
	return stmtBatch{b: out, c: b.c, begun: b.begun}
}

// sendSetup acquires a connection of r (the primary for nil), sends batch
// and reads the results of what comes before the statement: BEGIN in the
// SET LOCAL mode, the context, the read-only setting.
func (p *Pool) sendSetup(ctx context.Context, r *replica, tenant tenancy.ID, batch stmtBatch) (lease, pgx.BatchResults, error) {
	conn, err := p.acquireOn(ctx, r, tenant, EventStatement, 1)
	if err != nil {
		return lease{}, nil, err
	}
	br := conn.Conn().SendBatch(ctx, batch.b)
	err = batch.c.read(br, batch.begun)
	if err == nil {
		_, err = br.Exec() // the read-only setting
	}
	if err != nil {
		br.Close()
		err = p.contextErr(ctx, conn.pc, err)
		conn.Release()
		return lease{}, nil, err
	}
	return conn, br, nil
}

func (p *Pool) readQuery(ctx context.Context, r *replica, tenant tenancy.ID, batch stmtBatch) (pgx.Rows, error) {
	conn, br, err := p.sendSetup(ctx, r, tenant, batch)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		conn.Release()
		return nil, err
	}
	return &batchRows{rows: rows, br: br, conn: conn}, nil
}

func (p *Pool) readExec(ctx context.Context, r *replica, tenant tenancy.ID, batch stmtBatch) (pgconn.CommandTag, error) {
	conn, br, err := p.sendSetup(ctx, r, tenant, batch)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}
