package tenantdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// runPool returns a Pool whose OnSystem hook writes each use, with its
// run, into table run_uses in the entry point's transaction, and a
// Completed that reads the tenants of a run back, as the platform role.
func runPool(t *testing.T, db *pgtest.DB, maxConns int32) (*tenantdb.Pool, func(context.Context, string) ([]tenancy.ID, error)) {
	t.Helper()
	db.Exec(t, pgtest.Owner, `create table public.run_uses (entry text not null, tenant uuid, reason text not null, run text, kind text);
		grant insert, select on public.run_uses to `+pgx.Identifier{db.RoleName(pgtest.Platform)}.Sanitize()+`, `+pgx.Identifier{db.RoleName(pgtest.App)}.Sanitize())
	pool, _ := appPool(t, db, maxConns, "")
	p := newPool(t, pool, tenantdb.Config{
		System: db.Pool(t, pgtest.Platform),
		OnSystem: func(ctx context.Context, tx pgx.Tx, use tenantdb.SystemUse) error {
			var tenant, run any
			if !use.Tenant.IsZero() {
				tenant = use.Tenant.String()
			}
			if use.Run != "" {
				run = use.Run
			}
			pr, _ := tenancy.FromContext(ctx)
			_, err := tx.Exec(ctx, "insert into run_uses values ($1, $2, $3, $4, $5)", use.Entry, tenant, use.Reason, run, string(pr.Kind))
			return err
		},
	})
	platform := db.Pool(t, pgtest.Platform)
	completed := func(ctx context.Context, run string) ([]tenancy.ID, error) {
		rows, err := platform.Query(ctx, `select tenant from run_uses where run = $1`, run)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[tenancy.ID])
	}
	return p, completed
}

// uses returns the recorded uses of run, as the superuser: tenant -> count.
func uses(t *testing.T, db *pgtest.DB, run string) map[tenancy.ID]int {
	t.Helper()
	rows, err := db.Conn(t, pgtest.Admin).Query(context.Background(),
		`select tenant, count(*) from run_uses where run = $1 and entry = $2 and kind = 'system' group by tenant`, run, tenantdb.EntryEveryTenant)
	if err != nil {
		t.Fatal(err)
	}
	out := map[tenancy.ID]int{}
	for rows.Next() {
		var id tenancy.ID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryTenant runs work in each tenant's own context: each sees its
// own rows only (A 5 patients, B 7; the fixture proves both exist), each
// tenant's record commits with its work, and the work's context cannot be
// used for anything else.
func TestEveryTenant(t *testing.T) {
	db := schema(t)
	p, _ := runPool(t, db, 2)
	ctx := context.Background()

	tenants, err := p.Tenants(ctx, "list clinics for the test")
	if err != nil {
		t.Fatal(err)
	}
	if want := []tenancy.ID{clinicA, clinicB}; !slices.Equal(tenants, want) {
		t.Fatalf("Tenants = %v, want %v", tenants, want)
	}

	var mu sync.Mutex
	seen := map[tenancy.ID]int{}
	var escaped error
	res, err := p.EveryTenant(ctx, "count patients for the nightly summary", tenantdb.EveryTenantConfig{Run: "summary 1", Concurrency: 2},
		func(ctx context.Context, tx *tenantdb.Tx) error {
			pr, ok := tenancy.FromContext(ctx)
			if !ok || pr.Kind != tenancy.KindSystem {
				return fmt.Errorf("principal %+v", pr)
			}
			var n int
			// Unscoped on purpose (the test's guard allows it): row-level
			// security alone keeps the count to this tenant.
			if err := tx.QueryRow(ctx, "select count(*) from patients").Scan(&n); err != nil {
				return err
			}
			// The work's context reaches nothing but its Tx.
			err := p.Tx(ctx, func(*tenantdb.Tx) error { return nil })
			mu.Lock()
			defer mu.Unlock()
			seen[pr.Tenant] = n
			if !errors.Is(err, tenantdb.ErrUnverifiedPrincipal) {
				escaped = fmt.Errorf("Pool.Tx with the run's context: %v", err)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if escaped != nil {
		t.Error(escaped)
	}
	if want := map[tenancy.ID]int{clinicA: 5, clinicB: 7}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("patients seen per tenant = %v, want %v", seen, want)
	}
	if !slices.Equal(res.Done, []tenancy.ID{clinicA, clinicB}) || len(res.Skipped) != 0 || len(res.Failed) != 0 {
		t.Errorf("result = %+v", res)
	}
	if got := uses(t, db, "summary 1"); fmt.Sprint(got) != fmt.Sprint(map[tenancy.ID]int{clinicA: 1, clinicB: 1}) {
		t.Errorf("records of the run = %v, want one per tenant", got)
	}
}

// TestEveryTenantResumes: a tenant whose work fails rolls back with its
// record and the run goes on; the same run started again skips the
// tenants that committed and finishes the rest, so each tenant's work
// commits exactly once.
func TestEveryTenantResumes(t *testing.T) {
	db := schema(t)
	p, completed := runPool(t, db, 2)
	ctx := context.Background()
	broken := errors.New("B's work broke")
	var calls atomic.Int32
	work := func(failB bool) func(context.Context, *tenantdb.Tx) error {
		return func(ctx context.Context, tx *tenantdb.Tx) error {
			calls.Add(1)
			pr, _ := tenancy.FromContext(ctx)
			if _, err := tx.Exec(ctx, "insert into patients values ($1, gen_random_uuid(), 'summary')", pr.Tenant); err != nil {
				return err
			}
			if failB && pr.Tenant == clinicB {
				return broken
			}
			return nil
		}
	}
	cfg := tenantdb.EveryTenantConfig{Run: "backfill 7", Completed: completed}
	res, err := p.EveryTenant(ctx, "backfill summaries", cfg, work(true))
	if !errors.Is(err, broken) {
		t.Fatalf("first run: err = %v, want B's error in it", err)
	}
	if !slices.Equal(res.Done, []tenancy.ID{clinicA}) || !errors.Is(res.Failed[clinicB], broken) {
		t.Fatalf("first run: %+v", res)
	}
	if got := uses(t, db, "backfill 7"); fmt.Sprint(got) != fmt.Sprint(map[tenancy.ID]int{clinicA: 1}) {
		t.Fatalf("records after the first run = %v, want A's only (B's rolled back with its work)", got)
	}

	calls.Store(0)
	res, err = p.EveryTenant(ctx, "backfill summaries", cfg, work(false))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Skipped, []tenancy.ID{clinicA}) || !slices.Equal(res.Done, []tenancy.ID{clinicB}) || calls.Load() != 1 {
		t.Fatalf("resumed run: %+v after %d calls, want A skipped and B done in one", res, calls.Load())
	}
	var a, b int
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx, `select count(*) filter (where clinic_id = $1), count(*) filter (where clinic_id = $2)
		from patients where name = 'summary'`, clinicA, clinicB).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != 1 || b != 1 {
		t.Errorf("the work committed %d times at A and %d at B, want once each", a, b)
	}
	// Without Completed, the run would do A's work again: the skip is
	// Completed's doing.
	calls.Store(0)
	if _, err := p.EveryTenant(ctx, "backfill summaries", tenantdb.EveryTenantConfig{Run: "backfill 7", Tenants: []tenancy.ID{clinicA}}, work(false)); err != nil || calls.Load() != 1 {
		t.Errorf("a run without Completed: %v after %d calls", err, calls.Load())
	}
}

// TestEveryTenantRefusals: nothing runs, and nothing is recorded, for a
// run without a name or a reason, a zero tenant, or without a recorder.
func TestEveryTenantRefusals(t *testing.T) {
	db := schema(t)
	p, _ := runPool(t, db, 2)
	ctx := context.Background()
	ran := false
	fn := func(context.Context, *tenantdb.Tx) error { ran = true; return nil }
	for _, tt := range []struct {
		name   string
		reason string
		cfg    tenantdb.EveryTenantConfig
		want   error
	}{
		{"no reason", " ", tenantdb.EveryTenantConfig{Run: "r"}, tenantdb.ErrNoReason},
		{"no run", "why", tenantdb.EveryTenantConfig{}, nil},
		{"blank run", "why", tenantdb.EveryTenantConfig{Run: "\u200b"}, nil},
		{"control in run", "why", tenantdb.EveryTenantConfig{Run: "a\nb"}, nil},
		{"zero tenant", "why", tenantdb.EveryTenantConfig{Run: "r", Tenants: []tenancy.ID{clinicA, {}}}, tenancy.ErrNoTenant},
		{"negative concurrency", "why", tenantdb.EveryTenantConfig{Run: "r", Concurrency: -1}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.EveryTenant(ctx, tt.reason, tt.cfg, fn)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if ran {
		t.Error("work ran for a refused run")
	}
	var n int
	if err := db.Conn(t, pgtest.Admin).QueryRow(ctx, "select count(*) from run_uses").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d records (%v), want none", n, err)
	}

	pool, _ := appPool(t, db, 2, "")
	bare := newPool(t, pool, tenantdb.Config{})
	if _, err := bare.EveryTenant(ctx, "why", tenantdb.EveryTenantConfig{Run: "r"}, fn); !errors.Is(err, tenantdb.ErrNoRecorder) {
		t.Errorf("without OnSystem: %v, want ErrNoRecorder", err)
	}
}
