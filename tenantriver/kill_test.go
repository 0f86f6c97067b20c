package tenantriver_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
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
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// The test binary, re-executed with childEnv set, is a worker process:
// TestMain runs runChild instead of the tests.
const (
	childEnv      = "TENANTRIVER_TEST_CHILD"
	childRiverDSN = "TENANTRIVER_TEST_RIVER_DSN"
	childAppDSN   = "TENANTRIVER_TEST_APP_DSN"
	childRoles    = "TENANTRIVER_TEST_ROLES" // owner,app,platform
	appliedLine   = "applied"
)

// applyArgs is an idempotent job: it applies one row per job, whatever
// the attempt.
type applyArgs struct {
	Want string `json:"want"`
}

func (applyArgs) Kind() string { return "tenancy_apply" }

// applyRun is what one attempt of an apply job saw.
type applyRun struct {
	Attempt int
	Tenant  string // current_tenant_id()
	Applied int64  // rows the attempt inserted (0 once applied)
	Err     error
}

// applyWorker applies the job's row in its tenant, idempotently (ON
// CONFLICT DO NOTHING on the job's id). With hang set, it then reports
// the commit on stdout and never returns: the process is killed mid-job,
// after its work committed and before River records the job completed.
type applyWorker struct {
	river.WorkerDefaults[applyArgs]
	db   *tenantdb.Pool
	hang bool
	runs chan applyRun
}

func (w *applyWorker) Work(ctx context.Context, job *river.Job[applyArgs]) error {
	run := applyRun{Attempt: job.Attempt}
	p, _ := tenancy.FromContext(ctx)
	run.Err = w.db.Tx(ctx, func(tx *tenantdb.Tx) error {
		if err := tx.QueryRow(ctx, "select tenancy.current_tenant_id()::text").Scan(&run.Tenant); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `insert into applied (tenant_id, job_id, attempt, seen)
			values ($1, $2, $3, tenancy.current_tenant_id()) on conflict (tenant_id, job_id) do nothing`,
			p.Tenant, job.ID, job.Attempt)
		run.Applied = tag.RowsAffected()
		return err
	})
	if w.hang {
		fmt.Println(appliedLine)
		select {} // killed here
	}
	w.runs <- run
	return run.Err
}

// runChild is the worker process: River on the River role's pool, the
// apply worker on a tenantdb pool as the app role, leader election off
// (the test's own client is the leader, whose rescuer finds the job).
func runChild() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	ctx := context.Background()
	roles := strings.Split(os.Getenv(childRoles), ",")
	if len(roles) != 3 {
		return fail(fmt.Errorf("%s: want owner,app,platform", childRoles))
	}
	model, err := testModel(roles[0], roles[1], roles[2])
	if err != nil {
		return fail(err)
	}
	jobs, err := tenantriver.New(tenantriver.Config{Key: testKey, Model: model})
	if err != nil {
		return fail(err)
	}
	appCfg, err := pgxpool.ParseConfig(os.Getenv(childAppDSN))
	if err != nil {
		return fail(err)
	}
	pgtest.SetLocalExecMode(appCfg)
	appPool, err := pgxpool.NewWithConfig(ctx, appCfg)
	if err != nil {
		return fail(err)
	}
	db, err := tenantdb.New(ctx, appPool, tenantdb.Config{Model: model, Sources: []tenancy.Source{tenantriver.Source()}, ContextMode: contextMode})
	if err != nil {
		return fail(err)
	}
	riverPool, err := pgxpool.New(ctx, os.Getenv(childRiverDSN))
	if err != nil {
		return fail(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &applyWorker{db: db, hang: true})
	cfg := clientConfig(jobs, workers)
	cfg.LeaderElectionDisabled = true
	cfg.JobTimeout = -1
	c, err := river.NewClient(riverpgxv5.New(riverPool), cfg)
	if err != nil {
		return fail(err)
	}
	if err := c.Start(ctx); err != nil {
		return fail(err)
	}
	select {}
}

// TestKilledWorkerRetriesInSameTenant: a worker process killed with
// SIGKILL mid-job, after its idempotent work committed; River's rescuer
// (on the test's client, with short timeouts) retries the job, the retry
// runs in the same tenant, and nothing is applied twice.
func TestKilledWorkerRetriesInSameTenant(t *testing.T) {
	f := newFixture(t)
	db := f.appPool(t, 2)
	ctx := context.Background()

	inserter := f.newClient(t, f.river, nil)
	var id int64
	if err := db.Tx(staffCtx(tenantA, staffA), func(tx *tenantdb.Tx) error {
		res, err := f.jobs.Insert(ctx, inserter, tx, applyArgs{Want: tenantA.String()}, nil)
		if res != nil {
			id = res.Job.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1",
		childRiverDSN+"="+f.db.ConnString(pgtest.Owner), childAppDSN+"="+f.db.ConnString(pgtest.App),
		childRoles+"="+strings.Join([]string{f.db.RoleName(pgtest.Owner), f.db.RoleName(pgtest.App), f.db.RoleName(pgtest.Platform)}, ","))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		if line != appliedLine {
			t.Fatalf("the worker process said %q, want %q", line, appliedLine)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker process did not work the job within 30s")
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	killed = true
	_ = child.Wait()

	var state rivertype.JobState
	var attempt int
	if err := f.river.QueryRow(ctx, "select state, attempt from river_job where id = $1", id).Scan(&state, &attempt); err != nil {
		t.Fatal(err)
	}
	if state != rivertype.JobStateRunning || attempt != 1 {
		t.Fatalf("after the kill the job is %s at attempt %d, want running at attempt 1", state, attempt)
	}

	const rescueAfter = time.Second
	time.Sleep(rescueAfter + 100*time.Millisecond)
	runs := make(chan applyRun, 4)
	workers := river.NewWorkers()
	river.AddWorker(workers, &applyWorker{db: db, runs: runs})
	cfg := clientConfig(f.jobs, workers)
	cfg.JobTimeout = 500 * time.Millisecond
	cfg.RescueStuckJobsAfter = rescueAfter
	cfg.RetryPolicy = retryNow{}
	c, err := river.NewClient(riverpgxv5.New(f.river), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	var run applyRun
	select {
	case run = <-runs:
	case <-time.After(30 * time.Second):
		t.Fatal("the rescued job was not retried within 30s")
	}
	if run.Err != nil || run.Attempt != 2 || run.Tenant != tenantA.String() || run.Applied != 0 {
		t.Errorf("the retry: %+v, want attempt 2 in tenant %s applying nothing", run, tenantA)
	}
	if row := f.waitFinal(t, c, id)[id]; row.State != rivertype.JobStateCompleted {
		t.Errorf("the job is %s, want completed", row.State)
	}
	type applied struct {
		Tenant, Seen string
		Attempt      int
	}
	rows, err := f.db.Conn(t, pgtest.Admin).Query(ctx, "select tenant_id::text, seen::text, attempt from applied where job_id = $1", id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[applied])
	if err != nil {
		t.Fatal(err)
	}
	if want := []applied{{tenantA.String(), tenantA.String(), 1}}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("applied rows %+v, want %+v (once, by the first attempt, in tenant A)", got, want)
	}
}

// retryNow retries a failed or rescued job at once.
type retryNow struct{}

func (retryNow) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }
