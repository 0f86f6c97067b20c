package tenantriver_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"pgregory.net/rapid"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// modelChecks is the number of random sequences TestModelInterleavedTenants
// runs when -rapid.checks is not given; run more with -rapid.checks=200.
const modelChecks = 20

// TestModelInterleavedTenants: random sequences of enqueues by three
// tenants, each of one to three jobs in a transaction that commits or
// rolls back, worked while they are enqueued by one worker whose tenantdb
// pool has ONE connection, so every job reuses the connection the
// previous job (of any tenant) used. Every committed job runs once, in
// its own tenant, and sees only its tenant's notes; no job of a
// rolled-back transaction runs or exists.
func TestModelInterleavedTenants(t *testing.T) {
	if !flagSet("rapid.checks") {
		setFlag(t, "rapid.checks", strconv.Itoa(modelChecks))
	}
	f := newFixture(t)
	f.db.Exec(t, pgtest.Admin, fmt.Sprintf(`insert into notes select '%s', i, 'c' || i from generate_series(1, 2) i`, tenantC))
	notes := map[string]int{tenantA.String(): 3, tenantB.String(): 4, tenantC.String(): 2}
	handlers := f.appPool(t, 2)
	worker := &probeWorker{db: f.appPool(t, 1)} // the worker's pool: one connection
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	c := f.client(t, workers)
	ctx := context.Background()
	tenants := []struct{ tenant, subject tenancy.ID }{{tenantA, staffA}, {tenantB, staffB}, {tenantC, staffC}}

	label := 0
	rapid.Check(t, func(rt *rapid.T) {
		before := len(worker.all())
		want := map[int]string{} // label -> tenant, of committed jobs
		var committed, rolledBack []int64
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for range steps {
			who := tenants[rapid.IntRange(0, len(tenants)-1).Draw(rt, "tenant")]
			n := rapid.IntRange(1, 3).Draw(rt, "jobs")
			commit := rapid.Bool().Draw(rt, "commit")
			var ids []int64
			labels := map[int]string{}
			err := handlers.Tx(staffCtx(who.tenant, who.subject), func(tx *tenantdb.Tx) error {
				params := make([]river.InsertManyParams, n)
				for i := range params {
					label++
					labels[label] = who.tenant.String()
					params[i] = river.InsertManyParams{Args: probeArgs{Want: who.tenant.String(), Label: label}}
				}
				res, err := f.jobs.InsertMany(ctx, c, tx, params)
				for _, r := range res {
					ids = append(ids, r.Job.ID)
				}
				if err != nil {
					return err
				}
				if !commit {
					return errRollback
				}
				return nil
			})
			switch {
			case commit && err == nil:
				committed = append(committed, ids...)
				for l, w := range labels {
					want[l] = w
				}
			case !commit && errors.Is(err, errRollback):
				rolledBack = append(rolledBack, ids...)
			default:
				rt.Fatalf("enqueue (commit %v): %v", commit, err)
			}
		}
		if len(committed) > 0 {
			f.waitFinal(rt, c, committed...)
		}
		runs := worker.all()[before:]
		seen := map[int]int{}
		for _, r := range runs {
			seen[r.Label]++
			w, ok := want[r.Label]
			if !ok {
				rt.Fatalf("job %d ran, but its transaction rolled back", r.Label)
			}
			if r.Err != nil {
				rt.Fatalf("job %d: %v", r.Label, r.Err)
			}
			if r.Tenant != w || r.Principal.Tenant.String() != w {
				rt.Fatalf("job %d of tenant %s ran in tenant %s (principal's %s)", r.Label, w, r.Tenant, r.Principal.Tenant)
			}
			if len(r.Notes) != notes[w] {
				rt.Fatalf("job %d of tenant %s saw %d notes, want %d", r.Label, w, len(r.Notes), notes[w])
			}
			for _, n := range r.Notes {
				if n != w {
					rt.Fatalf("job %d of tenant %s saw a note of tenant %s", r.Label, w, n)
				}
			}
		}
		for l := range want {
			if seen[l] != 1 {
				rt.Fatalf("committed job %d ran %d times, want once", l, seen[l])
			}
		}
		if len(rolledBack) > 0 {
			var n int
			if err := f.river.QueryRow(ctx, "select count(*) from river_job where id = any($1)", rolledBack).Scan(&n); err != nil {
				rt.Fatal(err)
			}
			if n != 0 {
				rt.Fatalf("%d jobs of rolled-back transactions exist", n)
			}
		}
	})
	// A job of a rolled-back transaction may only be missed if it would
	// have run late: give the worker a moment, then look again.
	time.Sleep(100 * time.Millisecond)
	for _, r := range worker.all() {
		if r.Err != nil || r.Tenant != r.Want {
			t.Errorf("job %d of tenant %s: tenant %s, error %v", r.Label, r.Want, r.Tenant, r.Err)
		}
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// setFlag sets a flag for the test and restores it afterwards.
func setFlag(t *testing.T, name, value string) {
	t.Helper()
	f := flag.Lookup(name)
	if f == nil {
		t.Fatalf("no flag %s", name)
	}
	old := f.Value.String()
	if err := f.Value.Set(value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}
