package tenantdb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestThroughPgBouncer: through pgbouncer in transaction pooling mode, with
// one server connection shared by all clients, two tenants working at the
// same time never see each other's rows, and no context is left behind.
func TestThroughPgBouncer(t *testing.T) {
	db := schema(t)
	connString := db.Bouncer(t, 1, pgtest.App)
	cfg, err := pgxpool.ParseConfig(connString(pgtest.App) + " default_query_exec_mode=exec")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	p := newPool(t, pool, tenantdb.Config{})

	const rounds = 300
	want := map[tenancy.ID]int{clinicA: 5, clinicB: 7}
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for _, who := range []struct{ clinic, staff tenancy.ID }{{clinicA, staffA}, {clinicB, staffB}, {clinicA, staffA}, {clinicB, staffB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := staffCtx(who.clinic, who.staff)
			for i := range rounds {
				var got []patient
				var err error
				if i%2 == 0 {
					got, err = scanPatients(p.Query(ctx, "select clinic_id, name from patients"))
				} else {
					err = p.Tx(ctx, func(tx *tenantdb.Tx) error {
						var err error
						got, err = scanPatients(tx.Query(ctx, "select clinic_id, name from patients"))
						return err
					})
				}
				if err != nil {
					errs <- err
					return
				}
				for _, pt := range got {
					if pt.Clinic != who.clinic {
						errs <- fmt.Errorf("LEAK through pgbouncer: tenant %v saw %q of %v", who.clinic, pt.Name, pt.Clinic)
						return
					}
				}
				if len(got) != want[who.clinic] {
					errs <- fmt.Errorf("tenant %v saw %d rows, want %d", who.clinic, len(got), want[who.clinic])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The one server connection carries no tenant between transactions.
	var v string
	if err := pool.QueryRow(context.Background(), "select coalesce(current_setting('tenancy.tenant_id', true), '')").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "" {
		t.Errorf("the shared server connection carries tenant %q outside a transaction", v)
	}
}
