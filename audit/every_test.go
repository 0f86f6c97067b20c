package audit_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/audit"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenancytest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestEveryTenantRecordsEachTenant runs tenantdb.EveryTenant with
// OnSystem: each tenant's part of the run joins that tenant's own chain,
// where its owner reads it, and commits with the work; RunCompleted reads
// the committed parts back, so a run resumed after a failure skips A and
// finishes B, and every chain still verifies.
func TestEveryTenantRecordsEachTenant(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a, b := tenancy.NewID(), tenancy.NewID()
	f.db.Exec(t, pgtest.Admin, `insert into notes values ($1, gen_random_uuid(), 'a'), ($2, gen_random_uuid(), 'b')`, a, b)
	if f.adminCount(t, a, "") != 0 || f.adminCount(t, b, "") != 0 {
		t.Fatal("fixture: the chains are not empty")
	}
	p, err := tenantdb.New(ctx, f.db.Pool(t, pgtest.App), tenantdb.Config{
		Model: f.model, Guard: allowAll{}, Sources: []tenancy.Source{tenancytest.Source()},
		System: f.platform, OnSystem: audit.OnSystem,
	})
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("broken")
	failB := true
	cfg := tenantdb.EveryTenantConfig{Run: "nightly 2026-12-02", Tenants: []tenancy.ID{a, b}, Completed: audit.RunCompleted(f.platform)}
	work := func(ctx context.Context, tx *tenantdb.Tx) error {
		pr, _ := tenancy.FromContext(ctx)
		var n int
		if err := tx.QueryRow(ctx, "select count(*) from notes").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return errors.New("the work sees another tenant's notes")
		}
		if failB && pr.Tenant == b {
			return broken
		}
		return nil
	}
	if _, err := p.EveryTenant(ctx, "nightly summary", cfg, work); !errors.Is(err, broken) {
		t.Fatalf("first run: %v", err)
	}
	if f.adminCount(t, a, audit.ActionSystem) != 1 || f.adminCount(t, b, "") != 0 {
		t.Fatalf("after the first run: %d events at A, %d at B; want 1 and 0", f.adminCount(t, a, audit.ActionSystem), f.adminCount(t, b, ""))
	}
	failB = false
	res, err := p.EveryTenant(ctx, "nightly summary", cfg, work)
	if err != nil || !slices.Equal(res.Skipped, []tenancy.ID{a}) || !slices.Equal(res.Done, []tenancy.ID{b}) {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}

	// Each tenant's owner reads its part of the run in its own log.
	for _, c := range []tenancy.ID{a, b} {
		var events []audit.Event
		err := f.app.Tx(staff(c, tenancy.NewID(), "owner"), func(tx *tenantdb.Tx) error {
			var err error
			events, err = audit.List(ctx, tx, c, 0, 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Action != audit.ActionSystem || events[0].ResourceType != audit.ResourceRun ||
			events[0].ResourceID != cfg.Run || events[0].Reason != "nightly summary" {
			t.Errorf("tenant %s's owner reads %+v, want the run's one event", c, events)
		}
		if _, err := audit.Verify(ctx, f.platform, c); err != nil {
			t.Errorf("tenant %s's chain: %v", c, err)
		}
	}
	done, err := audit.RunCompleted(f.platform)(ctx, cfg.Run)
	if err != nil || len(done) != 2 {
		t.Errorf("RunCompleted = %v, %v; want both tenants", done, err)
	}
	if other, err := audit.RunCompleted(f.platform)(ctx, "another run"); err != nil || len(other) != 0 {
		t.Errorf("RunCompleted of another run = %v, %v; want none", other, err)
	}
}

// TestRunRecordsCannotBeForged: an application event cannot pass for a
// run's record: Record refuses ActionSystem, so a tenant's own transaction
// cannot mark the tenant done and have a run skip it.
func TestRunRecordsCannotBeForged(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c := tenancy.NewID()
	sctx := staff(c, tenancy.NewID(), "owner")
	err := f.app.Tx(sctx, func(tx *tenantdb.Tx) error {
		_, err := audit.Record(sctx, tx, audit.Event{Action: audit.ActionSystem, Outcome: audit.Success,
			ResourceType: audit.ResourceRun, ResourceID: "nightly 2026-12-03"})
		return err
	})
	if !errors.Is(err, audit.ErrInvalidEvent) {
		t.Fatalf("Record of ActionSystem by the tenant's staff: %v, want ErrInvalidEvent", err)
	}
	if done, err := audit.RunCompleted(f.platform)(ctx, "nightly 2026-12-03"); err != nil || len(done) != 0 {
		t.Errorf("RunCompleted = %v, %v; want no tenant", done, err)
	}
}
