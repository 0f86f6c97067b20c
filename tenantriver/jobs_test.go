package tenantriver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/rls"
	"github.com/mydentalpractice/tenancy/sqlguard"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

var errRollback = errors.New("roll back")

// TestJobRunsInItsTenant: a job enqueued in a committed tenant transaction
// runs with the enqueuer's principal, from tenantriver's source, and its
// queries see only that tenant's rows; one enqueued in a transaction that
// rolls back does not exist and never runs.
func TestJobRunsInItsTenant(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 4)
	w := &probeWorker{db: db}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c := f.client(t, workers)
	ctx := context.Background()

	var committed []int64
	var rolledBack int64
	for _, tc := range []struct {
		tenant, subject tenancy.ID
		label           int
		fail            bool
	}{{tenantA, staffA, 1, false}, {tenantB, staffB, 2, false}, {tenantA, staffA, 3, true}} {
		err := db.Tx(staffCtx(tc.tenant, tc.subject), func(tx *tenantdb.Tx) error {
			res, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tc.tenant.String(), Label: tc.label}, nil)
			if err != nil {
				return err
			}
			if tc.fail {
				rolledBack = res.Job.ID
				return errRollback
			}
			committed = append(committed, res.Job.ID)
			return nil
		})
		if tc.fail != errors.Is(err, errRollback) || !tc.fail && err != nil {
			t.Fatalf("enqueue %d: %v", tc.label, err)
		}
	}
	f.waitFinal(t, c, committed...)
	runs := w.all()
	for _, r := range runs {
		if r.Err != nil {
			t.Errorf("job %d: %v", r.Label, r.Err)
		}
		want := r.Want
		if r.Tenant != want || r.Principal.Tenant.String() != want {
			t.Errorf("job %d ran in tenant %s (principal's %s), want %s", r.Label, r.Tenant, r.Principal.Tenant, want)
		}
		if r.Source != tenantriver.Source() {
			t.Errorf("job %d's principal came from %s, want tenantriver's source", r.Label, r.Source)
		}
		wantNotes := map[string]int{tenantA.String(): 3, tenantB.String(): 4}[want]
		if len(r.Notes) != wantNotes {
			t.Errorf("job %d saw %d notes, want %d", r.Label, len(r.Notes), wantNotes)
		}
		for _, n := range r.Notes {
			if n != want {
				t.Errorf("job %d of tenant %s saw a note of tenant %s", r.Label, want, n)
			}
		}
		if r.Label == 1 {
			if diff := cmp.Diff(staff(tenantA, staffA), r.Principal); diff != "" {
				t.Errorf("job 1's principal (-enqueuer +worker):\n%s", diff)
			}
		}
	}
	if len(runs) != 2 {
		t.Errorf("%d runs, want 2 (the rolled-back job must not run)", len(runs))
	}
	var n int
	if err := f.river.QueryRow(ctx, "select count(*) from river_job where id = $1", rolledBack).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the job of the rolled-back transaction exists (%d rows)", n)
	}
}

// TestForeignJobsRefused: jobs that did not come from Jobs.Insert are
// cancelled before their worker runs, and the app role cannot insert a job
// of another tenant than its transaction's.
func TestForeignJobsRefused(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 4)
	w := &probeWorker{db: db}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	rec := &refusals{}
	c := f.client(t, workers, rec)
	ctx := context.Background()

	// A genuine job of tenant A, to copy from.
	var genuine int64
	if err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
		res, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tenantA.String(), Label: 1}, nil)
		if res != nil {
			genuine = res.Job.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	row := f.waitFinal(t, c, genuine)[genuine]
	if row.State != "completed" {
		t.Fatalf("the genuine job is %s, want completed", row.State)
	}

	insert := func(metadata []byte, args probeArgs) int64 {
		t.Helper()
		res, err := c.Insert(ctx, args, &river.InsertOpts{Metadata: metadata})
		if err != nil {
			t.Fatal(err)
		}
		return res.Job.ID
	}
	forgedB := []byte(`{"tenancy": {"v": 1, "tenant": "` + tenantB.String() + `", "principal": "{\"kind\":\"staff\",\"tenant\":\"` + tenantB.String() + `\",\"subject\":\"` + staffB.String() + `\"}", "mac": "AAAA"}}`)
	cases := []struct {
		name string
		id   int64
		want error
	}{
		{"plain River insert", insert(nil, probeArgs{Want: "none", Label: 2}), tenantriver.ErrNoPrincipal},
		{"forged seal naming tenant B", insert(forgedB, probeArgs{Want: tenantB.String(), Label: 3}), tenantriver.ErrForged},
		{"seal copied from another job, same kind and args", insert(row.Metadata, probeArgs{Want: tenantA.String(), Label: 1}), tenantriver.ErrForged},
		{"seal copied from another job, other args", insert(row.Metadata, probeArgs{Want: tenantA.String(), Label: 4}), tenantriver.ErrForged},
	}
	ids := make([]int64, len(cases))
	for i, tc := range cases {
		ids[i] = tc.id
	}
	final := f.waitFinal(t, c, ids...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := final[tc.id].State; got != "cancelled" {
				t.Errorf("state %s, want cancelled", got)
			}
			if err := rec.of(tc.id); !errors.Is(err, tc.want) {
				t.Errorf("refusal %v, want %v", err, tc.want)
			}
		})
	}
	if runs := w.all(); len(runs) != 1 {
		t.Errorf("the worker ran %d times, want once (the genuine job only)", len(runs))
	}

	// The app role, in tenant A's context, inserting a job whose stored
	// tenant is B: the tenant policy's WITH CHECK refuses it. The raw
	// connection stands for a bug past the guard (which refuses any insert
	// into river_job: the statement cannot set its tenant column).
	t.Run("app role inserts a job of another tenant", func(t *testing.T) {
		app := f.db.Conn(t, pgtest.App)
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		ctxSQL, args, err := tenantdb.ContextSQL(ctx, staff(tenantA, staffA))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, ctxSQL, args...); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, `insert into river_job (id, args, kind, max_attempts, metadata, queue, state)
			values (4611686018427387905, '{}', 'tenancy_probe', 25, $1, 'default', 'available')`, forgedB)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("insert of tenant B's job in tenant A: %v, want a row-level security violation (42501)", err)
		}
	})

	// A unique job of tenant B, waiting; then the app role, in tenant A's
	// context, inserts unique jobs with B's key and with a free key,
	// through River's own statement shape: the same refusal either way,
	// before PostgreSQL looks for a conflict, so it tells A nothing of B.
	t.Run("unique keys tell nothing across tenants", func(t *testing.T) {
		if _, err := f.river.Exec(ctx, `insert into river_job (args, kind, metadata, queue, state, scheduled_at, unique_key, unique_states)
			values ('{}', 'tenancy_probe', $1, 'default', 'scheduled', now() + interval '1 hour', '\x01', B'11111111')`, forgedB); err != nil {
			t.Fatal(err)
		}
		app := f.db.Conn(t, pgtest.App)
		// The proposed row names tenant A, so it passes the tenant
		// policy's WITH CHECK, which PostgreSQL applies before it looks
		// for a conflict.
		ownTenant := []byte(`{"tenancy": {"tenant": "` + tenantA.String() + `"}}`)
		attempt := func(key string) *pgconn.PgError {
			tx, err := app.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			ctxSQL, args, err := tenantdb.ContextSQL(ctx, staff(tenantA, staffA))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, ctxSQL, args...); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, `insert into river_job (id, args, kind, max_attempts, metadata, queue, state, unique_key, unique_states)
				values (4611686018427387906, '{}', 'tenancy_probe', 25, $2, 'default', 'available', $1, B'11111111')
				on conflict (unique_key) where unique_key is not null and unique_states is not null
					and river_job_state_in_bitmask(unique_states, state)
				do update set kind = river_job.kind`, []byte(key), ownTenant)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("unique insert with key %x: %v, want a refusal", key, err)
			}
			return pgErr
		}
		taken, free := attempt("\x01"), attempt("\x02")
		if taken.Code != "42501" || taken.Code != free.Code || taken.Message != free.Message {
			t.Errorf("B's key: %s %q; a free key: %s %q; want the same refusal (42501)", taken.Code, taken.Message, free.Code, free.Message)
		}
	})

	t.Run("guard refuses an insert into river_job", func(t *testing.T) {
		err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
			_, err := tx.Exec(ctx, `insert into river_job (args, kind, metadata, queue, state) values ('{}', 'x', '{}', 'default', 'available')`)
			return err
		})
		var refusal *sqlguard.RefusalError
		if !errors.As(err, &refusal) {
			t.Fatalf("insert into river_job through the Tx: %v, want the guard's refusal", err)
		}
	})
}

// TestWorkerCannotChangeTenant: inside a job, a principal built by hand
// (another tenant's) is refused by tenantdb, and a pool that does not
// list tenantriver's source refuses the job's own.
func TestWorkerCannotChangeTenant(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 2)
	strict := f.appPool(t, 1, tenancytestSourceOnly()...)
	ctx := context.Background()
	errs := make(chan [2]error, 1)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[probeArgs]) error {
		other := tenancy.NewContext(ctx, staff(tenantB, staffB))
		e1 := db.Tx(other, func(*tenantdb.Tx) error { return nil })
		e2 := strict.Tx(ctx, func(*tenantdb.Tx) error { return nil })
		errs <- [2]error{e1, e2}
		return nil
	}))
	c := f.client(t, workers)
	if err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
		_, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tenantA.String()}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := <-errs
	if !errors.Is(got[0], tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("a hand-built principal of tenant B inside a job: %v, want ErrUnverifiedPrincipal", got[0])
	}
	if !errors.Is(got[1], tenantdb.ErrUnverifiedPrincipal) {
		t.Errorf("the job's principal on a pool without tenantriver.Source: %v, want ErrUnverifiedPrincipal", got[1])
	}
}

// TestInsertRefusals: what Insert refuses before the network.
func TestInsertRefusals(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 2)
	c := f.newClient(t, f.river, nil)
	ctx := context.Background()
	bare, err := river.NewClient(riverNewDriver(f), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		fn   func(tx *tenantdb.Tx) error
		want error
	}{
		{"unique job", func(tx *tenantdb.Tx) error {
			_, err := f.jobs.Insert(ctx, c, tx, probeArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
			return err
		}, tenantriver.ErrRefused},
		{"metadata holding the seal's key", func(tx *tenantdb.Tx) error {
			_, err := f.jobs.Insert(ctx, c, tx, probeArgs{}, &river.InsertOpts{Metadata: []byte(`{"tenancy": {}}`)})
			return err
		}, tenantriver.ErrRefused},
		{"client without the middleware", func(tx *tenantdb.Tx) error {
			_, err := f.jobs.Insert(ctx, bare, tx, probeArgs{}, nil)
			return err
		}, tenantriver.ErrNotInstalled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Tx(staffCtx(tenantA, staffA), tc.fn)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
	t.Run("finished transaction", func(t *testing.T) {
		var kept *tenantdb.Tx
		if err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error { kept = tx; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.jobs.Insert(ctx, c, kept, probeArgs{}, nil); !errors.Is(err, tenantriver.ErrNotTenantTx) {
			t.Errorf("got %v, want ErrNotTenantTx", err)
		}
	})
}

// TestCheckFindsNoHole: with River's migrations, tenantriver's schema and
// the model's migration, rls.Check reports no error and no unknown
// relation, and tenantdb's start-up check passes (appPool); each hole the
// model closes is reported once opened.
func TestCheckFindsNoHole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	check := func(t *testing.T) []rls.Finding {
		t.Helper()
		findings, err := rls.Check(ctx, f.db.Conn(t, pgtest.Owner), f.model)
		if err != nil {
			t.Fatal(err)
		}
		var errs []rls.Finding
		for _, fd := range findings {
			t.Logf("finding: %s %s %s: %s", fd.Severity, fd.Code, fd.Object, fd.Message)
			if fd.Severity == rls.SeverityError || fd.Code == rls.CodeUnknownRelation {
				errs = append(errs, fd)
			}
		}
		return errs
	}
	if got := check(t); len(got) != 0 {
		t.Fatalf("findings on a prepared database: %v", got)
	}
	f.appPool(t, 1)

	app := pgx.Identifier{f.db.RoleName(pgtest.App)}.Sanitize()
	holes := []struct {
		name, open, restore string
		want                rls.Code
	}{
		{"SELECT on river_job without the tenant policy",
			"drop policy tenancy_tenant on river_job; drop policy tenancy_access on river_job",
			"", rls.CodeNoPolicy},
		{"row-level security off on river_job", "alter table river_job no force row level security", "alter table river_job force row level security", rls.CodeRLSNotForced},
		{"app role granted a private River table", "grant select on river_leader to " + app, "revoke select on river_leader from " + app, rls.CodePrivateReachable},
		{"a unique index without the tenant column", "create unique index river_job_kind_args on river_job (kind, args)", "drop index river_job_kind_args", rls.CodeUniqueWithoutTenant},
	}
	for _, h := range holes {
		t.Run(h.name, func(t *testing.T) {
			f.db.Exec(t, pgtest.Admin, h.open)
			if h.restore == "" {
				// Re-run the model's migration, which recreates the policies.
				sql, err := f.model.Generate()
				if err != nil {
					t.Fatal(err)
				}
				h.restore = sql
			}
			t.Cleanup(func() { f.db.Exec(t, pgtest.Owner, h.restore) })
			got := check(t)
			found := false
			for _, fd := range got {
				found = found || fd.Code == h.want
			}
			if !found {
				t.Errorf("findings %v, want one of code %s", got, h.want)
			}
		})
	}
}

// TestOtherKeyTypes: with bigint and text tenant keys, Schema's generated
// column holds the key and a job runs in its tenant, seeing only its
// tenant's notes.
func TestOtherKeyTypes(t *testing.T) {
	for _, tt := range []struct {
		key  tenancy.KeyType
		a, b string
	}{{tenancy.KeyBigint, "41", "42"}, {tenancy.KeyText, "org-a", "org-b"}} {
		t.Run(tt.key.String(), func(t *testing.T) {
			a, err := tt.key.Parse(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tt.key.Parse(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixtureKey(t, tt.key, a, b)
			db := f.appPool(t, 2)
			w := &probeWorker{db: db}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			c := f.client(t, workers)
			ctx := context.Background()
			var id int64
			if err := db.Tx(staffCtx(b, staffB), func(tx *tenantdb.Tx) error {
				res, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tt.b}, nil)
				if res != nil {
					id = res.Job.ID
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := f.river.QueryRow(ctx, "select tenancy_tenant_id::text from river_job where id = $1", id).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != tt.b {
				t.Errorf("river_job's tenant column holds %q, want %q", stored, tt.b)
			}
			f.waitFinal(t, c, id)
			runs := w.all()
			if len(runs) != 1 || runs[0].Err != nil || runs[0].Tenant != tt.b || len(runs[0].Notes) != 4 {
				t.Fatalf("runs %+v, want one in tenant %s seeing its 4 notes", runs, tt.b)
			}
		})
	}
}

// TestSnoozeAndRetryKeepTheTenant: a job that snoozes, then fails, then
// succeeds runs each time in its own tenant, with its principal: River
// changes its state, attempt and metadata, not its seal.
func TestSnoozeAndRetryKeepTheTenant(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 2)
	ctx := context.Background()
	type run struct {
		principal tenancy.Principal
		tenant    string
	}
	runs := make(chan run, 8)
	calls := 0
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[probeArgs]) error {
		var r run
		r.principal, _ = tenancy.FromContext(ctx)
		if err := db.Tx(ctx, func(tx *tenantdb.Tx) error {
			return tx.QueryRow(ctx, "select tenancy.current_tenant_id()::text").Scan(&r.tenant)
		}); err != nil {
			return err
		}
		runs <- r
		calls++
		switch calls {
		case 1:
			return river.JobSnooze(0)
		case 2:
			return errors.New("a transient failure")
		}
		return nil
	}))
	cfg := clientConfig(f.jobs, workers)
	cfg.RetryPolicy = retryNow{}
	c, err := river.NewClient(riverNewDriver(f), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	var id int64
	if err := db.Tx(staffCtx(tenantB, staffB), func(tx *tenantdb.Tx) error {
		res, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tenantB.String()}, nil)
		if res != nil {
			id = res.Job.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	row := f.waitFinal(t, c, id)[id]
	if row.State != "completed" || row.Attempt != 2 {
		t.Errorf("the job is %s at attempt %d, want completed at attempt 2 (a snooze counts none)", row.State, row.Attempt)
	}
	close(runs)
	n := 0
	for r := range runs {
		n++
		if r.tenant != tenantB.String() {
			t.Errorf("run %d in tenant %s, want %s", n, r.tenant, tenantB)
		}
		if diff := cmp.Diff(staff(tenantB, staffB), r.principal); diff != "" {
			t.Errorf("run %d's principal (-enqueuer +worker):\n%s", n, diff)
		}
	}
	if n != 3 {
		t.Errorf("%d runs, want 3 (snoozed, failed, done)", n)
	}
}

// TestAppRoleCannotWorkJobs: the app role's privileges on River's tables
// are what an insert needs, so a River client on the app role's pool
// could not elect a leader, fetch, complete or rescue a job.
func TestAppRoleCannotWorkJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.db.Conn(t, pgtest.App)
	ctxSQL, args, err := tenantdb.ContextSQL(ctx, staff(tenantA, staffA))
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"select count(*) from river_leader",
		"insert into river_leader (leader_id, expires_at) values ('x', now() + interval '1 minute')",
		"select count(*) from river_queue",
		"select count(*) from river_migration",
		"select count(*) from river_notification",
		"update river_job set state = 'running', attempt = attempt + 1 where state = 'available'",
		"update river_job set metadata = '{}'",
		"select nextval('river_job_id_seq')",
	} {
		t.Run(sql, func(t *testing.T) {
			tx, err := app.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, ctxSQL, args...); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("as the app role: %v, want permission denied (42501)", err)
			}
		})
	}
}

// TestInsertInTenant: a job enqueued inside Pool.InTenant carries
// InTenant's principal (kind system, in that tenant) and runs there.
func TestInsertInTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pool := f.db.Pool(t, pgtest.App)
	recorded := 0
	db, err := tenantdb.New(ctx, pool, tenantdb.Config{
		Model: f.model, Sources: []tenancy.Source{tenantriver.Source()}, ContextMode: contextMode,
		OnSystem: func(context.Context, pgx.Tx, tenantdb.SystemUse) error { recorded++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &probeWorker{db: db}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c := f.client(t, workers)
	var id int64
	if err := db.InTenant(ctx, tenantB, "enqueue the nightly summary", func(ctx context.Context, tx *tenantdb.Tx) error {
		res, err := f.jobs.Insert(ctx, c, tx, probeArgs{Want: tenantB.String()}, nil)
		if res != nil {
			id = res.Job.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.waitFinal(t, c, id)
	runs := w.all()
	if len(runs) != 1 || runs[0].Err != nil || runs[0].Tenant != tenantB.String() || runs[0].Principal.Kind != tenancy.KindSystem {
		t.Fatalf("runs %+v, want one of kind system in tenant B", runs)
	}
	if recorded != 1 {
		t.Errorf("OnSystem recorded %d uses, want 1 (the job's own work is not an InTenant use)", recorded)
	}
}

// TestInsertRiverValidation: options that River refuses before its
// middleware runs come back as River's error, not as ErrNotInstalled, and
// the transaction stays usable.
func TestInsertRiverValidation(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 2)
	c := f.newClient(t, f.river, nil)
	ctx := context.Background()
	err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
		_, err := f.jobs.Insert(ctx, c, tx, probeArgs{}, &river.InsertOpts{Priority: 9})
		if err == nil || errors.Is(err, tenantriver.ErrNotInstalled) {
			t.Errorf("priority 9: %v, want River's refusal, not ErrNotInstalled", err)
		}
		var n int
		if err := tx.QueryRow(ctx, "select count(*) from notes where tenant_id = $1", tenantA).Scan(&n); err != nil || n != 3 {
			t.Errorf("the transaction after River's refusal: %d notes, %v; want 3, usable", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
