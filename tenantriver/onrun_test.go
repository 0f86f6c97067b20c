package tenantriver_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
	"github.com/mydentalpractice/tenancy/tenantriver"
)

// outcomeArgs is a job that succeeds, fails or panics, as told.
type outcomeArgs struct {
	Outcome string `json:"outcome"`
}

func (outcomeArgs) Kind() string { return "tenancy_outcome" }

type outcomeWorker struct {
	river.WorkerDefaults[outcomeArgs]
}

var errFailed = errors.New("the job failed as told")

func (outcomeWorker) Work(_ context.Context, job *river.Job[outcomeArgs]) error {
	switch job.Args.Outcome {
	case "fail":
		return errFailed
	case "panic":
		panic("the job panicked as told")
	}
	return nil
}

// TestOnRun: Config.OnRun hears each run of a verified job, with the
// tenant of its sealed principal, its kind and attempt, and how it ended
// (nil, the worker's error, or ErrPanicked); a forged job is not reported.
func TestOnRun(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var runs []tenantriver.Run
	jobs, err := tenantriver.New(tenantriver.Config{Key: testKey, Model: f.model, OnRun: func(r tenantriver.Run) {
		mu.Lock()
		runs = append(runs, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	db := f.appPool(t, 2)
	workers := river.NewWorkers()
	river.AddWorker(workers, outcomeWorker{})
	cfg := clientConfig(jobs, workers)
	c, err := river.NewClient(riverpgxv5.New(f.river), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })

	enqueue := func(tenant, subject tenancy.ID, outcome string, at time.Time) int64 {
		t.Helper()
		var id int64
		if err := db.Tx(staffCtx(tenant, subject), func(tx *tenantdb.Tx) error {
			res, err := jobs.Insert(ctx, c, tx, outcomeArgs{Outcome: outcome}, &river.InsertOpts{MaxAttempts: 1, ScheduledAt: at})
			if err == nil {
				id = res.Job.ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ok := enqueue(tenantA, staffA, "ok", time.Time{})
	failed := enqueue(tenantB, staffB, "fail", time.Time{})
	panicked := enqueue(tenantA, staffA, "panic", time.Time{})
	// A forged job: another's seal, copied as River's role before it is due.
	forged := enqueue(tenantB, staffB, "ok", time.Now().Add(time.Hour))
	if _, err := f.river.Exec(ctx, `update river_job set metadata = (select metadata from river_job where id = $1), scheduled_at = now(), state = 'available'
		where id = $2`, ok, forged); err != nil {
		t.Fatal(err)
	}
	f.waitFinal(t, c, ok, failed, panicked, forged)

	mu.Lock()
	defer mu.Unlock()
	byTenant := map[string][]string{}
	for _, r := range runs {
		if r.Kind != "tenancy_outcome" || r.Attempt != 1 || r.Duration <= 0 {
			t.Errorf("run %+v: want kind tenancy_outcome, attempt 1, a duration", r)
		}
		var what string
		switch {
		case r.Err == nil:
			what = "ok"
		case errors.Is(r.Err, errFailed):
			what = "fail"
		case errors.Is(r.Err, tenantriver.ErrPanicked) && strings.Contains(r.Err.Error(), "as told"):
			what = "panic"
		default:
			what = "other: " + r.Err.Error()
		}
		byTenant[r.Tenant.String()] = append(byTenant[r.Tenant.String()], what)
	}
	if a, b := strings.Join(byTenant[tenantA.String()], ","), strings.Join(byTenant[tenantB.String()], ","); len(runs) != 3 ||
		(a != "ok,panic" && a != "panic,ok") || b != "fail" {
		t.Errorf("runs reported: A %q, B %q (%d in all); want A ok and panic, B fail, and the forged job not at all", a, b, len(runs))
	}
	var state string
	if err := f.river.QueryRow(ctx, `select state from river_job where id = $1`, forged).Scan(&state); err != nil || state != "cancelled" {
		t.Errorf("the forged job is %q (%v), want cancelled", state, err)
	}
}

// TestRunFailed: a snooze is not a failure; an error, a cancel and a
// panic are.
func TestRunFailed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{river.JobSnooze(time.Minute), false},
		{errFailed, true},
		{river.JobCancel(errFailed), true},
		{tenantriver.ErrPanicked, true},
	} {
		if got := (tenantriver.Run{Err: tc.err}).Failed(); got != tc.want {
			t.Errorf("Run{Err: %v}.Failed() = %v, want %v", tc.err, got, tc.want)
		}
	}
}
