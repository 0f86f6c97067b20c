package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mydentalpractice/tenancy/tenantdb"
)

// TestTxWith: the options reach the server, with the tenant context, in
// BEGIN's round trip; options pgx would write into BEGIN unchecked are
// refused before the network.
func TestTxWith(t *testing.T) {
	db := schema(t)
	pool, rt := appPool(t, db, 1, "")
	p := newPool(t, pool, tenantdb.Config{}) // allows all: current_setting is read below
	ctx := staffCtx(clinicA, staffA)
	const settings = "select current_setting('transaction_isolation'), current_setting('transaction_read_only'), current_setting('transaction_deferrable'), current_setting('tenancy.tenant_id'), (select count(*) from patients)"

	cases := []struct {
		opts                          pgx.TxOptions
		isolation, readOnly, deferred string
	}{
		{pgx.TxOptions{}, "read committed", "off", "off"},
		{pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadOnly, DeferrableMode: pgx.Deferrable}, "serializable", "on", "on"},
		{pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadWrite, DeferrableMode: pgx.NotDeferrable}, "repeatable read", "off", "off"},
		{pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadOnly}, "read committed", "on", "off"},
	}
	for _, c := range cases {
		for warm := range 2 { // the second time with pgx's statement cache warm
			rt.reset()
			err := p.TxWith(ctx, c.opts, func(tx *tenantdb.Tx) error {
				if got := rt.count(); warm == 1 && got != 1 {
					t.Errorf("%+v: BEGIN and the context took %d round trips, want 1", c.opts, got)
				}
				var iso, ro, def, tenant string
				var n int
				if err := tx.QueryRow(ctx, settings).Scan(&iso, &ro, &def, &tenant, &n); err != nil {
					return err
				}
				if iso != c.isolation || ro != c.readOnly || def != c.deferred || tenant != clinicA.String() || n != 5 {
					t.Errorf("%+v: got %s, read only %s, deferrable %s, tenant %s, %d patients; want %s, %s, %s, %s, 5 (A's)",
						c.opts, iso, ro, def, tenant, n, c.isolation, c.readOnly, c.deferred, clinicA)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%+v: %v", c.opts, err)
			}
		}
	}

	// A read-only transaction cannot write.
	err := p.TxWith(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx *tenantdb.Tx) error {
		_, err := tx.Exec(ctx, "update patients set name = name where clinic_id = $1", clinicA)
		return err
	})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Errorf("a write in a read-only transaction = %v, want SQLSTATE 25006", err)
	}

	for _, opts := range []pgx.TxOptions{
		{BeginQuery: "begin; set local row_security = off"},
		{CommitQuery: "commit; reset all"},
		{IsoLevel: "serializable, read write; set local tenancy.tenant_id = 'x'"},
		{IsoLevel: "SERIALIZABLE"},
		{AccessMode: "read write; select 1"},
		{DeferrableMode: "deferrable; select 1"},
	} {
		rt.reset()
		called := false
		err := p.TxWith(ctx, opts, func(*tenantdb.Tx) error { called = true; return nil })
		if !errors.Is(err, tenantdb.ErrTxOptions) {
			t.Errorf("TxWith(%+v) = %v, want ErrTxOptions", opts, err)
		}
		if called || rt.count() != 0 {
			t.Errorf("TxWith(%+v): fn called %v, %d round trips; want neither", opts, called, rt.count())
		}
	}

	// Without a principal: nothing is sent.
	rt.reset()
	if err := p.TxWith(context.Background(), pgx.TxOptions{}, func(*tenantdb.Tx) error { return nil }); err == nil || rt.count() != 0 {
		t.Errorf("TxWith without a principal = %v after %d round trips, want an error and none", err, rt.count())
	}
}
