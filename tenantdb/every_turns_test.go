package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestEveryTenantRunsTakeTurns: two runs of one name started at once (two
// instances of an app at their nightly hour) do each tenant's work once:
// the second waits for the first, then skips what it did.
func TestEveryTenantRunsTakeTurns(t *testing.T) {
	db := schema(t)
	p, completed := runPool(t, db, 4)
	ctx := context.Background()
	cfg := tenantdb.EveryTenantConfig{Run: "nightly 2026-12-01", Completed: completed}
	var calls atomic.Int32
	var wg sync.WaitGroup
	results := make([]tenantdb.EveryTenantResult, 2)
	for i := range 2 {
		wg.Go(func() {
			var err error
			results[i], err = p.EveryTenant(ctx, "nightly summary", cfg, func(ctx context.Context, tx *tenantdb.Tx) error {
				calls.Add(1)
				time.Sleep(200 * time.Millisecond)
				return nil
			})
			if err != nil {
				t.Errorf("run %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := uses(t, db, cfg.Run); fmt.Sprint(got) != fmt.Sprint(map[tenancy.ID]int{clinicA: 1, clinicB: 1}) {
		t.Errorf("records of the run = %v, want one for each of A and B", got)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the work ran %d times, want 2 (once per tenant)", n)
	}
	done := len(results[0].Done) + len(results[1].Done)
	skipped := len(results[0].Skipped) + len(results[1].Skipped)
	if done != 2 || skipped != 2 {
		t.Errorf("results %+v: want 2 done and 2 skipped between them", results)
	}
}

// TestEveryTenantPanic: a panic of the work rolls back that tenant's
// transaction, stops the run and is raised again in the caller's
// goroutine, where it can be recovered; a run again resumes.
func TestEveryTenantPanic(t *testing.T) {
	db := schema(t)
	p, completed := runPool(t, db, 2)
	ctx := context.Background()
	cfg := tenantdb.EveryTenantConfig{Run: "backfill 9", Completed: completed, Tenants: []tenancy.ID{clinicA, clinicB}}
	got := func() (v any) {
		defer func() { v = recover() }()
		_, _ = p.EveryTenant(ctx, "backfill", cfg, func(ctx context.Context, tx *tenantdb.Tx) error {
			if pr, _ := tenancy.FromContext(ctx); pr.Tenant == clinicA {
				panic("bad row")
			}
			return nil
		})
		return nil
	}()
	if got != "bad row" {
		t.Fatalf("recovered %v in the caller, want the work's panic", got)
	}
	if u := uses(t, db, cfg.Run); len(u) != 0 {
		t.Errorf("records after the panic: %v, want none (A rolled back, B not started)", u)
	}
	res, err := p.EveryTenant(ctx, "backfill", cfg, func(context.Context, *tenantdb.Tx) error { return nil })
	if err != nil || len(res.Done) != 2 {
		t.Errorf("the run again: %+v, %v", res, err)
	}
}

// TestEveryTenantCancelled: tenants not started when ctx ends are neither
// done nor failed, and the error says the run stopped.
func TestEveryTenantCancelled(t *testing.T) {
	db := schema(t)
	p, _ := runPool(t, db, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := tenantdb.EveryTenantConfig{Run: "backfill 10", Tenants: []tenancy.ID{clinicA, clinicB},
		Progress: func(tenancy.ID, error) { cancel() }} // once A committed
	res, err := p.EveryTenant(ctx, "backfill", cfg, func(context.Context, *tenantdb.Tx) error { return nil })
	if len(res.Failed) != 0 || len(res.Done) != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled after A: %+v, %v; want A done, B neither done nor failed, context.Canceled", res, err)
	}
}
