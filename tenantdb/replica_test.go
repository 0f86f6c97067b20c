package tenantdb_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// served records which pool served each piece of work, from
// Config.Observe.
type served struct {
	mu     sync.Mutex
	last   int // Event.Replica of the last work
	byPool map[int]int
}

func (s *served) observe(e tenantdb.Event) {
	if e.Kind != tenantdb.EventStatement && e.Kind != tenantdb.EventTx {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPool == nil {
		s.byPool = map[int]int{}
	}
	s.last = e.Replica
	s.byPool[e.Replica]++
}

// lastPool returns the pool that served the last work: 0 for the
// primary, 1 for the first replica.
func (s *served) lastPool() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// replicaFixture is schema's database, a hot standby of it, and a Pool
// over both.
type replicaFixture struct {
	db      *pgtest.DB
	standby *pgtest.Standby
	served  *served
	pool    *tenantdb.Pool
}

// newReplicaFixture makes schema's database (5 patients at A, 7 at B), a
// standby that has replayed it, and a Pool with the standby as its
// replica, under cfg (the default guard unless cfg sets one).
func newReplicaFixture(t *testing.T, cfg tenantdb.Config) *replicaFixture {
	t.Helper()
	db := schema(t)
	f := &replicaFixture{db: db, standby: db.Standby(t), served: &served{}}
	cfg.Model = testModel(t, db)
	cfg.Sources = []tenancy.Source{tenancytest.Source()}
	cfg.ContextMode = contextMode
	cfg.Observe = f.served.observe
	cfg.Replicas.Pools = []*pgxpool.Pool{f.standby.Pool(t, pgtest.App)}
	if cfg.Replicas.MaxLag == 0 {
		cfg.Replicas.MaxLag = time.Minute
	}
	if cfg.Replicas.CheckInterval == 0 {
		cfg.Replicas.CheckInterval = 50 * time.Millisecond
	}
	// Replayed up to now before New's first check: with a long
	// CheckInterval (TestReplicaDown's 30 s), a first check that finds the
	// standby behind would keep reads on the primary until the next.
	f.standby.CatchUp(t)
	p, err := tenantdb.New(context.Background(), db.Pool(t, pgtest.App), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	f.pool = p
	// Right after New, the standby may not yet have replayed the
	// primary's latest WAL (with synchronous_commit off, it is flushed
	// within wal_writer_delay): wait for the replica to be used.
	ctx := staffCtx(clinicA, staffA)
	if !eventually(10*time.Second, func() bool { f.readCount(t, ctx, clinicA); return f.served.lastPool() == 1 }) {
		t.Fatal("the replica served no read in 10s")
	}
	return f
}

// patients counts, as Admin (who bypasses row-level security), clinic's
// patients on conn: the data a test must prove present before it shows
// that a tenant does not see it.
func patients(t *testing.T, conn *pgx.Conn, clinic tenancy.ID) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "select count(*) from patients where clinic_id = $1", clinic.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readCount counts clinic's patients through the Pool's one-statement
// reads, in ctx, and returns the count and the pool that served it.
func (f *replicaFixture) readCount(t *testing.T, ctx context.Context, clinic tenancy.ID) (int, int) {
	t.Helper()
	var n int
	if err := f.pool.ReadOnly().QueryRow(ctx, "select count(*) from patients where clinic_id = $1", clinic).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n, f.served.lastPool()
}

// TestReplicaIsolation runs tenant work on a hot standby: the rows of
// both clinics are there (counted as Admin on the standby first), and
// through the Pool's replica the same context, guard, principal checks
// and row-level security hold as on the primary: clinic B's work sees its
// own rows and none of A's, the guard refuses the same statement, an
// unverified principal is refused, and the app role on the standby without
// the context fails closed (TN001).
func TestReplicaIsolation(t *testing.T) {
	f := newReplicaFixture(t, tenantdb.Config{})
	ctx := context.Background()
	admin := f.standby.Conn(t, pgtest.Admin)
	if a, b := patients(t, admin, clinicA), patients(t, admin, clinicB); a != 5 || b != 7 {
		t.Fatalf("standby as Admin: %d patients at A, %d at B; want 5 and 7", a, b)
	}

	ctxB := staffCtx(clinicB, staffB)
	if n, pool := f.readCount(t, ctxB, clinicB); n != 7 || pool != 1 {
		t.Errorf("B's own patients through ReadOnly: %d from pool %d, want 7 from the replica (1)", n, pool)
	}
	var n int
	err := f.pool.TxWith(ctxB, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx *tenantdb.Tx) error {
		return tx.QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n)
	})
	if err != nil || n != 7 || f.served.lastPool() != 1 {
		t.Errorf("B's patients in a read-only TxWith: %d, %v, from pool %d; want 7 from the replica (1)", n, err, f.served.lastPool())
	}

	// The guard refuses B's read of A's rows, unsent, on the replica path.
	var refusal *sqlguard.RefusalError
	err = f.pool.ReadOnly().QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicA).Scan(&n)
	if !errors.As(err, &refusal) {
		t.Errorf("B reading A's patients through ReadOnly: %v, want a *sqlguard.RefusalError", err)
	}
	// Past a guard that lets everything through, row-level security on
	// the standby returns none of A's rows to B.
	open := newReplicaPool(t, f, tenantdb.Config{Guard: allowAll{}})
	if err := open.ReadOnly().QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicA).Scan(&n); err != nil || n != 0 {
		t.Errorf("B reading A's patients on the replica past the guard: %d, %v; want 0 (row-level security)", n, err)
	}
	if err := open.ReadOnly().QueryRow(ctxB, "select count(*) from patients").Scan(&n); err != nil || n != 7 {
		t.Errorf("B reading every patient on the replica past the guard: %d, %v; want its own 7", n, err)
	}

	// A principal from no accepted source is refused before the network.
	handmade := tenancy.NewContext(ctx, tenancy.Principal{Kind: "staff", Tenant: clinicB, Subject: staffB})
	if err := f.pool.ReadOnly().QueryRow(handmade, "select 1").Scan(&n); !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("hand-made principal: %v, want ErrUnverifiedPrincipal", err)
	}

	// The app role on the standby with no context: TN001, no rows.
	raw := f.standby.Conn(t, pgtest.App)
	err = raw.QueryRow(ctx, "select count(*) from patients").Scan(&n)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != rls.SQLStateNoTenant {
		t.Errorf("app role on the standby without a context: %d rows, %v; want SQLSTATE %s", n, err, rls.SQLStateNoTenant)
	}
}

// newReplicaPool is another Pool over f's primary and standby, with cfg.
func newReplicaPool(t *testing.T, f *replicaFixture, cfg tenantdb.Config) *tenantdb.Pool {
	t.Helper()
	cfg.Model = f.pool.Model()
	cfg.Sources = []tenancy.Source{tenancytest.Source()}
	cfg.ContextMode = contextMode
	cfg.Replicas = tenantdb.Replicas{Pools: []*pgxpool.Pool{f.standby.Pool(t, pgtest.App)}, MaxLag: time.Minute}
	p, err := tenantdb.New(context.Background(), f.db.Pool(t, pgtest.App), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestReplicaStartupChecks shows New refusing replicas that would not
// hold the primary's guarantees: connected as a role that bypasses or
// reaches past row-level security (the superuser, the tables' owner), a
// server that is not a standby, and replicas without a MaxLag.
func TestReplicaStartupChecks(t *testing.T) {
	db := schema(t)
	standby := db.Standby(t)
	model := testModel(t, db)
	primary := db.Pool(t, pgtest.App)
	for _, tc := range []struct {
		name     string
		replicas tenantdb.Replicas
		want     error
	}{
		{"superuser", tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(t, pgtest.Admin)}, MaxLag: time.Minute}, tenantdb.ErrUnsafeRole},
		{"owner", tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(t, pgtest.Owner)}, MaxLag: time.Minute}, tenantdb.ErrUnsafeRole},
		{"not a standby", tenantdb.Replicas{Pools: []*pgxpool.Pool{db.Pool(t, pgtest.App)}, MaxLag: time.Minute}, tenantdb.ErrNotStandby},
		{"no MaxLag", tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(t, pgtest.App)}}, tenantdb.ErrInvalidConfig},
		{"interval past MaxLag", tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(t, pgtest.App)}, MaxLag: time.Second, CheckInterval: time.Second}, tenantdb.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tenantdb.New(context.Background(), primary, tenantdb.Config{Model: model, ContextMode: contextMode, Replicas: tc.replicas})
			if err == nil {
				p.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
		})
	}
	// The same standby as the app role passes.
	p, err := tenantdb.New(context.Background(), primary, tenantdb.Config{Model: model, ContextMode: contextMode,
		Replicas: tenantdb.Replicas{Pools: []*pgxpool.Pool{standby.Pool(t, pgtest.App)}, MaxLag: time.Minute}})
	if err != nil {
		t.Fatalf("New with the standby as the app role: %v", err)
	}
	p.Close()
}

// TestReplicaNeverWrites shows that work declared read-only cannot write,
// on the replica and on the primary, and that writes go to the primary:
// an INSERT in a read-only TxWith routed to the replica fails (25006) and
// the row is on neither server; through ReadOnly it fails too, also on a
// Pool without replicas; a SERIALIZABLE read-only transaction runs on the
// primary; Exec and Tx go to the primary and write.
func TestReplicaNeverWrites(t *testing.T) {
	f := newReplicaFixture(t, tenantdb.Config{Guard: allowAll{}})
	ctxB := staffCtx(clinicB, staffB)
	insert := "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'written')"
	var pgErr *pgconn.PgError

	err := f.pool.TxWith(ctxB, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctxB, insert, clinicB)
		return err
	})
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" || f.served.lastPool() != 1 {
		t.Errorf("INSERT in a read-only TxWith: %v on pool %d, want SQLSTATE 25006 on the replica (1)", err, f.served.lastPool())
	}
	_, err = f.pool.ReadOnly().Exec(ctxB, insert, clinicB)
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" || f.served.lastPool() != 1 {
		t.Errorf("INSERT through ReadOnly: %v on pool %d, want SQLSTATE 25006 on the replica (1)", err, f.served.lastPool())
	}
	plain := newPool(t, f.db.Pool(t, pgtest.App), tenantdb.Config{})
	if _, err := plain.ReadOnly().Exec(ctxB, insert, clinicB); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Errorf("INSERT through ReadOnly of a Pool without replicas: %v, want SQLSTATE 25006", err)
	}
	f.standby.CatchUp(t)
	for name, conn := range map[string]*pgx.Conn{"primary": f.db.Conn(t, pgtest.Admin), "standby": f.standby.Conn(t, pgtest.Admin)} {
		if n := patients(t, conn, clinicB); n != 7 {
			t.Errorf("%s: %d patients at B after the refused writes, want 7", name, n)
		}
	}

	err = f.pool.TxWith(ctxB, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.Serializable}, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctxB, "select 1")
		return err
	})
	if err != nil || f.served.lastPool() != 0 {
		t.Errorf("serializable read-only TxWith: %v on pool %d, want the primary (0)", err, f.served.lastPool())
	}

	if _, err := f.pool.Exec(ctxB, insert, clinicB); err != nil || f.served.lastPool() != 0 {
		t.Errorf("Exec INSERT: %v on pool %d, want success on the primary (0)", err, f.served.lastPool())
	}
	err = f.pool.Tx(ctxB, func(tx *tenantdb.Tx) error { _, err := tx.Exec(ctxB, insert, clinicB); return err })
	if err != nil || f.served.lastPool() != 0 {
		t.Errorf("Tx INSERT: %v on pool %d, want success on the primary (0)", err, f.served.lastPool())
	}
	if n := patients(t, f.db.Conn(t, pgtest.Admin), clinicB); n != 9 {
		t.Errorf("primary: %d patients at B after two writes, want 9", n)
	}
}

// eventually polls cond every 20ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// TestReplicaLag makes the standby fall behind (replay paused, a write on
// the primary that the standby is shown not to have) and shows reads
// going to the primary, with the fresh row, once the standby is further
// behind than MaxLag; after replay resumes, reads go back to the replica.
func TestReplicaLag(t *testing.T) {
	const maxLag = 400 * time.Millisecond
	f := newReplicaFixture(t, tenantdb.Config{Guard: allowAll{}, Replicas: tenantdb.Replicas{MaxLag: maxLag, CheckInterval: 50 * time.Millisecond}})
	ctxB := staffCtx(clinicB, staffB)
	if n, pool := f.readCount(t, ctxB, clinicB); n != 7 || pool != 1 {
		t.Fatalf("before the lag: %d from pool %d, want 7 from the replica (1)", n, pool)
	}

	f.standby.PauseReplay(t)
	if _, err := f.pool.Exec(ctxB, "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'new')", clinicB); err != nil {
		t.Fatal(err)
	}
	time.Sleep(maxLag + 150*time.Millisecond)
	if n := patients(t, f.db.Conn(t, pgtest.Admin), clinicB); n != 8 {
		t.Fatalf("primary: %d patients at B, want 8", n)
	}
	if n := patients(t, f.standby.Conn(t, pgtest.Admin), clinicB); n != 7 {
		t.Fatalf("standby with replay paused: %d patients at B, want the stale 7", n)
	}
	for i := range 20 {
		if n, pool := f.readCount(t, ctxB, clinicB); n != 8 || pool != 0 {
			t.Fatalf("read %d with the standby behind by more than MaxLag: %d from pool %d, want 8 from the primary (0)", i, n, pool)
		}
	}

	f.standby.ResumeReplay(t)
	var n, pool int
	if !eventually(10*time.Second, func() bool { n, pool = f.readCount(t, ctxB, clinicB); return pool == 1 }) {
		t.Fatalf("after replay resumed, reads stayed on pool %d", pool)
	}
	if n != 8 {
		t.Errorf("replica after catching up: %d patients at B, want 8", n)
	}
}

// TestReplicaDown stops the standby: the very next reads, one-statement
// and transactions, are answered by the primary, with no error for the
// caller. The checks are far apart (30s, 15s), so it is the reads that
// find the replica down, not the checks; each kind of work runs on a Pool
// of its own, so that each finds it.
func TestReplicaDown(t *testing.T) {
	f := newReplicaFixture(t, tenantdb.Config{Guard: allowAll{}, Replicas: tenantdb.Replicas{CheckInterval: 30 * time.Second}})
	txServed := &served{}
	txPool := newReplicaPool(t, f, tenantdb.Config{Guard: allowAll{}, Observe: txServed.observe})
	ctxB := staffCtx(clinicB, staffB)
	if n, pool := f.readCount(t, ctxB, clinicB); n != 7 || pool != 1 {
		t.Fatalf("before the stop: %d from pool %d, want 7 from the replica (1)", n, pool)
	}
	if err := txPool.ReadOnly().Tx(ctxB, func(*tenantdb.Tx) error { return nil }); err != nil || txServed.lastPool() != 1 {
		t.Fatalf("read-only Tx before the stop: %v on pool %d, want the replica (1)", err, txServed.lastPool())
	}
	f.standby.Stop(t)

	for i := range 3 {
		var n int
		err := f.pool.ReadOnly().QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n)
		if err != nil || n != 7 || f.served.lastPool() != 0 {
			t.Errorf("read %d with the standby stopped: %d, %v on pool %d; want 7 from the primary (0)", i, n, err, f.served.lastPool())
		}
	}
	for i := range 3 {
		var n int
		err := txPool.ReadOnly().Tx(ctxB, func(tx *tenantdb.Tx) error {
			return tx.QueryRow(ctxB, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n)
		})
		if err != nil || n != 7 || txServed.lastPool() != 0 {
			t.Errorf("read-only Tx %d with the standby stopped: %d, %v on pool %d; want 7 from the primary (0)", i, n, err, txServed.lastPool())
		}
	}
}

// TestReadYourWrites pauses the standby's replay, writes, and shows that
// a read in the context ReadYourWrites returns sees the write at once
// (the primary serves it), while a read without it is served by the
// replica, stale but within MaxLag; once replay resumes, the request's
// reads go back to the replica, which has the write.
func TestReadYourWrites(t *testing.T) {
	f := newReplicaFixture(t, tenantdb.Config{Guard: allowAll{}})
	ctxB := staffCtx(clinicB, staffB)
	f.standby.PauseReplay(t)
	if _, err := f.pool.Exec(ctxB, "insert into patients (clinic_id, id, name) values ($1, gen_random_uuid(), 'mine')", clinicB); err != nil {
		t.Fatal(err)
	}
	written := tenantdb.ReadYourWrites(ctxB)
	if n, pool := f.readCount(t, written, clinicB); n != 8 || pool != 0 {
		t.Errorf("read after ReadYourWrites: %d from pool %d, want the write (8) from the primary (0)", n, pool)
	}
	var n int
	err := f.pool.ReadOnly().Tx(written, func(tx *tenantdb.Tx) error {
		return tx.QueryRow(written, "select count(*) from patients where clinic_id = $1", clinicB).Scan(&n)
	})
	if err != nil || n != 8 || f.served.lastPool() != 0 {
		t.Errorf("read-only Tx after ReadYourWrites: %d, %v from pool %d; want 8 from the primary (0)", n, err, f.served.lastPool())
	}
	time.Sleep(200 * time.Millisecond) // several checks: the standby still lacks the write
	if n, pool := f.readCount(t, written, clinicB); n != 8 || pool != 0 {
		t.Errorf("read after ReadYourWrites, replay still paused: %d from pool %d, want 8 from the primary (0)", n, pool)
	}
	if n, pool := f.readCount(t, ctxB, clinicB); n != 7 || pool != 1 {
		t.Errorf("read without ReadYourWrites: %d from pool %d, want the stale 7 from the replica (1)", n, pool)
	}

	f.standby.ResumeReplay(t)
	var pool int
	if !eventually(10*time.Second, func() bool { n, pool = f.readCount(t, written, clinicB); return pool == 1 }) {
		t.Fatalf("after replay resumed, the request's reads stayed on pool %d", pool)
	}
	if n != 8 {
		t.Errorf("replica after catching up: %d, want 8", n)
	}
}
