package tenantriver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	pgtest.Main(m)
}

var (
	tenantA = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000a")
	tenantB = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000b")
	tenantC = tenancy.MustParseID("0195f1c2-0000-7000-8000-00000000000c")
	staffA  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000a1")
	staffB  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000b1")
	staffC  = tenancy.MustParseID("0195f1c2-0000-7000-8000-0000000000c1")
)

// testKey is the tests' sealing key.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func staff(tenant, subject tenancy.ID) tenancy.Principal {
	return tenancy.Principal{Kind: "staff", Tenant: tenant, Subject: subject, Roles: []string{"dentist"}, RequestID: "req-1"}
}

func staffCtx(tenant, subject tenancy.ID) context.Context {
	return tenancytest.Context(context.Background(), staff(tenant, subject))
}

// testModel is the isolation model of the fixture's tables and River's,
// for the database's roles.
func testModel(owner, app, platform string) (*rls.Model, error) {
	return testModelKey(owner, app, platform, tenancy.KeyUUID)
}

func testModelKey(owner, app, platform string, key tenancy.KeyType) (*rls.Model, error) {
	return rls.NewModel(rls.Config{
		OwnerRole: owner, AppRole: app, PlatformRole: platform, TenantKey: key,
		Kinds: []tenancy.KindSpec{{Name: "staff", Access: tenancy.AccessTenant}},
	}, append([]rls.Table{
		{Name: "public.notes"},
		{Name: "public.applied"},
	}, tenantriver.Tables("")...)...)
}

// fixtureSQL is the application's schema: notes to read, and the rows
// that idempotent jobs apply (one per job, whatever the attempt) and the
// attempts they record.
const fixtureSQL = `
create table public.notes (tenant_id {key} not null, id int not null, body text not null, primary key (tenant_id, id));
create table public.applied (tenant_id {key} not null, job_id bigint not null, attempt int not null, seen {key} not null,
	primary key (tenant_id, job_id));`

type fixture struct {
	db    *pgtest.DB
	model *rls.Model
	jobs  *tenantriver.Jobs
	river *pgxpool.Pool // River's role: the owner, BYPASSRLS
}

// newFixture makes a database with River's migrations, tenantriver's
// schema and the model's migration, and notes of tenants A (3) and B (4),
// proved present as the administrator.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureKey(t, tenancy.KeyUUID, tenantA, tenantB)
}

// newFixtureKey is newFixture for tenant keys of type key, a and b being
// the two tenants with notes.
func newFixtureKey(t testing.TB, key tenancy.KeyType, tenantA, tenantB tenancy.ID) *fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	owner := db.RoleName(pgtest.Owner)
	// River's client runs as a role that row-level security does not bind,
	// and that owns River's tables: here the owner role.
	db.Exec(t, pgtest.Admin, "alter role "+pgx.Identifier{owner}.Sanitize()+" bypassrls")
	keySQL := rls.KeySQLType(key)
	if key == tenancy.KeyText {
		keySQL += ` collate "C"`
	}
	db.Exec(t, pgtest.Owner, strings.ReplaceAll(fixtureSQL, "{key}", keySQL))
	riverPool := db.Pool(t, pgtest.Owner)
	migrator, err := rivermigrate.New(riverpgxv5.New(riverPool), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatalf("river migrations: %v", err)
	}
	model, err := testModelKey(owner, db.RoleName(pgtest.App), db.RoleName(pgtest.Platform), key)
	if err != nil {
		t.Fatal(err)
	}
	prep, err := tenantriver.Schema(model, "")
	if err != nil {
		t.Fatal(err)
	}
	isolation, err := model.Generate()
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(t, pgtest.Owner, prep)
	db.Exec(t, pgtest.Owner, isolation)
	db.Exec(t, pgtest.Admin, fmt.Sprintf(`
		insert into notes select '%s', i, 'a' || i from generate_series(1, 3) i;
		insert into notes select '%s', i, 'b' || i from generate_series(1, 4) i;`, tenantA, tenantB))
	var a, b int
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx,
		`select count(*) filter (where tenant_id::text = $1), count(*) filter (where tenant_id::text = $2) from notes`,
		tenantA.String(), tenantB.String()).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != 3 || b != 4 {
		t.Fatalf("fixture: %d notes of A and %d of B, want 3 and 4", a, b)
	}
	jobs, err := tenantriver.New(tenantriver.Config{Key: testKey, Model: model})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, model: model, jobs: jobs, river: riverPool}
}

// appPool opens the workers' and handlers' tenantdb pool as the app role,
// with at most maxConns connections, accepting tenancytest's principals
// (the handlers') and tenantriver's (the jobs').
func (f *fixture) appPool(t testing.TB, maxConns int32, sources ...tenancy.Source) *tenantdb.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(f.db.ConnString(pgtest.App))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pgtest.SetLocalExecMode(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if sources == nil {
		sources = []tenancy.Source{tenancytest.Source(), tenantriver.Source()}
	}
	p, err := tenantdb.New(context.Background(), pool, tenantdb.Config{Model: f.model, Sources: sources, ContextMode: contextMode})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// probeArgs is a job that reads its tenant's notes. Want is the tenant
// the test enqueued it for, which the SDK never reads: the worker
// compares what it sees with it.
type probeArgs struct {
	Want  string `json:"want"`
	Label int    `json:"label"`
}

func (probeArgs) Kind() string { return "tenancy_probe" }

// probe is what one run of a probe job saw.
type probe struct {
	JobID     int64
	Label     int
	Want      string
	Principal tenancy.Principal
	Source    tenancy.Source
	Tenant    string   // current_tenant_id() in the job's transaction
	Notes     []string // tenants of the notes it read
	Err       error
}

// probeWorker reads notes through db in the job's context, and records
// what it saw.
type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	db *tenantdb.Pool

	mu   sync.Mutex
	runs []probe
	ran  chan probe
}

func (w *probeWorker) Work(ctx context.Context, job *river.Job[probeArgs]) error {
	pr := probe{JobID: job.ID, Label: job.Args.Label, Want: job.Args.Want}
	pr.Principal, _ = tenancy.FromContext(ctx)
	pr.Source, _ = tenancy.SourceFromContext(ctx)
	pr.Err = w.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := tx.QueryRow(ctx, "select tenancy.current_tenant_id()::text").Scan(&pr.Tenant); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "select tenant_id::text from notes where tenant_id = $1", pr.Principal.Tenant)
		if err != nil {
			return err
		}
		pr.Notes, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	w.mu.Lock()
	w.runs = append(w.runs, pr)
	w.mu.Unlock()
	if w.ran != nil {
		w.ran <- pr
	}
	return pr.Err
}

func (w *probeWorker) all() []probe {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]probe(nil), w.runs...)
}

// refusals records the errors of the middleware inside it (installed
// before tenantriver's, so it wraps it).
type refusals struct {
	river.MiddlewareDefaults
	mu   sync.Mutex
	errs map[int64]error
}

func (r *refusals) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	r.mu.Lock()
	if r.errs == nil {
		r.errs = map[int64]error{}
	}
	r.errs[job.ID] = err
	r.mu.Unlock()
	return err
}

func (r *refusals) of(id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[id]
}

// client starts a River client on the fixture's River pool with the
// workers and the Jobs' middleware, and stops it when the test ends.
func (f *fixture) client(t testing.TB, workers *river.Workers, mw ...rivertype.Middleware) *river.Client[pgx.Tx] {
	t.Helper()
	c := f.newClient(t, f.river, workers, mw...)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stopping River: %v", err)
		}
	})
	return c
}

func (f *fixture) newClient(t testing.TB, pool *pgxpool.Pool, workers *river.Workers, mw ...rivertype.Middleware) *river.Client[pgx.Tx] {
	t.Helper()
	c, err := river.NewClient(riverpgxv5.New(pool), clientConfig(f.jobs, workers, mw...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clientConfig(jobs *tenantriver.Jobs, workers *river.Workers, mw ...rivertype.Middleware) *river.Config {
	cfg := &river.Config{
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		Middleware:        append(mw, jobs.Middleware()),
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		TestOnly:          true,
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}
	}
	return cfg
}

// waitFinal waits until every job of ids is completed, cancelled or
// discarded, and returns their rows, read as River's role.
func (f *fixture) waitFinal(t fataler, c *river.Client[pgx.Tx], ids ...int64) map[int64]*rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := map[int64]*rivertype.JobRow{}
		for _, id := range ids {
			row, err := c.JobGet(context.Background(), id)
			if err != nil {
				t.Fatalf("job %d: %v", id, err)
			}
			switch row.State {
			case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
				out[id] = row
			}
		}
		if len(out) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs %v not all finished after 30s: %d are", ids, len(out))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tenancytestSourceOnly() []tenancy.Source { return []tenancy.Source{tenancytest.Source()} }

func riverNewDriver(f *fixture) *riverpgxv5.Driver { return riverpgxv5.New(f.river) }

// fataler is what waitFinal needs of a test: testing.TB and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// contextMode is the tenant context mode the suite runs in:
// pgtest.ContextMode, from TENANCY_CONTEXT_MODE.
var contextMode = func() tenantdb.ContextMode {
	m, err := tenantdb.ParseContextMode(pgtest.ContextMode())
	if err != nil {
		panic(err)
	}
	return m
}()
