package tenantriver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// readArgs is the benchmarks' job: one point read of a note.
type readArgs struct {
	Tenant string `json:"tenant"`
	Note   int    `json:"note"`
}

func (readArgs) Kind() string { return "tenancy_bench_read" }

// plainReadWorker does a tenant's point read as a plain River job would
// without the SDK: on a pgx pool as the app role, with the tenant context
// set by hand, pipelined with BEGIN, as tenantdb does (the same
// statements and round trips).
type plainReadWorker struct {
	river.WorkerDefaults[readArgs]
	pool *pgxpool.Pool
}

func (w *plainReadWorker) Work(ctx context.Context, job *river.Job[readArgs]) error {
	tenant, err := tenancy.ParseID(job.Args.Tenant)
	if err != nil {
		return err
	}
	ctxSQL, ctxArgs, err := tenantdb.ContextSQL(ctx, staff(tenant, staffA))
	if err != nil {
		return err
	}
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(ctxSQL, ctxArgs...)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	var body string
	if err := conn.QueryRow(ctx, "select body from notes where tenant_id = $1 and id = $2", job.Args.Tenant, job.Args.Note).Scan(&body); err != nil {
		_, _ = conn.Exec(ctx, "rollback")
		return err
	}
	_, err = conn.Exec(ctx, "commit")
	return err
}

// tenantReadWorker does the same read through tenantdb, in the job's
// context, which tenantriver's middleware set.
type tenantReadWorker struct {
	river.WorkerDefaults[readArgs]
	db *tenantdb.Pool
}

func (w *tenantReadWorker) Work(ctx context.Context, job *river.Job[readArgs]) error {
	p, err := tenancy.Require(ctx)
	if err != nil {
		return err
	}
	return w.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		var body string
		return tx.QueryRow(ctx, "select body from notes where tenant_id = $1 and id = $2", p.Tenant, job.Args.Note).Scan(&body)
	})
}

// BenchmarkJob measures a job from fetch to completion on real River
// clients (4 workers each), the two variants paired in every iteration so
// that load that comes and goes on a shared machine falls on both alike:
// "plain" is a River job doing a tenant's point read by hand, on a client
// without tenantriver; "tenant" the same read through tenantriver (seal
// verified, principal installed) and tenantdb (guard, context). Each
// iteration queues a round of jobs of each variant, held as scheduled,
// then releases them (as River's insert does: state available, and the
// insert notification) and times the round until its last job completes;
// the variants take turns going first.
// It reports each variant's time per job and the ratio tenant/plain.
func BenchmarkJob(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	appCfg, err := pgxpool.ParseConfig(f.db.ConnString(pgtest.App))
	if err != nil {
		b.Fatal(err)
	}
	appCfg.MaxConns = 4
	raw, err := pgxpool.NewWithConfig(ctx, appCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	db := f.appPool(b, 4)

	type variant struct {
		name   string
		client *river.Client[pgx.Tx]
		events <-chan *river.Event
		total  time.Duration
	}
	newVariant := func(name string, w river.Worker[readArgs], sealed bool) *variant {
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		cfg := clientConfig(f.jobs, workers)
		if !sealed {
			cfg.Middleware = nil
		}
		cfg.Queues = map[string]river.QueueConfig{name: {MaxWorkers: 4}}
		c, err := river.NewClient(riverpgxv5.New(f.river), cfg)
		if err != nil {
			b.Fatal(err)
		}
		events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
		b.Cleanup(cancel)
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			stopCtx, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			_ = c.Stop(stopCtx)
		})
		return &variant{name: name, client: c, events: events}
	}
	variants := []*variant{
		newVariant("plain", &plainReadWorker{pool: raw}, false),
		newVariant("tenant", &tenantReadWorker{db: db}, true),
	}
	const round = 200
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		order := variants
		if i%2 == 1 { // alternate which variant goes first
			order = []*variant{variants[1], variants[0]}
		}
		for _, v := range order {
			b.StopTimer()
			enqueue(b, f, v.client, db, v.name, round)
			b.StartTimer()
			start := time.Now()
			if _, err := f.river.Exec(ctx, `update river_job set state = 'available', scheduled_at = now() where queue = $1 and state = 'scheduled'`, v.name); err != nil {
				b.Fatal(err)
			}
			if _, err := f.river.Exec(ctx, `select pg_notify(current_schema() || '.river_insert', $1)`, `{"queue": "`+v.name+`"}`); err != nil {
				b.Fatal(err)
			}
			timeout := time.After(2 * time.Minute)
			for done := 0; done < round; {
				select {
				case ev := <-v.events:
					if ev.Kind != river.EventKindJobCompleted {
						b.Fatalf("%s job %d: %s: %v", v.name, ev.Job.ID, ev.Kind, ev.Job.Errors)
					}
					done++
				case <-timeout:
					b.Fatalf("%s: %d of %d jobs done after 2 minutes", v.name, done, round)
				}
			}
			v.total += time.Since(start)
		}
	}
	b.StopTimer()
	jobs := float64(b.N * round)
	plain, tenant := float64(variants[0].total.Nanoseconds())/jobs, float64(variants[1].total.Nanoseconds())/jobs
	b.ReportMetric(plain, "plain-ns/job")
	b.ReportMetric(tenant, "tenant-ns/job")
	b.ReportMetric(tenant/plain, "tenant/plain")
	b.ReportMetric(0, "ns/op")
}

// enqueue queues n read jobs of tenant A in the variant's queue, held as
// scheduled an hour ahead: through tenantriver in tenant transactions for
// "tenant", by River's role for "plain".
func enqueue(b *testing.B, f *fixture, c *river.Client[pgx.Tx], db *tenantdb.Pool, variant string, n int) {
	b.Helper()
	ctx := context.Background()
	const batch = 500
	for start := 0; start < n; start += batch {
		params := make([]river.InsertManyParams, min(batch, n-start))
		for i := range params {
			params[i] = river.InsertManyParams{Args: readArgs{Tenant: tenantA.String(), Note: 1 + (start+i)%3},
				InsertOpts: &river.InsertOpts{Queue: variant, ScheduledAt: time.Now().Add(time.Hour)}}
		}
		var err error
		if variant == "plain" {
			_, err = c.InsertMany(ctx, params)
		} else {
			err = db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
				_, err := f.jobs.InsertMany(ctx, c, tx, params)
				return err
			})
		}
		if err != nil {
			b.Fatal(fmt.Errorf("enqueue: %w", err))
		}
	}
}

// BenchmarkWork is BenchmarkJob without River's fetch and completion: the
// two workers' Work on one job row, the tenant one inside tenantriver's
// worker middleware (the seal verified, the principal installed), paired
// in every iteration (allocations are of both).
func BenchmarkWork(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	appCfg, err := pgxpool.ParseConfig(f.db.ConnString(pgtest.App))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := pgxpool.NewWithConfig(ctx, appCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	db := f.appPool(b, 4)
	c := f.newClient(b, f.river, nil)
	var id int64
	if err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
		res, err := f.jobs.Insert(ctx, c, tx, readArgs{Tenant: tenantA.String(), Note: 1}, nil)
		if res != nil {
			id = res.Job.ID
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	row, err := c.JobGet(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	job := &river.Job[readArgs]{JobRow: row, Args: readArgs{Tenant: tenantA.String(), Note: 1}}
	mw := f.jobs.Middleware().(rivertype.WorkerMiddleware)
	plain, tenant := &plainReadWorker{pool: raw}, &tenantReadWorker{db: db}
	jobCtx, cancel := context.WithTimeout(ctx, time.Minute) // River's JobTimeout
	defer cancel()
	works := []func() error{
		func() error { return plain.Work(jobCtx, job) },
		func() error {
			return mw.Work(jobCtx, row, func(ctx context.Context) error { return tenant.Work(ctx, job) })
		},
	}
	for _, w := range works { // warm both: statements prepared, guard cache filled
		if err := w(); err != nil {
			b.Fatal(err)
		}
	}
	var total [2]time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for k := range 2 {
			v := (i + k) % 2 // alternate which goes first
			start := time.Now()
			if err := works[v](); err != nil {
				b.Fatal(err)
			}
			total[v] += time.Since(start)
		}
	}
	b.StopTimer()
	p, t := float64(total[0].Nanoseconds())/float64(b.N), float64(total[1].Nanoseconds())/float64(b.N)
	b.ReportMetric(p, "plain-ns/job")
	b.ReportMetric(t, "tenant-ns/job")
	b.ReportMetric(t/p, "tenant/plain")
	b.ReportMetric(0, "ns/op")
}
